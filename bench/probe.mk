# R5: linear probe on raw Fashion-MNIST pixels (pixels/255) against
# scikit-learn's LogisticRegression(lbfgs, multinomial, max_iter=200, C=1),
# both on 2 threads in the same run. Ends with the summary line
# "probe: simlearn <s> s (<acc>%), sklearn <s> s (<acc>%), ratio <r>".
SHARED ?= ../shared
PROBE_DATA ?= $(BUILD)/bench/probe

.PHONY: bench-probe
bench-probe: all
	@scripts/deps.sh bench
	@/usr/bin/python3 bench/probe_data.py $(PROBE_DATA)
	@/usr/bin/python3 bench/probe_bench.py $(CURDIR)/simlearn $(PROBE_DATA)

BENCHES += bench-probe
