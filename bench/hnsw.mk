# R4: HNSW on R3's data, M=16, ef_construction=200, 2 threads: build time and
# recall@10 / batch queries per second for ef in {10,20,40,80,160}, simlearn
# against hnswlib in the same run (queries timed alternately, recall against
# exact search for both).
SHARED ?= ../shared
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-hnsw

$(BENCH_DIR)/hnsw_bench: bench/hnsw_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

bench-hnsw: all $(BENCH_DIR)/hnsw_bench
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@lscpu | grep 'Model name'
	$(BENCH_DIR)/hnsw_bench $(BENCH_DIR)/fmnist/train_x.npy $(BENCH_DIR)/fmnist/test_x.npy 2 \
	  $(BENCH_DIR)/fmnist.hnsw $(BENCH_DIR)/hnsw_gt.npy | tee $(BENCH_DIR)/hnsw.log
	@/usr/bin/python3 bench/hnsw_ref.py $(BUILD)/libsimlearn.so $(BENCH_DIR)/fmnist.hnsw \
	  $(BENCH_DIR)/fmnist/train_x.npy $(BENCH_DIR)/fmnist/test_x.npy $(BENCH_DIR)/hnsw_gt.npy $(BENCH_DIR)/hnsw.log 3
