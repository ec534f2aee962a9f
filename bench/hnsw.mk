# bench-hnsw (R4): HNSW on R3's data, M=16, ef_construction=200, HNSW_THREADS threads on
# both sides: build time and recall@10 / batch queries per second for ef in
# {10,20,40,80,160}, simlearn against hnswlib in the same run (queries timed alternately,
# recall against exact search for both). Ends with "hnsw: simlearn <q/s> at recall <r>,
# hnswlib <q/s> at recall <r>, ratio <simlearn q/s / hnswlib q/s>" for the fastest ef
# of each with recall >= 0.95. Before it, the same comparison on low-dimensional cosine
# data: 100-d GCIDE word vectors trained by simlearn (R2's settings; every tenth word a
# query), with its own line "hnsw-words: ...". Quick run: make bench-hnsw HNSW_N=10000 HNSW_Q=1000
HNSW_N ?= 60000
HNSW_Q ?= 10000
HNSW_THREADS ?= 2
HNSW_REPEATS ?= 3
HNSW_WORDS ?= $(BENCH_DIR)/ivfpq/words.npy
# The 4,370 word queries take about 0.1 s per batch: best of more repeats.
HNSW_WORDS_REPEATS ?= 10
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-hnsw

$(BENCH_DIR)/hnsw_bench: bench/hnsw_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-hnsw
bench-hnsw: all $(BENCH_DIR)/hnsw_bench
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy $(HNSW_WORDS)
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@/usr/bin/python3 bench/hnsw_words.py $(HNSW_WORDS) $(BENCH_DIR)/hnsw_words
	@$(BENCH_DIR)/hnsw_bench $(BENCH_DIR)/hnsw_words/base.npy $(BENCH_DIR)/hnsw_words/queries.npy $(HNSW_THREADS) \
	  $(BENCH_DIR)/words.hnsw $(BENCH_DIR)/hnsw_words_gt.npy 0 0 cosine > $(BENCH_DIR)/hnsw_words.log
	@cat $(BENCH_DIR)/hnsw_words.log
	@/usr/bin/python3 bench/hnsw_ref.py $(BUILD)/libsimlearn.so $(BENCH_DIR)/words.hnsw \
	  $(BENCH_DIR)/hnsw_words/base.npy $(BENCH_DIR)/hnsw_words/queries.npy $(BENCH_DIR)/hnsw_words_gt.npy \
	  $(BENCH_DIR)/hnsw_words.log $(HNSW_WORDS_REPEATS) 0 0 $(HNSW_THREADS) cosine hnsw-words
	@$(BENCH_DIR)/hnsw_bench $(BENCH_DIR)/fmnist/train_x.npy $(BENCH_DIR)/fmnist/test_x.npy $(HNSW_THREADS) \
	  $(BENCH_DIR)/fmnist.hnsw $(BENCH_DIR)/hnsw_gt.npy $(HNSW_N) $(HNSW_Q) > $(BENCH_DIR)/hnsw.log
	@cat $(BENCH_DIR)/hnsw.log
	@/usr/bin/python3 bench/hnsw_ref.py $(BUILD)/libsimlearn.so $(BENCH_DIR)/fmnist.hnsw \
	  $(BENCH_DIR)/fmnist/train_x.npy $(BENCH_DIR)/fmnist/test_x.npy $(BENCH_DIR)/hnsw_gt.npy $(BENCH_DIR)/hnsw.log \
	  $(HNSW_REPEATS) $(HNSW_N) $(HNSW_Q) $(HNSW_THREADS)
