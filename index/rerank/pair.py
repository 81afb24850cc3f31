"""What the answer reranker reads: a question with one candidate sentence in its context.

The training pairs (train/pairs.py) and the engine format candidates by this one function, so
the model is asked in the form it learned.
"""

from __future__ import annotations

from index.clean import is_dateline

# Tokens the reranker reads at most: question, sentence and context together.
MAX_TOKENS = 160
CONTEXT_SEPARATOR = " | "


def candidate_text(sentence: str, title: str = "", before: str = "") -> str:
    """The second text of a reranker pair: the candidate sentence first (what a cut at
    `MAX_TOKENS` keeps), then its article's title and the sentence before it. A title that is
    only a dateline ("CNN —") is left out: it says nothing of the story, and the model read
    a sentence under a title as less likely to answer than the same sentence bare."""
    title = title.strip()
    context = ("" if is_dateline(title) else title, before.strip())
    return CONTEXT_SEPARATOR.join([sentence, *(part for part in context if part)])
