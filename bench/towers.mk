# bench-towers: which towers win CLIP on the shapes captions — CNN (strided or pooled) or ViT image tower, bag of
# words or text transformer, with and without MAE pre-training of the ViT — by zero-shot
# accuracy of every attribute on the test split. The reference is chance (as bench-clip):
# ratio = the best row's zero-shot shape accuracy / chance.
# Quick run: make bench-towers TOWERS_STEPS=20 TOWERS_MAE_STEPS=20 TOWERS_TEST=300
TOWERS_STEPS ?= 1000
TOWERS_MAE_STEPS ?= 1000
TOWERS_THREADS ?= 2
TOWERS_TEST ?= 2000
BENCHES += bench-towers

.PHONY: bench-towers
bench-towers: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@TOWERS_STEPS=$(TOWERS_STEPS) TOWERS_MAE_STEPS=$(TOWERS_MAE_STEPS) TOWERS_THREADS=$(TOWERS_THREADS) \
	  TOWERS_TEST=$(TOWERS_TEST) bench/towers_run.sh
