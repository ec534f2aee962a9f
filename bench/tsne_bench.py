#!/usr/bin/python3
"""t-SNE benchmark: simlearn's Barnes-Hut t-SNE against scikit-learn's TSNE.

Input: the first N Fashion-MNIST test images (pixels / 255; N = 10,000 by
default) reduced to 50 dimensions by `simlearn map --method pca --dims 50`;
both programs map this same matrix. Settings on both sides: perplexity 30
(91 exact nearest neighbours), ITERS iterations (1000) of which the first 250
with early exaggeration 12 and momentum 0.5, then momentum 0.8, gains
+0.2 / x0.8 with floor 0.01, opening angle 0.5, learning rate
max(N / 12 / 4, 50), PCA start scaled to a standard deviation of 1e-4 on the
first axis, THREADS threads. scikit-learn's early stops are switched off
(n_iter_without_progress = ITERS, min_grad_norm = 0) so that it runs every
iteration, as simlearn does; its BLAS and OpenMP pools are held to THREADS
threads (environment before numpy is loaded, and threadpoolctl). The
differences the two keep are printed with the results.

Times: simlearn's is the t-SNE as `simlearn map` reports it (affinities and
optimisation; reading and writing the .npy files excluded, the whole command
is printed as well); scikit-learn's is TSNE.fit_transform. Quality: the
trustworthiness of both maps (sklearn.manifold.trustworthiness, 10
neighbours, against the 50-d input). Ends with the summary line
    tsne: simlearn <s> s (trust <t>), sklearn <s> s (trust <t>), ratio <r>
where ratio = sklearn seconds / simlearn seconds (> 1: simlearn is faster).
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import time


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_simlearn(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"tsne_bench.py: {' '.join(cmd)} exited with status {res.returncode}:\n{res.stderr}")
    return res.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simlearn", default="./simlearn")
    ap.add_argument("--out", default="build/bench/tsne")
    ap.add_argument("--n", type=int, default=10000, help="first N test images (at most 10000)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--perplexity", type=float, default=30)
    ap.add_argument("--iters", type=int, default=1000)
    args = ap.parse_args()
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(args.threads)

    import numpy as np
    from threadpoolctl import threadpool_limits

    import fmnist_idx

    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)
    imgs = fmnist_idx.images("test")[:args.n].reshape(-1, 784)
    np.save(out("images.npy"), (imgs / 255.0).astype(np.float32))
    run_simlearn([args.simlearn, "map", out("images.npy"), "--method", "pca", "--dims", "50", "--coords",
                  out("pca50.npy"), "--threads", str(args.threads), "--trust", "0", "-q"])
    x = np.load(out("pca50.npy"))
    n = x.shape[0]
    print(f"input: {n} Fashion-MNIST test images, PCA to {x.shape[1]} dims; perplexity {args.perplexity:g}, "
          f"{args.iters} iterations (250 exaggerated), learning rate {max(n / 12 / 4, 50):.1f}, {args.threads} "
          f"threads on both sides, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}", flush=True)

    cmd = [args.simlearn, "map", out("pca50.npy"), "--method", "tsne", "--perplexity", str(args.perplexity),
           "--iters", str(args.iters), "--threads", str(args.threads), "--seed", "1", "--trust", "0", "-q",
           "--coords", out("simlearn_tsne.npy")]
    c0, t0 = children_cpu(), time.perf_counter()
    log = run_simlearn(cmd)
    sl_whole, sl_cpu = time.perf_counter() - t0, children_cpu() - c0
    m = re.search(r"by t-SNE .* in ([\d.]+) s", log)
    if not m:
        sys.exit(f"tsne_bench.py: no t-SNE time in the output of simlearn map:\n{log}")
    sl_s = float(m.group(1))
    y_sl = np.load(out("simlearn_tsne.npy"))

    import sklearn
    from sklearn.manifold import TSNE, trustworthiness
    tsne = TSNE(n_components=2, perplexity=args.perplexity, early_exaggeration=12.0, learning_rate="auto",
                n_iter=args.iters, n_iter_without_progress=args.iters, min_grad_norm=0.0, init="pca",
                method="barnes_hut", angle=0.5, n_jobs=args.threads, random_state=0)
    with threadpool_limits(limits=args.threads):
        p0, t0 = time.process_time(), time.perf_counter()
        y_sk = tsne.fit_transform(x)
        sk_s, sk_cpu = time.perf_counter() - t0, time.process_time() - p0
    np.save(out("sklearn_tsne.npy"), y_sk.astype(np.float32))

    tr_sl = trustworthiness(x, y_sl, n_neighbors=10)
    tr_sk = trustworthiness(x, y_sk, n_neighbors=10)
    print(f"simlearn: t-SNE {sl_s:.2f} s (whole command {sl_whole:.2f} s wall, {sl_cpu:.2f} s cpu), "
          f"trustworthiness@10 {tr_sl:.4f}")
    sk_iters = tsne.n_iter_ + 1  # n_iter_ is the index of the last iteration
    print(f"sklearn {sklearn.__version__}: fit_transform {sk_s:.2f} s wall, {sk_cpu:.2f} s cpu, "
          f"{sk_iters} iterations, trustworthiness@10 {tr_sk:.4f}, KL {tsne.kl_divergence_:.4f}")
    print("differences kept: scikit-learn keeps the map and the gradient in float32 and starts from a "
          "randomized-SVD PCA, simlearn works in float64 and starts from its own top-2 PCA (subspace "
          "iteration); simlearn tests Barnes-Hut cells once per group of up to 128 nearby points (a test "
          "at least as strict as the per-point one at the same angle), scikit-learn per point")
    ok_iters = sk_iters == args.iters
    ok_trust = abs(tr_sl - tr_sk) <= 0.02
    print(f"check: both ran {args.iters} iterations: {'yes' if ok_iters else 'NO'}; trustworthiness within "
          f"0.02 of sklearn: {'yes' if ok_trust else 'NO'} (difference {tr_sl - tr_sk:+.4f})")
    print(f"tsne: simlearn {sl_s:.2f} s (trust {tr_sl:.4f}), sklearn {sk_s:.2f} s (trust {tr_sk:.4f}), "
          f"ratio {sk_s / sl_s:.2f}")


if __name__ == "__main__":
    sys.exit(main())
