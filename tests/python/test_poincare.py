"""Poincaré embeddings from Python: Words.poincare trains what `simlearn
words poincare` trains (same seed, same vectors), poincare_evaluate gives
the CLI's ranks, poincare_nearest and poincare_distance, and bad input."""

import subprocess

import numpy as np
import pytest

import simlearn
from test_search import CLI


def closure(path):
    """The transitive closure of a depth-3 binary tree (15 nodes)."""
    parent = {i: (i - 1) // 2 for i in range(1, 15)}
    lines = []
    for i in range(1, 15):
        p = parent[i]
        while True:
            lines.append(f"n{i} n{p}")
            if p == 0:
                break
            p = parent[p]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_python_trains_what_the_cli_trains(tmp_path):
    e = closure(tmp_path / "tree.tsv")
    w = simlearn.Words.poincare(e, dim=5, epochs=60, negative=4, seed=7)
    assert len(w) == 15 and w.dim == 5 and w.stats["updates"] == 70 * 34
    subprocess.run([CLI, "words", "poincare", str(e), "-o", str(tmp_path / "cli.vec"), "--format", "text", "--dim", "5",
                    "--epochs", "60", "--negative", "4", "--seed", "7", "-q"], check=True, capture_output=True)
    c = simlearn.Words.load(tmp_path / "cli.vec")
    assert c.words == w.words
    np.testing.assert_array_equal(c.vectors, w.vectors)
    assert (np.linalg.norm(w.vectors, axis=1) < 1).all()
    r = w.poincare_evaluate(e)
    out = subprocess.run([CLI, "words", "poincare-eval", str(tmp_path / "cli.vec"), "--edges", str(e)], check=True,
                         capture_output=True, text=True).stdout
    assert f"mean rank {r['mean_rank']:.2f}, MAP {r['map']:.4f} ({r['edges']} edges of {r['nodes']} nodes)" in out
    assert r["map"] > 0.9 and r["edges"] == 34
    # the root sits nearest the origin
    norms = dict(zip(w.words, np.linalg.norm(w.vectors, axis=1)))
    assert norms["n0"] < min(v for k, v in norms.items() if k != "n0")


def test_nearest_and_distance(tmp_path):
    w = simlearn.Words.poincare(closure(tmp_path / "tree.tsv"), dim=4, epochs=80, negative=4, seed=2)
    near = w.poincare_nearest("n1", k=3)
    assert len(near) == 3 and all(word != "n1" for word, _ in near)
    v = w.vectors
    row = w.words.index(near[0][0])
    assert near[0][1] == pytest.approx(simlearn.poincare_distance(v[w.words.index("n1")], v[row]), rel=1e-6)
    assert [d for _, d in near] == sorted(d for _, d in near)
    assert simlearn.poincare_distance([0, 0], [0.5, 0]) == pytest.approx(2 * np.arctanh(0.5), rel=1e-12)
    assert simlearn.poincare_distance([0.3, 0.1], [0.3, 0.1]) == 0
    with pytest.raises(ValueError, match="same length"):
        simlearn.poincare_distance([0, 0], [0, 0, 0])
    with pytest.raises(KeyError):
        w.poincare_nearest("nope")


def test_bad_edges_raise_with_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a b\nc c\n")
    with pytest.raises(ValueError, match=r"bad.tsv: line 2"):
        simlearn.Words.poincare(bad)
    with pytest.raises(OSError):
        simlearn.Words.poincare(tmp_path / "missing.tsv")
    w = simlearn.Words.poincare(closure(tmp_path / "tree.tsv"), dim=3, epochs=2)
    other = tmp_path / "other.tsv"
    other.write_text("x y\n")
    with pytest.raises(ValueError, match="the node .x. has no vector"):
        w.poincare_evaluate(other)
