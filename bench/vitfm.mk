# bench-vitfm: a ViT on Fashion-MNIST — InfoNCE, MAE, and MAE then supervised fine-tuning,
# VITFM_MINUTES of training per row — scored on the test split by bench-r1's evaluator
# (kNN and linear probe) beside raw pixels in the same run: ratio = fine-tuned probe / raw
# pixels' probe. Quick run: make bench-vitfm VITFM_MINUTES=1
VITFM_MINUTES ?= 10
VITFM_THREADS ?= 2
BENCHES += bench-vitfm

.PHONY: bench-vitfm
bench-vitfm: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@VITFM_MINUTES=$(VITFM_MINUTES) VITFM_THREADS=$(VITFM_THREADS) bench/vitfm_run.sh
