"""citebot's settings: one class, read from the environment and `.env`.

Every setting is listed with its default and a comment in `.env.example`. Each choice a
setting offers (embedding backend, retriever, fusion, vector index kind) and the default model
are defined here once; the rest of citebot imports them from here.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
Backend = Literal["torch", "onnx", "onnx-int8"]
# In the order `citebot eval --compare` shows them: each alone, then both together.
Retriever = Literal["lexical", "dense", "hybrid"]
Fusion = Literal["rrf", "weighted"]
IndexKind = Literal["auto", "flat", "hnsw"]
Store = Literal["local", "milvus"]

BACKENDS: tuple[Backend, ...] = get_args(Backend)
# The longest value a message about a bad setting repeats.
_VALUE_SHOWN = 40
RETRIEVERS: tuple[Retriever, ...] = get_args(Retriever)
STORES: tuple[Store, ...] = get_args(Store)
ENV_FILE = ".env"
# The longest wait a setting may ask for, in seconds (a day).
_DAY_SECONDS = 86_400


class Settings(BaseSettings):
    """All of citebot's settings. `CITEBOT_*` for citebot itself, `DISCORD_*` for Discord."""

    model_config = SettingsConfigDict(
        env_prefix="CITEBOT_",
        env_file=ENV_FILE,
        # A byte order mark, as some editors put at the start, is not part of the first name.
        env_file_encoding="utf-8-sig",
        extra="ignore",
        populate_by_name=True,
    )

    # Index and model
    index_dir: Path = Path("citebot-index")
    model: str = DEFAULT_MODEL
    backend: Backend = "onnx-int8"
    cache_dir: Path = Field(default_factory=lambda: _user_cache_dir() / "citebot")
    chunk_tokens: int = Field(default=160, ge=16, le=240)
    faiss_index: IndexKind = "auto"
    # One passage per model run: the int8 model scales a whole run at once, so in a batch a
    # passage's vectors would depend on its companions (docs/benchmarks.md).
    embed_batch_size: int = Field(default=1, ge=1, le=1024)
    max_article_chars: int = Field(default=2_000_000, ge=1_000)

    # Where the index is stored
    store: Store = "local"
    milvus_uri: str = "citebot-milvus.db"
    milvus_token: SecretStr | None = None
    milvus_collection: str = Field(default="citebot", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")

    # Answering
    retriever: Retriever = "hybrid"
    fusion: Fusion = "weighted"
    min_score: float = Field(default=0.2, ge=0.0, le=1.0, allow_inf_nan=False)
    # The answer reranker (index/rerank): on, off (the first stage alone).
    reranker: bool = True
    max_question_chars: int = Field(default=1_000, ge=16, le=10_000)

    # The web pages and HTTP API (`citebot serve`)
    # Where they are reached from outside (https://host[/path]): citations then link to
    # their /source pages. None: citations link to the article's own address, if any.
    public_url: str | None = None
    # Questions and searches each client address may ask a minute (a token bucket).
    web_questions_per_minute: int = Field(default=30, ge=1, le=100_000)

    # Feedback
    feedback_key_file: Path = Field(
        default_factory=lambda: _user_config_dir() / "citebot" / "feedback.key"
    )
    # At most a hundred years: the cut-off date must be one the calendar has.
    feedback_retention_days: int = Field(default=90, ge=1, le=36_500)

    # Discord
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "discord_token")
    )
    discord_guild_id: int | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_GUILD_ID", "discord_guild_id")
    )
    discord_answer_channels: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("DISCORD_ANSWER_CHANNELS", "discord_answer_channels"),
    )
    discord_admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("DISCORD_ADMIN_IDS", "discord_admin_ids"),
    )
    discord_api_base_url: str = Field(
        default="https://discord.com/api/v10",
        validation_alias=AliasChoices("DISCORD_API_BASE_URL", "discord_api_base_url"),
    )
    discord_gateway_url: str = Field(
        default="wss://gateway.discord.gg/",
        validation_alias=AliasChoices("DISCORD_GATEWAY_URL", "discord_gateway_url"),
    )
    discord_cooldown_questions: int = Field(
        default=5,
        ge=1,
        validation_alias=AliasChoices("DISCORD_COOLDOWN_QUESTIONS", "discord_cooldown_questions"),
    )
    discord_cooldown_seconds: float = Field(
        default=60.0,
        gt=0,
        le=_DAY_SECONDS,
        allow_inf_nan=False,
        validation_alias=AliasChoices("DISCORD_COOLDOWN_SECONDS", "discord_cooldown_seconds"),
    )

    discord_shard_count: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("DISCORD_SHARD_COUNT", "discord_shard_count"),
    )
    # The shards this process connects, when several processes split them (with
    # discord_shard_count, which must come before it). Empty: every shard.
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("DISCORD_SHARD_IDS", "discord_shard_ids"),
    )
    discord_connect_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=_DAY_SECONDS,
        allow_inf_nan=False,
        validation_alias=AliasChoices(
            "DISCORD_CONNECT_TIMEOUT_SECONDS", "discord_connect_timeout_seconds"
        ),
    )

    @field_validator(
        "discord_answer_channels", "discord_admin_ids", "discord_shard_ids", mode="before"
    )
    @classmethod
    def _split_channel_ids(cls, value: object) -> object:
        """Accept `DISCORD_ANSWER_CHANNELS=123,456` (and `DISCORD_ADMIN_IDS=...`,
        `DISCORD_SHARD_IDS=0,1`) as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("discord_shard_ids", mode="after")
    @classmethod
    def _shards_of_the_count(cls, value: list[int], info: ValidationInfo) -> list[int]:
        """Shard ids need the shard count they split, each below it and named once."""
        if not value:
            return value
        count = info.data.get("discord_shard_count")
        if count is None:
            raise ValueError("set DISCORD_SHARD_COUNT too: the shards are split out of it")
        if len(set(value)) != len(value) or not all(0 <= shard < count for shard in value):
            raise ValueError(f"name each shard once, from 0 to {count - 1} (DISCORD_SHARD_COUNT)")
        return sorted(value)

    @field_validator(
        "discord_guild_id", "discord_shard_count", "milvus_token", "public_url", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """An empty `DISCORD_GUILD_ID=` means no development guild; an empty
        `DISCORD_SHARD_COUNT=`, as many shards as Discord recommends; an empty
        `CITEBOT_MILVUS_TOKEN=`, no token; an empty `CITEBOT_PUBLIC_URL=`, no public pages."""
        return None if value == "" else value

    @field_validator("public_url", mode="after")
    @classmethod
    def _a_public_address(cls, value: str | None) -> str | None:
        """An http(s) address with a host and nothing after its path, without the trailing
        slash: `{public_url}/source/{id}` is then a page of `citebot serve`."""
        if value is None:
            return None
        address = value.strip()
        try:
            parts = urlsplit(address)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # a malformed host, such as "http://[::1"
            usable = False
        if not usable or parts.query or parts.fragment:
            raise ValueError(
                "give the http(s) address the web pages are reached at, as in"
                " https://citebot.example.org"
            )
        return address.rstrip("/")

    @field_validator("model", mode="after")
    @classmethod
    def _a_model(cls, value: str) -> str:
        """A name, or a directory holding the model's own tokenizer (as `resolve_model`
        reads it: an existing directory is the model)."""
        if not value.strip():
            raise ValueError(
                f"name a model: {DEFAULT_MODEL}, a model directory or a Hugging Face hub name"
            )
        path = _expanded(Path(value))
        if path.is_dir() and not (path / "tokenizer.json").is_file():
            raise ValueError(
                "the directory holds no tokenizer.json, as a sentence-transformers model does"
            )
        return value

    @field_validator("milvus_uri", mode="after")
    @classmethod
    def _a_milvus_location(cls, value: str) -> str:
        """A file (Milvus Lite), or a server's URL whose host and port can be read. (The
        value is never repeated: it may hold a password.)"""
        if not value.strip():
            raise ValueError("give a file path (Milvus Lite) or a server's URL")
        if "://" in value:
            try:
                parts = urlsplit(value)
                host, _ = parts.hostname, parts.port
            except ValueError:
                host = None
            if not host:
                raise ValueError(
                    "a server's URL needs a host and a port from 0 to 65535, as in"
                    " http://localhost:19530"
                )
        return value

    @field_validator("discord_api_base_url", "discord_gateway_url", mode="after")
    @classmethod
    def _encrypted_unless_local(cls, value: str, info: ValidationInfo) -> str:
        """The token travels to these URLs: encrypted (https, wss), or plain (http, ws) only
        to this machine, as the tests' fake Discord is."""
        secure = "https" if info.field_name == "discord_api_base_url" else "wss"
        plain = secure.removesuffix("s")
        parts = urlsplit(value)
        if parts.hostname and (
            parts.scheme == secure or (parts.scheme == plain and _is_loopback(parts.hostname))
        ):
            return value
        raise ValueError(
            f"use a {secure}:// URL ({plain}:// only to this machine: localhost, 127.0.0.1, ::1)"
        )

    @field_validator("index_dir", "cache_dir", "feedback_key_file", mode="after")
    @classmethod
    def _expand_paths(cls, value: Path, info: ValidationInfo) -> Path:
        """`~` expanded; where there is no home directory, the cache and the key file keep
        it (refused where they are used: `needs_home`), the index directory is refused."""
        if "\x00" in str(value):
            raise ValueError("a path cannot hold a NUL character")
        expanded = _expanded(value)
        if info.field_name == "index_dir" and needs_home(expanded):
            raise ValueError(f"there is no home directory for {expanded.parts[0]}")
        return expanded


