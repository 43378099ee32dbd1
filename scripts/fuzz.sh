#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz.sh SECONDS [BUILD_DIR] - run every libFuzzer target (built by
# `make fuzz` in BUILD_DIR with -DML_FUZZ=ON) for SECONDS / targets each.
# Each target starts from tests/fuzz/corpus/<name>/ (read only) and writes
# new inputs to BUILD_DIR/corpus/<name>/; with FUZZ_MERGE=1 the new inputs
# are merged (minimised) back into the repository's corpus afterwards.
# Crashes land in BUILD_DIR/artifacts/<name>/: keep them in the corpus as
# regression inputs once fixed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
build=${2:-build-fuzz}
merge=${FUZZ_MERGE:-0}

shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz: no fuzz targets (tests/fuzz/fuzz_*.c) built in $build"
    exit 0
fi
per=$((seconds / ${#targets[@]}))
[[ $per -ge 1 ]] || per=1
echo "fuzz: ${#targets[@]} target(s), ${per}s each"

rows=()
failed=0
for bin in "${targets[@]}"; do
    target=$(basename "$bin")
    name=${target#fuzz_}
    seed=tests/fuzz/corpus/$name
    work=$build/corpus/$name
    artifacts=$build/artifacts/$name
    log=$build/logs/$name.log
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    dirs=("$work")
    [[ -d $seed ]] && dirs+=("$seed")
    opts=(-max_total_time="$per" -print_final_stats=1 -timeout=10
          -rss_limit_mb=2048 -artifact_prefix="$artifacts/")
    [[ -f tests/fuzz/$target.dict ]] && opts+=(-dict="tests/fuzz/$target.dict")

    echo "---- $target (${per}s; log $log)"
    "$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [[ $rc -ne 0 ]]; then
        failed=1
        tail -40 "$log"
        status="CRASH (see $artifacts)"
    else
        status=ok
    fi
    if [[ $merge == 1 && -d $seed && $rc -eq 0 ]]; then
        "$bin" -merge=1 "$seed" "$work" >>"$log" 2>&1 \
            && echo "merged new inputs into $seed"
    fi
    rows+=("$(printf '%-24s %6ss %12s execs  %6s corpus  %s' "$target" \
        "$per" "${execs:-?}" "$(ls "$work" | wc -l)" "$status")")
done

echo
echo "==== fuzz summary ===="
printf '%s\n' "${rows[@]}"
exit $failed
