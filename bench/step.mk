# bench-step: one training step of the R1 model (forward + backward + Adam on 512 views),
# simlearn against PyTorch in the same run on STEP_THREADS threads, plus the sgemm peak.
# Ends with "step: simlearn <ms>, pytorch <ms>, ratio <pytorch ms / simlearn ms>".
# Quick run: make bench-step STEPS=5 ROUNDS=1
STEPS ?= 20
ROUNDS ?= 3
STEP_THREADS ?= 2
BENCHES += bench-step

$(BUILD)/bench/step_bench: bench/step_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-step
bench-step: all $(BUILD)/bench/step_bench
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@bench/step_run.sh $(BUILD)/bench/step_bench $(STEPS) $(ROUNDS) $(STEP_THREADS)
