#!/usr/bin/python3
"""The reference side of `make bench-scale`: R1 contrastive training in PyTorch on one
process or on RANKS processes with torch.distributed (gloo) and DistributedDataParallel.

The model is bench/simclr_torch.py's R1 (encoder conv3x3(1->32, no bias) + BN + ReLU +
maxpool 2, conv3x3(32->64) + BN + ReLU + maxpool 2, conv3x3(64->128) + BN + ReLU + global
average pool; projector Linear(128, 128) + ReLU + Linear(128, 64)); the data the 60,000
Fashion-MNIST training images (bench/fmnist_idx.py), standardised with mean 0.2860 and
deviation 0.3530, NO augmentation: the two views of an image are the same image; the loss
NT-Xent with tau 0.5 over the 2B views of a global batch of B images; Adam, constant lr.

With RANKS = 2 every global batch is split: rank r takes rows [r B/2, (r+1) B/2) of it
(every rank draws the same shuffle); the projector outputs of all ranks are gathered with
torch.distributed.nn.functional.all_gather (differentiable), so each rank computes the loss
of the whole global batch (global negatives). The gather's backward sums every rank's
gradient of its (identical) loss, which is RANKS times the global loss's gradient, and DDP
averages the parameter gradients over the ranks, so the update is the global loss's
gradient, as in one process. Batch norm uses each rank's own rows (no SyncBatchNorm);
broadcast_buffers=False, so the ranks keep their own running statistics (as simlearn).
THREADS intra-op threads per process, one inter-op thread.

WARMUP steps run first and are not timed; then STEPS steps are timed on rank 0, between
two barriers. Prints
"PYTORCH_SCALE ranks=.. threads=.. steps=.. seconds=.. images_per_s=.. median_step_ms=.. last_loss=..",
images/s = STEPS x B / seconds (global images; views are 2x that).
usage: scale_ddp.py [--ranks 1] [--threads 1] [--steps 60] [--warmup 5] [--batch 256]
                    [--tau 0.5] [--lr 1e-3] [--seed 0]"""
import argparse
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn  # noqa: F401  (not imported by torch.distributed itself: all_gather with autograd)
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_idx  # noqa: E402
from simclr_torch import MEAN, R1, STD, nt_xent  # noqa: E402


def train(rank, a):
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    ranks = a.ranks
    if ranks > 1:
        dist.init_process_group('gloo', init_method='env://', rank=rank, world_size=ranks)
    torch.manual_seed(a.seed)  # the same initial model and the same shuffles on every rank
    xtr = torch.from_numpy(fmnist_idx.images('train').copy()).unsqueeze(1)
    per_epoch = xtr.shape[0] // a.batch
    local = a.batch // ranks
    model = R1()
    net = model
    if ranks > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    net.train()
    total = a.warmup + a.steps
    step_s, loss, t0 = [], float('nan'), None
    for s in range(total):
        if s == a.warmup:
            if ranks > 1:
                dist.barrier()
            t0 = time.perf_counter()
        if s % per_epoch == 0:
            order = torch.randperm(xtr.shape[0])
        ts = time.perf_counter()
        j = s % per_epoch
        rows = order[j * a.batch + rank * local:j * a.batch + (rank + 1) * local]
        xb = xtr[rows].float().div_(255.0).sub_(MEAN).div_(STD)
        z = net(torch.cat([xb, xb], 0))  # view 1 rows, then view 2 rows
        if ranks > 1:
            parts = torch.distributed.nn.functional.all_gather(z)
            # the global order: every rank's view-1 rows, then every rank's view-2 rows
            z = torch.cat([p[:local] for p in parts] + [p[local:] for p in parts], 0)
        out = nt_xent(z, a.tau)
        opt.zero_grad(set_to_none=True)
        out.backward()
        opt.step()
        loss = out.item()
        if s >= a.warmup:
            step_s.append(time.perf_counter() - ts)
        if not np.isfinite(loss):
            sys.exit(f'scale_ddp.py: the loss is {loss} at step {s + 1} on rank {rank}')
    if ranks > 1:
        dist.barrier()
    seconds = time.perf_counter() - t0
    if rank == 0:
        print(f'PYTORCH_SCALE ranks={ranks} threads={torch.get_num_threads()} steps={a.steps} '
              f'seconds={seconds:.3f} images_per_s={a.steps * a.batch / seconds:.1f} '
              f'median_step_ms={np.median(step_s) * 1e3:.1f} last_loss={loss:.4f}', flush=True)
    if ranks > 1:
        dist.destroy_process_group()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(usage=__doc__.rsplit('usage: ', 1)[1])
    ap.add_argument('--ranks', type=int, default=1)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--steps', type=int, default=60)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--tau', type=float, default=0.5)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    if a.ranks < 1 or a.steps < 1 or a.warmup < 0 or a.batch % a.ranks:
        sys.exit('scale_ddp.py: needs --ranks >= 1 dividing --batch, --steps >= 1, --warmup >= 0')
    print(f'pytorch {torch.__version__}: {a.ranks} process(es) x {a.threads} thread(s), '
          f'{"DDP over gloo, global negatives by all_gather, " if a.ranks > 1 else ""}'
          f'batch {a.batch} (global, two identical views each), tau {a.tau}, Adam {a.lr:g} constant, '
          f'{a.warmup} warm-up + {a.steps} timed steps', flush=True)
    if a.ranks == 1:
        train(0, a)
        return
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(free_port())
    mp.spawn(train, args=(a,), nprocs=a.ranks, join=True)


if __name__ == '__main__':
    main()
