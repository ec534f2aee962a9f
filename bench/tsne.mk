# bench-tsne: Barnes-Hut t-SNE of the first TSNE_N Fashion-MNIST test images (reduced
# to 50 dimensions by simlearn's PCA) with simlearn and with scikit-learn's TSNE, both
# on TSNE_THREADS threads with the same settings; compares the t-SNE time and the
# trustworthiness (scikit-learn's, 10 neighbours) of the two maps. Ends with
# "tsne: simlearn <s> s (trust <t>), sklearn <s> s (trust <t>), ratio <sklearn s / simlearn s>".
# OMP_WAIT_POLICY=passive (for both programs: both use OpenMP) keeps idle threads from
# spinning, which matters when other work shares the cores.
# Quick run: make bench-tsne TSNE_N=2000 TSNE_ITERS=300
TSNE_N ?= 10000
TSNE_ITERS ?= 1000
TSNE_THREADS ?= 2
BENCHES += bench-tsne

.PHONY: bench-tsne
bench-tsne: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@OMP_WAIT_POLICY=passive /usr/bin/python3 bench/tsne_bench.py --simlearn ./simlearn --out $(BUILD)/bench/tsne \
	  --n $(TSNE_N) --iters $(TSNE_ITERS) --threads $(TSNE_THREADS)
