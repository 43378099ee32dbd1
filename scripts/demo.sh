#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - what `make demo` runs once everything is built. For now: make a
# synthetic recording with the test generator and summarise it with the
# installed `microlog` command.
set -euo pipefail
cd "$(dirname "$0")/.."

gen=build/tests/tools/ml_gen
cli=.venv/bin/microlog
out=build/demo/demo.mlog

for need in "$gen" "$cli"; do
    if [[ ! -x "$need" ]]; then
        echo "demo: $need is not built yet, nothing to show"
        exit 0
    fi
done
mkdir -p "$(dirname "$out")"
"$gen" "$out"
"$cli" show "$out"
echo
echo "demo: recording in $out"
