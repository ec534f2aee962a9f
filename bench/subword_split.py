"""The rare-word pairs of bench/subword_bench.sh: counts every word of the
corpus (split on whitespace, as simlearn and fastText read it), then writes
to OUTDIR: allpairs.txt (the pairs of WordSim353 and SimLex-999, lowercased,
both on their 0-10 scales), rareN.txt for each threshold N (the pairs with a
word seen fewer than N times) and pairwords.txt (every word of the pairs).
usage: subword_split.py CORPUS DATADIR OUTDIR N..."""
import collections
import os
import sys

corpus, data, out = sys.argv[1:4]
limits = [int(x) for x in sys.argv[4:]]
counts = collections.Counter()
with open(corpus, encoding="utf-8", errors="replace") as f:
    for line in f:
        counts.update(line.split())
pairs = []
for name in ("wordsim353.tsv", "simlex999.txt"):
    with open(os.path.join(data, name), encoding="utf-8") as f:
        for line in f:
            t = line.split()
            if len(t) < 3 or line.startswith("#"):
                continue
            try:
                score = float(t[2])
            except ValueError:
                continue
            pairs.append((t[0].lower(), t[1].lower(), score))
with open(os.path.join(out, "allpairs.txt"), "w") as f:
    f.writelines(f"{a} {b} {s}\n" for a, b, s in pairs)
for n in limits:
    rare = [p for p in pairs if min(counts[p[0]], counts[p[1]]) < n]
    with open(os.path.join(out, f"rare{n}.txt"), "w") as f:
        f.writelines(f"{a} {b} {s}\n" for a, b, s in rare)
    print(f"rare<{n}: {len(rare)} of the {len(pairs)} pairs have a word seen fewer than {n} times")
words = sorted({w for a, b, _ in pairs for w in (a, b)})
with open(os.path.join(out, "pairwords.txt"), "w") as f:
    f.writelines(w + "\n" for w in words)
