"""The bounded map keeps the entries used last: a read counts as a use."""

from __future__ import annotations

from index.lru import LeastRecentlyUsed


def test_the_least_recently_used_entry_is_forgotten_first() -> None:
    kept: LeastRecentlyUsed[str, int] = LeastRecentlyUsed(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "a" is now the most recent
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    kept.put("a", 4)  # rewriting keeps one entry
    kept.put("d", 5)
    assert (kept.get("a"), kept.get("c"), kept.get("d")) == (4, None, 5)
