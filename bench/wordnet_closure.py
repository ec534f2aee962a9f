#!/usr/bin/python3
"""Transitive closures of WordNet's noun hierarchy, from Debian's wordnet-base.

    bench/wordnet_closure.py OUTDIR [--wordnet /usr/share/wordnet]

Writes OUTDIR/nouns.tsv, every noun synset linked to all its ancestors through
hypernym pointers, of both kinds: `@` (class) and `@i` (instance), as the
Poincaré paper's noun closure; and OUTDIR/mammals.tsv, the subtree under
mammal.n.01 through `@` pointers only (NLTK's hyponyms(), as in Nickel &
Kiela's and gensim's mammal closure), each node linked to its ancestors within
the subtree. One "child<TAB>parent" pair per line, sorted. Synsets are named as
NLTK names them, LEMMA.n.NN: the synset's first lemma, lowercased, and the
synset's rank among that lemma's noun senses in index.noun (dog.n.01). The
file is parsed by hand (data.noun lines: offset, lex file, type, word count in
hex, words with lex ids, pointer count, pointers "SYMBOL OFFSET POS SOURCE").
"""
import argparse
import os
import sys

MAMMAL = "mammal.n.01"


def read_index(path):
    """(lemma, offset) -> sense number, from index.noun."""
    rank = {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            t = line.split()
            lemma, nptr = t[0], int(t[3])
            offsets = t[6 + nptr:]
            for i, off in enumerate(offsets):
                rank[(lemma, off)] = i + 1
    return rank


def read_data(path, rank):
    """name and hypernyms (class, instance) of every noun synset, by offset."""
    name, hyper, inst = {}, {}, {}
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            t = line.split(" | ")[0].split()
            off, nwords = t[0], int(t[3], 16)
            lemma = t[4].lower()
            i = 4 + 2 * nwords
            nptr = int(t[i])
            h, hi = [], []
            for k in range(nptr):
                sym, target, pos = t[i + 1 + 4 * k], t[i + 2 + 4 * k], t[i + 3 + 4 * k]
                if pos != "n":
                    continue
                if sym == "@":
                    h.append(target)
                elif sym == "@i":
                    hi.append(target)
            name[off] = "%s.n.%02d" % (lemma, rank[(lemma, off)])
            hyper[off], inst[off] = h, hi
    return name, hyper, inst


def ancestors(off, parents, memo):
    if off in memo:
        return memo[off]
    out = set()
    for p in parents(off):
        out.add(p)
        out |= ancestors(p, parents, memo)
    memo[off] = out
    return out


def write(path, pairs):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for c, p in sorted(pairs):
            f.write("%s\t%s\n" % (c, p))
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    a = ap.parse_args()
    sys.setrecursionlimit(100000)
    rank = read_index(os.path.join(a.wordnet, "index.noun"))
    name, hyper, inst = read_data(os.path.join(a.wordnet, "data.noun"), rank)
    byname = {v: k for k, v in name.items()}
    if MAMMAL not in byname:
        sys.exit("wordnet_closure.py: %s is not in %s" % (MAMMAL, a.wordnet))
    os.makedirs(a.outdir, exist_ok=True)
    memo = {}
    nouns = set()
    for off in name:
        for p in ancestors(off, lambda o: hyper[o] + inst[o], memo):
            nouns.add((name[off], name[p]))
    write(os.path.join(a.outdir, "nouns.tsv"), nouns)
    root = byname[MAMMAL]
    memo = {}
    under = {off for off in name if off == root or root in ancestors(off, lambda o: hyper[o], memo)}
    mammals = {(name[off], name[p]) for off in under for p in ancestors(off, lambda o: hyper[o], memo) if p in under}
    write(os.path.join(a.outdir, "mammals.tsv"), mammals)
    for label, pairs in (("nouns", nouns), ("mammals", mammals)):
        nodes = {x for e in pairs for x in e}
        print("%s: %d nodes, %d edges (%s offset %s)" % (label, len(nodes), len(pairs), MAMMAL, root)
              if label == "mammals" else "%s: %d nodes, %d edges" % (label, len(nodes), len(pairs)))


if __name__ == "__main__":
    main()
