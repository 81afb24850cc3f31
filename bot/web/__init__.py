"""`citebot serve`: the answers as web pages and an HTTP API, over the same engine and index
as the command line and the Discord bot (read-only; a rebuilt index is picked up between
requests, as the engine does for every adapter).

- `app`: the application: routes, headers, errors.
- `queries`: what pages and the API ask the engine, read from a request once for both.
- `pages` and `api`: the HTML pages and their JSON twins.
- `limits`: the rate limit per client address; `headers`: the security headers.
- `templates`: the Jinja environment (autoescaping everything) and `templates/`, `static/`.
- `server`: running it under uvicorn.
"""
