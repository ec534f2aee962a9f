# bench-augment: augmented 28x28 Fashion-MNIST views per second on one thread, simlearn's
# batch producer against the same pipelines written as batched PyTorch tensor ops, in the
# same run: batches of 256 training images, two views of each, from the stored bytes to
# float views. Pipelines: R1's crop(0.6,1.0),flip (the summary line) and the `mono` preset
# that simlearn trains with on IDX images. Ends with "augment: simlearn <views/s>,
# pytorch <views/s>, ratio <simlearn / pytorch>". Quick run: make bench-augment AUGMENT_STEPS=20
AUGMENT_STEPS ?= 200
AUGMENT_WARMUP ?= 5
AUGMENT_SPECS ?= 'crop(0.6,1.0),flip' 'crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8'
BENCHES += bench-augment

$(BUILD)/bench/augment_bench: bench/augment_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-augment
bench-augment: all $(BUILD)/bench/augment_bench
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@$(BUILD)/bench/augment_bench $(AUGMENT_STEPS) $(AUGMENT_WARMUP) $(AUGMENT_SPECS) > $(BUILD)/bench/augment_simlearn.txt
	@/usr/bin/python3 bench/augment_torch.py $(AUGMENT_STEPS) $(AUGMENT_WARMUP) $(AUGMENT_SPECS) \
	  > $(BUILD)/bench/augment_torch.txt
	@bench/augment_report.sh $(BUILD)/bench/augment_simlearn.txt $(BUILD)/bench/augment_torch.txt
