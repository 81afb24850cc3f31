"""citebot's Discord bot: a thin adapter over the answer engine in `index`."""
