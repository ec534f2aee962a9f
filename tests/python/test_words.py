"""simlearn.Words from Python: training with the CLI's trainer, files both
ways, lookups, nearest words and expressions, the evaluations, bad input."""

import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import simlearn

CLI = os.environ.get("SIMLEARN", os.path.join(os.path.dirname(__file__), "..", "..", "simlearn"))
DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data")
SETTINGS = dict(dim=16, min_count=1, epochs=3, threads=1, seed=2)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 300)
    return path


def test_training_matches_the_cli(corpus, tmp_path):
    w = simlearn.Words.train(corpus, **SETTINGS)
    assert len(w) == 9 and w.dim == 16 and w.words[0] == "the" and w.stats["raw_words"] == 3 * 5100
    assert w.stats["exchange_seconds"] == 0  # one process: no ranks to exchange with
    subprocess.run([CLI, "words", "train", str(corpus), "-o", str(tmp_path / "cli.vec"), "--format", "text",
                    "--dim", "16", "--min-count", "1", "--epochs", "3", "--threads", "1", "--seed", "2", "-q"],
                   check=True, capture_output=True)
    cli = simlearn.Words.load(tmp_path / "cli.vec")
    assert cli.words == w.words
    np.testing.assert_array_equal(cli.vectors, w.vectors)  # the same trainer, the same bits
    w.save(tmp_path / "py.bin", format="binary")
    back = simlearn.Words.load(str(tmp_path / "py.bin"))
    np.testing.assert_array_equal(back.vectors, w.vectors)
    out = subprocess.run([CLI, "words", "nearest", str(tmp_path / "py.bin"), "cat"], check=True,
                         capture_output=True, text=True).stdout.split("\n")
    first = out[0].split()
    got = w.nearest("cat", 3)
    assert first[1] == got[0][0] and abs(float(first[2]) - got[0][1]) < 1e-4, (out, got)


def test_negative_exponent_and_context_weight_match_the_cli(corpus, tmp_path):
    w = simlearn.Words.train(corpus, ns_exponent=0.75, context_weight=0, **SETTINGS)
    subprocess.run([CLI, "words", "train", str(corpus), "-o", str(tmp_path / "cli.vec"), "--format", "text",
                    "--dim", "16", "--min-count", "1", "--epochs", "3", "--threads", "1", "--seed", "2", "-q",
                    "--ns-exponent", "0.75", "--context-weight", "0"], check=True, capture_output=True)
    np.testing.assert_array_equal(simlearn.Words.load(tmp_path / "cli.vec").vectors, w.vectors)
    # The defaults (0.5 and 0.25) learn and save something else.
    assert not np.array_equal(simlearn.Words.train(corpus, **SETTINGS).vectors, w.vectors)
    assert not np.array_equal(simlearn.Words.train(corpus, ns_exponent=0.75, **SETTINGS).vectors, w.vectors)
    with pytest.raises(ValueError, match="ns_exponent"):
        simlearn.Words.train(corpus, ns_exponent=3, **SETTINGS)
    with pytest.raises(ValueError, match="context_weight"):
        simlearn.Words.train(corpus, context_weight=-0.5, **SETTINGS)


