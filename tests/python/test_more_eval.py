"""retrieval_metrics, class_margins, abtt and zero_shot from Python, against
numpy and the CLI."""

import os
import re
import subprocess

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))


def blobs(n=200, d=6, classes=4, seed=0, spread=2.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    return (rng.standard_normal((classes, d))[y] * spread + rng.standard_normal((n, d))).astype(np.float32), y


def test_retrieval_metrics_match_numpy():
    x, y = blobs()
    r = simlearn.retrieval_metrics(x, y, Ks=(1, 5), metric="l2")
    d = ((x[:, None].astype(np.float64) - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")
    rel = y[order] == y[:, None]
    for k in (1, 5):
        assert r[f"recall@{k}"] == pytest.approx(rel[:, :k].any(1).mean(), abs=1e-12)
        assert r[f"precision@{k}"] == pytest.approx(rel[:, :k].mean(), abs=1e-12)
    R = np.bincount(y)[y] - 1
    ap = [(np.cumsum(rel[i, :R[i]]) / np.arange(1, R[i] + 1) * rel[i, :R[i]]).sum() / R[i] for i in range(len(y))]
    assert r["mAP@R"] == pytest.approx(np.mean(ap), abs=1e-9) and r["used"] == 200
    q = simlearn.retrieval_metrics(x[:150], y[:150], x[150:], y[150:], Ks=(1,))
    assert 0 <= q["recall@1"] <= 1 and q["used"] == 50
    with pytest.raises(ValueError):
        simlearn.retrieval_metrics(x, y, Ks=(500,))


def test_class_margins_match_numpy():
    x, y = blobs(60, 3, classes=3)
    out = simlearn.class_margins(x, y)
    d = np.sqrt(((x[:, None].astype(np.float64) - x[None]) ** 2).sum(-1))
    assert [c["label"] for c in out] == [0, 1, 2]
    for c in out:
        inside = y == c["label"]
        assert c["count"] == inside.sum()
        assert c["diameter"] == pytest.approx(d[np.ix_(inside, inside)].max(), rel=1e-6)
        assert c["margin"] == pytest.approx(d[np.ix_(inside, ~inside)].min(), rel=1e-6)
        assert c["separated"] == (c["margin"] > c["diameter"])
    with pytest.raises(ValueError):
        simlearn.class_margins(x, np.zeros(60, dtype=np.int64))


def test_abtt_matches_the_cli(tmp_path):
    x, _ = blobs(300, 120)
    out = simlearn.abtt(x, 2)
    assert out is not x and np.abs(out.mean(0)).max() < 1e-4
    c = x.astype(np.float64) - x.mean(0)
    top = np.linalg.svd(c, full_matrices=False)[2][:2]
    assert np.abs(out @ top.T).max() < 1e-3
    np.save(tmp_path / "x.npy", x)
    subprocess.run([CLI, "transform", "abtt", str(tmp_path / "x.npy"), "--remove", "2", "-o", str(tmp_path / "a.npy")],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(out, np.load(tmp_path / "a.npy"))
    assert simlearn.abtt(x).shape == x.shape  # the default, max(1, 120 // 100) = 1 direction


def test_zero_shot_matches_the_cli(tmp_path):
    m = tmp_path / "clip.safetensors"
    simlearn.train(m, objective="clip", data="shapes", count=1024, steps=30, batch=64, threads=2, progress=False)
    r = simlearn.zero_shot(m, "color", "a photo of a {} shape", count=300, threads=2)
    assert r["attribute"] == "color" and len(r["classes"]) == 8 and r["prompts"][0].startswith("a photo of a ")
    assert r["confusion"].sum() == r["n"] == 300 and r["confusion"].trace() == r["correct"]
    assert r["accuracy"] == pytest.approx(r["correct"] / 300) and r["chance"] == 1 / 8
    np.testing.assert_array_equal(r["predicted"][r["labels"] >= 0] == r["labels"][r["labels"] >= 0],
                                  (r["predicted"] == r["labels"])[r["labels"] >= 0])
    out = subprocess.run([CLI, "zeroshot", "--model", str(m), "--attribute", "color", "--prompt",
                          "a photo of a {} shape", "--count", "300", "--threads", "2", "-q"],
                         check=True, capture_output=True, text=True).stdout
    assert re.search(r"accuracy ([0-9.]+)%", out).group(1) == f"{100 * r['accuracy']:.2f}"
    words = simlearn.zero_shot(m, "size", classes=["tiny", "huge"], count=50)
    assert words["prompts"] == ["a photo of a tiny", "a photo of a huge"]
    with pytest.raises(ValueError, match="weight"):
        simlearn.zero_shot(m, "weight", count=50)
