#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-tests.sh [STAGE...] - the test stages of `make test`, each timed, with
# a summary at the end; a failing stage does not stop the others, but makes
# the exit status 1. Stages: format unit asan tsan pytest server store
# export pythons walker web
# (default: all).
# Expects `make all` to have run (build/ and .venv exist).
set -uo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
BUILD_TSAN=${BUILD_TSAN:-build-tsan}
VENV=${VENV:-.venv}
PY_VERSIONS=${PY_VERSIONS:-3.9 3.10 3.11 3.12 3.13}
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# A test run that hangs (a server or browser left waiting) is stopped after
# this many seconds and counts as failed, so CI always finishes.
STAGE_TIMEOUT=${STAGE_TIMEOUT:-1200}
bounded() { timeout --kill-after=30 "$STAGE_TIMEOUT" "$@"; }
export ML_DEPS_QUIET=1 # `make test` checked them already

results=()
failed=0

# run_stage NAME COMMAND...: run, time and record one stage.
run_stage()
{
    local name=$1 start rc
    shift
    printf '\n==== %s ====\n' "$name"
    start=$(date +%s)
    "$@"
    rc=$?
    local secs=$(($(date +%s) - start))
    case $rc in
    0) results+=("$(printf '%-22s %-8s %5ss' "$name" passed "$secs")") ;;
    77) results+=("$(printf '%-22s %-8s %5ss' "$name" skipped "$secs")") ;;
    *)
        results+=("$(printf '%-22s %-8s %5ss' "$name" FAILED "$secs")")
        failed=1
        ;;
    esac
}

stage_format()
{
    $MAKE --no-print-directory format-check
}

stage_unit()
{
    $MAKE --no-print-directory build || return
    (cd "$BUILD" && ctest --output-on-failure -j "$JOBS")
}

stage_asan()
{
    $MAKE --no-print-directory asan || return
    (cd "$BUILD_ASAN" \
        && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
            UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            ctest --output-on-failure -j "$JOBS")
}

# The C tests under ThreadSanitizer (the walker's thread runs under TSan in
# the walker stage).
stage_tsan()
{
    $MAKE --no-print-directory tsan || return
    (cd "$BUILD_TSAN" \
        && TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
            ctest --output-on-failure -j "$JOBS")
}

# pytest_in PYTHON: run tests/python; "no tests collected" is not a failure.
pytest_in()
{
    local rc
    if [[ ! -d tests/python ]]; then
        echo "no tests/python yet"
        return 77
    fi
    bounded "$1" -m pytest -q tests/python
    rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "pytest: no tests collected"
        return 77
    fi
    return $rc
}

stage_pytest()
{
    pytest_in "$VENV/bin/python"
}

# The real `microlog serve` on 127.0.0.1 driven through its API
# (tests/server); once, from .venv: the server is C, not per-Python.
stage_server()
{
    bounded "$VENV/bin/python" -m pytest -q tests/server || return
    # Again with the server built with ASan+UBSan (the asan stage builds
    # it): any report makes its exit status, and so the test, fail.
    local rc=0
    if [[ -x $BUILD_ASAN/microlog ]]; then
        echo "server API tests with $BUILD_ASAN/microlog (ASan+UBSan)"
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
            UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            MICROLOG_BIN="$PWD/$BUILD_ASAN/microlog" \
            bounded "$VENV/bin/python" -m pytest -q tests/server || rc=1
    fi
    # And with the ThreadSanitizer build (the tsan stage builds it): the
    # server's request threads share the run catalog and the indexes.
    if [[ -x $BUILD_TSAN/microlog ]]; then
        echo "server API tests with $BUILD_TSAN/microlog (TSan)"
        TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66} \
            MICROLOG_BIN="$PWD/$BUILD_TSAN/microlog" \
            bounded "$VENV/bin/python" -m pytest -q tests/server || rc=1
    fi
    return $rc
}

# The central store's clients against real servers on 127.0.0.1
# (tests/store): the S3 client through build/tests/tools/ml_s3_tool against
# moto's signature-checking S3 server (from .venv, tests/store/
# requirements.txt). Again with the ASan+UBSan tools, and the thread test
# with the TSan tools, when those stages built them.
stage_store()
{
    $MAKE --no-print-directory build || return
    # Everything once against the plain build: the S3 client, the catalog,
    # the servers end to end and the reliability run.
    BUILD=$BUILD ML_TOOLS_DIR="$PWD/$BUILD/tests/tools" \
        MICROLOG_BIN="$PWD/$BUILD/microlog" \
        bounded "$VENV/bin/python" -m pytest -q tests/store || return
    local rc=0
    # Again with the ASan+UBSan tools and server (the asan stage builds
    # them), all but the minute-long reliability run and the timings.
    if [[ -x $BUILD_ASAN/tests/tools/ml_s3_tool ]]; then
        echo "store tests with $BUILD_ASAN (ASan+UBSan)"
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
            UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            ML_TOOLS_DIR="$PWD/$BUILD_ASAN/tests/tools" \
            ML_CATALOG_TOOL="$PWD/$BUILD_ASAN/tests/tools/ml_catalog_tool" \
            MICROLOG_BIN="$PWD/$BUILD_ASAN/microlog" \
            bounded "$VENV/bin/python" -m pytest -q tests/store \
            -k "not reliability and not latency and not 100k" || rc=1
    fi
    # The threads of the S3 client's pool and the servers' ingest path
    # (suspended connections, the segment writer, the mirror) under
    # ThreadSanitizer (the tsan stage builds it).
    if [[ -x $BUILD_TSAN/tests/tools/ml_s3_tool ]]; then
        echo "store thread tests with $BUILD_TSAN (TSan)"
        TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66} \
            ML_TOOLS_DIR="$PWD/$BUILD_TSAN/tests/tools" \
            MICROLOG_BIN="$PWD/$BUILD_TSAN/microlog" \
            bounded "$VENV/bin/python" -m pytest -q tests/store \
            -k "threads or test_fleet" || rc=1
    fi
    return $rc
}

