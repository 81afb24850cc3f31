"""Full-text ranking without FTS5's scoring: each word's passages with how often it occurs in
their body and title, and each passage's length in words, written once at build time from
FTS5's own index and scored by BM25 in numpy.

FTS5's bm25() scores every passage a query matches in C, one row at a time, before SQLite
sorts them; for words in tens of thousands of passages that is most of a question's time on
a large index. Here the same formula (FTS5's, documented at https://sqlite.org/fts5.html,
section 4.2.1: IDF log((N - n + 0.5) / (n + 0.5)) floored at 1e-6, column-weighted term
frequency, k1 1.2, b 0.75, a passage's length summed over its columns) runs over arrays.

    generations/NAME/
      postings-passages.npy   int32: each word's passage ids, the words in FTS5's order
      postings-body.npy       uint16: the word's count in each of those passages' body
      postings-title.npy      uint16: ... and in its article's title
      passage-words.npy       int32: each passage's length in words, body and title

`word_passages(word, passages, first)` says where a word's run starts and how long it is
(`index.local.schema`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from index.local.schema import VOCABULARY_TABLES
from index.records import Matches, no_matches

POSTINGS_PASSAGES_NAME = "postings-passages.npy"
POSTINGS_BODY_NAME = "postings-body.npy"
POSTINGS_TITLE_NAME = "postings-title.npy"
PASSAGE_WORDS_NAME = "passage-words.npy"
FILE_NAMES = (POSTINGS_PASSAGES_NAME, POSTINGS_BODY_NAME, POSTINGS_TITLE_NAME, PASSAGE_WORDS_NAME)

# Column weights: the title counts for less than the passage body.
BM25_WEIGHTS = (1.0, 0.4)
# FTS5's BM25 constants.
K1 = 1.2
B = 0.75
_IDF_FLOOR = 1e-6

# Word occurrences read from FTS5 at a time while writing (a few 8-byte arrays of that length).
_OCCURRENCES_AT_A_TIME = 1 << 21


def write_postings(db: sqlite3.Connection, directory: Path, passages: int) -> None:
    """Write the postings of the full-text index `passages_fts` in `db` (one row per passage,
    rowid = passage id < `passages`) into `directory`, and fill `word_passages`."""
    for table in VOCABULARY_TABLES:
        db.execute(table)
    words = db.execute("SELECT term, doc, cnt FROM temp.vocabulary").fetchall()
    word_passages = np.fromiter((row[1] for row in words), dtype=np.int64, count=len(words))
    word_occurrences = np.fromiter((row[2] for row in words), dtype=np.int64, count=len(words))
    firsts = np.cumsum(word_passages) - word_passages
    db.executemany(
        "INSERT INTO word_passages (word, passages, first) VALUES (?, ?, ?)",
        ((row[0], row[1], int(first)) for row, first in zip(words, firsts, strict=True)),
    )
    total = int(word_passages.sum())
    lengths = np.zeros(passages, dtype=np.int64)
    # Occurrences come word by word (in the vocabulary's order), each word's by passage, then
    # column, then position: one run of a word's occurrences per (passage, column).
    cursor = db.execute("SELECT doc * 2 + (col = 'title') FROM temp.occurrences")
    written = 0
    with contextlib.ExitStack() as files:
        passage_ids, body, title = (
            files.enter_context(_ArrayFile(directory / name, dtype, total))
            for name, dtype in (
                (POSTINGS_PASSAGES_NAME, np.int32),
                (POSTINGS_BODY_NAME, np.uint16),
                (POSTINGS_TITLE_NAME, np.uint16),
            )
        )
        for first_word, last_word in _word_batches(word_occurrences):
            occurrences = word_occurrences[first_word:last_word]
            count = int(occurrences.sum())
            rows = itertools.islice(cursor, count)
            keys = np.fromiter((row[0] for row in rows), dtype=np.int64, count=count)
            word = np.repeat(np.arange(first_word, last_word), occurrences)
            passage, in_title = keys >> 1, (keys & 1).astype(bool)
            lengths += np.bincount(passage, minlength=passages)
            new_pair = np.flatnonzero(
                np.concatenate(([True], (word[1:] != word[:-1]) | (passage[1:] != passage[:-1])))
            )
            found = np.bincount(word[new_pair] - first_word, minlength=last_word - first_word)
            if not np.array_equal(found, word_passages[first_word:last_word]):
                raise AssertionError("FTS5's vocabulary and occurrences disagree")
            passage_ids.write(passage[new_pair])
            body.write(np.add.reduceat((~in_title).astype(np.int64), new_pair))
            title.write(np.add.reduceat(in_title.astype(np.int64), new_pair))
            written += len(new_pair)
    if cursor.fetchone() is not None or written != total:
        raise AssertionError("FTS5's vocabulary and occurrences disagree")
    np.save(directory / PASSAGE_WORDS_NAME, lengths.astype(np.int32))
    db.execute("DROP TABLE temp.vocabulary")
    db.execute("DROP TABLE temp.occurrences")


class _ArrayFile:
    """A one-dimensional .npy file of known length written in pieces by plain writes (a full
    disk is an `OSError`, where a memory-mapped file would kill the process)."""

    def __init__(self, path: Path, dtype: type[np.generic], length: int) -> None:
        self.dtype = np.dtype(dtype)
        self.limit = np.iinfo(self.dtype).max
        self.file = path.open("wb")
        header = {"descr": self.dtype.str, "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self.file, header)

    def __enter__(self) -> _ArrayFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()

    def write(self, values: NDArray[np.int64]) -> None:
        """Append `values`, clipped to the file's type (a count above 65,535 in one passage
        counts as 65,535)."""
        self.file.write(np.minimum(values, self.limit).astype(self.dtype).tobytes())


def _word_batches(word_occurrences: NDArray[np.int64]) -> Iterator[tuple[int, int]]:
    """(first, last) word numbers of runs of words with about `_OCCURRENCES_AT_A_TIME`
    occurrences together (a commoner word alone)."""
    first, held = 0, 0
    for number, occurrences in enumerate(word_occurrences.tolist()):
        if held and held + occurrences > _OCCURRENCES_AT_A_TIME:
            yield first, number
            first, held = number, 0
        held += occurrences
    if held:
        yield first, len(word_occurrences)


@dataclass(frozen=True, slots=True)
class Postings:
    """A generation's postings, memory-mapped, and BM25 over them."""

    passage_ids: NDArray[np.int32]
    body: NDArray[np.uint16]
    title: NDArray[np.uint16]
    passage_words: NDArray[np.int32]
    average_words: float

    @classmethod
    def open(cls, directory: Path) -> Postings:
        """Map the postings files of the generation in `directory` (`OSError` or
        `ValueError` when one is missing or damaged)."""
        arrays = [np.load(directory / name, mmap_mode="r") for name in FILE_NAMES]
        passage_ids, body, title, passage_words = arrays
        if not len(passage_ids) == len(body) == len(title):
            raise ValueError("postings of different lengths")
        average = float(passage_words.sum()) / len(passage_words) if len(passage_words) else 0.0
        return cls(passage_ids, body, title, passage_words, average)

    def best(
        self, runs: Sequence[tuple[int, int]], k: int, among: NDArray[np.int64] | None = None
    ) -> Matches:
        """The `k` passages with the highest BM25 for the words whose postings start at
        `first` and hold `passages` entries, for each (first, passages) of `runs`, among the
        sorted passage ids `among` if given; best first, ties by passage id."""
        if k < 1:
            return no_matches()
        total = len(self.passage_words)
        found: list[NDArray[np.int64]] = []
        scores: list[NDArray[np.float64]] = []
        for first, passages in runs:
            ids = self.passage_ids[first : first + passages].astype(np.int64)
            frequency = self.body[first : first + passages] * BM25_WEIGHTS[0] + (
                self.title[first : first + passages] * BM25_WEIGHTS[1]
            )
            if among is not None:
                inside = is_among(ids, among)
                ids, frequency = ids[inside], frequency[inside]
            if not len(ids):
                continue
            idf = max(math.log((total - passages + 0.5) / (passages + 0.5)), _IDF_FLOOR)
            length = self.passage_words[ids] / self.average_words
            found.append(ids)
            scores.append(idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * length)))
        if not found:
            return no_matches()
        ids, score = _summed(found, scores)
        order = np.lexsort((ids, -score))[:k] if len(ids) <= k else _top(ids, score, k)
        return ids[order], score[order].astype(np.float32)


def is_among(ids: NDArray[np.int64], among: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of `ids` are in `among` (sorted passage ids)."""
    if not len(among):
        return np.zeros(len(ids), dtype=bool)
    inside: NDArray[np.bool_] = among[np.searchsorted(among, ids).clip(max=len(among) - 1)] == ids
    return inside


def _summed(
    found: list[NDArray[np.int64]], scores: list[NDArray[np.float64]]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each passage once, with the sum of its words' scores."""
    if len(found) == 1:
        return found[0], scores[0]
    ids, score = np.concatenate(found), np.concatenate(scores)
    order = np.argsort(ids, kind="stable")
    ids, score = ids[order], score[order]
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    return ids[starts], np.add.reduceat(score, starts)


def _top(ids: NDArray[np.int64], score: NDArray[np.float64], k: int) -> NDArray[np.int64]:
    """Positions of the `k` best scores, best first, ties by passage id (a tie at the k-th
    score is settled by id as well)."""
    threshold = np.partition(score, len(score) - k)[len(score) - k]
    candidates = np.flatnonzero(score >= threshold)
    order: NDArray[np.int64] = candidates[np.lexsort((ids[candidates], -score[candidates]))][:k]
    return order
