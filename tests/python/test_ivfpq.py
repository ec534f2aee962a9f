"""simlearn.IVFPQIndex from Python: exact with every list probed and every
code re-ranked, recall, files shared with the CLI, ids, labels, filters,
delete and reconstruct, threads, bad input and Ctrl-C."""

import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import simlearn
from test_search import CLI, brute


def clustered(n, d, centres=20, seed=0):
    r = np.random.default_rng(seed)
    c = 3 * r.standard_normal((centres, d))
    return (c[r.integers(0, centres, n)] + r.standard_normal((n, d))).astype(np.float32)


def built(x, metric="l2", nlist=16, M=8):
    ivf = simlearn.IVFPQIndex(x.shape[1], metric=metric, nlist=nlist, M=M, seed=1)
    ivf.train(x)
    ids = ivf.add(x)
    np.testing.assert_array_equal(ids, np.arange(len(x)))
    return ivf


def test_every_list_and_every_code_reranked_is_exact_search():
    x, q = clustered(1200, 16), clustered(30, 16, seed=1)
    for metric in ("l2", "ip", "cosine"):
        ivf = built(x, metric, nlist=8, M=4)
        scores, ids = ivf.search(q, 5, nprobe=8, rerank=len(x), base=x)
        want_s, want_i = simlearn.knn(x, q, 5, metric)
        np.testing.assert_array_equal(ids, want_i)
        np.testing.assert_array_equal(scores, want_s)
        _, bi = brute(x, q, 5, metric)
        assert (ids == bi).mean() > 0.99


def test_recall_rises_with_nprobe_and_reranking():
    x, q = clustered(6000, 32, 40), clustered(200, 32, 40, seed=2)
    ivf = built(x, nlist=32, M=16)
    info = ivf.info()
    assert info["nlist"] == 32 and info["M"] == 16 and info["code_bytes"] == 24 and len(ivf) == 6000
    _, gt = simlearn.knn(x, q, 10)
    recall = lambda ids: np.mean([len(set(a) & set(b)) for a, b in zip(ids, gt)]) / 10
    r1 = recall(ivf.search(q, 10, nprobe=1)[1])
    r8 = recall(ivf.search(q, 10, nprobe=8)[1])
    rr = recall(ivf.search(q, 10, nprobe=8, rerank=100, base=x)[1])
    assert r1 < r8 < rr and rr > 0.95, (r1, r8, rr)
    # the same for 1 and 2 threads
    a = ivf.search(q, 10, nprobe=8, threads=1)
    b = ivf.search(q, 10, nprobe=8, threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_files_are_shared_with_the_cli(tmp_path):
    x, q = clustered(3000, 24), clustered(40, 24, seed=3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "q.npy", q)
    subprocess.run([CLI, "index", "build", str(tmp_path / "x.npy"), "-o", str(tmp_path / "cli.ivfpq"), "--type",
                    "ivfpq", "--nlist", "16", "--pq-m", "6", "-q"], check=True, capture_output=True)
    ivf = simlearn.Index.load(tmp_path / "cli.ivfpq")
    assert isinstance(ivf, simlearn.IVFPQIndex) and len(ivf) == 3000 and ivf.dim == 24 and ivf.is_trained
    scores, ids = ivf.search(q, 5, nprobe=4)
    subprocess.run([CLI, "index", "search", str(tmp_path / "cli.ivfpq"), str(tmp_path / "q.npy"), "-k", "5",
                    "--nprobe", "4", "--ids-out", str(tmp_path / "ids.npy"), "--scores-out",
                    str(tmp_path / "s.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy"), ids)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), scores)
    # Python's index, saved, is the CLI's to the byte when built alike
    py = simlearn.IVFPQIndex(24, nlist=16, M=6, seed=1)
    py.train(x)
    py.add(x)
    py.save(tmp_path / "py.ivfpq")
    assert (tmp_path / "py.ivfpq").read_bytes() == (tmp_path / "cli.ivfpq").read_bytes()


def test_ids_labels_filters_delete_and_reconstruct():
    x, q = clustered(2000, 8, 6), clustered(20, 8, 6, seed=4)
    ivf = simlearn.IVFPQIndex(8, nlist=8, M=4)
    ivf.train(x)
    ids = ivf.add(x[:1000], ids=np.arange(1000) * 2 + 7, labels=np.arange(1000) % 3)
    assert ids[0] == 7 and ids[-1] == 2005
    assert list(ivf.add(x[1000:1003])) == [1000, 1001, 1002]
    _, got = ivf.search(q, 4, nprobe=8, labels=[1])
    assert ((got - 7) % 2 == 0).all() and (((got - 7) // 2) % 3 == 1).all()
    _, got = ivf.search(q, 3, nprobe=8, filter=[9, 11, 123456])
    assert set(got[:, :2].ravel()) <= {9, 11} and (got[:, 2] == -1).all()
    v = ivf.reconstruct(9)
    assert v.shape == (8,) and np.linalg.norm(v - x[1]) < np.linalg.norm(x[1])
    assert ivf.delete([9, 9, 1000]) == 2 and len(ivf) == 1001
    with pytest.raises(KeyError, match="9"):
        ivf.reconstruct(9)
    with pytest.raises(ValueError, match="no vector has the id 9"):
        ivf.delete([9])


def test_bad_input_raises_with_the_librarys_message(tmp_path):
    x = clustered(500, 8)
    ivf = simlearn.IVFPQIndex(8, nlist=4, M=2)
    with pytest.raises(RuntimeError, match="not trained"):
        ivf.add(x)
    with pytest.raises(ValueError, match="at least nlist"):
        ivf.train(x[:100])
    with pytest.raises(ValueError, match="expected rows of 8 values, got 3"):
        ivf.train(np.zeros((300, 3)))
    ivf.train(x)
    with pytest.raises(RuntimeError, match="empty"):
        ivf.search(x[:1], 1)
    ivf.add(x)
    with pytest.raises(ValueError, match="original vectors"):
        ivf.search(x[:1], 1, rerank=5)
    with pytest.raises(ValueError, match="rerank = 3 must be 0"):
        ivf.search(x[:1], 5, rerank=3, base=x)
    with pytest.raises(ValueError, match="M = 9"):
        simlearn.IVFPQIndex(8, M=9)
    (tmp_path / "bad.ivfpq").write_bytes(b"SLIVFPQ\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="bad.ivfpq"):
        simlearn.IVFPQIndex.load(tmp_path / "bad.ivfpq")
    ivf.close()
    with pytest.raises(ValueError, match="closed"):
        ivf.search(x[:1], 1)
    assert "closed" in repr(ivf)


def test_ctrl_c_stops_training_and_leaves_it_untrained():
    x = clustered(60000, 64, 50)
    ivf = simlearn.IVFPQIndex(64, nlist=512, M=16)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ivf.train(x, threads=2)
    timer.join()
    assert not ivf.is_trained
    small = simlearn.IVFPQIndex(64, nlist=4, M=4)
    small.train(x[:1000])  # still usable; Python's own handler is back
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
