# bench-ivfpq: simlearn's IVF-PQ index against faiss's IndexIVFPQ on the same rows, the
# same nlist, M (8-bit sub-quantisers) and nprobe, IVF_THREADS threads, in one process
# (bench/ivfpq_bench.py): build time, bytes per vector, index memory, and recall@10 and
# batch queries per second for each nprobe, on Fashion-MNIST (784-d) and on 100-d GCIDE
# word vectors trained by simlearn (built here when missing). Ends with "ivfpq: simlearn
# <q/s> at recall <r>, faiss <q/s> at recall <r>, ratio <simlearn q/s / faiss q/s>" at
# nprobe IVF_HEADLINE on Fashion-MNIST. Quick run: make bench-ivfpq IVF_NPROBES=8 IVF_HEADLINE=8 IVF_REPEATS=1
IVF_THREADS ?= 2
IVF_REPEATS ?= 3
IVF_FM_NLIST ?= 1024
IVF_FM_M ?= 56
IVF_WORDS_NLIST ?= 512
IVF_WORDS_M ?= 50
IVF_NPROBES ?= 1,4,16,64
IVF_HEADLINE ?= 16
IVF_WORDS ?= $(BENCH_DIR)/ivfpq/words.npy
BENCHES += bench-ivfpq

# 100-d skip-gram vectors of the GCIDE corpus (R2's settings), as a .npy matrix.
$(IVF_WORDS):
	@mkdir -p $(dir $@)
	@[ -s $(BENCH_DIR)/gcide.txt ] || scripts/corpus-gcide.sh /usr/share/dictd/gcide.dict.dz $(BENCH_DIR)/gcide.txt
	./$(BIN) words train $(BENCH_DIR)/gcide.txt -o $@ --format npy --dim 100 --window 5 --negative 5 \
	  --sample 1e-4 --min-count 5 --epochs 5 --seed 1 --threads $(IVF_THREADS) --quiet

.PHONY: bench-ivfpq
bench-ivfpq: all python
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy $(IVF_WORDS)
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@PYTHONPATH=$(BUILD)/python /usr/bin/python3 bench/ivfpq_bench.py $(BENCH_DIR)/fmnist $(IVF_WORDS) \
	  $(IVF_THREADS) $(IVF_REPEATS) $(IVF_FM_NLIST) $(IVF_FM_M) $(IVF_WORDS_NLIST) $(IVF_WORDS_M) $(IVF_NPROBES) \
	  $(IVF_HEADLINE)
