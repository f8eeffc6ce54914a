"""The clause index by role: Chroma vectors, the lexical directory (BM25 + catalog), the write lock."""
