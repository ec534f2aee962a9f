#!/usr/bin/python3
"""gensim Word2Vec on the R2 settings (skip-gram, negative sampling; its
learning rate is meant to fall linearly from alpha 0.025 to min_alpha 0.0001
over all epochs, but with corpus_file each of the THREADS workers counts its
progress against the whole corpus, so within an epoch the rate falls only
1/THREADS of that epoch's share); times training alone (vocabulary scan excluded) and prints raw
in-vocabulary words/s, counted as word2vec.c and fastText count them (every
in-vocabulary word read, before subsampling).
usage: words_gensim.py CORPUS OUT.txt THREADS [EPOCHS]"""
import sys, time
from gensim.models import Word2Vec

corpus, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
params = dict(sg=1, vector_size=100, window=5, negative=5, hs=0, sample=1e-4,
              workers=threads, min_count=5, alpha=0.025, min_alpha=0.0001, seed=1)
m = Word2Vec(**params)
m.build_vocab(corpus_file=corpus)
invocab = sum(m.wv.get_vecattr(w, 'count') for w in m.wv.index_to_key)
t0 = time.time()
m.train(corpus_file=corpus, total_examples=m.corpus_count, total_words=m.corpus_total_words, epochs=epochs)
secs = time.time() - t0
print(f"gensim: vocab {len(m.wv)} in-vocab tokens {invocab} epochs {epochs} train {secs:.2f} s "
      f"raw_words_per_sec {epochs * invocab / secs:.0f}", flush=True)
m.wv.save_word2vec_format(out, binary=False)
