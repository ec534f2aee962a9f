# bench-r1: R1 contrastive training on Fashion-MNIST, simlearn against the PyTorch anchor
# (../shared/anchors/simclr_torch.py) in the same run: parity after R1_EPOCHS epochs and the
# R1_MINUTES quality budget. Smoke run: make bench-r1 R1_EPOCHS=0 R1_STEPS=5 R1_MINUTES=1
SHARED ?= ../shared
R1_EPOCHS ?= 8
R1_MINUTES ?= 15
R1_THREADS ?= 2
R1_STEPS ?= 0
R1_QUALITY ?= 1
BENCHES += bench-r1

.PHONY: bench-r1
bench-r1: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@R1_EPOCHS=$(R1_EPOCHS) R1_MINUTES=$(R1_MINUTES) R1_THREADS=$(R1_THREADS) R1_STEPS=$(R1_STEPS) \
	  R1_QUALITY=$(R1_QUALITY) bench/r1_run.sh $(SHARED)
