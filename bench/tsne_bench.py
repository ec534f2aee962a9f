#!/usr/bin/python3
"""t-SNE benchmark: simlearn's Barnes-Hut t-SNE against scikit-learn's TSNE.

Input: the 10,000 Fashion-MNIST test images (pixels / 255) reduced to 50
dimensions by `simlearn map --method pca --dims 50`. Both run t-SNE with
perplexity 30, 1000 iterations (250 of early exaggeration 12), theta/angle 0.5,
learning rate max(n / 12 / 4, 50), PCA initialisation and 2 threads. The
trustworthiness of both maps is computed with sklearn.manifold.trustworthiness
(10 neighbours) against the 50-d input. Ends with the summary line
    tsne: simlearn <s> s (trust <t>), sklearn <s> s (trust <t>), ratio <r>
where ratio = sklearn seconds / simlearn seconds (above 1: simlearn is faster).
"""
import argparse
import gzip
import os
import resource
import subprocess
import sys
import time

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"
NAMES = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simlearn", default="./simlearn")
    ap.add_argument("--out", default="build/bench-tsne")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--perplexity", type=float, default=30)
    ap.add_argument("--iters", type=int, default=1000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)

    imgs = read_idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 784)
    labels = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    np.save(out("images.npy"), (imgs / 255.0).astype(np.float32))
    np.save(out("labels.npy"), labels)
    subprocess.run([args.simlearn, "map", out("images.npy"), "--method", "pca", "--dims", "50", "--coords",
                    out("pca50.npy"), "--threads", str(args.threads), "--trust", "0", "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    x = np.load(out("pca50.npy"))
    print(f"input: {x.shape[0]} Fashion-MNIST test images, PCA to {x.shape[1]} dims; perplexity "
          f"{args.perplexity:g}, {args.iters} iterations, {args.threads} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')}", flush=True)

    # simlearn, timed from outside: the whole command (load, t-SNE, write).
    cmd = [args.simlearn, "map", out("pca50.npy"), "--method", "tsne", "--perplexity", str(args.perplexity),
           "--iters", str(args.iters), "--threads", str(args.threads), "--seed", "1", "--trust", "0", "-q",
           "--labels", out("labels.npy"), "--label-names", NAMES, "--coords", out("simlearn_tsne.npy"),
           "-o", out("simlearn_tsne.svg")]
    c0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    sl_s, sl_cpu = time.perf_counter() - t0, children_cpu() - c0
    y_sl = np.load(out("simlearn_tsne.npy"))

    from sklearn.manifold import TSNE, trustworthiness
    tsne = TSNE(n_components=2, perplexity=args.perplexity, early_exaggeration=12.0, learning_rate="auto",
                n_iter=args.iters, init="pca", method="barnes_hut", angle=0.5, n_jobs=args.threads,
                random_state=0)
    p0, t0 = time.process_time(), time.perf_counter()
    y_sk = tsne.fit_transform(x)
    sk_s, sk_cpu = time.perf_counter() - t0, time.process_time() - p0
    np.save(out("sklearn_tsne.npy"), y_sk.astype(np.float32))

    tr_sl = trustworthiness(x, y_sl, n_neighbors=10)
    tr_sk = trustworthiness(x, y_sk, n_neighbors=10)
    print(f"simlearn: {sl_s:.2f} s wall, {sl_cpu:.2f} s cpu, trustworthiness@10 {tr_sl:.4f}")
    print(f"sklearn {__import__('sklearn').__version__}: {sk_s:.2f} s wall, {sk_cpu:.2f} s cpu, "
          f"trustworthiness@10 {tr_sk:.4f}, KL {tsne.kl_divergence_:.4f}")
    ok_time = sl_s < 30
    ok_trust = abs(tr_sl - tr_sk) <= 0.02
    print(f"check: simlearn under 30 s: {'yes' if ok_time else 'NO'}; trustworthiness within 0.02 of "
          f"sklearn: {'yes' if ok_trust else 'NO'} (difference {tr_sl - tr_sk:+.4f})")
    print(f"tsne: simlearn {sl_s:.2f} s (trust {tr_sl:.4f}), sklearn {sk_s:.2f} s (trust {tr_sk:.4f}), "
          f"ratio {sk_s / sl_s:.2f}")


if __name__ == "__main__":
    sys.exit(main())
