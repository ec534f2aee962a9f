# bench-tsne: Barnes-Hut t-SNE of the 10,000 Fashion-MNIST test images (reduced
# to 50 dimensions by simlearn's PCA) with simlearn and with scikit-learn's
# TSNE, both on 2 threads with the same settings; compares wall time and the
# trustworthiness (scikit-learn's, 10 neighbours) of the two maps.
SHARED ?= ../shared
BENCHES += bench-tsne
.PHONY: bench-tsne
bench-tsne: all
	@scripts/deps.sh bench
	/usr/bin/python3 bench/tsne_bench.py --simlearn ./simlearn --out $(BUILD)/bench-tsne