def test_lookups_nearest_and_expressions(corpus):
    w = simlearn.Words.train(corpus, **SETTINGS)
    assert "cat" in w and "CAT" in w and "zebra" not in w
    np.testing.assert_array_equal(w.vector("CAT"), w.vector("cat"))
    with pytest.raises(KeyError, match="zebra"):
        w.vector("zebra")
    with pytest.raises(TypeError, match="str"):
        w.vector(3)
    near = w.nearest("cat", 4)
    assert len(near) == 4 and "cat" not in [x for x, _ in near]
    assert all(near[i][1] >= near[i + 1][1] for i in range(3))
    unit = w.vectors / np.linalg.norm(w.vectors, axis=1, keepdims=True)
    q = unit[w.words.index("dog")] - unit[w.words.index("cat")] + unit[w.words.index("mat")]
    cos = unit @ (q / np.linalg.norm(q))
    for i in (w.words.index(x) for x in ("dog", "cat", "mat")):
        cos[i] = -2
    assert w.analogy("cat", "dog", "mat")[0][0] == w.words[int(np.argmax(cos))]
    by_vector = w.nearest(w.vector("cat"), 1)
    assert by_vector[0][0] == "cat" and abs(by_vector[0][1] - 1) < 1e-5
    with pytest.raises(ValueError, match="at least one word"):
        w.nearest("+ -")
    with pytest.raises(ValueError, match="query: expected 16 values"):
        w.nearest(np.ones(3))


def test_evaluations_read_the_shipped_sets(tmp_path):
    rng = np.random.default_rng(0)
    words = ["athens", "greece", "paris", "france", "good", "better", "bad", "worse"]
    vecs = rng.standard_normal((len(words), 8)).astype(np.float32)
    vecs[3] = vecs[1] - vecs[0] + vecs[2]  # france = greece - athens + paris
    (tmp_path / "v.vec").write_text(f"{len(words)} 8\n" + "".join(
        w + " " + " ".join(repr(float(x)) for x in v) + "\n" for w, v in zip(words, vecs)))
    w = simlearn.Words.load(tmp_path / "v.vec")
    (tmp_path / "q.txt").write_text(": capital\nathens greece paris france\n: gram-comparative\ngood better bad worse\n")
    r = w.evaluate_analogies(tmp_path / "q.txt")
    assert r["seen"] == 2 and r["sections"]["capital"] == (1, 1, 1) and r["semantic"] == 1.0
    full = w.evaluate_analogies(os.path.join(DATA, "questions-words.txt"), method="mul")
    assert full["total"] == 19544 and full["seen"] >= 1
    (tmp_path / "p.tsv").write_text("good better 9\ngood bad 2\nathens greece 7\nathens zebra 1\n")
    sim = w.similarity_eval(tmp_path / "p.tsv")
    assert sim["pairs"] == 4 and sim["used"] == 3 and -1 <= sim["spearman"] <= 1
    with pytest.raises(ValueError, match="only 0 of 353 pairs"):
        w.similarity_eval(os.path.join(DATA, "wordsim353.tsv"))


def test_bad_files_and_settings(tmp_path, corpus):
    (tmp_path / "bad.vec").write_text("2 3\ncat 1 2\n")
    with pytest.raises(ValueError, match="bad.vec"):
        simlearn.Words.load(tmp_path / "bad.vec")
    with pytest.raises(OSError, match="nope.txt"):
        simlearn.Words.train(tmp_path / "nope.txt", **SETTINGS)
    with pytest.raises(ValueError, match="arch"):
        simlearn.Words.train(corpus, arch="glove")
    with pytest.raises(ValueError, match="dim"):
        simlearn.Words.train(corpus, dim=0)
    with pytest.raises(ValueError, match="format"):
        simlearn.Words.train(corpus, **SETTINGS).save(tmp_path / "x", format="npz")
    with pytest.raises(ValueError, match="empty"):
        len(simlearn.Words())


def test_ctrl_c_stops_training(tmp_path):
    rng = np.random.default_rng(1)
    vocab = np.array([f"w{i}" for i in range(5000)])
    lines = [" ".join(vocab[rng.integers(0, 5000, 20)]) for _ in range(100000)]
    (tmp_path / "big.txt").write_text("\n".join(lines) + "\n")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        simlearn.Words.train(tmp_path / "big.txt", dim=50, epochs=50, min_count=1, threads=2)
    timer.join()


SUBWORD_CORPUS = ("the horseling and the cowling ran\nthe carmobile and the busmobile drove\n"
                  "a sheepling and a dogling ran\na trainmobile and a boatmobile drove\n") * 300


