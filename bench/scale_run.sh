#!/usr/bin/env bash
# bench-scale: data-parallel scaling of R1 training on Fashion-MNIST, simlearn under mpirun
# against PyTorch DistributedDataParallel (gloo, bench/scale_ddp.py), in the same run.
# The work on both sides: the R1 model (encoder conv32-bn-relu-pool, conv64-bn-relu-pool,
# conv128-bn-relu-gap; projector linear(128),relu,linear(64)), the 60,000 training images
# standardised, NO augmentation (the two views of an image are the same image), NT-Xent
# tau 0.5 over a global batch of 256 images (512 views), Adam 1e-3 constant, batch norm
# per rank. Three configurations, each SCALE_WARMUP untimed steps then SCALE_STEPS timed:
#   a) 1 process x 1 thread   b) 2 ranks x 1 thread (the global batch split, global
#   negatives: every rank's embeddings gathered for the loss)   c) 1 process x 2 threads.
# simlearn's images/s: from its JSONL log (rank 0), the steps after the warm-up only
# (steps x 256 / the summed log intervals); PyTorch's: rank 0's wall time between barriers
# around the same steps. Efficiency of 2 ranks = b / (2 a). The sides alternate per
# configuration, so drift on a shared machine hits both alike.
# simlearn's time in MPI collectives comes from a PMPI shim (built here with mpicc, loaded
# with LD_PRELOAD into the ranks only): time inside MPI_Allreduce and MPI_Allgather, i.e.
# transfers plus waiting for the other rank, per step over all the run's steps (warm-up
# included), mean of the two ranks. Without mpicc that line is skipped.
# Ends with "scale: simlearn <b> img/s on 2 ranks (efficiency <e>), pytorch-ddp <b'> img/s
# on 2 ranks (efficiency <e'>), ratio <b / b'>".
#   bench/scale_run.sh     (env: SCALE_STEPS=60 SCALE_WARMUP=5)
set -euo pipefail
N=${SCALE_STEPS:-60}; W=${SCALE_WARMUP:-5}
[ "$N" -ge 1 ] && [ "$W" -ge 1 ] || { echo "scale_run.sh: SCALE_STEPS and SCALE_WARMUP must be >= 1" >&2; exit 2; }
B=256
out=build/bench/scale; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np 2 --bind-to none --mca btl self,vader)
enc='conv(32,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,maxpool(2),conv(128,3,pad=1,bias=0),bn,relu,gap'
recipe=(--data fashion-mnist --steps $((W + N)) --batch $B --objective infonce --tau 0.5 --aug none
        --encoder "$enc" --projector 'linear(128),relu,linear(64)' --optim adam --lr 1e-3
        --schedule constant --warmup 0 --seed 0 --log-every "$W")

# The PMPI shim: seconds inside the per-step collectives (allreduce, allgather) and the others.
shim=""
if command -v mpicc > /dev/null; then
  cat > "$out/pmpi_time.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <time.h>
static double t_step, t_other;
static long n_step, n_other;
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
#define TIMED(t, n, call) do { double t0_ = now(); int r_ = (call); t += now() - t0_; n++; return r_; } while (0)
int MPI_Allreduce(const void *s, void *r, int c, MPI_Datatype d, MPI_Op o, MPI_Comm m) {
    TIMED(t_step, n_step, PMPI_Allreduce(s, r, c, d, o, m));
}
int MPI_Allgather(const void *s, int sc, MPI_Datatype sd, void *r, int rc, MPI_Datatype rd, MPI_Comm m) {
    TIMED(t_step, n_step, PMPI_Allgather(s, sc, sd, r, rc, rd, m));
}
int MPI_Bcast(void *b, int c, MPI_Datatype d, int root, MPI_Comm m) { TIMED(t_other, n_other, PMPI_Bcast(b, c, d, root, m)); }
int MPI_Barrier(MPI_Comm m) { TIMED(t_other, n_other, PMPI_Barrier(m)); }
int MPI_Finalize(void) {
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "PMPI_TIME rank=%d step_calls=%ld step_s=%.6f other_calls=%ld other_s=%.6f\n", rank, n_step, t_step,
            n_other, t_other);
    return PMPI_Finalize();
}
EOF
  if mpicc -O2 -shared -fPIC -o "$out/pmpi_time.so" "$out/pmpi_time.c" 2> "$out/pmpi_time.err"; then
    shim=$(realpath "$out/pmpi_time.so")
  else
    echo "(the PMPI shim did not build, no communication time: $(head -n 1 "$out/pmpi_time.err"))"
  fi
