"""simlearn.Model and simlearn.Encoder: networks from the spec language
against PyTorch, trained encoders over arrays against `simlearn embed`,
shapes and dtypes, bad input, threads and Ctrl-C."""

import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))
CLIP = dict(data="shapes", count=256, image_size=16, objective="clip", batch=32, steps=8, threads=1, seed=3,
            encoder="conv(8,3,stride=2,pad=1),bn,relu,flatten,linear(32)", projector="linear(16)")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.safetensors"
    simlearn.train(path, progress=False, **CLIP)
    return path


def raw_images():
    x, labels = simlearn.embed(None, data="shapes", image_size=16, count=256, split="val")
    return x.reshape(-1, 3, 16, 16), labels


def test_model_matches_pytorch_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    spec = "conv(8,3,pad=1),bn,relu,maxpool(2),flatten,linear(16),gelu,linear(4)"
    m = simlearn.Model(spec, (3, 8, 8), seed=7)
    assert m.input_shape == (3, 8, 8) and m.output_shape == (4,) and m.spec == spec
    assert m.n_params == sum(v.size for k, v in m.state_dict().items() if "running" not in k and "num_" not in k)
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(128, 16), torch.nn.GELU(),
                              torch.nn.Linear(16, 4))
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()}, strict=True)
    x = np.random.default_rng(1).standard_normal((6, 3, 8, 8)).astype(np.float32)
    ref.eval()
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m.forward(x), want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(m(x.reshape(6, -1)), want, atol=1e-5, rtol=1e-5)  # flat rows
    assert m.forward(x[0]).shape == (1, 4)                                       # one image
    ref.train()
    with torch.no_grad():
        want_train = ref(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m.forward(x, train=True), want_train, atol=1e-5, rtol=1e-5)
    m.save(tmp_path / "m.safetensors")
    m2 = simlearn.Model.load(tmp_path / "m.safetensors")
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, m2.state_dict()[k])
    assert "parameters:" in m.summary() and "linear(16)" in m.summary()
    assert "Model" in repr(m)
    m.close()
    assert "closed" in repr(m)
    with pytest.raises(ValueError, match="closed"):
        m.forward(x)


