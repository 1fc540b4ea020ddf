#!/usr/bin/env bash
# Rebuild every built-in strategy in models/ from the synthetic population — one reproducible
# command (same seed, same files, same hashes apart from the card's creation time):
#
#     bash models/build.sh
#
set -euo pipefail
cd "$(dirname "$0")/.."
data="${TAXCREDIT_BUILD_DATA:-build/synthetic-60k-seed7}"
if [ ! -f "$data/_validated.json" ] || [ ! -f "$data/consents.parquet" ]; then
    taxcredit generate --enterprises 60000 --months 48 --seed 7 --out "$data" --overwrite --quiet
    taxcredit validate "$data" --quiet
fi
for name in sme_scorecard digital_gbm scitech_sme; do
    # history: each application's authorisation for model development as of its date
    taxcredit train --strategy "$name" --data "$data" --out "models/$name" --consent-at as-of \
        --audit-log "$data/audit.jsonl"
done
