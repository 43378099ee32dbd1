#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds and runs the ml_pywalk tests for every given Python (default: the
# pyenv 3.9-3.13 installs): normal build, memfd fallback, ASan+UBSan, and
# ThreadSanitizer (the walker's thread against the program's threads).
#   run_walk_tests.sh [python ...]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/ml_walktest}
if [ $# -eq 0 ]; then
    set -- /root/.pyenv/versions/3.9*/bin/python3 \
        /root/.pyenv/versions/3.10*/bin/python3 \
        /root/.pyenv/versions/3.11*/bin/python3 \
        /root/.pyenv/versions/3.12*/bin/python3 \
        /root/.pyenv/versions/3.13*/bin/python3
fi
ASAN_LIB=$(${CC:-gcc} -print-file-name=libasan.so)
TSAN_LIB=$(${CC:-gcc} -print-file-name=libtsan.so)
fail=0
for PY in "$@"; do
    V=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "=== Python $V"
    "$HERE/build_walk_test.sh" "$PY" "$OUT/$V" >/dev/null || { fail=1; continue; }
    timeout 600 "$PY" "$HERE/test_walk.py" "$OUT/$V" || fail=1
    echo "--- $V memfd fallback"
    timeout 600 "$PY" "$HERE/test_walk.py" "$OUT/$V" --fallback || fail=1
    echo "--- $V asan+ubsan"
    "$HERE/build_walk_test.sh" "$PY" "$OUT/$V-asan" asan >/dev/null || { fail=1; continue; }
    LD_PRELOAD=$ASAN_LIB ASAN_OPTIONS=detect_leaks=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        timeout 900 "$PY" "$HERE/test_walk.py" "$OUT/$V-asan" --no-bench || fail=1
    echo "--- $V tsan"
    "$HERE/build_walk_test.sh" "$PY" "$OUT/$V-tsan" tsan >/dev/null || { fail=1; continue; }
    LD_PRELOAD=$TSAN_LIB TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        timeout 900 "$PY" "$HERE/test_walk.py" "$OUT/$V-tsan" --no-bench || fail=1
done
exit $fail
