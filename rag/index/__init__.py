"""The index: generations of chunks, vectors (Chroma) and the BM25 index, built incrementally and
swapped in atomically; what it holds and whether the corpus moved on since."""
