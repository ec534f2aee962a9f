#!/usr/bin/python3
"""CLIP on shapes: image->text recall@1/5 against the validation captions (a hit is a
retrieved caption with the same text, i.e. the same shape, colour, size and location).
Zero-shot classification is simlearn zeroshot's (bench/clip_run.sh).
usage: clip_eval.py IMG.npy CAPS.npy"""
import sys
import numpy as np
def unit(a):
    a = a.astype(np.float64); return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
img, cap = (unit(np.load(p)) for p in sys.argv[1:3])
stem = sys.argv[1][:-4]
lab = {a: np.load(f"{stem}.{a}.npy") for a in ('shape', 'color', 'size', 'location')}
key = lab['shape'] * 1000 + lab['color'] * 100 + lab['size'] * 10 + lab['location']
s = img @ cap.T
top = np.argsort(-s, axis=1, kind='stable')[:, :5]
hit = key[top] == key[:, None]
r1, r5 = hit[:, 0].mean(), hit.any(1).mean()
# chance of recall@1: the share of captions equal to a random image's caption
_, cnt = np.unique(key, return_counts=True)
chance_r1 = (cnt ** 2).sum() / len(key) ** 2
print(f"RECALL r1 {r1 * 100:.1f} r5 {r5 * 100:.1f} (chance r1 {chance_r1 * 100:.2f}) over {len(key)} images")
