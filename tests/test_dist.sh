#!/usr/bin/env bash
# Distributed training under mpirun (Open MPI, 2 ranks on this machine, over
# shared memory): 2 ranks x global batch B against 1 process x B for every
# objective (same losses and parameters to float rounding), synchronised and
# per-rank batch norm, resume, what only rank 0 does, refusals, Ctrl-C, a
# rank that dies, and the build without MPI; sharded exact search,
# sharded HNSW (build, search, their refusals) and IVF-PQ built and searched
# by the ranks together. tests/run.sh runs it like a
# test binary:
#   tests/test_dist.sh --list     the cases
#   tests/test_dist.sh CASE       run one (exit 0 pass, 1 fail)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
S=${SIMLEARN:-$top/simlearn}
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
# Open MPI keeps allocations until exit; under the sanitizers they are not leaks of ours.
# (Its plugins stay loaded to the end and the stacks are unwound in full, so
# that the reports name its libraries.)
if [ -n "${SIMLEARN_SANITIZED:-}" ]; then
    export LSAN_OPTIONS="suppressions=$here/lsan-mpi.supp:print_suppressions=0:fast_unwind_on_malloc=0"
    export OMPI_MCA_mca_base_component_disable_dlclose=1
fi
MPIRUN=(mpirun -np 2 --oversubscribe --bind-to none)

cases="equivalence_infonce equivalence_supcon equivalence_triplet_hard equivalence_clip equivalence_softmax
equivalence_autoencoder equivalence_mae equivalence_barlow equivalence_vicreg equivalence_simsiam equivalence_byol equivalence_moco
equivalence_memory_bank equivalence_vit_without_batch_negatives sync_bn_equivalence per_rank_bn resume_continues_exactly
resume_on_other_rank_counts only_rank_0_writes_and_reports uneven_batch_refused other_commands_refuse
ctrl_c_checkpoints dead_rank_ends_the_run builds_without_mpi sharded_exact_search sharded_search_refusals
sharded_hnsw sharded_hnsw_refusals ivfpq_ranks flat_ranks words_ranks_train_deterministically words_learn_like_one_process
words_resume_continues_exactly words_resume_on_other_rank_counts words_ctrl_c_checkpoints
words_other_subcommands_refuse words_subword_ranks words_sent2vec_ranks poincare_ranks"
# The Python package is built for the plain build only (the sanitized pass
# runs no Python, as tests/test_python.sh is left out there too).
[ -z "${SIMLEARN_SANITIZED:-}" ] && cases="$cases python_trains_as_ranks python_words_train_as_ranks python_flat_as_ranks python_poincare_as_ranks"
if [ "${1:-}" = --list ]; then
    echo $cases | tr ' ' '\n'
    exit 0
fi
case=${1:?usage: tests/test_dist.sh --list | CASE}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# Each case's mpirun keeps its session files in the case's own folder: cases
# that start at the same moment race to create Open MPI's shared
# /tmp/ompi.HOST.UID otherwise ("mkdir ... File exists", orte_init fails).
export OMPI_MCA_orte_tmpdir_base="$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

BASE=(--data shapes --count 1024 --size 16 --batch 32 --steps 6 --threads 1 --optim sgd --lr 0.1 --log-every 1
      --seed 3)
COMMON=("${BASE[@]}" -q)
ENC=(--encoder "conv(8,3,stride=2,pad=1),relu,flatten,linear(32)" --projector "linear(16)")

# same NAME ARGS...: one process and 2 ranks train the same run; their
# parameters and losses agree to TOL (relative; default 1e-4).
same() {
    local name=$1 tol=${TOL:-1e-4}
    shift
    "$S" train "${COMMON[@]}" "$@" -o "$name-1.safetensors" || fail "one process"
    "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "$@" -o "$name-2.safetensors" || fail "2 ranks"
    $py "$here/dist_compare.py" "$name-1.safetensors" "$name-2.safetensors" "$tol" || fail "2 ranks differ"
}

meta() { "$S" info "$1" | sed -n "s/^ *$2: //p"; }
# tree FILE: the transitive closure of a binary tree of 63 nodes ("child parent" lines).
tree() {
    $py - "$1" <<'PY'
import sys
lines = []
for i in range(1, 63):
    p = (i - 1) // 2
    while True:
        lines.append(f"n{i} n{p}")
        if p == 0:
            break
        p = (p - 1) // 2
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
}

# A corpus of 8 topics of 12 words each: every sentence draws 6 to 14 words
# of one topic, with common words between them; the nearest words of a
# topic word are its topic's.
corpus() {
    $py - "$1" "${2:-6000}" <<'PY'
import random, sys
r = random.Random(5)
common = ["the", "a", "of", "and", "to", "in"]
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        t = r.randrange(8)
        words = []
        for _ in range(r.randint(6, 14)):
            words.append(f"t{t}w{r.randrange(12)}")
            if r.random() < 0.4:
                words.append(r.choice(common))
        f.write(" ".join(words) + "\n")
PY
}
# ctrl_c_once FILE COMMAND...: start the command (stderr to err), wait for
# FILE to be written, send SIGINT to its ranks; it must exit with 130.
ctrl_c_once() {
    local file=$1
    shift
    "$@" > out 2> err &
    local mp=$!
    for _ in $(seq 600); do [ -s "$file" ] && break; sleep 0.1; done
    [ -s "$file" ] || fail "no $file within a minute: $(cat err)"
    kill -INT $(pgrep -P $mp -x simlearn) || fail "no ranks to signal"
    wait $mp
    local rc=$?
    [ $rc = 130 ] || fail "exit $rc: $(cat err)"
}
WORDS=(--dim 16 --window 3 --negative 5 --min-count 1 --sample 0 --epochs 3 --seed 2)

