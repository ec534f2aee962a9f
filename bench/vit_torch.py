#!/usr/bin/python3
"""PyTorch side of `make bench-vit`: one training step (forward + backward +
Adam) of a ViT encoder and the R1 projector on 256 views of 1x28x28, with the
same stand-in loss as bench/vit_step.c: d(output) is a fixed random tensor.
The encoder is built from the simlearn spec by tests/fixtures/nn_torch.py
(the modules whose state_dict names simlearn's checkpoints use).
usage: vit_torch.py [steps] [threads] [encoder spec]"""
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from nn_torch import build  # noqa: E402

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
spec = sys.argv[3] if len(sys.argv) > 3 else "vit(patch=4,dim=96,depth=6,heads=4)"
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
torch.manual_seed(0)

enc = build(spec, (1, 28, 28))
dim = enc(torch.zeros(1, 1, 28, 28)).shape[1]
proj = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(inplace=True), nn.Linear(128, 64))
model = nn.Sequential(enc, proj).train()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(256, 1, 28, 28)
dy = torch.randn(256, 64) * 1e-3

times = []
for s in range(-3, steps):
    t0 = time.perf_counter()
    z = model(x)
    opt.zero_grad(set_to_none=True)
    z.backward(dy)
    opt.step()
    if s >= 0:
        times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
nparams = sum(p.numel() for p in enc.parameters())
print(f"pytorch {torch.__version__}: {spec}, {nparams} parameters, threads {torch.get_num_threads()}, "
      f"{steps} steps, median {med * 1e3:.1f} ms/step (min {times[0] * 1e3:.1f})")
print(f"PYTORCH_MS {med * 1e3:.3f}")