def test_model_refuses_bad_specs_and_inputs(tmp_path):
    with pytest.raises(ValueError, match="missing '\\)'"):
        simlearn.Model("conv(", "3x8x8")
    with pytest.raises(ValueError, match="flatten"):
        simlearn.Model("linear(4)", "3x8x8")
    with pytest.raises(ValueError):
        simlearn.Model("linear(4)", "0x8")
    m = simlearn.Model("conv(4,3,pad=1),gap,linear(2)", "3x8x8")
    with pytest.raises(ValueError, match="channels last"):
        m.forward(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="rows of 192 values"):
        m.forward(np.zeros((2, 100), np.float32))
    with pytest.raises(TypeError, match="x: expected an array of real numbers"):
        m.forward(np.array([["a"]]))
    with pytest.raises(ValueError, match="at least one row"):
        m.forward(np.zeros((0, 192), np.float32))
    with pytest.raises(OSError, match="nope.safetensors"):
        simlearn.Model.load(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{junk")
    with pytest.raises(ValueError, match="junk.safetensors"):
        simlearn.Model.load(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="tower"):
        simlearn.Model.load(tmp_path / "junk.safetensors", tower="wheel")


def test_encoder_embeds_as_the_cli_does(clip, tmp_path):
    x, labels = raw_images()
    for projector in (False, True):
        enc = simlearn.Encoder.load(clip, projector=projector)
        assert enc.input_shape == (3, 16, 16) and enc.dim == (16 if projector else 32) and enc.has_text
        want, wl = simlearn.embed(clip, image_size=16, count=256, split="val", projector=projector)
        np.testing.assert_array_equal(enc.embed(x), want)
        np.testing.assert_array_equal(enc.embed(x.reshape(len(x), -1), normalize=True),
                                      simlearn.embed(clip, image_size=16, count=256, split="val",
                                                     projector=projector, normalize=True)[0])
        np.testing.assert_allclose(enc.embed(x, batch=7, threads=1), want, atol=1e-5)
        np.testing.assert_array_equal(wl["shape"], labels["shape"])
    subprocess.run([CLI, "embed", "--model", str(clip), "--split", "val", "--size", "16", "--count", "256",
                    "-q", "-o", str(tmp_path / "e.npy")], check=True, capture_output=True)
    np.testing.assert_array_equal(simlearn.Encoder.load(clip).embed(x), np.load(tmp_path / "e.npy"))
    # uint8 images are scaled by 1/255; one image gives one row
    u = (x * 255).round().astype(np.uint8)
    enc = simlearn.Encoder.load(clip)
    np.testing.assert_array_equal(enc.embed(u), enc.embed(u.astype(np.float32) / np.float32(255)))
    # (to rounding: a batch of one may take another BLAS kernel than a batch of four)
    np.testing.assert_allclose(enc.embed(x[3]), enc.embed(x[:4])[3:4], rtol=1e-5, atol=1e-6)


def test_encoder_embeds_text_as_the_cli_does(clip, tmp_path):
    lines = ["a photo of a circle", "a small red star", "words never seen", "a blue square"]
    (tmp_path / "p.txt").write_text("\n".join(lines) + "\n")
    want, _ = simlearn.embed(clip, text_file=tmp_path / "p.txt")
    enc = simlearn.Encoder.load(clip, projector=True)
    np.testing.assert_array_equal(enc.embed_text(lines), want)
    t = enc.embed_text(lines, normalize=True, batch=3)
    np.testing.assert_allclose((t * t).sum(1), 1, atol=1e-5)
    # zero-shot by hand: the image embeddings' nearest prompt
    x, labels = raw_images()
    names = ["circle", "square", "triangle", "diamond", "cross", "star", "hexagon"]
    img = enc.embed(x, normalize=True)
    txt = enc.embed_text([f"a photo of a {c}" for c in names], normalize=True)
    pred = (img @ txt.T).argmax(1)
    r = simlearn.zero_shot(clip, "shape", image_size=16, count=256, split="val")
    assert (pred == r["predicted"]).mean() > 0.99


def test_encoder_refuses_bad_input(clip, tmp_path):
    with pytest.raises(OSError, match="nope.safetensors"):
        simlearn.Encoder.load(tmp_path / "nope.safetensors")
    m = simlearn.Model("flatten,linear(4)", "3x16x16")
    m.save(tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="not a simlearn training checkpoint"):
        simlearn.Encoder.load(tmp_path / "plain.safetensors")
    enc = simlearn.Encoder.load(clip)
    x = np.zeros((2, 3, 16, 16), np.float32)
    x[1, 0, 0, 5] = np.nan
    with pytest.raises(ValueError, match="image 1, value 5"):
        enc.embed(x)
    with pytest.raises(ValueError, match="expected n x 3x16x16"):
        enc.embed(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="batch"):
        enc.embed(x[:1], batch=0)
    with pytest.raises(TypeError, match="not a str"):
        enc.embed_text(["fine", 3])
    simlearn.train(tmp_path / "p.safetensors", progress=False, data="shapes", count=128, image_size=16, steps=2,
                   batch=16, threads=1, encoder="flatten,linear(8)", projector="none")
    plain = simlearn.Encoder.load(tmp_path / "p.safetensors")
    assert not plain.has_text and plain.dim == 8
    with pytest.raises(ValueError, match="no text tower"):
        plain.embed_text(["a circle"])
    with pytest.raises(ValueError, match="no projector"):
        simlearn.Encoder.load(tmp_path / "p.safetensors", projector=True)
    enc.close()
    with pytest.raises(ValueError, match="closed"):
        enc.embed(x[:1])


def test_encoder_shares_one_object_between_threads_safely(clip):
    x, _ = raw_images()
    enc = simlearn.Encoder.load(clip)
    want = enc.embed(x)
    outcomes = []

    def work():
        for _ in range(20):
            try:
                outcomes.append(np.array_equal(enc.embed(x, threads=1), want))
            except RuntimeError as e:
                assert "in use by another thread" in str(e)
                outcomes.append("busy")

    ts = [threading.Thread(target=work) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(outcomes) == 60 and all(o is True or o == "busy" for o in outcomes) and True in outcomes


def test_ctrl_c_stops_embedding(clip):
    enc = simlearn.Encoder.load(clip)
    x = np.zeros((400000, 3, 16, 16), np.float32)  # zero pages: cheap to make, slow to embed
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        enc.embed(x, batch=256)
    timer.join()
    assert enc.embed(x[:2]).shape == (2, 32)  # still usable


def test_safetensors_round_trip_and_checkpoints(clip, tmp_path):
    t, meta = simlearn.load_safetensors(clip)
    assert meta["encoder.spec"].startswith("conv(8,3,stride=2,pad=1)") and "text.vocab" in meta
    np.testing.assert_array_equal(t["encoder.0.weight"], simlearn.Model.load(clip, tower="encoder").state_dict()["0.weight"])
    arrays = {"f": np.arange(12, dtype=np.float32).reshape(3, 4), "d": np.array([1.5, -2.0]),
              "i": np.array([[1, -2]], dtype=np.int32), "q": np.arange(5, dtype=np.int64)[::2],
              "u": np.array([0, 255], dtype=np.uint8), "big": np.arange(4, dtype=">f4")}
    simlearn.save_safetensors(tmp_path / "a.safetensors", arrays, {"note": "hello", "n": 3})
    back, m = simlearn.load_safetensors(tmp_path / "a.safetensors")
    assert m == {"note": "hello", "n": "3"} and list(back) == list(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(back[k], v)
        assert back[k].dtype == v.dtype.newbyteorder("=")
    torch = pytest.importorskip("torch")
    m2 = simlearn.Model("flatten,linear(3)", "2x2")
    m2.save(tmp_path / "m.safetensors")
    sd = {k: torch.from_numpy(v) for k, v in simlearn.load_safetensors(tmp_path / "m.safetensors")[0].items()}
    torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3)).load_state_dict(sd, strict=True)
    with pytest.raises(TypeError, match="c: expected float32"):
        simlearn.save_safetensors(tmp_path / "b.safetensors", {"c": np.zeros(2, np.complex64)})
    with pytest.raises(ValueError, match="__metadata__"):
        simlearn.save_safetensors(tmp_path / "b.safetensors", {"__metadata__": np.zeros(2, np.float32)})
    assert not (tmp_path / "b.safetensors").exists()
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 3}        ")
    with pytest.raises(ValueError, match="bad.safetensors"):
        simlearn.load_safetensors(tmp_path / "bad.safetensors")
    with pytest.raises(OSError, match="none.safetensors"):
        simlearn.load_safetensors(tmp_path / "none.safetensors")


def test_no_leaks_over_10000_calls(clip, tmp_path):
    def rss_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    enc = simlearn.Encoder.load(clip, projector=True)
    m = simlearn.Model("flatten,linear(4)", "3x16x16")
    x = np.random.default_rng(0).random((4, 3, 16, 16), dtype=np.float32)
    simlearn.save_safetensors(tmp_path / "t.safetensors", {"a": x})

    def calls():
        enc.embed(x)
        enc.embed_text(["a red circle", "a star"])
        m.forward(x)
        m.state_dict()
        simlearn.load_safetensors(tmp_path / "t.safetensors")
        try:
            enc.embed(x[:, :, :8])
        except ValueError:
            pass
        try:
            simlearn.Encoder.load(tmp_path / "t.safetensors")
        except ValueError:
            pass

    for _ in range(1000):
        calls()
    start = rss_mib()
    for _ in range(10000):
        calls()
    assert rss_mib() - start < 4, rss_mib() - start
