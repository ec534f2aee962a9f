"""Compare two training runs: their checkpoints' parameters and buffers
(not the optimizer state) and the losses of
their logs, to a tolerance. usage: dist_compare.py A.safetensors B.safetensors
[TOL]. Prints the largest differences; exits 1 when one is over TOL
(relative to the tensor's largest magnitude, at least 1e-3, and to each
loss)."""
import json
import struct
import sys

import numpy as np

DT = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    meta = head.pop("__metadata__", {})
    out = {}
    for k, v in head.items():
        lo, hi = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=DT[v["dtype"]]).reshape(v["shape"])
    return out, meta


def losses(path):
    return [json.loads(line)["loss"] for line in open(path)]


def main():
    a, b = sys.argv[1], sys.argv[2]
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    ta, ma = tensors(a)
    tb, mb = tensors(b)
    bad = []
    if set(ta) != set(tb):
        bad.append(f"tensor names differ: {sorted(set(ta) ^ set(tb))}")
    worst = 0.0
    for k in sorted(set(ta) & set(tb)):
        x, y = ta[k].astype(np.float64), tb[k].astype(np.float64)
        if k.endswith("num_batches_tracked") or k.startswith("optim."):
            continue  # optimizer state: the last gradients, whose rounding noise is no error
        # a floor for tensors of rounding noise (the gradient, and so the
        # optimizer state, of a bias that batch norm follows is zero)
        scale = max(np.abs(x).max(), 1e-3)
        d = np.abs(x - y).max() / scale
        worst = max(worst, d)
        if d > tol:
            bad.append(f"{k}: relative difference {d:.3g}")
    la, lb = losses(a.rsplit(".", 1)[0] + ".jsonl"), losses(b.rsplit(".", 1)[0] + ".jsonl")
    if len(la) != len(lb):
        bad.append(f"{len(la)} and {len(lb)} logged steps")
    dl = max(abs(p - q) / max(abs(p), 1e-12) for p, q in zip(la, lb))
    if dl > tol:
        bad.append(f"losses differ by {dl:.3g} (relative)")
    print(f"parameters: largest relative difference {worst:.3g}; losses: {dl:.3g} over {len(la)} steps")
    for line in bad:
        print("DIFFERENT:", line)
    sys.exit(1 if bad else 0)


main()
