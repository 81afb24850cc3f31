"""The local store behind the seam of `index.interfaces`: an index directory on one disk.

- `index.local.layout`: the directory's layout, its generations and CURRENT, the build lock;
- `index.local.schema`: the tables of a generation's SQLite file and the shape of their rows;
- `index.local.writer`: a build's draft generation (`LocalTarget`, `LocalDraft`) and the
  writer that fills it;
- `index.local.reader`: the live generation (`LocalIndex`) opened read-only (`IndexReader`),
  the one owner of read SQL and FAISS searches;
- `index.local.postings`: full-text postings and BM25 over them in numpy;
- `index.local.vectors`: the FAISS index over passage vectors.

It shares only what is neutral with the Milvus store (`index.manifest`,
`index.vector_policy`), and never imports `index.milvus`.
"""
