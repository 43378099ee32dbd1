#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - what `make demo` runs once everything is built: record the
# example program with `python -m microlog`, then summarise the recording
# with the `microlog` command.
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
cli=.venv/bin/microlog
export MICROLOG_DIR=${MICROLOG_DIR:-$HOME/.microlog}

"$python" -m microlog demo examples/demo.py
recording=$(ls -t "$MICROLOG_DIR"/demo/*.mlog | head -n 1)
echo
"$cli" show --top 10 "$recording"
echo
echo "demo: the recording is $recording"
echo "demo: summarise any recording with: .venv/bin/microlog show FILE"
