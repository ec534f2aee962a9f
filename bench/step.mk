# bench-step: one training step of the R1 model (forward + backward + Adam),
# simlearn against PyTorch in the same run, plus the sgemm peak.
SHARED ?= ../shared
BENCHES += bench-step

$(BUILD)/bench/step_bench: bench/step_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

bench-step: all $(BUILD)/bench/step_bench
	@scripts/deps.sh bench
	@bench/step_run.sh $(BUILD)/bench/step_bench $(or $(STEPS),20) $(or $(ROUNDS),3)
