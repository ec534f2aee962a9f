#!/usr/bin/env bash
# bench-shards (bench/shards.mk): usage: shards_run.sh SIMLEARN PYTHONPATH BENCH_DIR "EF..."
set -eu
S=$1 d=$3 efs=$4
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$2 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
MPI=(mpirun -np 2 --bind-to none)
x=$d/fmnist/train_x.npy q=$d/fmnist/test_x.npy gt=$d/shards_gt.npy
echo "== build, --threads 1: one index by one process, then 2 shards by mpirun -np 2"
"$S" index build "$x" -o "$d/shards_one.hnsw" --threads 1 -q
"${MPI[@]}" "$S" index build "$x" -o "$d/shards.hnsw" --threads 1 -q
"$S" knn -b "$x" --queries "$q" -k 10 --threads 2 --ids-out "$gt" -q
echo "== search, k 10: recall@10 against exact search, queries/s (best of 3)"
b=("$here/shards_bench.py" "$q" "$gt")
/usr/bin/python3 "${b[@]}" "$d/shards_one.hnsw" 1 "1 index, 1 process x 1 thread" $efs
/usr/bin/python3 "${b[@]}" "$d/shards_one.hnsw" 2 "1 index, 1 process x 2 threads" $efs
/usr/bin/python3 "${b[@]}" "$d/shards.hnsw" 1 "2 shards, 1 process x 1 thread" $efs
"${MPI[@]}" /usr/bin/python3 "${b[@]}" "$d/shards.hnsw" 1 "2 shards, 2 ranks x 1 thread" $efs
