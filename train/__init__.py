"""Training citebot's answer reranker: the pairs it learns from and the run that trains it."""