run_case() {
    case $1 in
    equivalence_infonce) same a "${ENC[@]}" ;;
    equivalence_supcon) same a "${ENC[@]}" --objective supcon --label shape ;;
    equivalence_triplet_hard) same a "${ENC[@]}" --objective triplet-hard --label shape ;;
    equivalence_clip) same a "${ENC[@]}" --objective clip --learn-tau ;;
    equivalence_softmax) same a "${ENC[@]}" --objective softmax --label shape ;;
    equivalence_autoencoder) same a --encoder "flatten,linear(32)" --objective autoencoder ;;
    equivalence_mae) same a --objective mae --encoder "vit(patch=4,dim=32,depth=1,heads=2)" ;;
    # Batch statistics (Barlow's standardisation and cross-correlation,
    # VICReg's variances and covariances) are those of the global batch.
    equivalence_barlow) same a "${ENC[@]}" --objective barlow ;;
    equivalence_vicreg) same a "${ENC[@]}" --objective vicreg ;;
    # A predictor without batch norm (each rank would normalise its own rows);
    # BYOL's and MoCo's momentum copies move alike on every rank; MoCo's queue
    # takes every rank's keys and the memory bank every rank's items.
    equivalence_simsiam) same a "${ENC[@]}" --objective simsiam --predictor "linear(8),relu,linear(16)" ;;
    equivalence_byol) same a "${ENC[@]}" --objective byol --predictor "linear(32),relu,linear(16)" ;;
    equivalence_moco) same a "${ENC[@]}" --objective moco --queue 40 ;;
    equivalence_memory_bank) same a "${ENC[@]}" --objective memory-bank --queue 64 ;;
    # The same on a ViT: VICReg's global statistics, BYOL's momentum copy of
    # a transformer, MoCo's queue.
    equivalence_vit_without_batch_negatives)
        local vit=(--encoder "vit(patch=4,dim=16,depth=1,heads=2,mlp=2)" --projector "linear(16)")
        same a "${vit[@]}" --objective vicreg
        same b "${vit[@]}" --objective byol --predictor "linear(32),relu,linear(16)"
        same c "${vit[@]}" --objective moco --queue 40 ;;
    sync_bn_equivalence)
        # (no biases before batch norm: their gradient is zero but for
        # rounding, which would be all they learn). The shift's gradient is a
        # sum over every element of a channel with much cancellation, so the
        # order of the sums shows more: 1e-3 (per-rank statistics differ by
        # 0.35, see per_rank_bn).
        local TOL=1e-3
        same a --encoder "conv(8,3,stride=2,pad=1,bias=0),bn,relu,flatten,linear(32,bias=0),bn" --projector "linear(16)" \
            --sync-bn
        same b --encoder "conv(8,3,stride=2,pad=1,bias=0),bn,relu,flatten,linear(32)" --objective autoencoder --sync-bn ;;
    per_rank_bn)
        # Each rank normalises with its own 16 rows: not what one process
        # does with 32, so the runs part (by far more than rounding).
        local e=(--encoder "conv(8,3,stride=2,pad=1),bn,relu,flatten,linear(32)" --projector "linear(16)")
        "$S" train "${COMMON[@]}" "${e[@]}" -o a1.safetensors || fail "one process"
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${e[@]}" -o a2.safetensors 2> err || fail "2 ranks"
        $py "$here/dist_compare.py" a1.safetensors a2.safetensors 1e-2 > cmp && fail "per-rank batch norm equals one process's"
        grep -q "DIFFERENT: encoder.1.running_mean" cmp || fail "running statistics should differ: $(cat cmp)" ;;
    resume_continues_exactly)
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" -o full.safetensors || fail "full run"
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" --stop-at 3 -o part.safetensors || fail "first half"
        [ "$(meta part.safetensors train.step)" = 3 ] || fail "stopped at $(meta part.safetensors train.step)"
        "${MPIRUN[@]}" "$S" train --resume part.safetensors --steps 6 --threads 1 -q -o part.safetensors || fail "resume"
        cmp full.safetensors part.safetensors || fail "the resumed run differs" ;;
    resume_on_other_rank_counts)
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" --stop-at 3 -o r.safetensors || fail "2 ranks"
        [ "$(meta r.safetensors train.ranks)" = 2 ] || fail "train.ranks is '$(meta r.safetensors train.ranks)'"
        "$S" train --resume r.safetensors --steps 6 --threads 1 -o r1.safetensors 2> err || fail "resume on one"
        grep -q "resumed    from a run of 2 ranks" err || fail "no note of the rank count: $(cat err)"
        [ "$(meta r1.safetensors train.step)" = 6 ] || fail "resumed run ended at $(meta r1.safetensors train.step)"
        [ -z "$(meta r1.safetensors train.ranks)" ] || fail "a one-process checkpoint names ranks" ;;
    only_rank_0_writes_and_reports)
        "${MPIRUN[@]}" "$S" train "${BASE[@]}" "${ENC[@]}" --log-every 2 -o m.safetensors > out 2> err ||
            fail "2 ranks: $(cat err)"
        [ "$(grep -c '^trained 6 steps' err)" = 1 ] || fail "the summary appears $(grep -c '^trained' err) times"
        grep -q "^ranks      2, 16 rows of each batch per rank; the loss sees the whole batch" err ||
            fail "no ranks line: $(cat err)"
        [ "$(wc -l < m.jsonl)" = 4 ] || fail "the log has $(wc -l < m.jsonl) lines, expected 4 (steps 1, 2, 4, 6)"
        [ "$(ls | sort | tr '\n' ' ')" = "err m.jsonl m.safetensors out " ] || fail "files: $(ls)" ;;
    uneven_batch_refused)
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" --batch 33 -o m.safetensors 2> err && fail "batch 33 on 2 ranks ran"
        # Both ranks find the mistake; the first to abort may end the other before it prints.
        grep -Eq "rank [01] of 2: error: train: --batch: 33 is not a multiple of the 2 ranks" err || fail "message: $(cat err)"
        [ ! -e m.safetensors ] || fail "a checkpoint was written" ;;
    other_commands_refuse)
        "$S" embed --raw --data shapes --count 50 --split val -q -o x.npy || fail "embed"
        "${MPIRUN[@]}" "$S" geometry x.npy > out 2> err
        [ $? = 2 ] || fail "geometry under mpirun: exit $?"
        [ "$(grep -c "'simlearn geometry' runs as one process; start it without mpirun" err)" = 1 ] ||
            fail "message: $(cat err)" ;;
    ctrl_c_checkpoints)
        # Once the log has a line, both ranks are training (a step needs both).
        ctrl_c_once c.jsonl "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" --count 4096 --steps 1000000 \
            -o c.safetensors
        [ "$(grep -c '^simlearn: interrupted at step' err)" = 1 ] || fail "message: $(cat err)"
        local step
        step=$(sed -n 's/^simlearn: interrupted at step \([0-9]*\);.*/\1/p' err)
        [ "$(meta c.safetensors train.step)" = "$step" ] || fail "checkpoint at $(meta c.safetensors train.step), not $step" ;;
    dead_rank_ends_the_run)
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" --count 4096 --steps 1000000 --checkpoint-every 10 \
            -o d.safetensors 2> err &
        local mp=$!
        for _ in $(seq 100); do [ -e d.safetensors ] && break; sleep 0.1; done
        kill -KILL "$(pgrep -P $mp -x simlearn | tail -n 1)" || fail "no rank to kill"
        wait $mp && fail "the run went on after a rank died"
        grep -q "exited on signal 9" err || fail "mpirun's message: $(cat err)"
        local step
        step=$(meta d.safetensors train.step)
        [ -n "$step" ] && [ $((step % 10)) = 0 ] || fail "the last checkpoint is at step '$step'" ;;
    builds_without_mpi)
        mkdir -p src/tests/fuzz && (cd "$top" && cp -r Makefile include src cli scripts bench "$work/src/" &&
            cp tests/fuzz/fuzz.mk "$work/src/tests/fuzz/") || fail "copy"
        # (not the settings of a make this test may run under)
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C src -j2 MPI=0 BUILD=b BIN=b/simlearn b/simlearn > build.log 2>&1 ||
            fail "make MPI=0: $(tail build.log)"
        ! ldd src/b/simlearn | grep -q libmpi || fail "the MPI=0 build links MPI"
        OMPI_COMM_WORLD_SIZE=2 src/b/simlearn train "${COMMON[@]}" -o m.safetensors 2> err && fail "ran as a rank"
        grep -q "built without MPI (make MPI=0)" err || fail "message: $(cat err)"
        src/b/simlearn train "${COMMON[@]}" "${ENC[@]}" -o m.safetensors || fail "a plain run" ;;
    sharded_exact_search)
        # Each rank reads and searches its part of the base; the merged ids
        # and scores are one process's, to the byte (2 and 3 ranks, every
        # metric, self-search with a kNN vote, shards smaller than k).
        $py -c "
