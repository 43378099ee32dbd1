#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-venv.sh PYTHON DIR [REQUIREMENTS...] - make (or reuse) a venv in
# DIR with PYTHON, put pytest in it (and the pinned packages of each
# requirements file, e.g. tests/store/requirements.txt for the S3 server of
# the store tests) and `pip install .` the package, with -Werror unless
# ML_WERROR=OFF.
# The Makefile calls it when a source changed (stamp file DIR/.ml-installed).
set -euo pipefail

python=$1
venv=$2
shift 2
cd "$(dirname "$0")/.."

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    echo "venv: creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"$venv/bin/python" -c 'import pytest' >/dev/null 2>&1 \
    || "${pip[@]}" install -q pytest
# Exact pins that are already installed are satisfied without the index.
for reqs in "$@"; do
    echo "venv: pip install -r $reqs into $venv"
    "${pip[@]}" install -q -r "$reqs"
done
echo "venv: pip install . into $venv"
"${pip[@]}" install -q \
    --config-settings=cmake.define.ML_WERROR="${ML_WERROR:-ON}" .
