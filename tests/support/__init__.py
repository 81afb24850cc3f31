"""Helpers the tests and the benchmarks share, imported by name (`tests.support.paths`, ...),
never from `conftest.py` (which holds only fixtures and hooks) or from another test module.

- `paths`: where the repository, the shipped seeds and the shared data sets are.
- `embedder`: `FakeEmbedder`, a fast deterministic stand-in for the model.
- `corpora`: writing article corpora to disk, and the small corpus the store tests share.
- `indexes`: engines over a few articles, and ways to damage a built index.
- `milvus`: settings for Milvus indexes of their own names, and dropping them.
- `milvus_roles`: client processes of one Milvus server (`python -m tests.support.milvus_roles`).
- `discord_fake`: a strict loopback fake of Discord (REST API and Gateway).
- `botkit`: the bot on the fake Discord, and matchers for its replies.
- `web`: the web application served on a loopback port, and headless Chromium to open it.
"""
