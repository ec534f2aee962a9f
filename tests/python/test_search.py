"""simlearn.knn and simlearn.Index from Python: results against numpy, array
conversion and refusal, errors, files shared with the CLI, the GIL, Ctrl-C."""

import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))


def data(n=500, d=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


def brute(base, queries, k, metric):
    """(scores, ids) in float64 numpy, best first, ties by id."""
    b, q = base.astype(np.float64), queries.astype(np.float64)
    if metric == "l2":
        s = ((q[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        order = np.lexsort((np.broadcast_to(np.arange(len(b)), s.shape), s), axis=1)
    else:
        if metric == "cosine":
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
        s = q @ b.T
        order = np.lexsort((np.broadcast_to(np.arange(len(b)), s.shape), -s), axis=1)
    ids = order[:, :k]
    return np.take_along_axis(s, ids, 1), ids


def test_knn_matches_numpy_every_metric():
    x, q = data(), data(40, seed=1)
    for metric in ("l2", "ip", "cosine"):
        scores, ids = simlearn.knn(x, q, 7, metric)
        want_s, want_i = brute(x, q, 7, metric)
        assert scores.dtype == np.float32 and ids.dtype == np.int64 and ids.shape == (40, 7)
        np.testing.assert_array_equal(ids, want_i)
        np.testing.assert_allclose(scores, want_s, rtol=1e-5, atol=1e-4)


def test_knn_exclude_self_and_ties():
    x = data(200)
    _, ids = simlearn.knn(x, None, 5, exclude_self=True)
    assert not (ids == np.arange(200)[:, None]).any()
    _, want = brute(x, x, 6, "l2")
    np.testing.assert_array_equal(ids, want[:, 1:])
    dup = np.repeat(data(3), 4, axis=0)  # each row four times: equal scores, ordered by id
    _, ids = simlearn.knn(dup, dup[:1], 4)
    np.testing.assert_array_equal(ids, [[0, 1, 2, 3]])


def test_knn_screens_give_the_same_bits():
    # Pixel-like rows with many exact ties: every screen gives the same ids
    # and scores to the bit (bf16 runs where the CPU has it, float32 elsewhere).
    rng = np.random.default_rng(3)
    x = (rng.integers(0, 256, (40, 64)) / 255).astype(np.float32)[rng.integers(0, 40, 600)]
    q = x[:50] + np.float32(1 / 255)
    for metric in ("l2", "ip", "cosine"):
        runs = [simlearn.knn(x, q, 9, metric, screen=s) for s in ("auto", "fp32", "bf16")]
        for scores, ids in runs[1:]:
            np.testing.assert_array_equal(ids, runs[0][1])
            assert scores.tobytes() == runs[0][0].tobytes()
        _, want_i = brute(x, q, 9, metric)
        assert (runs[0][1][:, 0] == want_i[:, 0]).mean() > 0.9
    with pytest.raises(ValueError, match="screen: expected auto, fp32 or bf16"):
        simlearn.knn(x, q, 3, screen="fp16")


def test_inputs_are_converted_once_or_refused():
    x = data(100, 8)
    want = simlearn.knn(x, x[:5], 3)
    for same in (x.astype(np.float64), np.asfortranarray(x), x.tolist()):
        got = simlearn.knn(same, x[:5], 3)
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(simlearn.knn(x, x[0], 3)[1], want[1][:1])  # one row as 1-D
    with pytest.raises(TypeError, match="base"):
        simlearn.knn(np.array([["a", "b"]]), x, 1)
    with pytest.raises(TypeError, match="queries"):
        simlearn.knn(x, np.array([[1 + 2j] * 8]), 1)
    with pytest.raises(ValueError, match="3-D"):
        simlearn.knn(x.reshape(10, 10, 8), x, 1)
    with pytest.raises(ValueError, match="queries: expected rows of 8 values, got 5"):
        simlearn.knn(x, x[:, :5], 1)
    with pytest.raises(ValueError, match="at least one row"):
        simlearn.knn(x[:0], x, 1)
    out = np.empty((100, 1), np.float32), np.empty((100, 1), np.int64)
    with pytest.raises(TypeError, match="base: expected a 2-D float32 array, got 2-D of format 'd'"):
        simlearn._simlearn.knn(x.astype(np.float64), x, 1, "l2", False, 0, *out)  # the C layer converts nothing
    with pytest.raises(TypeError, match="queries: expected a C-contiguous float32 array"):
        simlearn._simlearn.knn(x, x[:, ::2], 1, "l2", False, 0, *out)


def test_bad_values_raise_with_the_librarys_message():
    x = data(50, 4)
    with pytest.raises(ValueError, match="k = 51 but only 50"):
        simlearn.knn(x, x, 51)
    with pytest.raises(ValueError, match="k: expected at least 1"):
        simlearn.knn(x, x, 0)
    with pytest.raises(ValueError, match="metric"):
        simlearn.knn(x, x, 1, "manhattan")
    y = x.copy()
    y[7, 2] = np.nan
    with pytest.raises(ValueError, match="row 7, column 2 is nan"):
        simlearn.knn(y, x, 1)


def test_index_finds_the_exact_neighbours():
    x, q = data(2000, 24), data(100, 24, seed=3)
    for metric in ("l2", "ip", "cosine"):
        index = simlearn.Index(24, metric=metric, M=16, ef_construction=100)
        ids = index.add(x, threads=2)
        np.testing.assert_array_equal(ids, np.arange(2000))
        assert len(index) == 2000 and index.dim == 24 and index.metric == metric
        scores, got = index.search(q, 10, ef=200)
        _, want = simlearn.knn(x, q, 10, metric)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)])
        assert recall >= 0.95, (metric, recall)
        assert np.all(np.diff(scores, axis=1) >= 0 if metric == "l2" else np.diff(scores, axis=1) <= 0)


def test_index_delete_filter_and_padding():
    x = data(300, 8)
    index = simlearn.Index(8)
    index.add(x)
    index.delete([0, 5])
    assert len(index) == 298 and 0 not in index and 1 in index
    _, ids = index.search(x[:1], 3)
    assert 0 not in ids
    with pytest.raises(RuntimeError, match="already deleted"):
        index.delete([5])
    with pytest.raises(ValueError):
        index.delete([10**6])
    _, ids = index.search(x[:2], 4, filter=[10, 11, 12])
    assert set(ids[0]) == {10, 11, 12, -1} and ids[0, 3] == -1
    with pytest.raises(TypeError, match="filter"):
        index.search(x[:1], 1, filter=[0.5])


def test_index_takes_your_ids_and_labels(tmp_path):
    x = data(600, 8)
    keys = np.random.default_rng(5).choice(10**12, 600, replace=False).astype(np.int64)
    plain, keyed = simlearn.Index(8), simlearn.Index(8)
    assert not plain.info()["keyed"]
    np.testing.assert_array_equal(plain.add(x, threads=1), np.arange(600))
    np.testing.assert_array_equal(keyed.add(x, keys, threads=1), keys)
    assert keyed.info()["keyed"] and len(keyed) == 600 and int(keys[7]) in keyed and 7 not in keyed
    s1, i1 = plain.search(x[:50], 5)
    s2, i2 = keyed.search(x[:50], 5)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(keys[i1], i2)          # the same graph, your ids
    keyed.delete(keys[:2])
    assert len(keyed) == 598 and int(keys[0]) not in keyed
    keyed.add(x[:1] + 1, [int(keys[0])])                  # a deleted id comes back
    assert int(keys[0]) in keyed
    with pytest.raises(ValueError, match=f"{keys[5]}"):
        keyed.add(x[:1], [int(keys[5])])                  # already live
    with pytest.raises(ValueError, match="negative"):
        keyed.add(x[:1], [-3])
    with pytest.raises(ValueError, match="ids: expected 2 values"):
        keyed.add(x[:2], [1])
    _, got = keyed.search(x[:3], 3, filter=keys[10:13])
    assert set(got.ravel()) <= set(keys[10:13].tolist())
    keyed.save(tmp_path / "k.hnsw")
    back = simlearn.Index.load(tmp_path / "k.hnsw")
    np.testing.assert_array_equal(back.search(x[:50], 5)[1], keyed.search(x[:50], 5)[1])
    np.save(tmp_path / "q.npy", x[:5])
    subprocess.run([CLI, "index", "search", str(tmp_path / "k.hnsw"), str(tmp_path / "q.npy"), "-k", "2",
                    "--ids-out", str(tmp_path / "ids.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy"), keyed.search(x[:5], 2)[1])
    lab = simlearn.Index(8)
    lab.add(x, labels=np.arange(600) % 3)
    _, got = lab.search(x[:20], 4, labels=[2])
    assert np.all(got % 3 == 2)
    with pytest.raises(ValueError, match="labels: expected 600 values"):
        lab.add(x, labels=[1])


def test_index_files_are_shared_with_the_cli(tmp_path):
    x = data(400, 12)
    np.save(tmp_path / "x.npy", x)
    subprocess.run([CLI, "index", "build", str(tmp_path / "x.npy"), "-o", str(tmp_path / "cli.hnsw"),
                    "--threads", "1"], check=True, capture_output=True)
    index = simlearn.Index.load(tmp_path / "cli.hnsw")
    assert len(index) == 400 and index.dim == 12
    _, ids = index.search(x[:20], 1)
    np.testing.assert_array_equal(ids[:, 0], np.arange(20))
    index.save(str(tmp_path / "py.hnsw"))
    np.save(tmp_path / "q.npy", x[:20])
    subprocess.run([CLI, "index", "search", str(tmp_path / "py.hnsw"), str(tmp_path / "q.npy"), "-k", "1",
                    "--ids-out", str(tmp_path / "ids.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy")[:, 0], np.arange(20))


def test_bad_files_and_closed_indexes(tmp_path):
    with pytest.raises(OSError, match="nope.hnsw"):
        simlearn.Index.load(tmp_path / "nope.hnsw")
    (tmp_path / "bad.hnsw").write_bytes(b"SLHNSW\r\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="bad.hnsw"):
        simlearn.Index.load(tmp_path / "bad.hnsw")
    with simlearn.Index(4) as index:
        with pytest.raises(RuntimeError):
            index.search(np.zeros((1, 4), np.float32), 1)
        with pytest.raises(ValueError, match="expected rows of 4 values, got 3"):
            index.add(np.zeros((2, 3)))
    for call in (lambda: len(index), lambda: index.add(np.zeros((1, 4))), lambda: index.save(tmp_path / "c")):
        with pytest.raises(ValueError, match="closed"):
            call()
    assert "closed" in repr(index)
    with pytest.raises(ValueError, match="M"):
        simlearn.Index(4, M=1)


def test_long_calls_release_the_gil():
    """While knn runs in another thread, this thread keeps running Python: the
    longest pause between its steps stays well under the call's length."""
    x = data(10000, 64)
    done, gaps = threading.Event(), []

    def work():
        simlearn.knn(x, x, 10, threads=1)
        done.set()

    start = time.perf_counter()
    simlearn.knn(x, x, 10, threads=1)
    alone = time.perf_counter() - start
    t = threading.Thread(target=work)
    t.start()
    last = time.perf_counter()
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        time.sleep(0.001)
    t.join()
    assert alone > 0.1, alone
    assert max(gaps) < alone / 2, (max(gaps), alone)


def test_ctrl_c_stops_add_and_keeps_the_index():
    x = data(200000, 32)
    index = simlearn.Index(32, ef_construction=200)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        index.add(x, threads=2)
    timer.join()
    assert 0 < len(index) < 200000
    _, ids = index.search(x[:1], 1)
    assert ids[0, 0] == 0 or ids[0, 0] in index
    index.add(x[:10])  # still usable; Python's own handler is back
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


# ---- geometry ----------------------------------------------------------------

def unit(x):
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_geometry_matches_numpy():
    x = data(300, 12) * np.linspace(0.1, 3, 12, dtype=np.float32)
    eig, erank = simlearn.spectrum(x)
    want = np.sort(np.linalg.eigvalsh(np.cov(x.astype(np.float64), rowvar=False, bias=True)))[::-1]
    np.testing.assert_allclose(eig, want, rtol=1e-4, atol=1e-6 * want[0])
    p = want / want.sum()
    assert abs(erank - np.exp(-(p * np.log(p)).sum())) < 1e-4
    assert simlearn.effective_rank(x) == erank
    u = unit(x)
    d2 = ((u[:, None] - u[None]) ** 2).sum(-1)[np.triu_indices(300, 1)]
    assert abs(simlearn.uniformity(x, t=2) - np.log(np.mean(np.exp(-2 * d2)))) < 1e-5
    y = x + 0.1 * data(300, 12, seed=5)
    al, un = simlearn.alignment_uniformity(x, y)
    assert abs(al - np.mean(((unit(x) - unit(y)) ** 2).sum(1))) < 1e-5
    uy = unit(y)
    dy = ((uy[:, None] - uy[None]) ** 2).sum(-1)[np.triu_indices(300, 1)]
    assert abs(un - (np.log(np.mean(np.exp(-2 * d2))) + np.log(np.mean(np.exp(-2 * dy)))) / 2) < 1e-5
    shifted = x + 10  # every row near one direction: cosines near 1
    a = simlearn.anisotropy(shifted, pairs=2000)
    assert a["pairs"] == 2000 and a["mean_cos"] > 0.9 and simlearn.anisotropy(x)["mean_cos"] < 0.1


def test_geometry_refuses_bad_input():
    x = data(10, 4)
    with pytest.raises(ValueError, match="b: expected rows of 4 values, got 3"):
        simlearn.alignment_uniformity(x, x[:, :3])
    with pytest.raises(ValueError, match="b: expected the shape of a"):
        simlearn.alignment_uniformity(x, x[:5])
    with pytest.raises(ValueError):
        simlearn.uniformity(x[:1])
    with pytest.raises(ValueError):
        simlearn.anisotropy(np.zeros((5, 4)))
    with pytest.raises(TypeError, match="x"):
        simlearn.spectrum([["a"]])


# ---- memory ------------------------------------------------------------------

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_float32_input_is_not_copied():
    """A 256 MiB float32 base: the search raises the peak memory by far less
    than a copy of it; a 256 MiB float64 base, converted once to a 128 MiB
    float32 copy, does raise it (so the check can see a copy)."""
    x = np.ones((262144, 256), dtype=np.float32)
    x[:, 0] = np.arange(262144)
    before = peak_mib()
    simlearn.knn(x, x[:2], 1)
    assert peak_mib() - before < 64, peak_mib() - before
    del x
    x64 = np.ones((131072, 256), dtype=np.float64)
    before = peak_mib()
    simlearn.knn(x64, x64[:2], 1)
    assert peak_mib() - before > 100, peak_mib() - before


def test_no_leaks_over_10000_calls(tmp_path):
    x = data(200, 8)
    index = simlearn.Index(8)
    index.add(x)

    def calls():
        simlearn.knn(x, x[:3], 2)
        index.search(x[:3], 2)
        try:
            simlearn.knn(x, x, 500)
        except ValueError:
            pass
        try:
            index.search(x[:, :3], 1)
        except ValueError:
            pass

    for _ in range(1000):
        calls()
    start = rss_mib()
    for _ in range(10000):
        calls()
    assert rss_mib() - start < 4, rss_mib() - start


def test_sharded_index_from_the_cli(tmp_path):
    """Index.load of a manifest of two shards (built by the CLI under mpirun)
    searches both in this process: each shard file searched alone and merged
    by (score, id), and the CLI's search of the manifest, give the same;
    clear errors. (tests/test_dist.sh runs it under mpirun.)"""
    x, q = data(600, 12), data(30, 12, seed=4)
    np.save(tmp_path / "x.npy", x)
    subprocess.run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", CLI, "index", "build",
                    str(tmp_path / "x.npy"), "-o", str(tmp_path / "m.hnsw"), "--M", "8", "--ef-construction", "80",
                    "--threads", "1", "-q"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                            OMPI_MCA_btl="self,vader", OMPI_MCA_orte_tmpdir_base=str(tmp_path)))
    sh = simlearn.Index.load(tmp_path / "m.hnsw")
    assert isinstance(sh, simlearn.ShardedIndex) and len(sh) == 600 and sh.dim == 12
    info = sh.info()
    assert info["shards"] == 2 and info["loaded"] == 2 and info["files"][1].endswith("m.hnsw.shard1of2")
    scores, ids = sh.search(q, 5, ef=40)
    # Each shard file searched alone and merged by (score, id) gives the same.
    parts = [simlearn.Index.load(f).search(q, 5, ef=40) for f in info["files"]]
    s_all = np.concatenate([p[0] for p in parts], 1)
    i_all = np.concatenate([p[1] for p in parts], 1)
    order = np.lexsort((i_all, s_all), axis=1)[:, :5]
    np.testing.assert_array_equal(ids, np.take_along_axis(i_all, order, 1))
    np.testing.assert_array_equal(scores, np.take_along_axis(s_all, order, 1))
    _, want = brute(x, q, 5, "l2")
    assert (ids == want).mean() > 0.95
    # The CLI's one-process search of the manifest writes the same ids.
    np.save(tmp_path / "q.npy", q)
    subprocess.run([CLI, "index", "search", str(tmp_path / "m.hnsw"), str(tmp_path / "q.npy"), "-k", "5",
                    "--ef", "40", "--ids-out", str(tmp_path / "ids.npy")], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "ids.npy"), ids)
    with pytest.raises(ValueError, match="queries: expected rows of 12 values"):
        sh.search(data(2, 5), 3)
    sh.close()
    with pytest.raises(ValueError, match="closed"):
        sh.search(q, 3)
    (tmp_path / "m.hnsw.shard1of2").unlink()
    with pytest.raises(Exception, match="shard 1: .*m.hnsw.shard1of2"):
        simlearn.Index.load(tmp_path / "m.hnsw")


def test_knn_graph_stats_and_paths_match_the_cli(tmp_path):
    """knn_graph is the CLI's graph (same files), its statistics and paths
    agree with `simlearn knn graph` / `knn path`, and the graph of a circle is
    a ring whose paths go round it."""
    n = 80
    ang = 2 * np.pi * np.arange(n) / n
    ring = np.stack([np.cos(ang), np.sin(ang)], 1).astype(np.float32)
    ids, lengths = simlearn.knn_graph(ring, 2)
    assert ids.shape == (n, 2) and ids.dtype == np.int64 and lengths.dtype == np.float32
    st = simlearn.knn_graph_stats(ids)
    assert st["components"] == 1 and st["reciprocal"] == 1.0 and st["indegree_max"] == 2
    path, length = simlearn.knn_path(ids, lengths, 0, 40)
    assert len(path) == 41 and path[0] == 0 and path[-1] == 40
    assert length == pytest.approx(40 * 2 * np.sin(np.pi / n), rel=1e-5)
    g = simlearn.knn_geodesics(ids, lengths, [[0, 40], [3, 3], [5, 15]])
    assert g[0] == pytest.approx(length) and g[1] == 0 and g[2] == pytest.approx(10 * 2 * np.sin(np.pi / n), rel=1e-5)
    x = data(500, 12)
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run([CLI, "knn", "graph", str(tmp_path / "x.npy"), "-k", "7", "-o", str(tmp_path / "g"), "-q"],
                         check=True, capture_output=True, text=True).stdout
    ids, lengths = simlearn.knn_graph(x, 7, threads=1)
    np.testing.assert_array_equal(ids, np.load(tmp_path / "g.ids.npy"))
    np.testing.assert_array_equal(lengths, np.load(tmp_path / "g.dist.npy"))
    st = simlearn.knn_graph_stats(ids)
    assert f"components of the symmetrised graph: {st['components']};" in out
    assert f"hubs (in-degree): {st['hubs'][0][0]} ({st['hubs'][0][1]})" in out
    path, length = simlearn.knn_path(ids, lengths, 3, 400)
    cli = subprocess.run([CLI, "knn", "path", "--graph", str(tmp_path / "g"), "--from", "3", "--to", "400"],
                         check=True, capture_output=True, text=True).stdout
    assert " ".join(map(str, path)) in cli and f"{len(path) - 1} steps" in cli
    approx, _ = simlearn.knn_graph(x, 7, approximate=True, ef=100, seed=2)
    assert np.mean([len(set(a) & set(b)) / 7 for a, b in zip(approx, ids)]) > 0.95
    with pytest.raises(ValueError, match="inner product is no distance"):
        simlearn.knn_graph(x, 3, "ip")
    with pytest.raises(ValueError, match="at most 499 neighbours"):
        simlearn.knn_graph(x, 500)
    bad = ids.copy()
    bad[4, 1] = 4
    with pytest.raises(ValueError, match="row 4, neighbour 1 is 4"):
        simlearn.knn_graph_stats(bad)
    with pytest.raises(ValueError, match="must be rows in"):
        simlearn.knn_path(ids, lengths, 0, 500)
    with pytest.raises(ValueError, match="m x 2"):
        simlearn.knn_geodesics(ids, lengths, [1, 2, 3])