import numpy as np
r = np.random.default_rng(0)
np.save('base.npy', r.standard_normal((1001, 24)).astype(np.float32))
np.save('q.npy', r.standard_normal((300, 24)).astype(np.float32))
np.save('lab.npy', r.integers(0, 5, 1001))
np.save('tiny.npy', r.standard_normal((5, 3)).astype(np.float32))" || fail "data"
        local m np
        for m in l2 ip cosine; do
            "$S" knn -b base.npy --queries q.npy -k 7 --metric $m --ids-out i1.npy --scores-out s1.npy -q || fail "one process"
            for np in 2 3; do
                mpirun -np $np --oversubscribe --bind-to none "$S" knn -b base.npy --queries q.npy -k 7 --metric $m \
                    --ids-out i$np.npy --scores-out s$np.npy -q || fail "$np ranks"
                cmp i1.npy i$np.npy && cmp s1.npy s$np.npy || fail "$m on $np ranks differs"
            done
        done
        "$S" knn -b base.npy --self -k 5 --labels lab.npy --ids-out a.npy -q > one || fail "self, one process"
        "${MPIRUN[@]}" "$S" knn -b base.npy --self -k 5 --labels lab.npy --ids-out b.npy -q > two || fail "self, 2 ranks"
        cmp a.npy b.npy && cmp one two || fail "self-search differs: $(cat one two)"
        "$S" knn -b tiny.npy --queries tiny.npy -k 4 --ids-out t1.npy -q || fail "tiny"
        mpirun -np 3 --oversubscribe --bind-to none "$S" knn -b tiny.npy --queries tiny.npy -k 4 --ids-out t3.npy -q ||
            fail "tiny on 3 ranks"
        cmp t1.npy t3.npy || fail "shards smaller than k" ;;
    sharded_search_refusals)
        $py -c "import numpy as np; np.save('b.npy', np.eye(4, dtype=np.float32)); np.save('bad.npy', np.full((3, 4), np.nan, np.float32))"
        "${MPIRUN[@]}" "$S" knn -b b.npy --self --labels /dev/null --retrieval 1 -q 2> err
        [ $? = 2 ] && grep -q "retrieval runs as one process" err || fail "--retrieval under mpirun: $(cat err)"
        "${MPIRUN[@]}" "$S" knn -b b.npy --queries b.npy -k 9 -q 2> err && fail "k 9 of 4"
        grep -q "k = 9 but only 4 base vectors" err || fail "message: $(cat err)"
        $py -c "import numpy as np; np.save('half.npy', np.vstack([np.eye(4, dtype=np.float32), np.full((4, 4), np.nan, np.float32)]))"
        "${MPIRUN[@]}" "$S" knn -b half.npy --queries b.npy -k 1 -q 2> err && fail "a NaN in rank 1's part"
        grep -q "rank 1 of 2: error: half.npy: row 4, column 0: value is nan" err || fail "message: $(cat err)" ;;
    sharded_hnsw)
        # mpirun -np 2 index build writes 2 shards (the same bytes again with
        # --threads 1) and a manifest; the sharded search under mpirun writes
        # what one process's search of the manifest writes, and its recall@10
        # (against exact search) is within 0.005 of one index over the same
        # base at the same ef; --ids go into the shards.
        $py -c "
