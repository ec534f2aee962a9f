#!/usr/bin/env bash
# Runs every case of every test binary given, each case in its own process,
# two at a time (TEST_JOBS), with a time limit per case (TEST_TIMEOUT seconds).
# Prints failures with their output and ends with "N passed, N failed, N skipped";
# exits 1 if anything failed. A case that skips exits 77, except under CI=true,
# where it exits 1 with its reason (tests/test_main.c) and counts as failed.
set -u
jobs=${TEST_JOBS:-2}
limit=${TEST_TIMEOUT:-600}
filter=${TEST_FILTER:-}
list=$(mktemp)
res=$(mktemp -d)
trap 'rm -rf "$list" "$res"' EXIT
for b in "$@"; do
  if ! names=$("$b" --list); then echo "FAIL $b --list" >&2; echo "$b --list" >> "$res/listfail"; continue; fi
  for n in $names; do
    if [ -z "$filter" ] || [[ "$(basename "$b"):$n" == *"$filter"* ]]; then echo "$b $n"; fi
  done
done > "$list"

run_one() {
  b=$1; n=$2; res=$3; limit=$4
  id="$(basename "$b").$n"
  start=$(date +%s.%N)
  timeout "$limit" "$b" "$n" > "$res/$id.out" 2>&1
  rc=$?
  t=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}')
  case $rc in
    0) echo "pass $id ${t}s" ;;
    77) echo "skip $id: $(tail -n1 "$res/$id.out")" ;;
    124) echo "FAIL $id (timed out after ${limit}s)" ;;
    *) echo "FAIL $id (exit $rc)" ;;
  esac > "$res/$id.status"
  cat "$res/$id.status"
}
export -f run_one
xargs -r -P "$jobs" -L 1 bash -c 'run_one "$0" "$1" "'"$res"'" "'"$limit"'"' < "$list"

passed=$(cat "$res"/*.status 2>/dev/null | grep -c '^pass')
failed=$(cat "$res"/*.status 2>/dev/null | grep -c '^FAIL')
skipped=$(cat "$res"/*.status 2>/dev/null | grep -c '^skip')
[ -f "$res/listfail" ] && failed=$((failed + $(wc -l < "$res/listfail")))
if [ "$failed" -gt 0 ]; then
  echo
  echo "---- output of failed tests ----"
  for s in "$res"/*.status; do
    if grep -q '^FAIL' "$s"; then
      id=$(basename "$s" .status)
      echo "== $id"; tail -n 40 "$res/$id.out"
    fi
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
