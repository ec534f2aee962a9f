# bench-shapes: the invariance table — kNN accuracy of every shapes attribute for an
# encoder trained with each attribute preset, against raw pixels. Ends with "shapes:
# simlearn color-acc <a>, raw-pixels color-acc <b>, ratio <b / a>" (the `color` preset
# should remove colour: lower is better). Quick run: make bench-shapes SHAPES_STEPS=30 SHAPES_VAL=500
SHAPES_STEPS ?= 600
SHAPES_THREADS ?= 2
SHAPES_VAL ?= 2000
BENCHES += bench-shapes

.PHONY: bench-shapes
bench-shapes: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@SHAPES_STEPS=$(SHAPES_STEPS) SHAPES_THREADS=$(SHAPES_THREADS) SHAPES_VAL=$(SHAPES_VAL) bench/shapes_run.sh