import numpy as np
r = np.random.default_rng(1)
c = r.standard_normal((40, 32)).astype(np.float32) * 2
np.save('base.npy', (c[r.integers(0, 40, 6000)] + r.standard_normal((6000, 32))).astype(np.float32))
np.save('q.npy', (c[r.integers(0, 40, 500)] + r.standard_normal((500, 32))).astype(np.float32))
np.save('ids.npy', 1000 + 3 * np.arange(6000))" || fail "data"
        local B=(--threads 1 --M 8 --ef-construction 40 -q) Q=(-k 10 --ef 10)
        "$S" index build base.npy -o one.hnsw "${B[@]}" > /dev/null || fail "one index"
        "${MPIRUN[@]}" "$S" index build base.npy -o sh.hnsw "${B[@]}" > out 2> err || fail "sharded build: $(cat err)"
        grep -q "^built sh.hnsw: 6000 vectors in 2 shards (sh.hnsw.shard0of2 ...)" out || fail "report: $(cat out)"
        [ "$(grep -c '^built' out)" = 1 ] || fail "only rank 0 reports: $(cat out)"
        head -n 1 sh.hnsw | grep -qx "simlearn-hnsw-shards 1" || fail "manifest: $(cat sh.hnsw)"
        cp sh.hnsw.shard0of2 a0 && cp sh.hnsw.shard1of2 a1 && cp sh.hnsw m0 || fail "copies"
        "${MPIRUN[@]}" "$S" index build base.npy -o sh.hnsw "${B[@]}" > /dev/null || fail "sharded build again"
        cmp a0 sh.hnsw.shard0of2 && cmp a1 sh.hnsw.shard1of2 && cmp m0 sh.hnsw || fail "the rebuild differs"
        "$S" index info sh.hnsw --check > info || fail "info: $(cat info)"
        grep -q "sh.hnsw: sharded HNSW index, 2 shards, metric l2, 32 dims" info && grep -q "3000 vectors.*check: ok" info ||
            fail "info: $(cat info)"
        "$S" knn -b base.npy --queries q.npy -k 10 --ids-out gt.npy -q || fail "exact search"
        "$S" index search one.hnsw q.npy "${Q[@]}" --ids-out one.npy || fail "one index"
        "${MPIRUN[@]}" "$S" index search sh.hnsw q.npy "${Q[@]}" --ids-out i2.npy --scores-out s2.npy || fail "2 ranks"
        "$S" index search sh.hnsw q.npy "${Q[@]}" --ids-out i1.npy --scores-out s1.npy || fail "one process"
        cmp i1.npy i2.npy && cmp s1.npy s2.npy || fail "2 ranks differ from one process"
        $py -c "
import numpy as np
gt, one, sh = (np.load(f) for f in ('gt.npy', 'one.npy', 'i2.npy'))
rec = lambda ids: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, gt)])
r1, r2 = rec(one), rec(sh)
print(f'recall@10 at ef 10: one index {r1:.4f}, 2 shards {r2:.4f}')
assert r1 < 1 and r2 >= r1 - 0.005, (r1, r2)" || fail "recall"
        "${MPIRUN[@]}" "$S" index build base.npy -o ids.hnsw --ids ids.npy "${B[@]}" > /dev/null || fail "--ids"
        "${MPIRUN[@]}" "$S" index search ids.hnsw q.npy "${Q[@]}" --ids-out i3.npy || fail "search --ids"
        $py -c "
import numpy as np
assert (np.load('i3.npy') == 1000 + 3 * np.load('i1.npy')).all()" || fail "the ids of --ids"
        # knn --index takes a manifest too (every shard in one process): the
        # ids of index search, and a kNN vote when the ids are row numbers.
        "$S" knn --index sh.hnsw --queries q.npy "${Q[@]}" --ids-out k1.npy -q || fail "knn --index manifest"
        cmp k1.npy i1.npy || fail "knn --index differs from index search"
        $py -c "import numpy as np; np.save('lab.npy', np.arange(6000) % 7); np.save('ql.npy', np.arange(500) % 7)"
        "$S" knn --index sh.hnsw --queries q.npy "${Q[@]}" --labels lab.npy --query-labels ql.npy -q > out ||
            fail "knn --index manifest --labels"
        grep -q "accuracy" out || fail "no vote: $(cat out)"
        "$S" knn --index ids.hnsw --queries q.npy "${Q[@]}" --labels lab.npy -q 2> err && fail "labels by given ids"
        grep -q "the index ids.hnsw has ids given with --ids, not row numbers" err || fail "message: $(cat err)" ;;
    sharded_hnsw_refusals)
        $py -c "import numpy as np; np.save('b.npy', np.random.default_rng(0).standard_normal((50, 4), np.float32))"
        "${MPIRUN[@]}" "$S" index build b.npy -o sh.hnsw --threads 1 -q > /dev/null || fail "build"
        "$S" index build b.npy -o one.hnsw --threads 1 -q > /dev/null || fail "one index"
        mpirun -np 3 --oversubscribe --bind-to none "$S" index search sh.hnsw b.npy -k 3 > out 2> err && fail "3 ranks ran"
        grep -q "error: sh.hnsw has 2 shards but this run has 3 ranks: start it with mpirun -np 2 (one rank per shard), or without mpirun" err ||
            fail "message: $(cat err)"
        "${MPIRUN[@]}" "$S" index search one.hnsw b.npy -k 3 > out 2> err
        [ $? = 2 ] && grep -q "one.hnsw is a single HNSW file; under mpirun, index search needs a sharded index" err ||
            fail "a single file under mpirun: $(cat err)"
        "${MPIRUN[@]}" "$S" index info sh.hnsw > out 2> err
        [ $? = 2 ] && grep -q "'simlearn index info' runs as one process" err || fail "info under mpirun: $(cat err)"
        "$S" index add sh.hnsw b.npy 2> err
        [ $? = 1 ] && grep -q "sh.hnsw is a sharded index (a manifest of shards); 'index add' changes one HNSW file" err ||
            fail "add: $(cat err)"
        "$S" index delete sh.hnsw --ids 3 2> err
        [ $? = 1 ] && grep -q "'index delete' changes one HNSW file" err || fail "delete: $(cat err)"
        rm sh.hnsw.shard1of2
        "${MPIRUN[@]}" "$S" index search sh.hnsw b.npy -k 3 > out 2> err && fail "a missing shard"
        grep -q "error: sh.hnsw: shard 1: sh.hnsw.shard1of2: cannot open" err || fail "message: $(cat err)"
        "$S" index search sh.hnsw b.npy -k 3 > out 2> err
        [ $? = 1 ] && grep -q "^simlearn: error: sh.hnsw: shard 1: sh.hnsw.shard1of2: cannot open" err ||
            fail "one process: $(cat err)" ;;
    ivfpq_ranks)
        # mpirun -np 2 index build --type ivfpq trains the ranks together
        # (k-means sums added over the ranks) and writes one file, the same
        # bytes on every run; its recall@10 is within 0.01 of a one-process
        # build's; its search under mpirun (queries shared among the ranks)
        # writes what one process writes; the --ids and --labels of the whole
        # base go in.
        $py -c "
