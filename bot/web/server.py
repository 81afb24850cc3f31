"""Running the web application under uvicorn, until SIGINT or SIGTERM."""

from __future__ import annotations

import uvicorn

from bot.web.app import create_app
from index.config import Settings
from index.engine import Engine


def serve(settings: Settings, host: str, port: int) -> None:
    """Open the index and load the model (a `CitebotError` if they cannot be), then serve the
    pages and the API at `host`:`port`.

    Requests are not logged (a question is in its address); uvicorn's own lines go through
    citebot's logging. Behind a reverse proxy on this machine, the client's address is read
    from X-Forwarded-For (uvicorn trusts it from 127.0.0.1 only, unless FORWARDED_ALLOW_IPS
    says otherwise).
    """
    engine = Engine(settings)
    engine.warm_up()
    uvicorn.run(
        create_app(engine),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
