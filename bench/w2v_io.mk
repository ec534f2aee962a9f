# bench-w2v-io: reading a word2vec text file (W2V_IO_N words x W2V_IO_DIM values in
# word2vec's "%f" style; 100,000 x 300 is about 290 MB), simlearn against gensim, same
# run, one thread each. Ends with "w2v-io: simlearn <s>, gensim <s>, ratio <gensim s /
# simlearn s>". Quick run: make bench-w2v-io W2V_IO_N=10000
W2V_IO_N ?= 100000
W2V_IO_DIM ?= 300
W2V_IO_REPEATS ?= 3
W2V_IO_FILE := $(BUILD)/bench/w2v_$(W2V_IO_N)x$(W2V_IO_DIM).txt
BENCHES += bench-w2v-io

$(BUILD)/bench/w2v_gen: bench/w2v_gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(W2V_IO_FILE): $(BUILD)/bench/w2v_gen
	$(BUILD)/bench/w2v_gen $(W2V_IO_N) $(W2V_IO_DIM) $@.tmp && mv $@.tmp $@

.PHONY: bench-w2v-io
bench-w2v-io: all $(W2V_IO_FILE)
	@scripts/deps.sh bench
	@echo "CPU: $$(lscpu | sed -n 's/^Model name: *//p')"
	@/usr/bin/python3 bench/w2v_io.py ./$(BIN) $(W2V_IO_FILE) $(W2V_IO_REPEATS)
