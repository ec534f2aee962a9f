#!/usr/bin/env bash
# The Python package's tests (tests/python/test_*.py, pytest), one case per
# run, for tests/run.sh like a test binary:
#   tests/test_python.sh --list     the cases, as FILE.TEST
#   tests/test_python.sh CASE       run one (exit 0 pass, else fail)
# The package is the one `make python` built in $SIMLEARN_BUILD (default
# build/python), run by Debian's /usr/bin/python3.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${SIMLEARN_BUILD:-$top/build}
export PYTHONPATH=$build/python PYTHONDONTWRITEBYTECODE=1
py=/usr/bin/python3
cd "$top" || exit 1
if [ "${1:-}" = --list ]; then
    out=$($py -m pytest --collect-only -q -p no:cacheprovider tests/python) || { echo "$out" >&2; exit 1; }
    echo "$out" | sed -n 's/^tests\/python\/\(test_[A-Za-z0-9_]*\)\.py::\([A-Za-z0-9_]*\)$/\1.\2/p'
    exit 0
fi
case=${1:?usage: tests/test_python.sh --list | CASE}
file=${case%%.*} name=${case#*.}
exec $py -m pytest -q -p no:cacheprovider "tests/python/$file.py::$name"
