# bench-svm: a linear SVM (one-vs-rest, squared hinge) on frozen features of Fashion-MNIST
# (an R1 CNN encoder that simlearn trains for SVM_TRAIN_STEPS steps), simlearn probe
# --model svm against scikit-learn's LinearSVC with the C that simlearn's protocol chose
# on a validation split, the same tolerance and pass limit; both must converge. Ends with
# "svm: simlearn <s> s (<acc>%), sklearn <s> s (<acc>%), ratio <sklearn s / simlearn s>".
# Quick run: make bench-svm SVM_TRAIN_STEPS=20 SVM_C=1e-3
SVM_THREADS ?= 2
SVM_TRAIN_STEPS ?= 400
SVM_TOL ?= 0.1
SVM_MAX_ITER ?= 1000
SVM_C ?=
BENCHES += bench-svm

.PHONY: bench-svm
bench-svm: all
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@SVM_THREADS=$(SVM_THREADS) SVM_TRAIN_STEPS=$(SVM_TRAIN_STEPS) SVM_TOL=$(SVM_TOL) SVM_MAX_ITER=$(SVM_MAX_ITER) SVM_C=$(SVM_C) bench/svm_run.sh