# The exports, diff, ls (and report) through the installed CLI and the
# real consumers on the machine (go tool pprof, speedscope in chromium).
stage_export()
{
    # The speedscope viewer (npm package) from tests/export's lockfile.
    if [[ ! tests/export/node_modules/.package-lock.json \
        -nt tests/export/package-lock.json ]]; then
        (cd tests/export && npm ci --no-audit --no-fund) || return
    fi
    bounded "$VENV/bin/python" -m pytest -q tests/export || return
    # Again with the ASan+UBSan build (the asan stage builds it): the
    # exporters' hand-written encoders on real recordings.
    if [[ -x $BUILD_ASAN/microlog ]]; then
        echo "export tests with $BUILD_ASAN/microlog (ASan+UBSan)"
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
            UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            MICROLOG_BIN="$PWD/$BUILD_ASAN/microlog" \
            bounded "$VENV/bin/python" -m pytest -q tests/export
    fi
}

# One venv per CPython version found under pyenv, package installed there.
stage_python_version()
{
    local v=$1
    $MAKE --no-print-directory "$BUILD/py/$v/.ml-installed" || return
    pytest_in "$BUILD/py/$v/bin/python"
}

# The GIL-free frame walker against every CPython found, four ways: plain,
# with the memfd read fallback, under ASan+UBSan and under TSan (tests/ext).
stage_walker()
{
    local pythons=()
    for v in $PY_VERSIONS; do
        local py
        py=$(compgen -G "$PYENV_ROOT/versions/$v.*/bin/python3" | sort \
            | tail -1)
        [[ -n $py ]] && pythons+=("$py")
    done
    local want
    want=$(wc -w <<<"$PY_VERSIONS")
    if [[ ${#pythons[@]} -ne $want ]]; then
        echo "frame walker: found ${#pythons[@]} of $want CPython" \
            "versions ($PY_VERSIONS) under $PYENV_ROOT" >&2
        return 1
    fi
    OUT="$BUILD/walktest" tests/ext/run_walk_tests.sh "${pythons[@]}"
}

# The browser UI: lint and format check, type-check, then the end-to-end tests in headless
# chromium against the real server (tests/web, screenshots in build/screenshots).
stage_web()
{
    $MAKE --no-print-directory web || return
    (cd web && npm run --silent lint && npx --no-install tsc --noEmit -p .) \
        || return
    bounded node --test tests/web/
}

stages=("$@")
[[ ${#stages[@]} -gt 0 ]] \
    || stages=(format unit asan tsan pytest server store export pythons walker
        web)
total_start=$(date +%s)
for stage in "${stages[@]}"; do
    case $stage in
    format) run_stage "clang-format" stage_format ;;
    unit) run_stage "ctest $BUILD" stage_unit ;;
    asan) run_stage "ctest $BUILD_ASAN" stage_asan ;;
    tsan) run_stage "ctest $BUILD_TSAN" stage_tsan ;;
    pytest) run_stage "pytest $VENV" stage_pytest ;;
    server) run_stage "server API tests" stage_server ;;
    store) run_stage "store tests" stage_store ;;
    export) run_stage "export tests" stage_export ;;
    walker) run_stage "frame walker 3.9-3.13" stage_walker ;;
    web) run_stage "web lint+types+e2e" stage_web ;;
    pythons)
        for v in $PY_VERSIONS; do
            if ! compgen -G "$PYENV_ROOT/versions/$v.*/bin/python3" \
                >/dev/null; then
                # These machines all have 3.9 to 3.13: a missing one is a
                # broken set-up, not a pass (PY_VERSIONS narrows the list).
                echo "CPython $v not found under $PYENV_ROOT" \
                    "(set PY_VERSIONS to test fewer)" >&2
                results+=("$(printf '%-22s %-8s %5s' "pytest CPython $v" \
                    FAILED -)")
                failed=1
                continue
            fi
            # .venv already ran the suite on this very interpreter.
            base=$(compgen -G "$PYENV_ROOT/versions/$v.*" | sort | tail -1)
            venv_base=$("$VENV/bin/python" -c \
                'import sys; print(sys.base_prefix)' 2>/dev/null)
            if [[ -n $venv_base && $venv_base -ef $base ]]; then
                echo "note: CPython $v is .venv's Python, tested above"
                results+=("$(printf '%-22s %-8s %5s' "pytest CPython $v" \
                    "= .venv" -)")
                continue
            fi
            run_stage "pytest CPython $v" stage_python_version "$v"
        done
        ;;
    *)
        echo "run-tests: unknown stage '$stage'" >&2
        exit 2
        ;;
    esac
done

printf '\n==== summary (%ss) ====\n' "$(($(date +%s) - total_start))"
printf '%s\n' "${results[@]}"
npassed=$(printf '%s\n' "${results[@]}" | grep -c ' passed ')
nfailed=$(printf '%s\n' "${results[@]}" | grep -c ' FAILED ')
echo "stages: $npassed passed, $nfailed failed"
if [[ $failed -ne 0 ]]; then
    echo "make test: FAILED"
    exit 1
fi
echo "make test: all stages passed"
