# bench-sent: sentence vectors on a retrieval task built from data the project
# already reads: a headword's WordNet gloss is the query, every GCIDE definition
# of SENT_WORDS sampled headwords is the base (bench/sent_task.py tells how).
# simlearn's `words embed` (the average and SIF, SIF's a chosen on the
# validation half of the queries) on the 100-d GCIDE vectors that bench-ivfpq
# trains (built here when missing), against the same average and SIF computed
# with numpy over gensim's KeyedVectors and against gensim's Doc2Vec trained on
# the same corpus, and simlearn's sent2vec model trained on the same corpus
# (SENT_S2V: its settings, chosen on the validation half); figures on the test
# half. Ends with "sent: simlearn sif MRR <m>, gensim doc2vec MRR <m>, ratio
# <simlearn / doc2vec>".
# Quick run: make bench-sent SENT_WORDS=1000 SENT_GRID=1e-3
SENT_WORDS ?= 10000
SENT_GRID ?= 1e-4,3e-4,1e-3,3e-3,1e-2
SENT_THREADS ?= 2
SENT_S2V ?= --lr 0.5 --epochs 20
SENT_DIR ?= $(BENCH_DIR)/sent
BENCH_DIR ?= $(BUILD)/bench
BENCHES += bench-sent

.PHONY: bench-sent
bench-sent: all
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(IVF_WORDS) IVF_THREADS=$(SENT_THREADS)
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@SIMLEARN=./$(BIN) bench/sent_run.sh $(IVF_WORDS) $(BENCH_DIR)/gcide.txt $(SENT_DIR) $(SENT_THREADS) \
	  $(SENT_WORDS) $(SENT_GRID) "$(SENT_S2V)"
