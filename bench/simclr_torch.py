#!/usr/bin/python3
"""The R1 workload in PyTorch, the reference side of `make bench-r1`.

Contrastive (SimCLR-style) training on the 60,000 Fashion-MNIST training images:
  encoder   conv3x3(1->32, no bias) + BN + ReLU + maxpool 2,
            conv3x3(32->64, no bias) + BN + ReLU + maxpool 2,
            conv3x3(64->128, no bias) + BN + ReLU + global average pool -> 128-d;
  projector Linear(128, 128) + ReLU + Linear(128, 64);
  loss      NT-Xent over the 2B views of a batch of B images: cosine similarities
            / tau, each view's twin is its positive, the other 2B - 2 views its
            negatives, mean cross-entropy over the 2B rows;
  views     two per image, by the batched ops of bench/augment_torch.py (the same
            ops as simlearn's augmentation spec, default crop(0.6,1.0),flip), then
            standardised with the Fashion-MNIST mean 0.2860 and deviation 0.3530;
  optimiser Adam (betas 0.9 / 0.999, eps 1e-8), constant learning rate;
  order     a new shuffle every epoch, 60000 // B full batches per epoch.
PyTorch's default initialisation; THREADS intra-op threads, one inter-op thread.

Afterwards the encoder, in eval mode, embeds the training and the test images;
the 128-d features go to OUTDIR/torch_{train,test}.npy with labels in
OUTDIR/torch_{train,test}.labels.npy, for bench/r1_eval.py (the evaluation
both sides of the benchmark share). The speed is the whole training loop:
images per second = steps x B / training wall time (views are 2x that).
Prints "PYTORCH_TRAIN steps=.. seconds=.. images_per_s=.. median_step_ms=.. last_loss=..".
usage: simclr_torch.py OUTDIR [--epochs 8 | --steps N] [--threads 2] [--batch 256]
                       [--tau 0.5] [--lr 1e-3] [--aug SPEC] [--seed 0]"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import augment_torch
import fmnist_idx

MEAN, STD = 0.2860, 0.3530


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class R1(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(*block(1, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                                     *block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.projector = nn.Sequential(nn.Linear(128, 128), nn.ReLU(inplace=True), nn.Linear(128, 64))

    def forward(self, x):
        return self.projector(self.encoder(x))


def nt_xent(z, tau):
    z = F.normalize(z, dim=1)
    rows = z.shape[0]
    logits = z @ z.t() / tau
    logits.fill_diagonal_(float('-inf'))
    twin = (torch.arange(rows) + rows // 2) % rows
    return F.cross_entropy(logits, twin)


@torch.no_grad()
def embed(model, pixels):
    model.eval()
    out = []
    for i in range(0, pixels.shape[0], 1000):
        x = pixels[i:i + 1000].float().div_(255.0).sub_(MEAN).div_(STD)
        out.append(model.encoder(x))
    return torch.cat(out).numpy().astype(np.float32)


def save(path, a):
    tmp = path + '.tmp.npy'
    np.save(tmp, a)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(usage=__doc__.rsplit('usage: ', 1)[1])
    ap.add_argument('outdir')
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--steps', type=int, default=0, help='train this many steps instead of whole epochs')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--tau', type=float, default=0.5)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--aug', default='crop(0.6,1.0),flip')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    ops = augment_torch.parse(a.aug)
    xtr = torch.from_numpy(fmnist_idx.images('train').copy()).unsqueeze(1)
    xte = torch.from_numpy(fmnist_idx.images('test').copy()).unsqueeze(1)
    per_epoch = xtr.shape[0] // a.batch
    steps = a.steps if a.steps > 0 else a.epochs * per_epoch
    if steps <= 0:
        sys.exit('simclr_torch.py: nothing to train (--epochs or --steps must be > 0)')
    print(f'pytorch {torch.__version__}: {steps} steps ({steps / per_epoch:.2f} epochs of {per_epoch}), batch '
          f'{a.batch} (two views each), tau {a.tau}, Adam {a.lr:g} constant, views {a.aug}, '
          f'{torch.get_num_threads()} threads', flush=True)

    model = R1()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    model.train()
    step_s, loss = [], float('nan')
    t0 = time.perf_counter()
    for s in range(steps):
        if s % per_epoch == 0:
            order = torch.randperm(xtr.shape[0])
        ts = time.perf_counter()
        j = s % per_epoch
        xb = xtr[order[j * a.batch:(j + 1) * a.batch]].float().div_(255.0)
        views = torch.cat([augment_torch.view(xb, ops), augment_torch.view(xb, ops)], 0).sub_(MEAN).div_(STD)
        out = nt_xent(model(views), a.tau)
        opt.zero_grad(set_to_none=True)
        out.backward()
        opt.step()
        loss = out.item()
        step_s.append(time.perf_counter() - ts)
        if not np.isfinite(loss):
            sys.exit(f'simclr_torch.py: the loss is {loss} at step {s + 1}')
        if (s + 1) % per_epoch == 0 or s + 1 == steps:
            print(f'step {s + 1}/{steps}: loss {loss:.4f}, {time.perf_counter() - t0:.1f} s', flush=True)
    train_s = time.perf_counter() - t0

    os.makedirs(a.outdir, exist_ok=True)
    for part, x in (('train', xtr), ('test', xte)):
        save(os.path.join(a.outdir, f'torch_{part}.npy'), embed(model, x))
        save(os.path.join(a.outdir, f'torch_{part}.labels.npy'), fmnist_idx.labels(part))
    print(f'PYTORCH_TRAIN steps={steps} seconds={train_s:.2f} images_per_s={steps * a.batch / train_s:.1f} '
          f'median_step_ms={np.median(step_s) * 1e3:.1f} last_loss={loss:.4f}', flush=True)


if __name__ == '__main__':
    main()
