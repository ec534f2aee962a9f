#!/usr/bin/python3
"""Times reading a word2vec text file with simlearn (`simlearn info`, which
reads and checks every value, then summarises the vectors: a little more work
than loading) and with gensim's KeyedVectors.load_word2vec_format, in the same
run, one thread each, best of REPEATS (simlearn) and REPEATS - 1 (gensim, at
least 1) runs. The summary ratio is gensim's time / simlearn's (> 1: simlearn
faster). Usage: w2v_io.py SIMLEARN FILE [REPEATS]"""
import subprocess
import sys
import time


def best_of(repeats, fn):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    simlearn, path = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    out = subprocess.run([simlearn, "info", "--words", "0", path], check=True,
                         capture_output=True, text=True).stdout
    print(out.strip())
    t_sl = best_of(repeats, lambda: subprocess.run([simlearn, "info", "--words", "0", path],
                                                   check=True, capture_output=True))
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=False)
    print(f"gensim: {len(kv.index_to_key)} words, dimension {kv.vector_size}")
    del kv
    t_gs = best_of(max(1, repeats - 1),
                   lambda: KeyedVectors.load_word2vec_format(path, binary=False))
    print(f"simlearn read: {t_sl:.2f} s (best of {repeats})")
    print(f"gensim read:   {t_gs:.2f} s (best of {max(1, repeats - 1)})")
    print(f"w2v-io: simlearn {t_sl:.2f} s, gensim {t_gs:.2f} s, ratio {t_gs / t_sl:.2f}")


if __name__ == "__main__":
    main()
