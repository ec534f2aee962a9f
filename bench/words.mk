# R2 word vectors (DESIGN.md §6): simlearn vs gensim and fastText, skip-gram
# with negative sampling on the GCIDE corpus, 2 threads, all scored by
# simlearn's evaluators. Builds the corpus first when it is missing.
SHARED ?= ../shared
WORDS_CORPUS ?= $(BUILD)/bench/gcide.txt
WORDS_OUT ?= $(BUILD)/bench/words
WORDS_THREADS ?= 2

.PHONY: bench-words
bench-words: all
	@scripts/deps.sh bench
	@mkdir -p $(dir $(WORDS_CORPUS))
	@bench/words_bench.sh $(SHARED) $(WORDS_CORPUS) $(WORDS_OUT) $(WORDS_THREADS)

BENCHES += bench-words
