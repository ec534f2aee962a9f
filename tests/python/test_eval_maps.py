"""simlearn.LinearProbe, LinearSVM, KNNClassifier, pca and tsne from Python."""

import os
import signal
import threading

import numpy as np
import pytest

import simlearn


def blobs(n=600, d=10, classes=3, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, d)) * spread
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


def test_linear_probe_fits_predicts_and_keeps_label_values():
    x, y = blobs()
    labels = np.array([3, 7, 11])[y]
    probe = simlearn.LinearProbe(seed=2).fit(x[:500], labels[:500])
    np.testing.assert_array_equal(probe.classes_, [3, 7, 11])
    assert probe.score(x[500:], labels[500:]) >= 0.95
    assert set(np.unique(probe.predict(x))) <= {3, 7, 11}
    # predict standardises as the C fit did: its accuracy on the training rows is the fit's
    assert probe.score(x[:500], labels[:500]) == pytest.approx(probe.train_accuracy_, abs=1e-12)
    assert probe.coef_.shape == (3, 10) and probe.intercept_.shape == (3,)
    assert probe.lambda_ in probe.grid_ and len(probe.grid_) == 5
    one = simlearn.LinearProbe(lambdas=[1e-3]).fit(x, y)
    assert one.lambda_ == 1e-3 and one.get_params()["lambdas"] == [1e-3]
    assert one.set_params(seed=5).seed == 5
    short = simlearn.LinearProbe(lambdas=[1e-3], max_iter=3).fit(x, y)
    assert short.n_iter_ == 3 and "iteration" in short.stop_, (short.n_iter_, short.stop_)
    tight = simlearn.LinearProbe(lambdas=[1e-3], tol=1e-9, max_iter=2000, plateau=0).fit(x, y)
    assert tight.n_iter_ > one.n_iter_ and "plateau" not in tight.stop_


def test_linear_probe_refuses_bad_input():
    x, y = blobs(100)
    with pytest.raises(ValueError, match="class"):
        simlearn.LinearProbe().fit(x, np.zeros(100, dtype=np.int64))
    with pytest.raises(ValueError, match="expected 100 labels"):
        simlearn.LinearProbe().fit(x, y[:50])
    with pytest.raises(TypeError, match="integer labels"):
        simlearn.LinearProbe().fit(x, y.astype(np.float64))
    bad = x.copy()
    bad[9, 1] = np.inf
    with pytest.raises(ValueError, match="row 9"):
        simlearn.LinearProbe().fit(bad, y)
    with pytest.raises(RuntimeError, match="fit first"):
        simlearn.LinearProbe().predict(x)
    with pytest.raises(ValueError, match="expected rows of 10 values"):
        simlearn.LinearProbe().fit(x, y).predict(x[:, :4])
    with pytest.raises(ValueError, match="tol"):
        simlearn.LinearProbe(tol=0).fit(x, y)
    with pytest.raises(ValueError, match="plateau"):
        simlearn.LinearProbe(plateau=-1).fit(x, y)
    with pytest.raises(ValueError, match="max_iter"):
        simlearn.LinearProbe(max_iter=0).fit(x, y)
    with pytest.raises(ValueError, match="parameter"):
        simlearn.LinearProbe().set_params(C=1)


def svm_fixture():
    """The data of tests/fixtures/make_svm_fixture.py."""
    y = np.arange(15) % 3
    x = np.array([[np.sin(1.7 * i + 0.9 * j + 0.3) * 2 + (1.5 if j == y[i] else 0) for j in range(3)]
                  for i in range(15)], dtype=np.float32)
    return x, y


