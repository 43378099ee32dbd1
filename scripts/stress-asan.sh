#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# stress-asan.sh [SECONDS] - the fallback sampler's stress test
# (tests/python/test_stress.py) against an ASan+UBSan build of the
# extension, for SECONDS (default 180). Builds build-asan-ext/ (the
# extension only), puts it beside the Python package in a scratch folder
# first on PYTHONPATH, and preloads the compiler's libasan into the
# interpreter (which is not built with ASan), as the walker stage does.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-180}
python=${PYTHON:-.venv/bin/python}
build=${BUILD_ASAN_EXT:-build-asan-ext}
exe=$("$python" -c 'import sys; print(sys.executable)')
[[ -f $build/build.ninja ]] || cmake -S . -B "$build" -G Ninja \
    -DML_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DML_BUILD_TESTS=OFF \
    -DML_BUILD_CLI=OFF -DPython_EXECUTABLE="$exe"
ninja -C "$build" _microlog
pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
cp -r python/microlog "$pkg/microlog"
cp "$build"/python/microlog/_microlog*.so "$pkg/microlog/"
asan=$(${CC:-gcc} -print-file-name=libasan.so)
ubsan=$(${CC:-gcc} -print-file-name=libubsan.so)
# ASan's allocator (GCC 12, clang 14) has no fork handlers: a fork while
# another thread allocates leaves its lock held in the child, which then
# hangs in its first malloc. So the long run goes without forks, and a short
# one with them (it may hang for that reason alone; its timeout says so).
stress() {
    PYTHONPATH="$pkg" LD_PRELOAD="$asan:$ubsan" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ML_STRESS_SECONDS="$1" ML_STRESS_FORKS="$2" \
        "$python" -m pytest -q -p no:cacheprovider tests/python/test_stress.py
}
echo "stress: ${seconds}s without forks, fallback sampler, ASan+UBSan"
stress "$seconds" 0
echo "stress: 20s with forks, fallback sampler, ASan+UBSan"
stress 20 1
