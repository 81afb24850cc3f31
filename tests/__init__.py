"""citebot test suite."""
