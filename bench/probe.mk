# bench-probe (R5): a linear probe on standardised Fashion-MNIST pixels, simlearn
# against scikit-learn's LogisticRegression(lbfgs, multinomial) in the same run, with
# the same L2 strength (C = 1 / (lambda n)), the same standardisation, the same
# gradient tolerance and the same thread count; both must converge. Ends with
# "probe: simlearn <s> s (<acc>%), sklearn <s> s (<acc>%), ratio <sklearn s / simlearn s>".
# Quick run: make bench-probe PROBE_N=5000
PROBE_N ?= 60000
PROBE_LAMBDA ?= 1e-2
PROBE_TOL ?= 1e-4
PROBE_MAX_ITER ?= 1000
PROBE_THREADS ?= 2
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-probe

$(BENCH_DIR)/probe_bench: bench/probe_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-probe
bench-probe: all $(BENCH_DIR)/probe_bench
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCH_DIR)/fmnist/train_x.npy
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@/usr/bin/python3 bench/probe_bench.py $(BENCH_DIR)/probe_bench $(BENCH_DIR)/fmnist $(PROBE_N) $(PROBE_LAMBDA) \
	  $(PROBE_TOL) $(PROBE_MAX_ITER) $(PROBE_THREADS) $(BENCH_DIR)/probe