fi

# simlearn NAME LAUNCHER... -- OPTIONS...: one run; prints its summary line, sets sl_ips to the
# images/s over the steps after the warm-up (from the JSONL log).
simlearn() {
  local name=$1; shift
  local launch=()
  while [ "$1" != -- ]; do launch+=("$1"); shift; done; shift
  "${launch[@]}" "$sl" train "${recipe[@]}" "$@" -o "$out/$name.safetensors" --log "$out/$name.jsonl" \
    2> "$out/$name.err" || { echo "scale_run.sh: simlearn ($name) failed:" >&2; cat "$out/$name.err" >&2; exit 1; }
  grep '^trained ' "$out/$name.err" | sed 's/^/  /'
  sl_ips=$(awk -v w="$W" -v b="$B" '{
      s = $0; sub(/.*"step":/, "", s); step = s + 0
      r = $0; sub(/.*"images_per_s":/, "", r); ips = r + 0
      if (step > w && ips > 0) { img += (step - prev) * b; sec += (step - prev) * b / ips }
      prev = step
    } END { if (sec > 0) printf "%.1f", img / sec }' "$out/$name.jsonl")
  [ -n "$sl_ips" ] || { echo "scale_run.sh: no images/s in $out/$name.jsonl" >&2; exit 1; }
}
# pytorch NAME OPTIONS...: one run of bench/scale_ddp.py; sets pt_ips.
pytorch() {
  local name=$1; shift
  /usr/bin/python3 bench/scale_ddp.py --steps "$N" --warmup "$W" --batch $B "$@" > "$out/$name.txt" 2>&1 ||
    { echo "scale_run.sh: pytorch ($name) failed:" >&2; cat "$out/$name.txt" >&2; exit 1; }
  grep '^PYTORCH_SCALE' "$out/$name.txt" | sed 's/^/  /'
  pt_ips=$(sed -n 's/^PYTORCH_SCALE .*images_per_s=\([0-9.]*\).*/\1/p' "$out/$name.txt")
  [ -n "$pt_ips" ] || { echo "scale_run.sh: no images/s in $out/$name.txt" >&2; cat "$out/$name.txt" >&2; exit 1; }
}

echo "R1 on Fashion-MNIST, no augmentation, NT-Xent tau 0.5, global batch $B, Adam 1e-3 constant; $W warm-up + $N timed steps"
echo "== a) 1 process x 1 thread"
simlearn a env -- --threads 1; sl_a=$sl_ips
pytorch torch_a --ranks 1 --threads 1; pt_a=$pt_ips
echo "== b) 2 ranks x 1 thread"
pre=()
[ -n "$shim" ] && pre=(-x "LD_PRELOAD=$shim")
simlearn b "${mpi[@]}" "${pre[@]}" -- --threads 1; sl_b=$sl_ips
pytorch torch_b --ranks 2 --threads 1; pt_b=$pt_ips
echo "== c) 1 process x 2 threads"
simlearn c env -- --threads 2; sl_c=$sl_ips
pytorch torch_c --ranks 1 --threads 2; pt_c=$pt_ips

