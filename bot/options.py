"""Slash-command option types that more than one command takes: the article filters."""

from __future__ import annotations

from discord import app_commands

# YYYY, YYYY-MM or YYYY-MM-DD (checked by index.records.ArticleFilter).
DateText = app_commands.Range[str, 4, 10]
OutletText = app_commands.Range[str, 1, 100]
