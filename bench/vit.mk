# bench-vit: one training step of a ViT encoder (forward + backward + Adam), simlearn against
# the same model in PyTorch in the same run on VIT_THREADS threads: VIT_SPEC (default
# vit(patch=4,dim=96,depth=6,heads=4): 49 patch tokens and a class token of 96 features, six
# blocks) with the R1 projector linear(128),relu,linear(64) on 256 views of 1x28x28, d(output)
# a fixed random tensor on both sides. PyTorch builds the model from the same spec with
# tests/fixtures/nn_torch.py (nn.MultiheadAttention, nn.LayerNorm, nn.Linear, nn.GELU).
# Ends with "vit: simlearn <ms>, pytorch <ms>, ratio <pytorch ms / simlearn ms>".
# Quick run: make bench-vit VIT_STEPS=5 VIT_ROUNDS=1
VIT_STEPS ?= 20
VIT_ROUNDS ?= 3
VIT_THREADS ?= 2
VIT_SPEC ?= vit(patch=4,dim=96,depth=6,heads=4)
BENCHES += bench-vit

$(BUILD)/bench/vit_step: bench/vit_step.c $(BUILD)/libsimlearn.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsimlearn.a $(LDLIBS)

.PHONY: bench-vit
bench-vit: all $(BUILD)/bench/vit_step
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@STEP_NAME=vit STEP_TORCH=bench/vit_torch.py STEP_SPEC='$(VIT_SPEC)' \
	  bench/step_run.sh $(BUILD)/bench/vit_step $(VIT_STEPS) $(VIT_ROUNDS) $(VIT_THREADS)
