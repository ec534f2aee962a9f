# bench-augment: augmented 28x28 Fashion-MNIST views per second on one thread,
# simlearn's `simclr` preset against the R1 PyTorch anchor's augmentation
# (affine_grid + grid_sample crop + flip, 2 views x 256 per step), same run.
SHARED ?= ../shared
BENCHES += bench-augment

$(BUILD)/bench/augment_bench: bench/augment_bench.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-augment
bench-augment: all $(BUILD)/bench/augment_bench
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@$(BUILD)/bench/augment_bench > $(BUILD)/bench/augment_simlearn.txt && cat $(BUILD)/bench/augment_simlearn.txt
	@/usr/bin/python3 bench/augment_torch.py $(SHARED)/anchors > $(BUILD)/bench/augment_torch.txt && cat $(BUILD)/bench/augment_torch.txt
	@echo "R1 training step consumes 512 views per step (PyTorch anchor: ~1,117 views/s on 2 threads)"
	@s=$$(awk '/^simlearn simclr/{print $$NF}' $(BUILD)/bench/augment_simlearn.txt); \
	 p=$$(awk '/^pytorch crop\+flip/{print $$NF}' $(BUILD)/bench/augment_torch.txt); \
	 awk -v s=$$s -v p=$$p 'BEGIN{printf "augment: simlearn %d views/s, pytorch %d views/s, ratio %.2f\n", s, p, s/p}'
