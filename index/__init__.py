"""Everything that knows articles: ingest, clean, chunk, embed, store, search and answer.

This package never imports discord; the bot and the CLI are adapters over it.
"""
