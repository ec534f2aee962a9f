# Subword vectors against fastText (minn 3, maxn 6, the same bucket count) on
# the GCIDE corpus with bench-words' settings: speed, analogy, WordSim353,
# SimLex-999 and rare words. Quick end-to-end run: SUBWORD_EPOCHS=1
# SUBWORD_BUCKET=100000.
SUBWORD_CORPUS ?= $(BUILD)/bench/gcide.txt
SUBWORD_OUT ?= $(BUILD)/bench/subword
SUBWORD_THREADS ?= 2
SUBWORD_EPOCHS ?= 5
SUBWORD_BUCKET ?= 2000000

.PHONY: bench-subword
bench-subword: all
	@scripts/deps.sh bench
	@mkdir -p $(dir $(SUBWORD_CORPUS))
	@bench/subword_bench.sh $(SUBWORD_CORPUS) $(SUBWORD_OUT) $(SUBWORD_THREADS) $(SUBWORD_EPOCHS) $(SUBWORD_BUCKET)

BENCHES += bench-subword
