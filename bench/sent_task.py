"""Builds bench-sent's retrieval task from GCIDE (Debian dict-gcide) and
WordNet 3.0 (Debian wordnet-base): for a headword in both, the query is
WordNet's gloss of the word's first sense (written by other lexicographers
than GCIDE's), and the base holds every GCIDE definition of the sampled
headwords; a hit is one of the word's own GCIDE definitions.

Usage: sent_task.py OUTDIR N [SEED]

Definitions. A GCIDE entry counts when its first line starts with the
headword itself (so "Cat o' nine tails", listed under "cat", does not). Its
paragraphs (blank-line separated) are its definitions, except notes ("Note:"),
synonym lists ("Syn:", "Usage:"), indented quotations and citations ("--");
the first paragraph loses its headword line's pronunciation (\\...\\ and
parentheses with accent codes), part-of-speech marks ("n.", "v. t.") and
etymology ([...]). Text is cleaned as scripts/corpus-gcide.sh cleans the
training corpus (source tags and accent codes, lowercase, no tokens with
digits, a-z only). WordNet's gloss loses its examples (after "; \\"") and
is cleaned the same way. The headword and its plural (w, ws, wes) are then
removed from both texts, so the task cannot be solved by the word's own
name, and a text needs at least 3 words left.

Words: lowercase a-z lemmas of WordNet (index.noun, .verb, .adj, .adv; the
first sense in that order of parts of speech, senses in WordNet's frequency
order) that have a GCIDE definition; N of them are drawn with the seed
(default 1), the first half are the validation queries, the second the test
queries. The base is every definition of the N words.

Writes base.txt, val.txt, test.txt (one text a line) and base_labels.npy,
val_labels.npy, test_labels.npy (int64: the word's number, 0..N-1), and
words.txt (the N words in that numbering)."""

import gzip
import os
import re
import sys

import numpy as np

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
GCIDE = "/usr/share/dictd/gcide"
WORDNET = "/usr/share/wordnet"
POS = "n|v|t|i|a|adj|adv|prep|conj|interj|pron|pl|imp|p|pr|vb|sing|superl|compar"


def b64(s):
    v = 0
    for ch in s:
        v = v * 64 + B64.index(ch)
    return v


def clean(text):
    """scripts/corpus-gcide.sh's cleaning, on one text."""
    text = re.sub(r"\\[^\\\n]*\\", "", text)
    text = re.sub(r"\[(?:[^\]\n]*Webster[^\]\n]*|WordNet[^\]\n]*|PJC|Century[^\]\n]*)\]", "", text)
    text = re.sub(r"\[[\x27`\"^~=:.,\-]?([a-zA-Z]{1,2})\]", r"\1", text)
    text = text.lower()
    text = re.sub(r"\S*[0-9]\S*", " ", text)
    text = re.sub(r"[^a-z]+", " ", text)
    return text.split()


def definitions(entry, word):
    """The definition paragraphs of one GCIDE entry, raw."""
    first = entry.split("\n", 1)[0]
    if not re.match(re.escape(word) + r"\s*\\", first, re.I):
        return []
    out = []
    for k, para in enumerate(re.split(r"\n\s*\n", entry)):
        if k == 0:
            para = re.sub(r"\\[^\\]*\\", " ", para)               # pronunciation
            para = re.sub(r"\([^()]*\[[^()]*\)", " ", para)        # pronunciation with accent codes
            para = re.sub(r"\[[^\]]*\]", " ", para)               # etymology, source tags
            head, _, rest = para.partition("\n")                 # part-of-speech marks of the headword line
            head = re.sub(r"(?<![A-Za-z])(?:" + POS + r")\.", " ", head)
            para = head + "\n" + rest
        stripped = para.strip()
        indent = len(para) - len(para.lstrip(" "))
        if not stripped or indent >= 8 or stripped.startswith(("Note:", "Syn:", "Usage:", "--")):
            continue
        out.append(re.sub(r"^\d+\.\s*", "", stripped))
    return out


def read_gcide():
    data = gzip.open(GCIDE + ".dict.dz").read()
    defs = {}
    with open(GCIDE + ".index", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            word = parts[0].lower()
            if not re.fullmatch(r"[a-z]+", word):
                continue
            entry = data[b64(parts[1]):b64(parts[1]) + b64(parts[2])].decode("utf-8", "replace")
            defs.setdefault(word, []).extend(definitions(entry, word))
    return defs


def read_wordnet():
    """word -> gloss of its first sense (noun, verb, adj, adv in turn)."""
    gloss = {}
    for pos in ("noun", "verb", "adj", "adv"):
        offsets = {}
        with open(f"{WORDNET}/index.{pos}", encoding="latin-1") as f:
            for line in f:
                if line.startswith(" "):
                    continue
                t = line.split()
                lemma, p_cnt = t[0], int(t[3])
                if re.fullmatch(r"[a-z]+", lemma) and lemma not in gloss:
                    offsets[lemma] = t[4 + p_cnt + 2]
        want = set(offsets.values())
        text = {}
        with open(f"{WORDNET}/data.{pos}", encoding="latin-1") as f:
            for line in f:
                if line[:8] in want and " | " in line:
                    text[line[:8]] = line.split(" | ", 1)[1].split('; "', 1)[0]
        for lemma, off in offsets.items():
            gloss.setdefault(lemma, text.get(off, ""))
    return gloss


def without(tokens, word):
    drop = {word, word + "s", word + "es"}
    return [t for t in tokens if t not in drop]


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    defs, gloss = read_gcide(), read_wordnet()
    pairs = {}
    for word in sorted(set(defs) & set(gloss)):
        q = without(clean(gloss[word]), word)
        d = [without(clean(x), word) for x in defs[word]]
        d = [x for x in d if len(x) >= 3]
        if len(q) >= 3 and d:
            pairs[word] = (q, d)
    words = sorted(pairs)
    if len(words) < n:
        sys.exit(f"sent_task.py: only {len(words)} words have both texts, fewer than {n}")
    pick = np.random.RandomState(seed).permutation(len(words))[:n]
    chosen = [words[i] for i in pick]
    os.makedirs(out, exist_ok=True)
    base, base_lab = [], []
    for i, word in enumerate(chosen):
        for d in pairs[word][1]:
            base.append(" ".join(d))
            base_lab.append(i)
    half = n // 2
    for name, rows in (("val", range(half)), ("test", range(half, n))):
        with open(f"{out}/{name}.txt", "w") as f:
            f.writelines(" ".join(pairs[chosen[i]][0]) + "\n" for i in rows)
        np.save(f"{out}/{name}_labels.npy", np.asarray(list(rows), dtype=np.int64))
    with open(f"{out}/base.txt", "w") as f:
        f.writelines(t + "\n" for t in base)
    np.save(f"{out}/base_labels.npy", np.asarray(base_lab, dtype=np.int64))
    with open(f"{out}/words.txt", "w") as f:
        f.writelines(w + "\n" for w in chosen)
    qlen = np.mean([len(pairs[w][0]) for w in chosen])
    dlen = np.mean([len(t.split()) for t in base])
    print(f"task: {len(words)} words with a WordNet gloss and a GCIDE definition; {n} drawn (seed {seed}): "
          f"{half} validation and {n - half} test queries ({qlen:.1f} words on average), "
          f"{len(base)} base definitions ({dlen:.1f} words on average)")


if __name__ == "__main__":
    main()
