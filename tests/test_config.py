"""`.env.example` documents every setting, with its default."""

from __future__ import annotations

import pytest

from index.config import Settings, environment_name
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
