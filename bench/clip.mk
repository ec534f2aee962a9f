# bench-clip: CLIP on the shapes captions — zero-shot shape and colour classification from
# prompts and image->text recall@1/5 on the validation split. The reference is chance:
# ratio = zero-shot shape accuracy / chance (> 1: better than chance).
# Quick run: make bench-clip CLIP_STEPS=30 CLIP_VAL=500
CLIP_STEPS ?= 1000
CLIP_THREADS ?= 2
CLIP_VAL ?= 2000
BENCHES += bench-clip

.PHONY: bench-clip
bench-clip: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@CLIP_STEPS=$(CLIP_STEPS) CLIP_THREADS=$(CLIP_THREADS) CLIP_VAL=$(CLIP_VAL) bench/clip_run.sh
