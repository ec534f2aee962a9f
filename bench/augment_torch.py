#!/usr/bin/python3
"""PyTorch's side of `make bench-augment`: the same augmentation pipelines as
simlearn's batch producer, written as batched tensor ops on one thread, timed
on the same work: batches of 256 Fashion-MNIST training images (a shuffled
order), from the stored bytes to two augmented 28x28 float views of each in
[0, 1] (512 views per batch).

The pipeline is given in simlearn's spec syntax, limited to what applies to
one-channel images; each op does what simlearn's does:
  crop(smin,smax)  area fraction s ~ U(smin, smax), aspect ratio r log-uniform
                   in [3/4, 4/3], window min(sqrt(s r), 1) x min(sqrt(s / r), 1)
                   of the side at a uniform position inside the image, resampled
                   bilinearly to 28x28 with sample positions clamped to the
                   image (grid_sample, padding_mode='border', align_corners=False
                   gives exactly simlearn's sample positions);
  flip             horizontal mirror with probability 0.5;
  jitter(b,c)      brightness factor ~ U(1-b, 1+b), x = clamp(x * f, 0, 1); then
                   contrast factor ~ U(1-c, 1+c) around the image mean,
                   x = clamp(m + f (x - m), 0, 1) (saturation and hue do
                   nothing to gray images and are not accepted here);
  OP@p             applies OP with probability p.
usage: augment_torch.py STEPS WARMUP SPEC...
Prints one line per spec: "PYTORCH views_per_s=<rate> batches=<n> spec=<spec>"."""
import math
import re
import sys
import time

import torch
import torch.nn.functional as F

import fmnist_idx

BATCH = 256
SIDE = 28


def split_ops(spec):
    """The comma-separated ops of a spec, commas inside parentheses kept."""
    parts, depth, cur = [], 0, ''
    for ch in spec:
        depth += (ch == '(') - (ch == ')')
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    return parts + [cur]


def parse(spec):
    """[(name, args, probability)] for a spec such as crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8."""
    ops = []
    for part in split_ops(spec):
        m = re.fullmatch(r'\s*([a-z]+)(?:\(([^()]*)\))?(?:@([0-9.eE+-]+))?\s*', part)
        name = m.group(1) if m else None
        args = [float(a) for a in m.group(2).split(',')] if m and m.group(2) else []
        if not m or not (name == 'crop' and len(args) == 2 or name == 'flip' and not args or
                         name == 'jitter' and len(args) == 2):
            sys.exit(f'augment_torch.py: "{part}" in "{spec}": only crop(smin,smax), flip and jitter(b,c), '
                     'each optionally followed by @p, are implemented here')
        prob = float(m.group(3)) if m.group(3) else (0.5 if name == 'flip' else 1.0)
        ops.append((name, args, prob))
    return ops


def crop(x, smin, smax, sel):
    n = x.shape[0]
    s = torch.empty(n).uniform_(smin, smax)
    r = torch.exp(torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3)))
    cw, ch = torch.sqrt(s * r).clamp(max=1.0), torch.sqrt(s / r).clamp(max=1.0)
    ox, oy = torch.rand(n) * (1 - cw), torch.rand(n) * (1 - ch)
    # Output pixel j at normalised position u_j = (2j + 1) / 28 - 1 samples the
    # source at normalised cw * u_j + (2 ox + cw - 1): source pixel
    # (ox + (j + 0.5) / 28 * cw) * 28 - 0.5, as in simlearn.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = cw, 2 * ox + cw - 1
    theta[:, 1, 1], theta[:, 1, 2] = ch, 2 * oy + ch - 1
    grid = F.affine_grid(theta, (n, 1, SIDE, SIDE), align_corners=False)
    out = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    return torch.where(sel.view(-1, 1, 1, 1), out, x)


def flip(x, sel):
    return torch.where(sel.view(-1, 1, 1, 1), x.flip(3), x)


def jitter(x, b, c, sel):
    n = x.shape[0]
    fb = torch.empty(n, 1, 1, 1).uniform_(1 - b, 1 + b)
    fc = torch.empty(n, 1, 1, 1).uniform_(1 - c, 1 + c)
    y = (x * fb).clamp_(0, 1) if b > 0 else x
    if c > 0:
        m = y.mean(dim=(1, 2, 3), keepdim=True)
        y = (m + fc * (y - m)).clamp_(0, 1)
    return torch.where(sel.view(-1, 1, 1, 1), y, x)


def view(x, ops):
    for name, args, prob in ops:
        sel = torch.rand(x.shape[0]) < prob if prob < 1 else torch.ones(x.shape[0], dtype=torch.bool)
        if name == 'crop':
            x = crop(x, args[0], args[1], sel)
        elif name == 'flip':
            x = flip(x, sel)
        else:
            x = jitter(x, args[0], args[1], sel)
    return x


def rate(pixels, ops, steps, warmup):
    per_epoch = pixels.shape[0] // BATCH
    order = torch.randperm(pixels.shape[0])
    t0 = None
    for s in range(warmup + steps):
        if s == warmup:
            t0 = time.perf_counter()
        j = s % per_epoch
        if j == 0 and s:
            order = torch.randperm(pixels.shape[0])
        xb = pixels[order[j * BATCH:(j + 1) * BATCH]].float().div_(255.0)
        v = torch.cat([view(xb, ops), view(xb, ops)], 0)
        if v.shape != (2 * BATCH, 1, SIDE, SIDE):
            sys.exit(f'augment_torch.py: views of shape {tuple(v.shape)}')
    return steps * 2 * BATCH / (time.perf_counter() - t0)


def main():
    if len(sys.argv) < 4:
        sys.exit('usage: augment_torch.py STEPS WARMUP SPEC...')
    steps, warmup = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    pixels = torch.from_numpy(fmnist_idx.images('train').copy()).unsqueeze(1)
    for spec in sys.argv[3:]:
        r = rate(pixels, parse(spec), steps, warmup)
        print(f'PYTORCH views_per_s={r:.0f} batches={steps} spec={spec}', flush=True)


if __name__ == '__main__':
    main()
