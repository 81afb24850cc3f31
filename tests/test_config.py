"""`.env.example` documents every setting, with its default; settings that would fail
later are refused at start-up, in one line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.app import cooldown_text
from index.config import Settings, environment_name, get_settings
from index.embed.model import load_tokenizer
from index.errors import InputError
from index.feedback import FeedbackStore
from tests.support.paths import REPO

ENV_EXAMPLE = REPO / ".env.example"


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text("utf-8").splitlines()
    listed = {
        line.split("=", 1)[0]: number
        for number, line in enumerate(lines)
        if line and not line.startswith("#")
    }
    assert set(listed) == {environment_name(field) for field in Settings.model_fields}
    for name, number in listed.items():
        assert lines[number - 1].startswith("# "), f"{name} has no comment above it"


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEBOT_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("CITEBOT_FEEDBACK_KEY_FILE", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    example = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not example.discord_token and default.discord_token is None
    assert example.model_dump(exclude={"discord_token"}) == default.model_dump(
        exclude={"discord_token"}
    )


def settings_error(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    """The one line `get_settings` refuses `variable=value` with."""
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    with pytest.raises(InputError) as raised:
        get_settings()
    message = str(raised.value)
    assert "\n" not in message and message.startswith(variable), message
    return message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CITEBOT_FEEDBACK_RETENTION_DAYS", "1000000"),
        ("CITEBOT_FEEDBACK_RETENTION_DAYS", "739000"),
        ("CITEBOT_MODEL", ""),
        ("CITEBOT_MODEL", "   "),
        ("CITEBOT_MILVUS_URI", "http://[::1"),
        ("CITEBOT_MILVUS_URI", "http://[::1]:99999"),
        ("CITEBOT_MILVUS_URI", "http://"),
        ("CITEBOT_MILVUS_URI", ""),
        ("DISCORD_COOLDOWN_SECONDS", "inf"),
        ("DISCORD_COOLDOWN_SECONDS", "nan"),
        ("DISCORD_COOLDOWN_SECONDS", "1e300"),
        ("DISCORD_CONNECT_TIMEOUT_SECONDS", "inf"),
        ("DISCORD_CONNECT_TIMEOUT_SECONDS", "1e300"),
        ("CITEBOT_MIN_SCORE", "nan"),
    ],
)
def test_settings_that_would_crash_later_are_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    assert "is not valid" in settings_error(monkeypatch, variable, value)


@pytest.mark.parametrize(
    ("count", "ids", "refusal"),
    [
        ("", "0,1", "set DISCORD_SHARD_COUNT too"),
        ("2", "1,2", "from 0 to 1"),
        ("2", "1, 1", "name each shard once"),
        ("2", "-1", "from 0 to 1"),
    ],
)
def test_shard_ids_are_refused_without_their_count_or_outside_it(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str, refusal: str
) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", count)
    message = settings_error(monkeypatch, "DISCORD_SHARD_IDS", ids)
    assert refusal in message and ids not in message


def test_shard_ids_are_read_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "4")
    monkeypatch.setenv("DISCORD_SHARD_IDS", " 3, 2 ")
    assert get_settings().discord_shard_ids == [2, 3]


def test_a_model_directory_without_a_tokenizer_is_refused_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}", "utf-8")
    message = settings_error(monkeypatch, "CITEBOT_MODEL", str(tmp_path))
    assert "tokenizer.json" in message


def test_the_index_directory_under_a_missing_home_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOME", raising=False)

    def no_entry(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.setattr("pwd.getpwuid", no_entry)
    assert "no home directory" in settings_error(monkeypatch, "CITEBOT_INDEX_DIR", "~/index")


NUMBERS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "1e308", "1e309", "-0", "0", "1e-320", "9" * 30]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
NUMERIC_SETTINGS = [
    "CITEBOT_CHUNK_TOKENS",
    "CITEBOT_EMBED_BATCH_SIZE",
    "CITEBOT_MAX_ARTICLE_CHARS",
    "CITEBOT_MIN_SCORE",
    "CITEBOT_MAX_QUESTION_CHARS",
    "CITEBOT_WEB_QUESTIONS_PER_MINUTE",
    "CITEBOT_FEEDBACK_RETENTION_DAYS",
    "DISCORD_COOLDOWN_QUESTIONS",
    "DISCORD_COOLDOWN_SECONDS",
    "DISCORD_CONNECT_TIMEOUT_SECONDS",
]


@hypothesis_settings(max_examples=300, deadline=None)
@given(variable=st.sampled_from(NUMERIC_SETTINGS), value=NUMBERS)
def test_an_extreme_number_is_refused_in_one_line_or_works(variable: str, value: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, value)
        get_settings.cache_clear()
        try:
            settings = get_settings()
        except InputError as error:
            assert "\n" not in str(error) and str(error).startswith(variable)
            return
        finally:
            get_settings.cache_clear()
    for name, field in Settings.model_fields.items():
        if field.annotation is float:
            assert math.isfinite(getattr(settings, name)), name
    FeedbackStore.for_settings(settings)._cutoff()
    cooldown_text(settings.discord_cooldown_seconds)


@pytest.mark.parametrize("tokenizer", [None, b"{not json", b"\xff\xfe"])
def test_a_model_without_a_readable_tokenizer_is_one_line(
    tmp_path: Path, tokenizer: bytes | None
) -> None:
    if tokenizer is not None:
        (tmp_path / "tokenizer.json").write_bytes(tokenizer)
    with pytest.raises(InputError, match=r"tokenizer\.json is missing or cannot be read"):
        load_tokenizer(tmp_path)