report() {
  awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" 'BEGIN {
    printf "%-8s images/s: a) 1x1 %.1f   b) 2 ranks x1 %.1f   c) 1x2 threads %.1f   efficiency of 2 ranks b/(2a) %.2f\n",
      n, a, b, c, b / (2 * a) }'
}
echo "== results (images/s over the $N timed steps)"
report simlearn "$sl_a" "$sl_b" "$sl_c"
report pytorch "$pt_a" "$pt_b" "$pt_c"
if [ -n "$shim" ]; then
  grep '^PMPI_TIME' "$out/b.err" | awk -v steps=$((W + N)) -v b="$B" -v ips="$sl_b" '{
      for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      s += f["step_s"]; o += f["other_s"]; k++; calls = f["step_calls"] }
    END { if (k) printf "simlearn b) time in MPI collectives (allreduce + allgather, transfers and waiting): %.1f ms per step (mean of %d ranks over all %d steps, %.0f calls per step), %.0f%% of a timed step; bcast/barrier %.1f ms in all\n",
      s / k / steps * 1e3, k, steps, calls / steps, 100 * (s / k / steps) / (b / ips), o / k * 1e3 }'
fi

# Word vectors on GCIDE at the R2 settings (bench/words.mk: skip-gram, shared negatives, dim
# 100, window 5, 5 negatives, subsampling 1e-4, min-count 5, SCALE_WORDS_EPOCHS epochs, seed
# 1), the same three configurations; raw words/s as simlearn prints them (rank 0's
# training time), its time in the ranks' exchanges, and the quality of each run's vectors on
# the report half of the evaluation sets (bench/words_split.sh). No reference system here:
# gensim and fastText run as one process.
corpus=${WORDS_CORPUS:-build/bench/gcide.txt}
[ -s "$corpus" ] || scripts/corpus-gcide.sh /usr/share/dictd/gcide.dict.dz "$corpus"
bench/words_split.sh "$out/split" > /dev/null
r2=(--dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 --epochs "${SCALE_WORDS_EPOCHS:-5}" --seed 1 -q)
words() { # NAME LAUNCHER... -- THREADS: one run; sets w_ps (words/s) and prints its lines
  local name=$1; shift
  local launch=()
  while [ "$1" != -- ]; do launch+=("$1"); shift; done; shift
  "${launch[@]}" "$sl" words train "$corpus" "${r2[@]}" --threads "$1" -o "$out/$name.bin" > "$out/$name.log" ||
    { echo "scale_run.sh: words ($name) failed" >&2; exit 1; }
  w_ps=$(sed -n 's/.* s: \([0-9]*\) words\/s.*/\1/p' "$out/$name.log")
  echo "  $(grep '^trained' "$out/$name.log")"
  grep '^2 ranks' "$out/$name.log" | sed 's/^/  /' || true
  echo "  quality (report half): $(bench/words_quality.sh "$out/$name.bin" "$out/split/report")"
}
echo "== word vectors on $corpus ($(wc -c < "$corpus") bytes), R2 settings, ${SCALE_WORDS_EPOCHS:-5} epochs"
echo "-- a) 1 process x 1 thread"; words wa env -- 1; wa=$w_ps
echo "-- b) 2 ranks x 1 thread"; words wb "${mpi[@]}" -- 1; wb=$w_ps
echo "-- c) 1 process x 2 threads"; words wc env -- 2; wc=$w_ps
awk -v a="$wa" -v b="$wb" -v c="$wc" 'BEGIN {
  printf "words    words/s: a) 1x1 %d   b) 2 ranks x1 %d   c) 1x2 threads %d   efficiency of 2 ranks b/(2a) %.2f (threads c/(2a) %.2f)\n",
    a, b, c, b / (2 * a), c / (2 * a) }'

awk -v x="$sl_b" -v y="$pt_b" -v e="$(awk -v a="$sl_a" -v b="$sl_b" 'BEGIN { print b / (2 * a) }')" \
  -v f="$(awk -v a="$pt_a" -v b="$pt_b" 'BEGIN { print b / (2 * a) }')" \
  'BEGIN { printf "scale: simlearn %.0f img/s on 2 ranks (efficiency %.2f), pytorch-ddp %.0f img/s on 2 ranks (efficiency %.2f), ratio %.2f\n", x, e, y, f, x / y }'
