#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh - what `make demo` runs once everything is built: record every
# program in examples/ with `python -m microlog` (together they show each
# feature: threads, prints and logging with stacks, a slow import, leaks,
# asyncio tasks, timed calls with an anomaly, metrics, an error), summarise
# one, then serve them all with `microlog serve` and print the URL to open.
# DEMO_SERVE=0 records and summarises only; DEMO_PORT picks the port.
set -uo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
cli=.venv/bin/microlog
export MICROLOG_DIR=${MICROLOG_DIR:-$HOME/.microlog}
port=${DEMO_PORT:-7777}

examples=(demo logging_stacks slow_import leaks asyncio_tasks timed_calls
          metrics error thread_pool)
for name in "${examples[@]}"; do
    echo "demo: recording examples/$name.py"
    MICROLOG_QUIET=true "$python" -m microlog "$name" "examples/$name.py" \
        >/dev/null 2>"$MICROLOG_DIR/.demo-$name.err"
    rc=$?
    # error.py ends with an uncaught exception on purpose.
    if [[ $rc -ne 0 && $name != error ]]; then
        echo "demo: examples/$name.py failed ($rc):" >&2
        cat "$MICROLOG_DIR/.demo-$name.err" >&2
        exit 1
    fi
    rm -f "$MICROLOG_DIR/.demo-$name.err"
done
recording=$(ls -t "$MICROLOG_DIR"/demo/*.mlog | head -n 1)
echo
"$cli" show --top 10 "$recording"
echo
echo "demo: ${#examples[@]} recordings in $MICROLOG_DIR"
if [[ ${DEMO_SERVE:-1} == 0 ]]; then
    echo "demo: look at them with: $cli serve --dir $MICROLOG_DIR --port $port"
    exit 0
fi
echo "demo: serving them; open the URL below (Ctrl-C stops the server)"
exec "$cli" serve --dir "$MICROLOG_DIR" --port "$port"
