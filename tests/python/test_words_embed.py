"""simlearn.Words.embed: the average and SIF of lines of text, the same
numbers as `simlearn words embed`, the counts (file, dict, NAME.vocab) and
the component shared between a base and a query set, bad input."""

import os
import subprocess

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))


@pytest.fixture
def vectors(tmp_path):
    path = tmp_path / "v.vec"
    path.write_text("3 2\nr 10 1\ns 10 -1\nt 3 4\n")
    return simlearn.Words.load(path)


def test_average_with_case_unknown_words_and_empty_lines(vectors):
    x = vectors.embed(["r s", "R zz", "", "nothing known", "t t r"])
    np.testing.assert_allclose(x, [[10, 0], [10, 1], [0, 0], [0, 0], [16 / 3, 3]], rtol=1e-6)
    assert vectors.embed_stats == dict(lines=5, empty=2, words=9, known=6)


def test_sif_removes_the_uncentred_component_and_reuses_it(vectors):
    counts = {"r": 1, "s": 1, "t": 2}
    base, comp = vectors.embed(["r", "s", "nothing"], "sif", a=0.25, counts=counts, return_component=True)
    np.testing.assert_allclose(base, [[0, 0.5], [0, -0.5], [0, 0]], atol=1e-5)
    np.testing.assert_allclose(comp, [1, 0], atol=1e-6)
    q = vectors.embed(["t"], "sif", a=0.25, counts=counts, component=comp)
    np.testing.assert_allclose(q, [[0, 4 / 3]], atol=1e-5)
    # The caller's dict is left as it was.
    assert counts == {"r": 1, "s": 1, "t": 2}


def test_counts_from_a_file_and_from_npy_vocab_match_the_cli(vectors, tmp_path):
    (tmp_path / "c.txt").write_text("r 1\ns 1\nt 2\nunseen 4\n")
    lines = ["r s t", "t", "s s"]
    (tmp_path / "l.txt").write_text("\n".join(lines) + "\n")
    x = vectors.embed(lines, "sif", counts=str(tmp_path / "c.txt"))
    y = vectors.embed(lines, "sif", counts={"r": 1, "s": 1, "t": 2, "unseen": 4})
    np.testing.assert_array_equal(x, y)
    subprocess.run([CLI, "words", "embed", "--vectors", str(tmp_path / "v.vec"), "--text", str(tmp_path / "l.txt"),
                    "-o", str(tmp_path / "o.npy"), "--method", "sif", "--counts", str(tmp_path / "c.txt")],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), x)
    # NAME.npy vectors carry their counts in NAME.vocab.
    np.save(tmp_path / "w.npy", vectors.vectors)
    (tmp_path / "w.vocab").write_text("r 1\ns 1\nt 2\n")
    w = simlearn.Words.load(tmp_path / "w.npy")
    np.testing.assert_allclose(w.embed(lines, "sif"), vectors.embed(lines, "sif", counts={"r": 1, "s": 1, "t": 2}))


def test_bad_input(vectors, tmp_path):
    with pytest.raises(ValueError, match="SIF needs word counts"):
        vectors.embed(["r"], "sif")  # a word2vec file has no counts
    (tmp_path / "bad.txt").write_text("r 1\ns x\n")
    with pytest.raises(ValueError, match="bad.txt: line 2: expected \"word count\""):
        vectors.embed(["r"], "sif", counts=str(tmp_path / "bad.txt"))
    with pytest.raises(ValueError, match="method"):
        vectors.embed(["r"], "max")
    with pytest.raises(ValueError, match="for method='sif'"):
        vectors.embed(["r"], counts={"r": 1})
    with pytest.raises(TypeError, match="single string"):
        vectors.embed("r s")
    with pytest.raises(ValueError, match="non-negative"):
        vectors.embed(["r"], "sif", counts={"r": -1})
    with pytest.raises(ValueError, match="no line has a known word"):
        vectors.embed(["zz"], "sif", counts={"r": 1})
