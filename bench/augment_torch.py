#!/usr/bin/python3
"""Augmentation throughput of the PyTorch reference on one thread: the R1 anchor's
batched random-resized-crop + horizontal flip (affine_grid + grid_sample, as in
simclr_torch.py), 2 views x 256 Fashion-MNIST images per step; and the same with
brightness/contrast jitter (p=0.8) and grayscale (a no-op on one channel) added as
tensor ops, which is what simlearn's `simclr` preset does."""
import sys, os, time, math
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else '../shared/anchors')
from fmnist import load

torch.set_num_threads(1); torch.set_num_interop_threads(1); torch.manual_seed(0)
Xtr = torch.from_numpy(load()[0].reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)

def crop_flip(x):
    n = x.shape[0]
    area = torch.empty(n).uniform_(0.6, 1.0)
    r = torch.exp(torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3)))
    w = torch.sqrt(area * r).clamp(max=1.0); h = torch.sqrt(area / r).clamp(max=1.0)
    cx = (torch.rand(n) * 2 - 1) * (1 - w); cy = (torch.rand(n) * 2 - 1) * (1 - h)
    flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = w * flip; theta[:, 0, 2] = cx; theta[:, 1, 1] = h; theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)

def simclr(x):
    x = crop_flip(x)
    n = x.shape[0]
    on = (torch.rand(n, 1, 1, 1) < 0.8).float()
    b = 1 + (torch.rand(n, 1, 1, 1) * 0.8 - 0.4) * on
    c = 1 + (torch.rand(n, 1, 1, 1) * 0.8 - 0.4) * on
    x = (x * b).clamp(0, 1)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - m) * c + m).clamp(0, 1)

B = 256
perm = torch.randperm(60000)
def rate(fn, steps=60):
    for i in range(5):
        xb = Xtr[perm[i * B:(i + 1) * B]]; torch.cat([fn(xb), fn(xb)], 0)
    t0 = time.time()
    for i in range(steps):
        j = i % (60000 // B)
        xb = Xtr[perm[j * B:(j + 1) * B]]; torch.cat([fn(xb), fn(xb)], 0)
    return steps * 2 * B / (time.time() - t0)

print('pytorch crop+flip views/s %.0f' % rate(crop_flip))
print('pytorch simclr views/s %.0f' % rate(simclr))
