#!/usr/bin/env bash
# Installs the Debian packages simlearn needs, idempotently: packages already
# present are not touched, and when nothing is missing this returns at once.
#   scripts/deps.sh [GROUP...]   groups: core (default), data, bench, browser, all
set -euo pipefail

core=(build-essential pkg-config libopenblas-dev zlib1g-dev libpng-dev libjpeg-dev)
data=(dataset-fashion-mnist dict-gcide)
bench=(python3-numpy python3-torch python3-gensim python3-faiss python3-hnswlib
       python3-sklearn python3-scipy fasttext dataset-fashion-mnist dict-gcide)
browser=(chromium)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(core)
want=()
for g in "${groups[@]}"; do
  case "$g" in
    core) want+=("${core[@]}") ;;
    data) want+=("${data[@]}") ;;
    bench) want+=("${bench[@]}") ;;
    browser) want+=("${browser[@]}") ;;
    all) want+=("${core[@]}" "${data[@]}" "${bench[@]}" "${browser[@]}") ;;
    *) echo "deps.sh: unknown group '$g' (expected core, data, bench, browser or all)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$st" in *"install ok installed"*) ;; *) missing+=("$p") ;; esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

# De-duplicate while keeping order.
declare -A seen=(); uniq=()
for p in "${missing[@]}"; do [ -n "${seen[$p]:-}" ] || { seen[$p]=1; uniq+=("$p"); }; done

echo "deps.sh: installing ${uniq[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${uniq[@]}"
