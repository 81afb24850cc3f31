"""The Milvus store behind the seam of `index.interfaces`: a Milvus Lite file or a Milvus server.

One index is an alias (`CITEBOT_MILVUS_COLLECTION`) that names the passages collection of the
live generation; its articles, sentences and terms collections carry the same generation name.
A build writes a new generation's collections, then moves the alias in one step
(`index.milvus.writer`); readers follow the alias (`index.milvus.reader`).
"""
