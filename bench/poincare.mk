# Poincaré embeddings (Nickel & Kiela 2017) of WordNet's mammal closure:
# simlearn against gensim's PoincareModel, same edges, dimension, negatives,
# learning rates, burn-in and epochs, one thread each, in the same run; both
# ranked by the same evaluator. Builds the closures from wordnet-base first.
# Quick end-to-end run: POINCARE_EPOCHS=5.
POINCARE_OUT ?= $(BUILD)/bench/poincare
POINCARE_EPOCHS ?= 50
POINCARE_DIM ?= 50
POINCARE_SEED ?= 1

.PHONY: bench-poincare
bench-poincare: all
	@scripts/deps.sh bench
	@bench/poincare_run.sh ./$(BIN) $(POINCARE_OUT) $(POINCARE_EPOCHS) $(POINCARE_DIM) $(POINCARE_SEED)

BENCHES += bench-poincare
