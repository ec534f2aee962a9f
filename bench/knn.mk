# R3: exact k=10 search, Fashion-MNIST test (10k) against train (60k), 784-d,
# 2 threads: simlearn's blocked exact search against faiss IndexFlatL2 in the
# same run, with the agreement of the neighbour ids and the sgemm peak.
SHARED ?= ../shared
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-knn

$(BENCH_DIR)/knn_bench: bench/knn_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

$(BENCH_DIR)/fmnist/train_x.npy: bench/fmnist_npy.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 bench/fmnist_npy.py $(BENCH_DIR)/fmnist

bench-knn: all $(BENCH_DIR)/knn_bench
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@lscpu | grep 'Model name'
	$(BENCH_DIR)/knn_bench $(BENCH_DIR)/fmnist/train_x.npy $(BENCH_DIR)/fmnist/test_x.npy 10 2 \
	  $(BENCH_DIR)/knn_ids.npy 3 | tee $(BENCH_DIR)/knn.log
	@/usr/bin/python3 bench/knn_faiss.py $(BENCH_DIR)/fmnist $(BENCH_DIR)/knn_ids.npy \
	  $$(awk '/^SIMLEARN_TIME/{print $$2}' $(BENCH_DIR)/knn.log) 3