import numpy as np
r = np.random.default_rng(1)
c = r.standard_normal((40, 32)).astype(np.float32) * 2
np.save('base.npy', (c[r.integers(0, 40, 6000)] + r.standard_normal((6000, 32))).astype(np.float32))
np.save('q.npy', (c[r.integers(0, 40, 500)] + r.standard_normal((500, 32))).astype(np.float32))
np.save('ids.npy', 1000 + 3 * np.arange(6000))
np.save('lab.npy', np.arange(6000) % 7)" || fail "data"
        local B=(--type ivfpq --nlist 32 --pq-m 8 -q) Q=(-k 10 --nprobe 8)
        "$S" index build base.npy -o one.ivfpq "${B[@]}" > /dev/null || fail "one process"
        "${MPIRUN[@]}" "$S" index build base.npy -o two.ivfpq "${B[@]}" > out 2> err || fail "2 ranks: $(cat err)"
        grep -q "^built two.ivfpq: IVF-PQ, 6000 vectors, 32 dims, metric l2, nlist 32, 8 x 8-bit codes.*on 2 ranks" out ||
            fail "report: $(cat out)"
        [ "$(grep -c '^built' out)" = 1 ] || fail "only rank 0 reports: $(cat out)"
        cp two.ivfpq t0 || fail "copy"
        "${MPIRUN[@]}" "$S" index build base.npy -o two.ivfpq "${B[@]}" > /dev/null || fail "2 ranks again"
        cmp t0 two.ivfpq || fail "the rebuild differs"
        "$S" index info two.ivfpq | grep -q "vectors: 6000, 6000 ids used (0 deleted)" || fail "info"
        "$S" knn -b base.npy --queries q.npy -k 10 --ids-out gt.npy -q || fail "exact search"
        "$S" index search one.ivfpq q.npy "${Q[@]}" --ids-out one.npy || fail "one index"
        "${MPIRUN[@]}" "$S" index search two.ivfpq q.npy "${Q[@]}" --ids-out i2.npy --scores-out s2.npy ||
            fail "search on 2 ranks"
        "$S" index search two.ivfpq q.npy "${Q[@]}" --ids-out i1.npy --scores-out s1.npy || fail "search in one"
        cmp i1.npy i2.npy && cmp s1.npy s2.npy || fail "the search on 2 ranks differs from one process"
        $py -c "
import numpy as np
gt, one, two = (np.load(f) for f in ('gt.npy', 'one.npy', 'i1.npy'))
rec = lambda ids: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, gt)])
r1, r2 = rec(one), rec(two)
print(f'recall@10 at nprobe 8: one process {r1:.4f}, trained on 2 ranks {r2:.4f}')
assert 0.5 < r1 < 1 and abs(r2 - r1) <= 0.01, (r1, r2)" || fail "recall"
        "${MPIRUN[@]}" "$S" index build base.npy -o ids.ivfpq --ids ids.npy --labels lab.npy "${B[@]}" > /dev/null ||
            fail "--ids --labels"
        "$S" index search ids.ivfpq q.npy "${Q[@]}" --allow-labels 3 --ids-out i3.npy || fail "search --allow-labels"
        $py -c "
