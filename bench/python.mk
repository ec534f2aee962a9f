# bench-python: the Python package against the Python APIs of hnswlib (HNSW build, batch
# and one-query search at the same recall), faiss (exact k=10) and scikit-learn (linear
# probe at one L2 strength) on Fashion-MNIST, PY_THREADS threads everywhere, in one process
# (bench/python_bench.py). Ends with "python: simlearn <q/s> at recall <r>, hnswlib <q/s>
# at recall <r>, ratio <simlearn q/s / hnswlib q/s>".
# Quick run: make bench-python PY_N=10000 PY_Q=1000 PY_PROBE=2000
PY_N ?= 0
PY_Q ?= 0
PY_THREADS ?= 2
PY_REPEATS ?= 3
PY_PROBE ?= 10000
BENCHES += bench-python

.PHONY: bench-python
bench-python: all python
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@PYTHONPATH=$(BUILD)/python /usr/bin/python3 bench/python_bench.py $(BENCH_DIR)/fmnist $(PY_REPEATS) $(PY_N) \
	  $(PY_Q) $(PY_THREADS) $(PY_PROBE)
