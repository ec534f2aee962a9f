"""simlearn.FlatIndex from Python: the results of simlearn.knn over the
vectors held, files shared with the CLI, ids, labels, filters, delete, get,
padding, threads and bad input."""

import subprocess

import numpy as np
import pytest

import simlearn
from test_search import CLI


def data(n=800, d=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def test_search_is_knn_over_the_vectors_held():
    x, q = data(), data(40, seed=1)
    for metric in ("l2", "ip", "cosine"):
        f = simlearn.FlatIndex(16, metric=metric)
        np.testing.assert_array_equal(f.add(x), np.arange(len(x)))
        scores, ids = f.search(q, 7)
        want_s, want_i = simlearn.knn(x, q, 7, metric)
        np.testing.assert_array_equal(ids, want_i)
        np.testing.assert_array_equal(scores, want_s)
        for t in (1, 2):
            s2, i2 = f.search(q, 7, threads=t)
            np.testing.assert_array_equal(i2, ids)
            np.testing.assert_array_equal(s2, scores)


def test_files_are_shared_with_the_cli(tmp_path):
    x = data()
    np.save(tmp_path / "x.npy", x)
    subprocess.run([CLI, "index", "build", str(tmp_path / "x.npy"), "-o", str(tmp_path / "cli.flat"), "--type", "flat",
                    "--metric", "cosine", "-q"], check=True, capture_output=True)
    f = simlearn.Index.load(tmp_path / "cli.flat")
    assert isinstance(f, simlearn.FlatIndex) and len(f) == 800 and f.metric == "cosine"
    g = simlearn.FlatIndex(16, "cosine")
    g.add(x)
    g.save(tmp_path / "py.flat")
    assert (tmp_path / "cli.flat").read_bytes() == (tmp_path / "py.flat").read_bytes()
    out = subprocess.run([CLI, "index", "info", str(tmp_path / "py.flat")], check=True, capture_output=True, text=True)
    assert "flat index (exact search), metric cosine, 16 dims" in out.stdout


def test_ids_labels_filters_delete_and_get():
    x = data(100, 8)
    f = simlearn.FlatIndex(8)
    ids = 1000 + 7 * np.arange(100)
    np.testing.assert_array_equal(f.add(x, ids, labels=np.arange(100) % 5), ids)
    s, i = f.search(x[:3], 4, labels=[2])
    assert ((i - 1000) // 7 % 5 == 2).all()
    s, i = f.search(x[:2], 3, filter=[1000, 1007])
    assert set(i[0][:2]) == {1000, 1007} and i[0][2] == -1 and np.isnan(s[0][2])
    np.testing.assert_array_equal(f.get(1007), x[1])
    assert f.delete([1000, 1000, 1014]) == 2 and len(f) == 98
    with pytest.raises(KeyError):
        f.get(1000)
    with pytest.raises(ValueError, match="no vector has the id 5"):
        f.delete([5])
    with pytest.raises(ValueError, match="already holds the id 1021"):
        f.add(x[:1], [1021])
    with pytest.raises(ValueError, match="expected rows of 8 values"):
        f.search(data(2, 9), 1)
    f.close()
    with pytest.raises(ValueError, match="closed"):
        len(f)
