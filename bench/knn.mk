# R3: exact k=10 search, Fashion-MNIST test (10k) against train (60k), 784-d,
# 2 threads: simlearn's blocked exact search (called through ctypes) against
# faiss IndexFlatL2, timed alternately in one process, with the agreement of
# the neighbour ids and the sgemm peak measured in the same run.
SHARED ?= ../shared
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-knn

$(BENCH_DIR)/fmnist/train_x.npy: bench/fmnist_npy.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 bench/fmnist_npy.py $(BENCH_DIR)/fmnist

bench-knn: all
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@lscpu | grep 'Model name'
	@/usr/bin/python3 bench/knn_faiss.py $(BUILD)/libsimlearn.so $(BENCH_DIR)/fmnist 3
