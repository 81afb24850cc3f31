"""Slash-command options that more than one command takes: the article filters."""

from __future__ import annotations

from discord import app_commands

# YYYY, YYYY-MM or YYYY-MM-DD (checked by index.records.ArticleFilter).
DateText = app_commands.Range[str, 4, 10]
OutletText = app_commands.Range[str, 1, 100]

# Their descriptions, for `app_commands.describe(**FILTER_DESCRIPTIONS)`.
FILTER_DESCRIPTIONS = {
    "since": "Only articles published on or after this date (YYYY-MM-DD, YYYY-MM, YYYY)",
    "until": "Only articles published on or before this date (YYYY-MM-DD, YYYY-MM, YYYY)",
    "outlet": "Only articles from outlets whose name contains this",
}