import numpy as np
i = np.load('i3.npy')
assert ((i - 1000) % 3 == 0).all() and (((i - 1000) // 3) % 7 == 3).all(), i[:3]" || fail "the ids and labels" ;;
    flat_ranks)
        # mpirun -np 2 index build --type flat gathers every rank's rows and
        # rank 0 writes the file a one-process build writes, byte for byte
        # (--ids and --labels of the whole base included); its search under
        # mpirun (queries shared among the ranks) writes what one process
        # writes, and what simlearn knn finds.
        $py -c "
import numpy as np
r = np.random.default_rng(2)
np.save('base.npy', r.standard_normal((3001, 24)).astype(np.float32))
np.save('q.npy', r.standard_normal((301, 24)).astype(np.float32))
np.save('ids.npy', 1000 + 3 * np.arange(3001))
np.save('lab.npy', np.arange(3001) % 7)" || fail "data"
        "$S" index build base.npy -o one.flat --type flat --metric cosine -q > /dev/null || fail "one process"
        "${MPIRUN[@]}" "$S" index build base.npy -o two.flat --type flat --metric cosine > out 2> err ||
            fail "2 ranks: $(cat err)"
        grep -q "^built two.flat: flat index (exact search), 3001 vectors, 24 dims, metric cosine" out ||
            fail "report: $(cat out)"
        [ "$(grep -c '^built' out)" = 1 ] || fail "only rank 0 reports: $(cat out)"
        cmp one.flat two.flat || fail "the file built on 2 ranks differs from one process's"
        "$S" knn -b base.npy --queries q.npy -k 10 --metric cosine --ids-out gt.npy --scores-out gs.npy -q ||
            fail "exact search"
        "${MPIRUN[@]}" "$S" index search two.flat q.npy -k 10 --ids-out i2.npy --scores-out s2.npy ||
            fail "search on 2 ranks"
        cmp gt.npy i2.npy && cmp gs.npy s2.npy || fail "the search on 2 ranks differs from simlearn knn"
        "$S" index build base.npy -o ids1.flat --type flat --ids ids.npy --labels lab.npy -q > /dev/null ||
            fail "--ids --labels in one process"
        "${MPIRUN[@]}" "$S" index build base.npy -o ids2.flat --type flat --ids ids.npy --labels lab.npy > /dev/null ||
            fail "--ids --labels on 2 ranks"
        cmp ids1.flat ids2.flat || fail "the files with ids and labels differ"
        "${MPIRUN[@]}" "$S" index search ids2.flat q.npy -k 5 --allow-labels 3 --ids-out i3.npy ||
            fail "search --allow-labels on 2 ranks"
        $py -c "
import numpy as np
i = np.load('i3.npy')
assert ((i - 1000) % 3 == 0).all() and (((i - 1000) // 3) % 7 == 3).all(), i[:3]" || fail "the ids and labels" ;;
    words_ranks_train_deterministically)
        # Each rank trains its lanes of the corpus and the ranks add up their
        # changes at fixed points: with one thread each, the same bytes every
        # run; rank 0 alone reports and writes.
        corpus c.txt || fail "corpus"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o a.bin > out 2> err || fail "2 ranks: $(cat err)"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o b.bin -q || fail "again"
        cmp a.bin b.bin || fail "two runs of 2 ranks differ"
        [ "$(grep -c '^wrote a.bin' out)" = 1 ] || fail "the summary appears $(grep -c '^wrote' out) times"
        grep -q "^2 ranks; exchanges between the ranks" out || fail "no ranks line: $(cat out)"
        [ "$(ls | sort | tr '\n' ' ')" = "a.bin b.bin c.txt err out " ] || fail "files: $(ls)" ;;
    words_learn_like_one_process)
        # 2 and 4 ranks x 1 thread learn what 1 process x 2 threads learns: a
        # final loss within 3% (1% and 2% here; the ranks add up changes they
        # made without seeing each other's; uncapped, 4 ranks diverge), and
        # every topic word's 5 nearest words are of its topic in each.
        corpus c.txt || fail "corpus"
        "$S" words train c.txt "${WORDS[@]}" --threads 2 -o one.bin > one || fail "one process"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o two.bin > two || fail "2 ranks"
        mpirun -np 4 --oversubscribe --bind-to none "$S" words train c.txt "${WORDS[@]}" --threads 1 -o four.bin > four ||
            fail "4 ranks"
        local l1 l f t
        l1=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' one)
        for f in two four; do
            l=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' $f)
            awk -v a="$l1" -v b="$l" 'BEGIN { exit !(b > 0 && (b - a) / a < 0.03 && (a - b) / a < 0.03) }' ||
                fail "final loss $l on $f ranks, $l1 in one process"
        done
        for f in one two four; do
            for t in 0 3 7; do
                "$S" words nearest $f.bin t${t}w1 -k 5 > nn || fail "nearest"
                [ "$(grep -cE "^ *[0-9]+ +t${t}w" nn)" = 5 ] || fail "$f: the nearest words of t${t}w1: $(cat nn)"
            done
        done ;;
    words_resume_continues_exactly)
        # Stopped at an epoch's end (all ranks' changes exchanged), the run
        # resumed on 2 ranks ends with the uninterrupted run's bytes.
        corpus c.txt || fail "corpus"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o full.bin -q || fail "full run"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o part.bin --checkpoint p.ckpt \
            --stop-after-epochs 1 > out || fail "first epoch"
        grep -q "^stopped after 1 epochs as asked; the state is in p.ckpt" out || fail "message: $(cat out)"
        cmp -s full.bin part.bin && fail "one epoch gave the vectors of three"
        "${MPIRUN[@]}" "$S" words train c.txt -o part.bin --checkpoint p.ckpt --resume p.ckpt -q || fail "resume"
        cmp full.bin part.bin || fail "the resumed run differs" ;;
    words_resume_on_other_rank_counts)
        # The checkpoint of 2 ranks x 1 thread holds 2 lanes: one process
        # resumes it with 2 threads; 3 ranks cannot share 2 lanes.
        corpus c.txt || fail "corpus"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 -o v.bin --checkpoint p.ckpt \
            --stop-after-epochs 1 -q || fail "2 ranks"
        cp p.ckpt q.ckpt
        "$S" words train c.txt -o v1.bin --checkpoint p.ckpt --resume p.ckpt > out || fail "resume in one process"
        grep -q "^wrote v1.bin" out || fail "output: $(cat out)"
        mpirun -np 3 --oversubscribe --bind-to none "$S" words train c.txt -o v3.bin --checkpoint q.ckpt --resume q.ckpt \
            -q 2> err && fail "3 ranks resumed 2 lanes"
        grep -q "q.ckpt: the run was cut into 2 parts (ranks x threads); resume it with a number of ranks that divides 2" err ||
            fail "message: $(cat err)"
        [ ! -e v3.bin ] || fail "vectors were written" ;;
    words_ctrl_c_checkpoints)
        # mpirun passes Ctrl-C to every rank: they stop within a sentence,
        # exchange what they learnt, rank 0 writes the checkpoint, exit 130;
        # --resume goes on from it.
        corpus c.txt 20000 || fail "corpus"
        # The first epoch's checkpoint: both ranks are training.
        ctrl_c_once v.ckpt "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --epochs 100000 --threads 1 -o v.bin \
            --checkpoint v.ckpt -q
        [ "$(grep -c '^simlearn: interrupted; the state is in v.ckpt' err)" = 1 ] || fail "message: $(cat err)"
        [ ! -e v.bin ] || fail "vectors were written"
        "${MPIRUN[@]}" "$S" words train c.txt -o v.bin --checkpoint v.ckpt --resume v.ckpt --stop-after-epochs 1 -q ||
            fail "resume"
        [ -s v.bin ] || fail "no vectors after the resumed epoch" ;;
    words_subword_ranks)
        # With subwords the ranks add up their changes to the n-grams' bucket
        # rows as to the word rows: 2 ranks learn what one process learns (a
        # final loss within 3%, a word outside the vocabulary nearest to its
        # topic), two runs give the same bytes (vectors and .slsw model),
        # and a run stopped after an epoch resumes to those bytes.
        corpus c.txt || fail "corpus"
        local SW=(--minn 3 --maxn 5 --bucket 5000)
        "$S" words train c.txt "${WORDS[@]}" "${SW[@]}" --threads 2 -o one.bin > one || fail "one process"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SW[@]}" --threads 1 -o a.bin > out 2> err ||
            fail "2 ranks: $(cat err)"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SW[@]}" --threads 1 -o b.bin -q || fail "again"
        cmp a.bin b.bin && cmp a.slsw b.slsw || fail "two runs of 2 ranks differ"
        [ "$(grep -c '^wrote a.slsw (subword model' out)" = 1 ] || fail "the model line: $(cat out)"
        local l1 l2
        l1=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' one)
        l2=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' out)
        awk -v a="$l1" -v b="$l2" 'BEGIN { exit !(b > 0 && (b - a) / a < 0.03 && (a - b) / a < 0.03) }' ||
            fail "final loss $l2 on 2 ranks, $l1 in one process"
        for f in one a; do
            "$S" words nearest $f.slsw t3w99 -k 5 > nn || fail "nearest"
            [ "$(grep -cE "^ *[0-9]+ +t3w" nn)" = 5 ] || fail "$f: the nearest words of t3w99: $(cat nn)"
        done
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SW[@]}" --threads 1 -o part.bin --checkpoint p.ckpt \
            --stop-after-epochs 1 -q || fail "first epoch"
        "${MPIRUN[@]}" "$S" words train c.txt -o part.bin --checkpoint p.ckpt --resume p.ckpt -q || fail "resume"
        cmp a.bin part.bin && cmp a.slsw part.slsw || fail "the resumed run differs" ;;
    words_sent2vec_ranks)
        # sent2vec's bigram rows are exchanged as the word rows: 2 ranks
        # learn what one process learns (a final loss within 5%, lines of a
        # topic nearest each other), two runs give the same bytes, and a run
        # stopped after an epoch resumes to those bytes.
        corpus c.txt || fail "corpus"
        local SV=(--model sent2vec --bucket 5000 --lr 0.5)
        "$S" words train c.txt "${WORDS[@]}" "${SV[@]}" --threads 2 -o one.bin > one || fail "one process"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SV[@]}" --threads 1 -o a.bin > out 2> err ||
            fail "2 ranks: $(cat err)"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SV[@]}" --threads 1 -o b.bin -q || fail "again"
        cmp a.bin b.bin && cmp a.slsw b.slsw || fail "two runs of 2 ranks differ"
        [ "$(grep -c '^wrote a.slsw (sentence model: word bigrams in 5000 buckets)' out)" = 1 ] ||
            fail "the model line: $(cat out)"
        local l1 l2
        l1=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' one)
        l2=$(sed -n 's/.*final loss \([0-9.]*\).*/\1/p' out)
        awk -v a="$l1" -v b="$l2" 'BEGIN { exit !(b > 0 && (b - a) / a < 0.05 && (a - b) / a < 0.05) }' ||
            fail "final loss $l2 on 2 ranks, $l1 in one process"
        printf 't3w1 t3w2 the t3w3 t3w4\nt5w1 t5w2 of t5w3 t5w4\nt3w5 t3w6 t3w7 a t3w8\n' > lines.txt
        for f in one a; do
            "$S" words embed --vectors $f.slsw --text lines.txt -o $f.npy --method sent2vec > /dev/null || fail "embed"
            $py -c "
