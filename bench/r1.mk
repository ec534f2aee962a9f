# bench-r1: the R1 workload on Fashion-MNIST, simlearn against PyTorch
# (bench/simclr_torch.py) in the same run: the same recipe on both sides for R1_EPOCHS
# epochs (or R1_STEPS steps when > 0), then simlearn's recommended recipe in an
# R1_MINUTES budget (R1_QUALITY=1). Ends with "r1: simlearn probe .. kNN .. <img/s> (..),
# pytorch probe .. kNN .. <img/s>, ratio <simlearn img/s / pytorch img/s>".
# Quick run: make bench-r1 R1_STEPS=20 R1_QUALITY=0
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
	  R1_QUALITY=$(R1_QUALITY) bench/r1_run.sh
