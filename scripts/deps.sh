#!/usr/bin/env bash
# Installs the Debian packages simlearn needs, idempotently: packages already
# present are not touched, and when nothing is missing this returns at once
# (no `apt-get update`, no network).
#   scripts/deps.sh [GROUP...]   groups: core (default), test, python, data, bench, browser, fuzz, all
#     core     build the library and the CLI (`make`, `make demo`), with Open
#              MPI for distributed runs
#     test     what the test suite checks against (`make test`): numpy reads our
#              .npy and safetensors, gensim our vectors, PyTorch our checkpoints,
#              headless Chromium renders the report, Fashion-MNIST loads,
#              pkg-config finds the installed library, and both OpenBLAS builds
#              (OpenMP and pthreads) for the kernel and threading checks, and
#              the Python package's build and pytest
#     python   build the Python package (`make python`, `pip install .`):
#              Debian's interpreter, its headers, numpy, pip and setuptools
#     data     the data sets the examples and benchmarks read
#     bench    the reference systems the benchmarks compare against
#     fuzz     clang with libFuzzer and the sanitizer runtimes, and its OpenMP
#              (`make fuzz`, tests/fuzz/)
set -euo pipefail

core=(build-essential pkg-config libopenblas-dev zlib1g-dev libpng-dev libjpeg-dev libdnnl-dev libopenmpi-dev openmpi-bin)
test=(python3-numpy python3-gensim python3-torch chromium dataset-fashion-mnist pkg-config
      libopenblas0-openmp libopenblas0-pthread python3 python3-dev python3-pytest python3-pip
      python3-setuptools python3-wheel)
python=(python3 python3-dev python3-numpy python3-pip python3-setuptools python3-wheel)
data=(dataset-fashion-mnist dict-gcide)
bench=(python3-numpy python3-torch python3-gensim python3-faiss python3-hnswlib
       python3-sklearn python3-scipy fasttext dataset-fashion-mnist dict-gcide wordnet-base)
browser=(chromium)
fuzz=(clang libclang-rt-dev libomp-dev)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(core)
want=()
for g in "${groups[@]}"; do
  case "$g" in
    core) want+=("${core[@]}") ;;
    test) want+=("${test[@]}") ;;
    python) want+=("${python[@]}") ;;
    data) want+=("${data[@]}") ;;
    bench) want+=("${bench[@]}") ;;
    browser) want+=("${browser[@]}") ;;
    fuzz) want+=("${fuzz[@]}") ;;
    all) want+=("${core[@]}" "${test[@]}" "${python[@]}" "${data[@]}" "${bench[@]}" "${browser[@]}" "${fuzz[@]}") ;;
    *) echo "deps.sh: unknown group '$g' (expected core, test, python, data, bench, browser, fuzz or all)" >&2; exit 2 ;;
  esac
done

# One dpkg-query for all: it prints a line for every package it knows of, so a
# package that was never installed simply has no "installed" line.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null | awk '$2 == "installed" {print $1}' || true)
declare -A have=() seen=()
for p in $installed; do have[$p]=1; done
missing=()
for p in "${want[@]}"; do
  [ -n "${have[$p]:-}" ] || [ -n "${seen[$p]:-}" ] || { seen[$p]=1; missing+=("$p"); }
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
