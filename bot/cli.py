"""The `citebot` console command: the index commands plus `citebot run` for the bot."""

from __future__ import annotations

from index.cli import cli


def main() -> None:
    """Entry point of the `citebot` console script."""
    cli()