import numpy as np, sys
x = np.load('$f.npy'); x /= np.linalg.norm(x, axis=1, keepdims=True)
sys.exit(0 if x[0] @ x[2] > x[0] @ x[1] + 0.2 else 1)" || fail "$f: lines of topic 3 are not nearest each other"
        done
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" "${SV[@]}" --threads 1 -o part.bin --checkpoint p.ckpt \
            --stop-after-epochs 1 -q || fail "first epoch"
        "${MPIRUN[@]}" "$S" words train c.txt -o part.bin --checkpoint p.ckpt --resume p.ckpt -q || fail "resume"
        cmp a.bin part.bin && cmp a.slsw part.slsw || fail "the resumed run differs" ;;
    words_other_subcommands_refuse)
        corpus c.txt 200 || fail "corpus"
        "$S" words train c.txt "${WORDS[@]}" --threads 1 -o v.bin -q || fail "train"
        "${MPIRUN[@]}" "$S" words nearest v.bin t0w1 > out 2> err
        [ $? = 2 ] || fail "words nearest under mpirun: exit $?"
        [ "$(grep -c "'simlearn words nearest' runs as one process; start it without mpirun" err)" = 1 ] ||
            fail "message: $(cat err)" ;;
    poincare_ranks)
        # mpirun -np 2 words poincare: each rank trains a share of every
        # round's edges and the ranks add up their changes; with one thread
        # each the same bytes every run, rank 0 alone reports and writes, and
        # the tree is reconstructed as well as by one process.
        tree tree.tsv || fail "tree"
        local P=(--dim 5 --epochs 40 --negative 5 --seed 3 --threads 1 --eval --format text -q)
        "$S" words poincare tree.tsv -o one.vec "${P[@]}" > o1 || fail "one process"
        "${MPIRUN[@]}" "$S" words poincare tree.tsv -o a.vec "${P[@]}" > out 2> err || fail "2 ranks: $(cat err)"
        "${MPIRUN[@]}" "$S" words poincare tree.tsv -o b.vec "${P[@]}" > /dev/null || fail "2 ranks again"
        cmp a.vec b.vec || fail "two runs on 2 ranks differ"
        [ "$(grep -c '^trained .*, on 2 ranks$' out)" = 1 ] && [ "$(grep -c '^wrote' out)" = 1 ] ||
            fail "only rank 0 reports: $(cat out)"
        $py -c "
import re
m1 = float(re.search(r'MAP ([0-9.]+)', open('o1').read()).group(1))
m2 = float(re.search(r'MAP ([0-9.]+)', open('out').read()).group(1))
print(f'reconstruction MAP: one process {m1:.4f}, 2 ranks {m2:.4f}')
assert m1 > 0.8 and m2 > m1 - 0.05, (m1, m2)" || fail "MAP" ;;
    python_poincare_as_ranks)
        # mpirun -np 2 python3: Words.poincare shares the edges as the CLI's
        # ranks do and gives the CLI's vectors, byte for byte.
        tree tree.tsv || fail "tree"
        "${MPIRUN[@]}" "$S" words poincare tree.tsv -o a.vec --dim 5 --epochs 40 --negative 5 --seed 3 --threads 1 \
            --format text -q > /dev/null || fail "the CLI on 2 ranks"
        cat > t.py <<'PY'
