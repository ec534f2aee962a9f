# bench-ssl: the self-supervised objectives on Fashion-MNIST with the R1 CNN — InfoNCE,
# Barlow Twins, VICReg, SimSiam, BYOL, MoCo and the memory bank, SSL_MINUTES of training
# each on SSL_THREADS threads — scored on the test split by bench-r1's evaluator (weighted
# kNN and linear probe) beside raw pixels in the same run: ratio = the best method's probe /
# InfoNCE's probe. Quick run: make bench-ssl SSL_MINUTES=1. SSL_ENCODER (empty: the R1
# CNN) trains another encoder with the same recipes, e.g. a ViT.
SSL_MINUTES ?= 15
SSL_THREADS ?= 2
SSL_SEED ?= 0
SSL_PIXELS ?= 1
SSL_METHODS ?= infonce barlow vicreg simsiam byol moco memory-bank
SSL_ENCODER ?=
BENCHES += bench-ssl

.PHONY: bench-ssl
bench-ssl: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@SSL_MINUTES=$(SSL_MINUTES) SSL_THREADS=$(SSL_THREADS) SSL_SEED=$(SSL_SEED) SSL_PIXELS=$(SSL_PIXELS) SSL_METHODS="$(SSL_METHODS)" SSL_ENCODER="$(SSL_ENCODER)" bench/ssl_run.sh
