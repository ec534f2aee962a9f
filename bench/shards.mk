# bench-shards: sharded HNSW on R4's data (Fashion-MNIST, 60,000 x 784 base, 10,000
# queries, M=16, ef_construction=200, k=10): one index built and searched by one process
# against 2 shards built and searched by `mpirun -np 2` (one thread per rank), and the
# same 2 shards searched by one process; build times, then recall@10 (against exact
# search) and queries per second for each ef of SHARDS_EF (bench/shards_run.sh).
SHARDS_EF ?= 10 20 40 80
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-shards

.PHONY: bench-shards
bench-shards: all python
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p'), load average $$(cut -d' ' -f1 /proc/loadavg)"
	@bench/shards_run.sh $(CURDIR)/$(BIN) $(BUILD)/python $(BENCH_DIR) "$(SHARDS_EF)"