import numpy as np, simlearn
rank, ranks = simlearn.rank()
assert ranks == 2, ranks
w = simlearn.Words.poincare("tree.tsv", dim=5, epochs=40, negative=5, seed=3)
c = simlearn.Words.load("a.vec")
assert w.words == c.words and (w.vectors == c.vectors).all()
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py t.py || fail "python under mpirun" ;;
    python_words_train_as_ranks)
        # mpirun -np 2 python3: simlearn.Words.train trains as the CLI's
        # ranks do, and every rank gets the same vectors; the same for a
        # sent2vec model (its .slsw and line vectors too).
        corpus c.txt || fail "corpus"
        cat > t.py <<'PY'
import numpy as np, simlearn
rank, ranks = simlearn.rank()
assert ranks == 2, ranks
w = simlearn.Words.train("c.txt", dim=16, window=3, negative=5, min_count=1, sample=0, epochs=3, seed=2, threads=1)
np.save(f"v{rank}.npy", w.vectors)
s = simlearn.Words.train("c.txt", dim=16, window=3, negative=5, min_count=1, sample=0, epochs=3, seed=2, threads=1,
                         arch="sent2vec", bucket=5000, lr=0.5)
np.save(f"s{rank}.npy", s.embed(["t3w1 t3w2 the t3w3", "t5w1 of t5w2 t5w3"], "sent2vec"))
if rank == 0:
    w.save("py.vec", format="text")
    s.save_model("py.slsw")
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py t.py || fail "python under mpirun"
        cmp v0.npy v1.npy && cmp s0.npy s1.npy || fail "the ranks' vectors differ"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 --format text -o cli.vec -q || fail "the CLI"
        cmp py.vec cli.vec || fail "Python's vectors differ from the CLI's"
        "${MPIRUN[@]}" "$S" words train c.txt "${WORDS[@]}" --threads 1 --model sent2vec --bucket 5000 --lr 0.5 \
            -o cli.bin -q || fail "the CLI (sent2vec)"
        cmp py.slsw cli.slsw || fail "Python's sentence model differs from the CLI's" ;;
    python_flat_as_ranks)
        # mpirun -np 2 python3: FlatIndex.search is a collective (each rank
        # searches half the queries) and every rank gets simlearn.knn's answer.
        cat > t.py <<'PY'
import numpy as np, simlearn
rank, ranks = simlearn.rank()
assert ranks == 2, ranks
r = np.random.default_rng(4)
x, q = r.standard_normal((500, 12), np.float32), r.standard_normal((41, 12), np.float32)
f = simlearn.FlatIndex(12, "ip")
f.add(x)
s, i = f.search(q, 6)
ws, wi = simlearn.knn(x, q, 6, "ip")
assert (i == wi).all() and (s == ws).all()
np.save(f"i{rank}.npy", i)
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py t.py || fail "python under mpirun"
        cmp i0.npy i1.npy || fail "the ranks' results differ" ;;
    python_trains_as_ranks)
        # mpirun -np 2 python3: simlearn.train shares the batches as the CLI does, to the byte.
        cat > t.py <<'PY'
import sys, simlearn
assert simlearn.rank()[1] == 2, simlearn.rank()
simlearn.train("py.safetensors", progress=False, data="shapes", count=1024, image_size=16, batch=32, steps=6,
               threads=1, optim="sgd", lr=0.1, log_every=1, seed=3, log="py.jsonl",
               encoder="conv(8,3,stride=2,pad=1),relu,flatten,linear(32)", projector="linear(16)")
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py t.py || fail "python under mpirun"
        "${MPIRUN[@]}" "$S" train "${COMMON[@]}" "${ENC[@]}" -o cli.safetensors || fail "the CLI"
        cmp py.safetensors cli.safetensors || fail "Python's checkpoint differs from the CLI's"
        cmp py.jsonl cli.jsonl > /dev/null || [ "$(cut -d, -f1-3 py.jsonl)" = "$(cut -d, -f1-3 cli.jsonl)" ] ||
            fail "the logs' losses differ"
        # simlearn.knn shares the base among the ranks: one process's result on every rank.
        cat > k.py <<'PY'
import numpy as np, simlearn
x = np.random.default_rng(0).standard_normal((501, 12)).astype(np.float32)
s, i = simlearn.knn(x, x[:40], 6, "cosine")
s1, i1 = simlearn.knn(x, None, 4, exclude_self=True)
np.save(f"knn{simlearn.rank()[0]}.npy", np.concatenate([i.ravel(), i1.ravel()]))
np.save(f"sc{simlearn.rank()[0]}.npy", np.concatenate([s.ravel(), s1.ravel()]))
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py k.py || fail "knn under mpirun"
        mv knn0.npy two0.npy && mv knn1.npy two1.npy && mv sc0.npy tsc0.npy || fail "outputs"
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python $py k.py || fail "knn alone"
        cmp knn0.npy two0.npy && cmp knn0.npy two1.npy && cmp sc0.npy tsc0.npy || fail "sharded knn differs"
        # simlearn.Index.load of a manifest: one shard per rank under mpirun, every shard alone; the same result.
        $py -c "import numpy as np; np.save('hb.npy', np.random.default_rng(2).standard_normal((800, 8), np.float32))"
        "${MPIRUN[@]}" "$S" index build hb.npy -o hb.hnsw --threads 1 -q > /dev/null || fail "sharded build"
        cat > h.py <<'PY'
import numpy as np, simlearn
r, n = simlearn.rank()
ix = simlearn.Index.load("hb.hnsw")
assert isinstance(ix, simlearn.ShardedIndex) and ix.info()["loaded"] == (1 if n > 1 else 2), ix.info()
s, i = ix.search(np.load("hb.npy")[:50] + 0.01, 7, ef=20)
np.save(f"h{n}_{r}.npy", i), np.save(f"hs{n}_{r}.npy", s)
PY
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python "${MPIRUN[@]}" $py h.py || fail "ShardedIndex under mpirun"
        PYTHONPATH=${SIMLEARN_BUILD:-$top/build}/python $py h.py || fail "ShardedIndex alone"
        cmp h1_0.npy h2_0.npy && cmp h1_0.npy h2_1.npy && cmp hs1_0.npy hs2_1.npy || fail "sharded HNSW differs" ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
    esac
}

run_case "$case"