def _is_loopback(host: str) -> bool:
    """True for a name or address of this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _home() -> Path | None:
    """The home directory; None where there is none (HOME unset or empty and no passwd
    entry for the user, as in a container run as a user its image does not know). An empty
    HOME is none too, not the root directory Python would make of it."""
    if os.environ.get("HOME") == "":
        return None
    try:
        home = Path.home()
    except RuntimeError:
        return None
    return home if home.is_absolute() else None


def needs_home(path: Path) -> bool:
    """True for a path under a home directory there is none of: it still starts with `~`."""
    return bool(path.parts) and path.parts[0].startswith("~")


def _expanded(path: Path) -> Path:
    """`path` with a leading `~` (or `~name`) replaced by that home directory; as it is where
    there is no such directory."""
    if not needs_home(path):
        return path
    if path.parts[0] == "~":
        home = _home()
        return path if home is None else home.joinpath(*path.parts[1:])
    try:
        return path.expanduser()
    except RuntimeError:  # no such user
        return path


def _user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME`, else `~/.cache` (`~` kept where there is no home directory)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or (_home() or Path("~")) / ".cache")


def _user_config_dir() -> Path:
    """`$XDG_CONFIG_HOME`, else `~/.config` (`~` kept where there is no home directory)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or (_home() or Path("~")) / ".config")


def environment_name(field: str) -> str:
    """The environment variable (or `.env` line) that sets the `Settings` field `field`."""
    alias = Settings.model_fields[field].validation_alias
    return str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"CITEBOT_{field.upper()}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once.

    Raises `InputError` naming the first setting that is not valid.
    """
    try:
        return Settings()
    except UnicodeDecodeError:
        # Never the error itself: the text it holds may be a token.
        raise InputError(
            f"{ENV_FILE} is not UTF-8 text; save it as UTF-8 (in Notepad: File > Save as,"
            " Encoding: UTF-8)"
        ) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        name = environment_name(where) if where in Settings.model_fields else where
        # A token pasted into the wrong variable must not be shown: values of Discord's and
        # Milvus's settings, and long ones, are named but not repeated.
        value = first["input"]
        hidden = name.startswith(("DISCORD_", "CITEBOT_MILVUS_")) or len(str(value)) > _VALUE_SHOWN
        shown = name if hidden else f"{name}={value!r}"
        raise InputError(f"{shown} is not valid: {first['msg']}") from None
