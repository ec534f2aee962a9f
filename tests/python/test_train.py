"""simlearn.train and simlearn.embed: the CLI's trainer and embedder from
Python — the same files as the CLI for the same options, resume, Ctrl-C,
bad options."""

import hashlib
import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))
RUN = dict(data="shapes", count=1024, steps=12, batch=32, threads=2, seed=3)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_train_and_embed_match_the_cli(tmp_path):
    r = simlearn.train(tmp_path / "py.safetensors", progress=False, **RUN)
    assert r["step"] == 12 and r["last_checkpoint"] == 12 and np.isfinite(r["loss"])
    assert "objective  infonce" in r["describe"]
    subprocess.run([CLI, "train", "--data", "shapes", "--count", "1024", "--steps", "12", "--batch", "32",
                    "--threads", "2", "--seed", "3", "-q", "-o", str(tmp_path / "cli.safetensors")],
                   check=True, capture_output=True)
    assert sha(tmp_path / "py.safetensors") == sha(tmp_path / "cli.safetensors")
    X, labels = simlearn.embed(tmp_path / "py.safetensors", split="val", count=300, threads=2)
    subprocess.run([CLI, "embed", "--model", str(tmp_path / "cli.safetensors"), "--split", "val", "--count", "300",
                    "--threads", "2", "-q", "-o", str(tmp_path / "e.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(X, np.load(tmp_path / "e.npy"))
    np.testing.assert_array_equal(labels["shape"], np.load(tmp_path / "e.labels.npy"))
    assert set(labels) == {"shape", "color", "size", "location"} and X.shape == (300, 128)
    raw, _ = simlearn.embed(None, data="shapes", split="val", count=50)
    assert raw.shape == (50, 3 * 32 * 32)


def test_resume_and_fine_tuning(tmp_path):
    simlearn.train(tmp_path / "a.safetensors", progress=False, **dict(RUN, steps=12, stop_at=6))
    r = simlearn.train(tmp_path / "a.safetensors", progress=False, resume=tmp_path / "a.safetensors", steps=12,
                       threads=2)
    assert r["step"] == 12
    simlearn.train(tmp_path / "b.safetensors", progress=False, **RUN)
    assert sha(tmp_path / "a.safetensors") == sha(tmp_path / "b.safetensors")  # exact continuation
    t = simlearn.train(tmp_path / "c.safetensors", progress=False, objective="softmax", init=tmp_path / "b.safetensors",
                       init_towers="encoder", steps=5, batch=32, count=1024, threads=2)
    assert t["step"] == 5


def test_barlow_and_vicreg(tmp_path):
    tiny = dict(data="shapes", count=96, image_size=16, encoder="conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(16)",
                projector="linear(8)", batch=16, threads=1, seed=7, log_every=1)
    r = simlearn.train(tmp_path / "b.safetensors", progress=False, objective="barlow", barlow_lambda=0.01, steps=20,
                       **tiny)
    assert "objective  barlow, lambda 0.01" in r["describe"] and r["collapse_step"] == 0
    assert 0 < r["emb_std"] < 1 and 1 <= r["emb_rank"] <= 8
    subprocess.run([CLI, "train", "--data", "shapes", "--count", "96", "--size", "16", "--encoder", tiny["encoder"],
                    "--projector", "linear(8)", "--batch", "16", "--threads", "1", "--seed", "7", "--log-every", "1",
                    "--objective", "barlow", "--barlow-lambda", "0.01", "--steps", "20", "-q",
                    "-o", str(tmp_path / "c.safetensors")], check=True, capture_output=True)
    assert sha(tmp_path / "b.safetensors") == sha(tmp_path / "c.safetensors")
    # VICReg with its invariance term alone collapses, and says so.
    with pytest.warns(RuntimeWarning, match="the embeddings are collapsing"):
        r = simlearn.train(tmp_path / "v.safetensors", progress=False, objective="vicreg", vicreg_var=0, vicreg_cov=0,
                           lr=0.01, steps=200, **tiny)
    assert 0 < r["collapse_step"] <= 100


def test_predictor_momentum_and_queue_objectives(tmp_path):
    tiny = dict(data="shapes", count=96, image_size=16, encoder="conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(16)",
                projector="linear(8)", batch=16, threads=1, seed=7, steps=12)
    args = ["--data", "shapes", "--count", "96", "--size", "16", "--encoder", tiny["encoder"], "--projector", "linear(8)",
            "--batch", "16", "--threads", "1", "--seed", "7", "--steps", "12", "-q"]
    runs = {"simsiam": (dict(predictor="linear(4),bn,relu,linear(8)"), ["--predictor", "linear(4),bn,relu,linear(8)"]),
            "byol": (dict(ema=0.9), ["--ema", "0.9"]),
            "moco": (dict(queue=40, tau=0.1), ["--queue", "40", "--tau", "0.1"]),
            "memory-bank": (dict(queue=50, bank_momentum=0.8), ["--queue", "50", "--bank-momentum", "0.8"])}
    for obj, (kw, cli) in runs.items():
        r = simlearn.train(tmp_path / "p.safetensors", progress=False, objective=obj, **kw, **tiny)
        assert r["step"] == 12 and np.isfinite(r["loss"]) and f"objective  {obj}" in r["describe"]
        subprocess.run([CLI, "train", *args, "--objective", obj, *cli, "-o", str(tmp_path / "c.safetensors")],
                       check=True, capture_output=True)
        assert sha(tmp_path / "p.safetensors") == sha(tmp_path / "c.safetensors"), obj
    with pytest.raises(ValueError, match="--queue: is for --objective moco or memory-bank, not byol"):
        simlearn.train(tmp_path / "x.safetensors", objective="byol", queue=10, **tiny)
    # On a ViT too (BYOL's momentum copy is then a transformer's).
    vit = "vit(patch=4,dim=16,depth=1,heads=2,mlp=2)"
    for obj in ("byol", "vicreg"):
        r = simlearn.train(tmp_path / "v.safetensors", progress=False, objective=obj, **dict(tiny, encoder=vit))
        assert r["step"] == 12 and np.isfinite(r["loss"]) and f"objective  {obj}" in r["describe"]
        cli = [CLI, "train", *args, "--objective", obj, "-o", str(tmp_path / "w.safetensors")]
        cli[cli.index(tiny["encoder"])] = vit
        subprocess.run(cli, check=True, capture_output=True)
        assert sha(tmp_path / "v.safetensors") == sha(tmp_path / "w.safetensors"), obj


def test_bad_options():
    with pytest.raises(ValueError, match="objective: unknown value 'magic'"):
        simlearn.train("x.safetensors", objective="magic")
    with pytest.raises(TypeError, match="stepz"):
        simlearn.train("x.safetensors", stepz=3)
    with pytest.raises(ValueError, match="steps: expected a non-negative integer"):
        simlearn.train("x.safetensors", steps=-3)
    with pytest.raises(TypeError, match="encoder: expected a str"):
        simlearn.train("x.safetensors", encoder=3)
    with pytest.raises(ValueError, match="missing '\\)'"):
        simlearn.train("x.safetensors", encoder="conv(", steps=3)
    with pytest.raises(ValueError, match="split"):
        simlearn.embed(None, split="later")
    with pytest.raises(OSError, match="nope.safetensors"):
        simlearn.embed("nope.safetensors")


def test_ctrl_c_saves_a_checkpoint(tmp_path):
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        simlearn.train(tmp_path / "m.safetensors", progress=False, **dict(RUN, steps=100000))
    timer.join()
    X, _ = simlearn.embed(tmp_path / "m.safetensors", split="val", count=20)  # a valid checkpoint
    assert X.shape == (20, 128)
