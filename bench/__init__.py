"""citebot's benchmarks: each module is a script, run from the repository root as a module
(`.venv/bin/python -m bench.cold_start ...`), so that it can import `tests.support` by name."""