def test_linear_svm_matches_scikit_learn_and_chooses_c():
    x, y = svm_fixture()
    # scikit-learn's LinearSVC(C=0.7) on these rows (tests/fixtures/make_svm_fixture.py), one C: no split
    svm = simlearn.LinearSVM(C=0.7, standardize=False, tol=1e-10, max_iter=1000000).fit(x, y)
    np.testing.assert_allclose(svm.coef_[0], [0.501318504, -0.445416460, 0.147390643], atol=1e-6)
    np.testing.assert_allclose(svm.intercept_, [-0.496781675, -0.119058148, -0.554730574], atol=1e-6)
    assert svm.C_ == 0.7 and svm.converged_
    cs = simlearn.LinearSVM(C=0.7, multi_class="crammer-singer", standardize=False, tol=1e-10,
                            max_iter=1000000).fit(x, y)
    np.testing.assert_allclose(cs.intercept_, [-0.067354996, 0.163269981, -0.095914986], atol=1e-6)
    xb, yb = blobs(seed=4)
    grid = simlearn.LinearSVM(seed=3).fit(xb[:500], yb[:500])
    assert len(grid.grid_) == 5 and grid.C_ in grid.grid_ and grid.score(xb[500:], yb[500:]) >= 0.95
    assert grid.get_params()["loss"] == "squared-hinge"
    short = simlearn.LinearSVM(C=[10.0], loss="hinge", max_iter=2, tol=1e-12).fit(xb, yb)
    assert short.n_iter_ == 2 and not short.converged_
    with pytest.raises(ValueError, match="squared-hinge or hinge"):
        simlearn.LinearSVM(loss="l1").fit(xb, yb)
    with pytest.raises(ValueError, match="ovr or crammer-singer"):
        simlearn.LinearSVM(multi_class="ovo").fit(xb, yb)
    with pytest.raises(ValueError, match="C 0 is not"):
        simlearn.LinearSVM(C=0).fit(xb, yb)
    with pytest.raises(RuntimeError, match="LinearSVM: call fit first"):
        simlearn.LinearSVM().predict(xb)


def test_knn_classifier_votes_like_numpy():
    x, y = blobs(300, 8, classes=4, spread=1.0)
    clf = simlearn.KNNClassifier(k=7, metric="l2").fit(x[:200], y[:200])
    pred = clf.predict(x[200:])
    _, ids = simlearn.knn(x[:200], x[200:], 7, "l2")
    votes = np.stack([np.bincount(y[:200][row], minlength=4) for row in ids])
    np.testing.assert_array_equal(pred, votes.argmax(1))  # ties: the smallest label, as argmax
    w = simlearn.KNNClassifier(k=7, vote="weighted", tau=0.1).fit(x[:200], y[:200])
    assert w.score(x[200:], y[200:]) >= 0.5
    with pytest.raises(ValueError, match="vote"):
        simlearn.KNNClassifier(vote="loudest").fit(x, y).predict(x[:1])
    with pytest.raises(RuntimeError, match="fit first"):
        simlearn.KNNClassifier().predict(x)


def test_pca_matches_numpy():
    x, _ = blobs(200, 6)
    got = simlearn.pca(x, 3)
    c = x.astype(np.float64) - x.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    want = c @ vt[:3].T
    for j in range(3):  # a component's sign is a convention
        sign = np.sign(np.dot(got[:, j], want[:, j]))
        np.testing.assert_allclose(sign * got[:, j], want[:, j], rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError):
        simlearn.pca(x, 7)


def test_tsne_separates_clusters_and_ignores_threads():
    x, y = blobs(240, 10, spread=4.0)
    a = simlearn.tsne(x, perplexity=15, max_iter=400, threads=1)
    b = simlearn.tsne(x, perplexity=15, max_iter=400, threads=2)
    assert a.shape == (240, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert simlearn.KNNClassifier(k=5, metric="l2").fit(a, y).score(a, y) >= 0.95
    with pytest.raises(ValueError, match="perplexity"):
        simlearn.tsne(x[:20], perplexity=30)


def test_ctrl_c_stops_tsne():
    x, _ = blobs(6000, 32)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        simlearn.tsne(x, threads=2)
    timer.join()


def test_ctrl_c_stops_linear_svm():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20000, 64)).astype(np.float32)
    y = rng.integers(0, 10, 20000)  # no structure: the solver works to the pass limit
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        simlearn.LinearSVM(C=100.0, loss="hinge", tol=1e-12, max_iter=10**6, threads=2).fit(x, y)
    timer.join()
