#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh - install the Debian packages microlog builds with, only
# those missing (checked with dpkg-query first, so a second run is instant).
# Runs as root without prompts; uses sudo when not root.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libzstd-dev libxxhash-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libpcre2-dev
    libcurl4-openssl-dev libssl-dev libpq-dev postgresql-15
    zlib1g-dev clang clang-format libclang-rt-14-dev llvm
    chromium
)
# The browser UI builds with Node.js and npm (web/); Debian's only if absent.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)
PYTHON=${PYTHON:-python3}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system, install these yourself:" \
        "${PACKAGES[*]}" >&2
    exit 0
fi

# The Python that makes .venv must be able to make venvs and build
# extensions. Debian's own python3 needs two packages for that; a pyenv or
# other self-built Python has both already.
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    PACKAGES+=(python3 python3-dev python3-venv)
else
    py_exe=$("$PYTHON" -c 'import sys; print(sys.executable)')
    if [[ "$py_exe" == /usr/bin/* ]]; then
        "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 \
            || PACKAGES+=(python3-venv)
        "$PYTHON" - <<'PY' >/dev/null 2>&1 || PACKAGES+=(python3-dev)
import os, sysconfig
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
PY
    fi
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    [[ -n ${ML_DEPS_QUIET:-} ]] \
        || echo "install-deps: all ${#PACKAGES[@]} Debian packages present"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        echo "install-deps: missing ${missing[*]}; run as root to install" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
