"""Scores bench-sent: retrieval of a headword's GCIDE definitions from its
WordNet gloss (bench/sent_task.py), by cosine similarity, for simlearn's
`words embed` outputs and for the reference systems, all scored by this one
function (R@1, R@10, MRR; a tie with another word's definition counts
against the query).

Usage: sent_eval.py TASKDIR VECTORS.npy CORPUS THREADS A_GRID

simlearn: TASKDIR/sl_avg_{base,val,test}.npy and, for each a of A_GRID
(comma-separated), TASKDIR/sl_sif_<a>_{base,val,test}.npy, as bench/sent_run.sh
wrote them (SIF's component computed on the base, reused for the queries),
and TASKDIR/sl_s2v_{base,val,test}.npy from the sent2vec model it trained.
gensim: the same average and SIF computed with numpy on the same vectors
loaded into gensim's KeyedVectors (a check of simlearn's arithmetic), and
gensim's Doc2Vec (PV-DBOW with word training, dbow_words=1, Lau & Baldwin
2016; gensim's other defaults, 100 dimensions, the corpus's lines as
documents, THREADS workers, seed 1) trained on CORPUS, with every base and
query text's vector inferred. SIF's a is chosen on the validation queries
(best MRR; ties: the smaller a) and every reported figure is on the test
queries. The summary line compares simlearn's SIF with Doc2Vec on test MRR;
ratio = simlearn's MRR / Doc2Vec's (> 1: simlearn better)."""

import sys
import time

import numpy as np


def metrics(q, b, qlab, blab):
    qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-30)
    ranks = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), 512):
        sims = qn[s:s + 512] @ bn.T
        own = blab[None, :] == qlab[s:s + 512, None]
        best = np.where(own, sims, -np.inf).max(axis=1)
        ranks[s:s + 512] = 1 + ((sims >= best[:, None]) & ~own).sum(axis=1)
    return dict(r1=float(np.mean(ranks == 1)), r10=float(np.mean(ranks <= 10)), mrr=float(np.mean(1.0 / ranks)))


def fmt(m):
    return f"R@1 {100 * m['r1']:.2f}%  R@10 {100 * m['r10']:.2f}%  MRR {m['mrr']:.4f}"


def choose(scores):
    """(a, validation metrics) of the best validation MRR, smaller a on ties."""
    return max(scores.items(), key=lambda kv: (kv[1]["mrr"], -kv[0]))


def read_lines(path):
    with open(path) as f:
        return [line.split() for line in f]


class Numpy:
    """The average and SIF with numpy over gensim KeyedVectors."""

    def __init__(self, vectors):
        from gensim.models import KeyedVectors
        vocab = vectors[:-4] + ".vocab"
        words, counts = [], []
        with open(vocab) as f:
            for line in f:
                w, c = line.split()
                words.append(w)
                counts.append(int(c))
        self.kv = KeyedVectors(vector_size=np.load(vectors, mmap_mode="r").shape[1])
        self.kv.add_vectors(words, np.load(vectors))
        self.p = np.asarray(counts, dtype=np.float64) / float(sum(counts))

    def embed(self, texts, a=None):
        kv, out = self.kv, np.zeros((len(texts), self.kv.vector_size), dtype=np.float64)
        for i, toks in enumerate(texts):
            ids = [kv.key_to_index[t] for t in toks if t in kv.key_to_index]
            if ids:
                w = np.ones(len(ids)) if a is None else a / (a + self.p[ids])
                out[i] = w @ kv.vectors[ids] / len(ids)
        return out

    @staticmethod
    def remove(x, u):
        return x - np.outer(x @ u, u)


def doc2vec(corpus, texts, threads):
    from gensim.models.doc2vec import Doc2Vec
    t0 = time.time()
    model = Doc2Vec(corpus_file=corpus, dm=0, dbow_words=1, vector_size=100, workers=threads, seed=1)
    t1 = time.time()
    out = [np.stack([model.infer_vector(t) if t else np.zeros(100, np.float32) for t in part]) for part in texts]
    print(f"gensim Doc2Vec: trained in {t1 - t0:.1f} s ({model.epochs} epochs), inferred "
          f"{sum(len(p) for p in texts)} vectors in {time.time() - t1:.1f} s")
    return out


def main():
    task, vectors, corpus, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    grid = [float(a) for a in sys.argv[5].split(",")]
    lab = {k: np.load(f"{task}/{k}_labels.npy") for k in ("base", "val", "test")}
    load = lambda name, part: np.load(f"{task}/sl_{name}_{part}.npy")
    res = {}

    def run(label, get):
        """get(part) -> vectors; returns (val, test) metrics."""
        b = get("base")
        return tuple(metrics(get(p), b, lab[p], lab["base"]) for p in ("val", "test"))

    res["simlearn avg"] = run("avg", lambda p: load("avg", p))
    sif = {a: run(f"sif {a:g}", lambda p, a=a: load(f"sif_{a:g}", p)) for a in grid}
    for a in grid:
        print(f"simlearn sif a={a:g}: validation {fmt(sif[a][0])}")
    a_sl, _ = choose({a: v[0] for a, v in sif.items()})
    res[f"simlearn sif (a={a_sl:g})"] = sif[a_sl]
    res["simlearn sent2vec"] = run("s2v", lambda p: load("s2v", p))

    ref = Numpy(vectors)
    texts = {p: read_lines(f"{task}/{p}.txt") for p in ("base", "val", "test")}
    res["gensim+numpy avg"] = run("avg", lambda p: ref.embed(texts[p]))
    np_sif = {}
    for a in grid:
        emb = {p: ref.embed(texts[p], a) for p in texts}
        u = np.linalg.svd(emb["base"], full_matrices=False)[2][0]  # uncentred, as Arora et al.'s code
        np_sif[a] = run("sif", lambda p: Numpy.remove(emb[p], u))
    a_np, _ = choose({a: v[0] for a, v in np_sif.items()})
    res[f"gensim+numpy sif (a={a_np:g})"] = np_sif[a_np]

    d2v = dict(zip(("base", "val", "test"), doc2vec(corpus, [texts[p] for p in ("base", "val", "test")], threads)))
    res["gensim Doc2Vec (PV-DBOW)"] = run("d2v", lambda p: d2v[p])

    print(f"{'method':34s} | validation ({len(lab['val'])} queries)              | test ({len(lab['test'])} queries)")
    for name, (v, t) in res.items():
        print(f"{name:34s} | {fmt(v)} | {fmt(t)}")
    sl = res[f"simlearn sif (a={a_sl:g})"][1]["mrr"]
    dv = res["gensim Doc2Vec (PV-DBOW)"][1]["mrr"]
    print(f"sent: simlearn sif MRR {sl:.4f}, gensim doc2vec MRR {dv:.4f}, ratio {sl / dv:.2f}")


if __name__ == "__main__":
    main()
