#!/usr/bin/env bash
# Faults while writing: every command that writes a file, run with the size
# of the files it may write limited (ulimit -f, with SIGXFSZ ignored, so a
# write past the limit fails with EFBIG as a full disk fails with ENOSPC),
# must exit 1 with an error naming the file, keep the previous file as it was
# and leave no temporary file behind; and a training run killed with SIGKILL
# hundreds of times, mostly while it writes its checkpoint, always leaves a
# complete checkpoint that --resume continues, and its temporary files do not
# pile up. tests/run.sh runs it like a test binary:
#   tests/test_faults.sh --list     the cases
#   tests/test_faults.sh CASE       run one (exit 0 pass, 1 fail)
# KILLS=N sets the number of kills (default 200; 60 in the sanitized pass,
# whose runs start slower).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
S=${SIMLEARN:-$top/simlearn}

cases="write_error_train write_error_model_init write_error_embed write_error_transform write_error_index_build
write_error_index_add write_error_map write_error_report write_error_data_show write_error_words_vectors
write_error_words_checkpoint kill_9_during_checkpoints"
if [ "${1:-}" = --list ]; then
    echo $cases | tr ' ' '\n'
    exit 0
fi
case=${1:?usage: tests/test_faults.sh --list | CASE}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

fail() { echo "FAIL: $*" >&2; exit 1; }
temps() { ls -A | grep '\.tmp\.'; }

# limited KB CMD...: CMD with every file it writes limited to KB KiB.
limited() {
    local kb=$1
    shift
    ( trap '' XFSZ; ulimit -f "$kb"; exec "$@" )
}

# faulty KB OUT CMD...: OUT exists. CMD, limited to KB KiB a file, must exit 1
# naming OUT, keep OUT byte for byte and leave no temporary file; then CMD
# without the limit must succeed and change OUT (so CMD did write OUT).
faulty() {
    local kb=$1 out=$2 before rc
    shift 2
    [ -f "$out" ] || fail "$out: no previous file"
    before=$(sha256sum < "$out")
    limited "$kb" "$@" > out.txt 2> err.txt
    rc=$?
    [ $rc -eq 1 ] || fail "$* limited to ${kb} KiB: exit $rc, expected 1; stderr: $(cat err.txt)"
    grep -q "$out: write failed" err.txt || fail "$*: the error does not name $out: $(cat err.txt)"
    [ "$(sha256sum < "$out")" = "$before" ] || fail "$*: $out changed"
    [ -z "$(temps)" ] || fail "$*: temporary files left: $(temps)"
    "$@" > out.txt 2> err.txt || fail "$* without the limit: $(cat err.txt)"
    [ "$(sha256sum < "$out")" != "$before" ] || fail "$*: $out is the same without the limit"
    [ -z "$(temps)" ] || fail "$*: temporary files left after success: $(temps)"
}

TRAIN=(--data shapes --count 256 --size 16 --batch 16 --steps 3 --threads 1 --encoder "flatten,linear(64)"
       --log-every 100 -q)
model() { "$S" train "${TRAIN[@]}" --seed 1 -o m.safetensors || fail "training the model"; }
emb() { model; "$S" embed --model m.safetensors --count 600 -o e.npy -q > /dev/null || fail "embedding"; }
corpus() {
    local i
    for i in $(seq 1 300); do echo "the cat sat on the mat and the dog ran to the cat $i"; done > c.txt
}

