# R2 word vectors (skip-gram with negative sampling on the GCIDE corpus):
# simlearn's defaults against fastText (without and with subwords) on quality
# over WORDS_SEEDS seeds, and simlearn's per-pair negatives against gensim and
# fastText with their own learning-rate schedules on speed, 2 threads, all
# scored by simlearn's evaluators on the sets in data/. Builds the corpus first
# when it is missing. Quick end-to-end run: WORDS_EPOCHS=1 WORDS_SEEDS=1.
WORDS_CORPUS ?= $(BUILD)/bench/gcide.txt
WORDS_OUT ?= $(BUILD)/bench/words
WORDS_THREADS ?= 2
WORDS_EPOCHS ?= 5
WORDS_SEEDS ?= 3

.PHONY: bench-words
bench-words: all
	@scripts/deps.sh bench
	@mkdir -p $(dir $(WORDS_CORPUS))
	@bench/words_bench.sh $(WORDS_CORPUS) $(WORDS_OUT) $(WORDS_THREADS) $(WORDS_EPOCHS) $(WORDS_SEEDS)

BENCHES += bench-words
