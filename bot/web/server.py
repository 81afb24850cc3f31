"""Running the web application under uvicorn, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import os
import socket

import uvicorn

from bot.web.app import create_app
from index.config import Settings
from index.engine import Engine
from index.errors import InputError

log = logging.getLogger(__name__)


def serve(settings: Settings, host: str, port: int) -> None:
    """Open the index and load the model (a `CitebotError` if they cannot be), then serve the
    pages and the API at `host`:`port` (an `InputError` if nothing can listen there).

    Requests are not logged (a question is in its address); uvicorn's own lines go through
    citebot's logging. Behind a reverse proxy on this machine, the client's address is read
    from X-Forwarded-For (uvicorn trusts it from 127.0.0.1 only, unless FORWARDED_ALLOW_IPS
    says otherwise).
    """
    engine = Engine(settings)
    engine.warm_up()
    listening = listen(host, port)
    config = uvicorn.Config(
        create_app(engine), log_config=None, access_log=False, server_header=False
    )
    with listening:
        shown = f"[{host}]" if ":" in host else host
        log.info("serving http://%s:%d/ (Ctrl-C stops)", shown, port)
        uvicorn.Server(config).run(sockets=[listening])


def listen(host: str, port: int) -> socket.socket:
    """A socket listening at `host`:`port`, or an `InputError` saying why there is none (the
    port taken, the address not this machine's)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        return socket.create_server(address, family=family)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise InputError(
            f"cannot listen on {host}:{port} ({reason}); choose another --host or --port"
        ) from None