def test_subword_training_and_oov_words_match_the_cli(tmp_path):
    (tmp_path / "c.txt").write_text(SUBWORD_CORPUS)
    opts = dict(SETTINGS, minn=3, maxn=5, bucket=3000, negatives="per-pair")
    w = simlearn.Words.train(tmp_path / "c.txt", **opts)
    assert w.subwords == {"minn": 3, "maxn": 5, "bucket": 3000, "lowercase": False}
    assert "pigling" not in w and "pigling" not in w.words
    subprocess.run([CLI, "words", "train", str(tmp_path / "c.txt"), "-o", str(tmp_path / "cli.bin"), "--dim", "16",
                    "--min-count", "1", "--epochs", "3", "--threads", "1", "--seed", "2", "--minn", "3", "--maxn", "5",
                    "--bucket", "3000", "--negatives", "per-pair", "-q"], check=True, capture_output=True)
    cli = simlearn.Words.load(tmp_path / "cli.bin")  # the vocabulary's vectors: each word's mean of its rows
    np.testing.assert_array_equal(cli.vectors, w.vectors)
    # with subwords the default learning rate is 0.045
    np.testing.assert_array_equal(simlearn.Words.train(tmp_path / "c.txt", **dict(opts, lr=0.045)).vectors, w.vectors)
    model = simlearn.Words.load(tmp_path / "cli.slsw")  # written beside cli.bin
    assert model.subwords == w.subwords
    out = subprocess.run([CLI, "words", "vector", str(tmp_path / "cli.slsw"), "pigling", "cowling", "x"], check=True,
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        word, *vals = line.split()
        np.testing.assert_array_equal(np.array(vals, dtype=np.float32), w.vector(word))
        np.testing.assert_array_equal(model.vector(word), w.vector(word))
    assert len(out.stdout.splitlines()) == 3 and out.stderr == ""  # "x": its one n-gram "<x>"
    near = subprocess.run([CLI, "words", "nearest", str(tmp_path / "cli.slsw"), "pigling", "-k", "3"], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    assert near[0] == "'pigling' is not in the vocabulary: its vector is the mean of 18 character n-grams"
    got = w.nearest("pigling", 3)
    assert [l.split()[1] for l in near[1:]] == [x for x, _ in got]
    assert all(abs(float(l.split()[2]) - s) < 1e-4 for l, (_, s) in zip(near[1:], got))
    (tmp_path / "p.txt").write_text("pigling dogling 9\npigling busmobile 1\nhorseling cowling 8\nvanmobile carmobile 9\n")
    sim = w.similarity_eval(tmp_path / "p.txt")
    assert sim["used"] == 4 and sim["by_ngrams"] == 3
    cli_sim = subprocess.run([CLI, "words", "similarity", str(tmp_path / "cli.slsw"), "--pairs", str(tmp_path / "p.txt")],
                             check=True, capture_output=True, text=True).stdout
    assert f"Spearman {sim['spearman']:.4f}" in cli_sim and "3 with a word known only by its character n-grams" in cli_sim
    w.save_model(tmp_path / "py.slsw")
    assert (tmp_path / "py.slsw").read_bytes() == (tmp_path / "cli.slsw").read_bytes()
    with pytest.raises(ValueError, match="no subword or sentence model"):
        simlearn.Words.train(tmp_path / "c.txt", **SETTINGS).save_model(tmp_path / "no.slsw")
    with pytest.raises(KeyError, match="pigling"):
        cli.vector("pigling")
    with pytest.raises(ValueError, match="multi-sense|maxn"):
        simlearn.Words.train(tmp_path / "c.txt", **dict(opts, minn=6))


def test_sent2vec_training_and_line_vectors_match_the_cli(tmp_path):
    topics = [["cow", "dog", "pig", "hen", "goat"], ["car", "bus", "van", "ship", "boat"],
              ["rice", "soup", "cake", "pie", "bread"]]
    rng = np.random.default_rng(1)
    lines = [" ".join(rng.choice(topics[i % 3], 6)) for i in range(600)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    opts = dict(SETTINGS, arch="sent2vec", bucket=2000, lr=0.5, sample=0)
    w = simlearn.Words.train(tmp_path / "c.txt", **opts)
    assert w.subwords == {"minn": 0, "maxn": 0, "bucket": 2000, "lowercase": False}
    subprocess.run([CLI, "words", "train", str(tmp_path / "c.txt"), "-o", str(tmp_path / "cli.bin"), "--dim", "16",
                    "--min-count", "1", "--epochs", "3", "--threads", "1", "--seed", "2", "--model", "sent2vec",
                    "--bucket", "2000", "--lr", "0.5", "--sample", "0", "-q"], check=True, capture_output=True)
    cli = simlearn.Words.load(tmp_path / "cli.bin")
    np.testing.assert_array_equal(cli.vectors, w.vectors)
    w.save_model(tmp_path / "py.slsw")
    assert (tmp_path / "py.slsw").read_bytes() == (tmp_path / "cli.slsw").read_bytes()
    test = ["pig hen cow dog", "bus van ship car", "pie soup rice cake", "goat cow hen pig"]
    (tmp_path / "t.txt").write_text("\n".join(test) + "\n")
    out = subprocess.run([CLI, "words", "embed", "--vectors", str(tmp_path / "cli.slsw"), "--text",
                          str(tmp_path / "t.txt"), "-o", str(tmp_path / "t.npy"), "--method", "sent2vec"],
                         check=True, capture_output=True, text=True).stdout
    assert out.startswith("4 lines, 16 words, 16 with a vector")
    x = w.embed(test, "sent2vec")
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), x)
    np.testing.assert_array_equal(simlearn.Words.load(tmp_path / "cli.slsw").embed(test, "sent2vec"), x)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert u[0] @ u[3] > max(u[0] @ u[1], u[0] @ u[2]) + 0.3  # lines of one topic are nearest
    assert not np.array_equal(w.embed(test, "avg"), x)  # the bigrams' rows count
    # SIF on a .slsw takes the model's counts, in Python as in the CLI.
    subprocess.run([CLI, "words", "embed", "--vectors", str(tmp_path / "cli.slsw"), "--text", str(tmp_path / "t.txt"),
                    "-o", str(tmp_path / "sif.npy"), "--method", "sif"], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "sif.npy"), w.embed(test, "sif"))
    # drop_bigrams (default 4) as the CLI's --drop-bigrams.
    z = simlearn.Words.train(tmp_path / "c.txt", **dict(opts, drop_bigrams=0))
    subprocess.run([CLI, "words", "train", str(tmp_path / "c.txt"), "-o", str(tmp_path / "z.bin"), "--dim", "16",
                    "--min-count", "1", "--epochs", "3", "--threads", "1", "--seed", "2", "--model", "sent2vec",
                    "--bucket", "2000", "--lr", "0.5", "--sample", "0", "--drop-bigrams", "0", "-q"], check=True,
                   capture_output=True)
    np.testing.assert_array_equal(simlearn.Words.load(tmp_path / "z.bin").vectors, z.vectors)
    assert not np.array_equal(z.vectors, w.vectors)
    # Without lr, sent2vec trains at its own default, 0.5 (the CLI's too).
    d = simlearn.Words.train(tmp_path / "c.txt", **dict(opts, lr=None))
    np.testing.assert_array_equal(d.vectors, w.vectors)
    with pytest.raises(ValueError, match="needs a sentence model"):
        simlearn.Words.train(tmp_path / "c.txt", **SETTINGS).embed(test, "sent2vec")
    with pytest.raises(ValueError, match="sent2vec needs negative sampling|arch"):
        simlearn.Words.train(tmp_path / "c.txt", **dict(opts, maxn=4))
