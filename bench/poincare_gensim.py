#!/usr/bin/python3
"""Train gensim's PoincareModel on an edge list and save word2vec text.

    bench/poincare_gensim.py EDGES OUT.txt --dim D --epochs E --negative N
        --lr A --burn-in B --burn-in-lr BA --seed S

Reads "child parent" lines (tabs or spaces, '#' comments) as simlearn does,
trains with gensim's defaults for everything not given (batch_size 10,
dampening 0.75, init_range (-0.001, 0.001), float64) and prints one line,
"gensim: trained in S s", timing train() alone (the model's construction,
which reads the relations and builds the negative-sampling table, is not
counted).

"""
import argparse
import logging
import time

from gensim.models.poincare import PoincareModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("edges")
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--negative", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--burn-in", type=int, default=10)
    ap.add_argument("--burn-in-lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rel = []
    with open(a.edges) as f:
        for line in f:
            t = line.split()
            if t and not t[0].startswith("#"):
                rel.append((t[0], t[1]))
    m = PoincareModel(rel, size=a.dim, negative=a.negative, alpha=a.lr, burn_in=a.burn_in,
                      burn_in_alpha=a.burn_in_lr, seed=a.seed)
    t0 = time.perf_counter()
    m.train(epochs=a.epochs)
    sec = time.perf_counter() - t0
    m.kv.save_word2vec_format(a.out)
    print("gensim: trained in %.2f s" % sec)


if __name__ == "__main__":
    main()