run_case() {
    case $1 in
    write_error_train)
        model
        faulty 64 m.safetensors "$S" train "${TRAIN[@]}" --seed 2 -o m.safetensors ;;
    write_error_model_init)
        "$S" model init "flatten,linear(64)" --input 3x16x16 -o i.safetensors > /dev/null || fail "model init"
        faulty 16 i.safetensors "$S" model init "flatten,linear(64)" --input 3x16x16 --seed 5 -o i.safetensors ;;
    write_error_embed)
        emb
        faulty 64 e.npy "$S" embed --model m.safetensors --count 700 -o e.npy -q ;;
    write_error_transform)
        emb
        "$S" transform abtt e.npy -o t.npy --remove 1 -q || fail "abtt"
        faulty 64 t.npy "$S" transform abtt e.npy -o t.npy --remove 2 -q ;;
    write_error_index_build)
        emb
        "$S" index build e.npy -o e.hnsw -q || fail "index build"
        faulty 64 e.hnsw "$S" index build e.npy -o e.hnsw --seed 7 -q ;;
    write_error_index_add)
        emb
        "$S" index build e.npy -o e.hnsw -q || fail "index build"
        faulty 64 e.hnsw "$S" index add e.hnsw e.npy -q ;;
    write_error_map)
        emb
        "$S" map e.npy --method pca -o map.svg -q || fail "map"
        faulty 8 map.svg "$S" map e.npy --method pca --labels e.labels.npy -o map.svg -q ;;
    write_error_report)
        model
        local fast=(--count 200 --no-tsne --no-probe --thumbs 0 -q)
        "$S" report --model m.safetensors --log m.jsonl -o r.html "${fast[@]}" || fail "report"
        "$S" train "${TRAIN[@]}" --seed 3 -o m.safetensors || fail "training the second model"
        faulty 64 r.html "$S" report --model m.safetensors --log m.jsonl -o r.html "${fast[@]}" ;;
    write_error_data_show)
        "$S" data show shapes -o g.png --n 16 > /dev/null || fail "data show"
        faulty 4 g.png "$S" data show shapes -o g.png --n 16 --first 16 ;;
    write_error_words_vectors)
        corpus
        "$S" words train c.txt -o v.vec --format text --dim 8 --min-count 1 --epochs 1 --threads 1 -q || fail "words"
        faulty 1 v.vec "$S" words train c.txt -o v.vec --format text --dim 8 --min-count 1 --epochs 1 --threads 1 \
            --seed 4 -q ;;
    write_error_words_checkpoint)
        corpus
        local w=(c.txt -o v.bin --checkpoint v.ckpt --dim 8 --min-count 1 --epochs 2 --stop-after-epochs 1 --threads 1 -q)
        "$S" words train "${w[@]}" || fail "words"
        faulty 1 v.ckpt "$S" words train "${w[@]}" --seed 4 ;;
    kill_9_during_checkpoints) kill_loop ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
    esac
}

# A run that writes a 4.7 MB checkpoint at every step, killed at a random
# moment KILLS times; each time the checkpoint must be complete (simlearn info
# reads it) and the next run resumes from it. At most one temporary file may
# be there after a kill (the killed writer's own, or one it had not yet
# removed, as it removes those of dead writers before making its own): the
# next write removes it.
kill_loop() {
    local kills=${KILLS:-$([ -n "${SIMLEARN_SANITIZED:-}" ] && echo 60 || echo 200)} i pid rc during=0 n
    "$S" train --data shapes --count 512 --size 32 --batch 4 --steps 1 --threads 1 --encoder "flatten,linear(128)" \
        --projector none --checkpoint-every 1 --log-every 1000 -q -o k.safetensors || fail "first run"
    RANDOM=1
    for ((i = 0; i < kills; i++)); do
        "$S" train --resume k.safetensors --steps 1000000 --checkpoint-every 1 --log-every 1000 -q -o k.safetensors \
            > /dev/null 2> err.txt &
        pid=$!
        sleep "0.$((250 + RANDOM % 400))"
        kill -KILL "$pid"
        { wait "$pid"; } 2> /dev/null
        rc=$?
        [ $rc -eq 137 ] || fail "kill $i: the run ended by itself (exit $rc): $(cat err.txt)"
        n=$(temps | wc -l)
        [ "$n" -le 1 ] || fail "kill $i: $n temporary files: $(temps)"
        during=$((during + n))
        "$S" info k.safetensors > /dev/null 2> err.txt || fail "kill $i: checkpoint unreadable: $(cat err.txt)"
    done
    local done_steps
    done_steps=$("$S" info k.safetensors | sed -n 's/.*train\.step: \([0-9]*\).*/\1/p')
    [ -n "$done_steps" ] && [ "$done_steps" -gt 10 ] || fail "the runs made no progress (step '$done_steps')"
    "$S" train --resume k.safetensors --steps $((done_steps + 2)) -q -o k.safetensors > /dev/null 2> err.txt ||
        fail "the last resume failed: $(cat err.txt)"
    [ -z "$(temps)" ] || fail "temporary files left at the end: $(temps)"
    echo "$kills kills, $during of them during a checkpoint write, $done_steps steps done"
    [ "$during" -ge $((kills / 10)) ] || fail "only $during of $kills kills hit a checkpoint write"
}

run_case "$case"
