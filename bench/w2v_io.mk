# bench-w2v-io: reading a word2vec text file (100,000 words x 300 values in
# word2vec's "%f" style, about 290 MB), simlearn against gensim, same run.
SHARED ?= ../shared
W2V_IO_N ?= 100000
W2V_IO_DIM ?= 300
W2V_IO_FILE := bench/out/w2v_$(W2V_IO_N)x$(W2V_IO_DIM).txt
BENCHES += bench-w2v-io

bench/out/w2v_gen: bench/w2v_gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(W2V_IO_FILE): bench/out/w2v_gen
	bench/out/w2v_gen $(W2V_IO_N) $(W2V_IO_DIM) $@.tmp && mv $@.tmp $@

bench-w2v-io: all $(W2V_IO_FILE)
	@scripts/deps.sh bench
	/usr/bin/python3 bench/w2v_io.py ./$(BIN) $(W2V_IO_FILE)
