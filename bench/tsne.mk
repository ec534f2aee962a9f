# bench-tsne: Barnes-Hut t-SNE of the 10,000 Fashion-MNIST test images (reduced
# to 50 dimensions by simlearn's PCA) with simlearn and with scikit-learn's
# TSNE, both on 2 threads with the same settings; compares wall time and the
# trustworthiness (scikit-learn's, 10 neighbours) of the two maps.
# OMP_WAIT_POLICY=passive (for both programs: both use OpenMP) keeps idle
# threads from spinning, which matters when other work shares the cores.
SHARED ?= ../shared
BENCHES += bench-tsne
.PHONY: bench-tsne
bench-tsne: all
	@scripts/deps.sh bench
	OMP_WAIT_POLICY=passive /usr/bin/python3 bench/tsne_bench.py --simlearn ./simlearn --out $(BUILD)/bench-tsne
