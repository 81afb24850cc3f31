"""citebot's library: everything that knows articles.

Ingest, clean and chunk articles; embed them; store them in generations; read, search and
answer with verified quotes. It never imports click or discord: the command line and the
Discord bot in `bot/` are adapters over it. README's "Where things live" maps the modules.
"""
