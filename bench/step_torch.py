#!/usr/bin/python3
"""PyTorch side of `make bench-step`: one training step (forward + backward +
Adam) of the R1 model (docs/BENCHMARKS.md, "Reference workloads") on 512 views
of 1x28x28, with the same stand-in loss as bench/step_bench.c: d(output) is a
fixed random tensor.
usage: step_torch.py [steps] [threads]"""
import sys, time
import torch, torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
torch.manual_seed(0)

def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

enc = nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                    *block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten())
proj = nn.Sequential(nn.Linear(128, 128), nn.ReLU(inplace=True), nn.Linear(128, 64))
model = nn.Sequential(enc, proj).train()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(512, 1, 28, 28)
dy = torch.randn(512, 64) * 1e-3

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
print(f"pytorch {torch.__version__}: threads {torch.get_num_threads()}, {steps} steps, "
      f"median {med * 1e3:.1f} ms/step (min {times[0] * 1e3:.1f})")
print(f"PYTORCH_MS {med * 1e3:.3f}")
