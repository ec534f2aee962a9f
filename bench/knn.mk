# bench-knn (R3): exact k=10 L2 search of the Fashion-MNIST test images against the
# train images, 784-d: simlearn's blocked exact search (sl_flat_search through ctypes)
# against faiss IndexFlatL2, both on KNN_THREADS threads, timed alternately in one
# process, with the agreement of the neighbour ids and the sgemm peak of the same run.
# Ends with "knn: simlearn <s> s, faiss <s> s, ratio <faiss s / simlearn s>".
# Quick run: make bench-knn KNN_N=10000 KNN_Q=1000
KNN_N ?= 60000
KNN_Q ?= 10000
KNN_THREADS ?= 2
KNN_REPEATS ?= 3
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-knn

$(BENCH_DIR)/fmnist/train_x.npy: bench/fmnist_npy.py bench/fmnist_idx.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 bench/fmnist_npy.py $(BENCH_DIR)/fmnist

.PHONY: bench-knn
bench-knn: all
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@/usr/bin/python3 bench/knn_faiss.py $(BUILD)/libsimlearn.so $(BENCH_DIR)/fmnist $(KNN_REPEATS) $(KNN_N) \
	  $(KNN_Q) $(KNN_THREADS)
