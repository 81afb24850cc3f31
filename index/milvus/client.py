"""Connecting to Milvus, naming an index's collections, and quoting values in filters."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from index.config import Settings
from index.errors import CitebotError, InputError, StoreUnavailableError
from index.files import path_text

if TYPE_CHECKING:
    from pymilvus import MilvusClient

# The collections of one generation, by the suffix of their names.
PASSAGES = "passages"
ARTICLES = "articles"
SENTENCES = "sentences"
TERMS = "terms"
KINDS = (PASSAGES, ARTICLES, SENTENCES, TERMS)
# The collection property holding a generation's manifest (JSON).
MANIFEST_PROPERTY = "citebot.manifest"
# No keepalive pings on an idle connection: Milvus Lite's gRPC server (in this process or
# `milvus-lite server`) keeps grpc's default policy, answers pymilvus's pings (every 10 s,
# even without calls) with GOAWAY "too_many_pings", and a call made at that moment fails
# ("Fail connecting to server"; 2 new clients in 5 after a minute idle, none without them).
_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}


def is_lite(uri: str) -> bool:
    """A URI without a scheme is a file: Milvus Lite, run in this process (`unix:PATH` is a
    server's socket)."""
    return "://" not in uri and not uri.startswith("unix:")


def lite_file(settings: Settings) -> Path | None:
    """The Milvus Lite file the settings name (home directory expanded), or None for a
    server; `InputError` for one Milvus Lite would not open (`_check_lite_file`)."""
    uri = settings.milvus_uri
    if not is_lite(uri):
        return None
    file = Path(uri).expanduser().absolute()
    _check_lite_file(file)
    return file


def location(settings: Settings) -> str:
    """Where the index is, safe to show: the URI without any user or password in it."""
    uri = settings.milvus_uri
    if is_lite(uri):
        return f"{uri} (Milvus Lite, collection {settings.milvus_collection})"
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return f"{shown} (collection {settings.milvus_collection})"


def connect(settings: Settings) -> MilvusClient:
    """The process's client for the configured Milvus; `StoreUnavailableError` when it cannot
    be reached (or, for Milvus Lite, when another process has the file open)."""
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    uri = settings.milvus_uri
    file = lite_file(settings)
    if file is not None:
        uri = str(file)
    return _client(uri, token, location(settings))


def _check_lite_file(file: Path) -> None:
    """Refuse (`InputError`, naming CITEBOT_MILVUS_URI) a Milvus Lite file that Milvus Lite
    would not open for another reason than another process having it."""
    setting = "CITEBOT_MILVUS_URI"
    if file.suffix != ".db":
        raise InputError(
            f"{setting}: a Milvus Lite file's name must end in .db ({path_text(file)})"
        )
    folder = file.parent
    if not folder.exists():
        raise InputError(f"{setting}: the folder {path_text(folder)} does not exist")
    if not folder.is_dir():
        raise InputError(f"{setting}: {path_text(folder)} is not a folder")


@lru_cache(maxsize=8)
def _client(uri: str, token: str, shown: str) -> MilvusClient:
    """One client per URI and token, shared by every reader and build in the process."""
    from pymilvus import MilvusClient, MilvusException
    from pymilvus.exceptions import ConnectionConfigException

    # citebot reports each Milvus error itself, on one line; pymilvus and Milvus Lite would
    # also log it, with a traceback.
    for library in ("pymilvus", "milvus_lite"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, token=token, grpc_options=_GRPC_OPTIONS)
    except (MilvusException, ConnectionConfigException, OSError) as error:
        reason = getattr(error, "message", None) or str(error)
        raise StoreUnavailableError(
            f"cannot open Milvus at {shown}: {one_line(reason)}"
            + (" (is another process using this Milvus Lite file?)" if is_lite(uri) else "")
        ) from error


def collection_name(prefix: str, generation: str, kind: str) -> str:
    """The name of one of a generation's collections."""
    return f"{prefix}_{generation}_{kind}"


def generation_of(prefix: str, passages_collection: str) -> str:
    """The generation a passages collection belongs to."""
    return passages_collection.removeprefix(f"{prefix}_").removesuffix(f"_{PASSAGES}")


def literal(value: str | int) -> str:
    """A value quoted for a Milvus filter expression (Milvus Lite takes no filter params)."""
    return json.dumps(value, ensure_ascii=False)


def one_of(field: str, values: list[str] | list[int]) -> str:
    """A filter: `field` is one of `values`."""
    return f"{field} in [{', '.join(literal(v) for v in values)}]"


def one_line(text: str) -> str:
    """A Milvus message on one line."""
    return " ".join(str(text).split())


@contextlib.contextmanager
def milvus_errors(error: Callable[[str], CitebotError]) -> Iterator[None]:
    """Any Milvus error becomes the one-line error `error` makes of Milvus's reason."""
    from pymilvus import MilvusException

    try:
        yield
    except MilvusException as raised:
        raise error(one_line(raised.message)) from raised
