#!/usr/bin/env bash
# Every benchmark in one run, with citebot's defaults: the figures in docs/benchmarks.md.
#
#   bash bench/run_all.sh 2>&1 | tee bench.log     (about 25 minutes on 2 cores)
#
# Run it on a quiet machine: anything else running makes the timings worse. With
# CITEBOT_BENCH_KEEP=DIR the synthetic 100k and 1M indexes of bench/scale.py are kept in DIR
# and reused by later runs (writing the 1M one takes most of an hour). Each benchmark runs from
# the repository root as a module of the bench package (python -m bench.NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python=.venv/bin/python

echo "== machine"
lscpu | grep -E "^(Model name|CPU\(s\)|Flags)" | cut -c1-120
grep MemTotal /proc/meminfo
"$python" -c "import platform; print(platform.python_version(), platform.platform())"
git log -1 --format="commit %h %s"

echo "== quality on XQuAD: citebot eval --compare"
.venv/bin/citebot eval ../shared/data/xquad_en_dev.json --compare

echo "== citebot against a plain baseline (torch model, flat FAISS, top passage): bench/baseline.py"
"$python" -m bench.fit_answer_weights --write-xquad "$work/xquad.jsonl"
.venv/bin/citebot build "$work/xquad.jsonl" --index "$work/xquad" >/dev/null
"$python" -m bench.baseline --index "$work/xquad" --questions ../shared/data/xquad_en_dev.json

echo "== build: bench/build_speed.py"
"$python" -m bench.build_speed --keep "$work/bbc"

echo "== warm answers at 10k, 100k and 1M passages: bench/scale.py"
keep=()
if [[ -n "${CITEBOT_BENCH_KEEP:-}" ]]; then keep=(--keep "$CITEBOT_BENCH_KEEP"); fi
"$python" -m bench.scale --base-index "$work/bbc" "${keep[@]}"

echo "== cold start: bench/cold_start.py"
"$python" -m bench.cold_start --index "$work/bbc"
