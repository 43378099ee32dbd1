#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the _walktest extension against one Python:
#   build_walk_test.sh /path/to/python3.X OUTDIR [asan|tsan]
# picking the ml_pywalk_py*.c that matches that Python's version.
set -eu
PY=$1
OUT=$2
SAN=${3:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/src/ext
INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
VER=$("$PY" -c 'import sys; print("%d%d" % sys.version_info[:2])')
case $VER in
    39|310) WALK=ml_pywalk_py39.c ;;
    311) WALK=ml_pywalk_py311.c ;;
    312) WALK=ml_pywalk_py312.c ;;
    313) WALK=ml_pywalk_py313.c ;;
    *) echo "unsupported Python $VER" >&2; exit 2 ;;
esac
CC=${CC:-gcc}
CFLAGS="-std=c11 -O2 -g -fPIC -Wall -Wextra -Werror -fvisibility=hidden"
if [ "$SAN" = asan ]; then
    CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer"
elif [ "$SAN" = tsan ]; then
    CFLAGS="$CFLAGS -fsanitize=thread -fno-omit-frame-pointer"
fi
mkdir -p "$OUT"
# The version file defines Py_BUILD_CORE itself; internal headers are found
# as "internal/pycore_*.h" under the normal include directory.
# shellcheck disable=SC2086
$CC $CFLAGS -shared -I"$INC" -I"$SRC" \
    "$ROOT/tests/ext/walktest.c" "$SRC/$WALK" "$SRC/ml_pywalk_common.c" \
    "$SRC/ml_saferead_linux.c" "$SRC/ml_prefetch.c" "$ROOT/src/core/ml_buf.c" "$ROOT/src/core/ml_varint.c" -I"$ROOT/src" -o "$OUT/_walktest$SUFFIX" -lpthread
echo "$OUT/_walktest$SUFFIX"
