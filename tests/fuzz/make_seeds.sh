#!/usr/bin/env bash
# Writes the seed corpora tests/fuzz/corpus/<target>/: small valid files made
# by simlearn's own writers (./simlearn, its replay binaries), by numpy and
# by libjpeg, and a few invalid ones. Run from the repository root after `make` and
# `make tests-build` (uses ./simlearn, build/tests/fuzz_shards and build/tests/fuzz_wordsckpt):
#   tests/fuzz/make_seeds.sh [SIMLEARN] [BUILD]
set -euo pipefail
SL=${1:-./simlearn}
BUILD=${2:-build}
PY=/usr/bin/python3
C=tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p $C/{npy,safetensors,w2v,idx,hnsw,shards,model,augment,jsonl,wordeval,wordsckpt,image,captions,ckpt,edges,subword}

# Other writers' files (tests/fixtures/thirdparty/README.md): numpy's own test
# files, numpy-written byte and element orders, gensim, fastText, PyTorch.
T=tests/fixtures/thirdparty
for f in $T/numpy/*.npy; do cp "$f" "$C/npy/thirdparty_numpy_$(basename "$f")"; done
cp $T/gensim/vectors.txt $C/w2v/thirdparty_gensim_text
cp $T/gensim/vectors.bin $C/w2v/thirdparty_gensim_binary
cp $T/fasttext/vectors.vec $C/w2v/thirdparty_fasttext_vec
cp $T/torch/tensors.safetensors $C/safetensors/thirdparty_torch_tensors

# npy: every dtype the reader takes, versions 1.0 and 2.0, and bad headers.
$PY - "$C/npy" <<'PY'
import sys, numpy as np, io, os
d = sys.argv[1]
def save(name, a, **kw):
    np.save(os.path.join(d, name), a, **kw)
save("f32_2d.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
save("f64_1d.npy", np.linspace(-1, 1, 5))
save("i64_labels.npy", np.array([0, 1, 2, 1], dtype=np.int64))
save("i32_2d.npy", np.arange(6, dtype=np.int32).reshape(2, 3))
save("u8_2d.npy", np.arange(6, dtype=np.uint8).reshape(3, 2))
save("f32_0d.npy", np.float32(3.5))
save("f32_3d.npy", np.zeros((2, 2, 2), np.float32))
save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("i8_bad_dtype.npy", np.arange(4, dtype=np.int8))
save("nan.npy", np.array([[1, np.nan]], dtype=np.float32))
b = io.BytesIO(); np.lib.format.write_array(b, np.ones((2, 2), np.float32), version=(2, 0))
open(os.path.join(d, "v2.npy"), "wb").write(b.getvalue())
good = open(os.path.join(d, "f32_2d.npy"), "rb").read()
open(os.path.join(d, "truncated.npy"), "wb").write(good[:-5])
open(os.path.join(d, "bad_magic.npy"), "wb").write(b"\x93NUMPX" + good[6:])
open(os.path.join(d, "huge_shape.npy"), "wb").write(good.replace(b"(3, 4)", b"(99999999999, 4)"[:6]))
PY

# safetensors: written by hand after the format (8-byte header length, JSON, data).
$PY - "$C/safetensors" <<'PY'
import sys, os, json, struct
d = sys.argv[1]
def st(name, tensors, meta=None, raw_header=None, data=b""):
    h = {}
    if meta is not None: h["__metadata__"] = meta
    off = 0; blob = b""
    for k, (dt, shape, payload) in tensors.items():
        h[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(payload)]}
        off += len(payload); blob += payload
    hb = raw_header if raw_header is not None else json.dumps(h).encode()
    open(os.path.join(d, name), "wb").write(struct.pack("<Q", len(hb)) + hb + blob + data)
f = lambda *v: struct.pack("<%df" % len(v), *v)
st("two.safetensors", {"0.weight": ("F32", [2, 2], f(1, 2, 3, 4)), "0.bias": ("F32", [2], f(0, 1))},
   meta={"step": "3", "format": "pt"})
st("int.safetensors", {"t": ("I64", [2], struct.pack("<2q", 5, -1)), "u": ("U8", [3], b"abc")})
st("f64.safetensors", {"x": ("F64", [1, 1], struct.pack("<d", 2.5))})
st("scalar.safetensors", {"s": ("F32", [], f(1))})
st("empty.safetensors", {})
st("bad_offsets.safetensors", {}, raw_header=b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}', data=f(1, 2))
st("bad_json.safetensors", {}, raw_header=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]')
st("bad_dtype.safetensors", {}, raw_header=b'{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}', data=f(1))
open(os.path.join(d, "short.safetensors"), "wb").write(b"\x10\x00\x00")
PY

# w2v: text (word2vec and fastText .vec), binary, multi-sense, and bad counts.
$PY - "$C/w2v" <<'PY'
import sys, os, struct
d = sys.argv[1]
w = lambda n, b: open(os.path.join(d, n), "wb").write(b)
w("text.txt", b"3 2\nthe 0.1 -0.2\nof 1 2\nand 3.5e-1 4\n")
w("text_crlf.vec", b"2 3\r\nthe 0.1 0.2 0.3 \r\ncaf\xc3\xa9 1 2 3\r\n")
w("binary.bin", b"2 2\n" + b"the " + struct.pack("<2f", 0.5, -1) + b"\n" + b"of " + struct.pack("<2f", 2, 3) + b"\n")
w("binary_nonl.bin", b"2 2\n" + b"the " + struct.pack("<2f", 0.5, -1) + b"of " + struct.pack("<2f", 2, 3))
w("senses.txt", b"3 2\nbank 0.5 0.5\nbank__1 0.1 0.2\nbank__2 0.3 0.4\n")
w("bad_count.txt", b"5 2\nthe 0.1 0.2\n")
w("bad_dim.txt", b"2 3\nthe 0.1 0.2\nof 1 2 3\n")
w("nan.txt", b"1 2\nthe nan 1\n")
w("huge.txt", b"99999999999 99999999\nthe 1 2\n")
PY

# idx: the first byte picks the layout (see tests/fuzz/idx.c): 0 an images
# file (plain or gzip), 1 a labels file beside two fixed images.
$PY - "$C/idx" <<'PY'
import sys, os, struct, gzip
d = sys.argv[1]
img = struct.pack(">BBBBIII", 0, 0, 8, 3, 3, 4, 4) + bytes(range(48))
lab = struct.pack(">BBBBI", 0, 0, 8, 1, 2) + bytes([3, 7])
w = lambda n, b: open(os.path.join(d, n), "wb").write(b)
w("images", b"\x00" + img)
w("images_gz", b"\x00" + gzip.compress(img, mtime=0))
w("labels", b"\x01" + lab)
w("labels_gz", b"\x01" + gzip.compress(lab, mtime=0))
w("labels_short", b"\x01" + struct.pack(">BBBBI", 0, 0, 8, 1, 1) + b"\x00")
w("images_truncated", b"\x00" + img[:30])
w("images_float", b"\x00" + struct.pack(">BBBBIII", 0, 0, 13, 3, 1, 1, 1) + b"\0\0\0\0")
w("images_huge", b"\x00" + struct.pack(">BBBBIII", 0, 0, 8, 3, 0xffffffff, 0xffff, 0xffff))
w("gz_broken", b"\x00" + gzip.compress(img, mtime=0)[:-9])
PY

# hnsw: indexes written by `simlearn index build` (plain, cosine with labels,
# keyed with ids, one with a deleted node) and broken copies.
$PY - "$tmp" <<'PY'
import sys, os, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
np.save(os.path.join(d, "x.npy"), rng.standard_normal((12, 3)).astype(np.float32))
np.save(os.path.join(d, "labels.npy"), np.arange(12, dtype=np.int64) % 3)
np.save(os.path.join(d, "ids.npy"), np.arange(12, dtype=np.int64) * 10 + 5)
PY
$SL index build "$tmp/x.npy" -o $C/hnsw/l2.hnsw --M 2 --ef-construction 8 >/dev/null
$SL index build "$tmp/x.npy" -o $C/hnsw/cos_labels.hnsw --metric cosine --M 4 --labels "$tmp/labels.npy" >/dev/null
$SL index build "$tmp/x.npy" -o $C/hnsw/ids.hnsw --metric ip --M 3 --ids "$tmp/ids.npy" >/dev/null
$SL index delete $C/hnsw/ids.hnsw --ids 15,25 -o $C/hnsw/deleted.hnsw >/dev/null
$PY - "$C/hnsw" <<'PY'
import sys, os
d = sys.argv[1]
# The target appends the checksum itself: the seeds are the files without it.
for n in os.listdir(d):
    p = os.path.join(d, n)
    b = open(p, "rb").read()
    open(p, "wb").write(b[:-8])
b = open(os.path.join(d, "l2.hnsw"), "rb").read()
open(os.path.join(d, "truncated.hnsw"), "wb").write(b[: len(b) // 2])
m = bytearray(b); m[len(b) // 2] ^= 0xFF
open(os.path.join(d, "flipped.hnsw"), "wb").write(bytes(m))
PY

# flat: indexes written by `simlearn index build --type flat` (plain, cosine
# with labels, keyed with ids and one deleted, empty) and broken copies.
mkdir -p $C/flat
$SL index build "$tmp/x.npy" -o $C/flat/l2.flat --type flat >/dev/null
$SL index build "$tmp/x.npy" -o $C/flat/cos_labels.flat --type flat --metric cosine --labels "$tmp/labels.npy" >/dev/null
$SL index build "$tmp/x.npy" -o $C/flat/ids.flat --type flat --metric ip --ids "$tmp/ids.npy" --labels "$tmp/labels.npy" >/dev/null
$SL index delete $C/flat/ids.flat --ids 15,25 -o $C/flat/deleted.flat >/dev/null
$SL index delete $C/flat/l2.flat --ids 0,1,2,3,4,5,6,7,8,9,10,11 -o $C/flat/empty.flat >/dev/null
$PY - "$C/flat" <<'PY'
import sys, os
d = sys.argv[1]
# The target appends the checksum itself: the seeds are the files without it.
for n in os.listdir(d):
    p = os.path.join(d, n)
    b = open(p, "rb").read()
    open(p, "wb").write(b[:-8])
b = open(os.path.join(d, "cos_labels.flat"), "rb").read()
open(os.path.join(d, "truncated.flat"), "wb").write(b[: len(b) // 2])
m = bytearray(b); m[20] ^= 0x01
open(os.path.join(d, "dim_changed.flat"), "wb").write(bytes(m))
PY

# shards: the valid manifest over the target's fixed shards, and variants.
: > "$tmp/empty"
SIMLEARN_FUZZ_SEED=$C/shards/two.manifest $BUILD/tests/fuzz_shards "$tmp/empty" >/dev/null
$PY - "$C/shards" <<'PY'
import sys, os
d = sys.argv[1]
# The target appends the checksum line itself: the seeds end before it.
m = open(os.path.join(d, "two.manifest"), "rb").read()
m = m[: m.rindex(b"checksum ")]
open(os.path.join(d, "two.manifest"), "wb").write(m)
lines = m.split(b"\n")
open(os.path.join(d, "one_line_less.manifest"), "wb").write(b"\n".join(lines[:-2] + lines[-1:]))
open(os.path.join(d, "other_file.manifest"), "wb").write(m.replace(b"s1.hnsw", b"s0.hnsw"))
open(os.path.join(d, "missing.manifest"), "wb").write(m.replace(b"s1.hnsw", b"s9.hnsw"))
open(os.path.join(d, "slash.manifest"), "wb").write(m.replace(b"s1.hnsw", b"../s1.hnsw"))
PY

# model: first line the input shape, then the spec (docs/nn.md).
m() { printf '%s\n%s' "$2" "$3" > "$C/model/$1"; }
m mlp 64 "linear(32),relu,linear(16)"
m conv 3x32x32 "conv(16,3,pad=1),bn,relu,maxpool(2),conv(32,3,stride=2),relu,gap,linear(10)"
m vit 3x32x32 "vit(patch=8,dim=32,depth=2,heads=2)"
m vit_layers 3x16x16 "patch(4,32),cls,pos,block(2,4),ln,tokfirst"
m txt 16 "txt(vocab=50,dim=16,depth=1,heads=2)"
m tokens 16 "tokemb(50,16),pos,block(2,4,causal=1),ln,tokmean"
m embbag 8 "embbag(100,16),linear(4)"
m decoder 17x32 "linear(16),masktok,pos,block(2),ln,linear(48)"
m upsample 1x28x28 "flatten,linear(64),unflatten(1,8,8),upsample(2),avgpool(2,stride=1,pad=1)"
m bad_arg 64 "linear(-1)"
m bad_name 64 "lineer(3)"
m bad_shape 3x2x2 "conv(4,5)"

# augment: the ops and presets of include/simlearn/data.h, and bad specs.
a() { printf '%s' "$2" > "$C/augment/$1"; }
a simclr simclr
a mono mono
a color color
a all "crop(0.6,1.0),flip,jitter(0.4,0.4,0.4,0.1)@0.8,gray(0.2),blur(1.0),noise(0.05),rotate(15),translate(4),cutout(8),permute-channels"
a keep "keep=shape+size,flip@0.3"
a bad_range "crop(2,1)"
a bad_prob "flip@1.5"
a bad_paren "rotate(15"

# jsonl: training-log lines as `train` writes them, and broken ones.
j() { printf "$2" > "$C/jsonl/$1"; }
j log '{"step":1,"epoch":0,"loss":2.5,"lr":0.001}\n{"step":2,"epoch":0,"loss":2.25,"lr":0.001,"knn_acc":0.5}\n'
j nested '{"step":1,"loss":1e-3,"eval":{"align":0.5,"uniform":-2}}\n{"step":2,"loss":-0.0,"note":"text \\u00e9"}\n'
j values '{"a":true,"b":null,"c":[1,2],"d":"x"}\r\n\n{"a":false}\n'
j bad_json '{"step":1,"loss":}\n'
j bad_number '{"step":1e999}\n'
j truncated '{"step":1,"loss":2'

# wordeval: analogy sections and similarity pairs over the target's six words.
w() { printf "$2" > "$C/wordeval/$1"; }
w analogy ': capital\nking queen man woman\nParis france king queen\n: gram-plural\nman woman KING QUEEN\n'
w similarity '# w1 w2 score\nking queen 8.5\nman\twoman\t7\nParis france 9.1\nking unknown 3\n'
w bad_analogy ': s\nking queen man\n'
w bad_score 'king queen x\n'
# edges: "child parent" lists of `words poincare`, good and bad.
g() { printf "$2" > "$C/edges/$1"; }
g closure.tsv 'dog\tcanine\ndog\tmammal\ncanine\tmammal\ncat\tfeline\ncat\tmammal\nfeline\tmammal\n'
g comments.tsv '# comment\n\n  a b \r\na b\nb c\na c\n'
g missing_column.tsv 'a b\ncat\n'
g third_column.tsv 'a b c\n'
g empty.tsv ''
g self_loop.tsv 'a a\n'
g nul.tsv 'a b\nc\0d e\n'
if [ -f /usr/share/wordnet/data.noun ]; then
  bench/wordnet_closure.py "$tmp/wn" >/dev/null && head -200 "$tmp/wn/mammals.tsv" > $C/edges/mammals_head.tsv
fi
# wordsckpt: checkpoints of a run on the target's fixed corpus (stopped after
# 3 rounds), and damaged copies.
SIMLEARN_FUZZ_SEED=$C/wordsckpt/run.ckpt $BUILD/tests/fuzz_wordsckpt "$tmp/empty" >/dev/null
$PY - "$C/wordsckpt" <<'PY'
import sys, os
d = sys.argv[1]
b = open(os.path.join(d, "run.ckpt"), "rb").read()
open(os.path.join(d, "truncated.ckpt"), "wb").write(b[: len(b) * 2 // 3])
for at in (8, 24, 64):
    m = bytearray(b); m[at] ^= 0x40
    open(os.path.join(d, "flip%d.ckpt" % at), "wb").write(bytes(m))
PY

# subword: subword models (.slsw) from `words train --maxn`: a plain one, a
# lowercase one with non-ASCII words, a sentence model (--model sent2vec),
# and damaged copies.
printf 'the caf\xc3\xa9 and the cat\nStra\xc3\x9fe und K\xc3\xa4se\n%.0s' $(seq 20) > "$tmp/sw.txt"
"$SL" words train "$tmp/sw.txt" -o "$tmp/sw.bin" --dim 4 --min-count 1 --epochs 1 --threads 1 --minn 2 --maxn 4 \
  --bucket 20 --save-model $C/subword/plain.slsw -q > /dev/null
"$SL" words train "$tmp/sw.txt" -o "$tmp/sw.bin" --dim 3 --min-count 2 --epochs 1 --threads 1 --minn 1 --maxn 3 \
  --bucket 7 --lowercase --save-model $C/subword/lower.slsw -q > /dev/null
"$SL" words train "$tmp/sw.txt" -o "$tmp/sw.bin" --dim 4 --min-count 1 --epochs 1 --threads 1 --model sent2vec \
  --bucket 11 --save-model $C/subword/sentence.slsw -q > /dev/null
$PY - "$C/subword" <<'PY'
import sys, os
d = sys.argv[1]
# The target appends the checksum itself: the seeds are the files without it.
for n in os.listdir(d):
    p = os.path.join(d, n)
    b = open(p, "rb").read()
    open(p, "wb").write(b[:-8])
b = open(os.path.join(d, "plain.slsw"), "rb").read()
open(os.path.join(d, "truncated.slsw"), "wb").write(b[: len(b) // 2])
# the version, minn, maxn, a word's length, a row's bytes
for at in (9, 20, 24, 40, len(b) - 4):
    m = bytearray(b); m[at] ^= 0x40
    open(os.path.join(d, "flip%d.slsw" % at), "wb").write(bytes(m))
PY

# image: PNGs written after the format with zlib (gray, RGB, RGBA, palette,
# 16-bit, gray+alpha) and JPEGs by libjpeg (baseline, progressive,
# grayscale), and broken ones.
cat > "$tmp/jpg.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
int main(int argc, char **argv) {
    int w = 8, h = 6, c = atoi(argv[2]), prog = atoi(argv[3]);
    unsigned char px[8 * 6 * 3];
    for (int i = 0; i < w * h * c; i++) px[i] = (unsigned char)(i * 37);
    struct jpeg_compress_struct j; struct jpeg_error_mgr e;
    j.err = jpeg_std_error(&e); jpeg_create_compress(&j);
    FILE *f = fopen(argv[1], "wb"); jpeg_stdio_dest(&j, f);
    j.image_width = w; j.image_height = h; j.input_components = c;
    j.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&j); jpeg_set_quality(&j, 80, TRUE);
    if (prog) jpeg_simple_progression(&j);
    jpeg_start_compress(&j, TRUE);
    while (j.next_scanline < j.image_height) { JSAMPROW r = px + j.next_scanline * w * c; jpeg_write_scanlines(&j, &r, 1); }
    jpeg_finish_compress(&j); fclose(f); jpeg_destroy_compress(&j); return 0;
}
C
cc -o "$tmp/jpg" "$tmp/jpg.c" -ljpeg
"$tmp/jpg" $C/image/rgb.jpg 3 0
"$tmp/jpg" $C/image/gray.jpg 1 0
"$tmp/jpg" $C/image/progressive.jpg 3 1
$PY - "$C/image" "$tmp" <<'PY'
import sys, os, numpy as np
d, tmp = sys.argv[1], sys.argv[2]
j = open(os.path.join(d, "rgb.jpg"), "rb").read()
open(os.path.join(d, "truncated.jpg"), "wb").write(j[: len(j) // 2])
import zlib, struct
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
def png(name, w, h, depth, ctype, bpp, extra=b""):
    raw = b"".join(b"\0" + bytes((x * 41 + y * 7) % 256 for x in range(w * bpp)) for y in range(h))
    b = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)) + extra
    b += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(os.path.join(d, name), "wb").write(b)
png("gray.png", 5, 3, 8, 0, 1)
png("rgb.png", 4, 4, 8, 2, 3)
png("rgba.png", 3, 2, 8, 6, 4)
png("gray_alpha.png", 2, 2, 8, 4, 2)
png("rgb16.png", 2, 2, 16, 2, 6)
png("palette.png", 4, 2, 8, 3, 1, chunk(b"PLTE", bytes(range(48))))
png("huge_dims.png", 1, 1, 8, 0, 1)
h = bytearray(open(os.path.join(d, "huge_dims.png"), "rb").read()); h[16:24] = struct.pack(">II", 100000, 100000)
open(os.path.join(d, "huge_dims.png"), "wb").write(bytes(h))
open(os.path.join(d, "bad_magic.png"), "wb").write(b"\x89PNX\r\n\x1a\n" + b"\0" * 16)
PY

# captions: the first byte picks .tsv (even) or Flickr8k .txt (odd); the
# target's folder holds a.png, b.png and a.jpg.
c() { printf "$2" > "$C/captions/$1"; }
c tsv '0a.png\ta red square\nb.png\ta blue circle\na.png\tanother caption\n'
c flickr '1a.jpg#0\tA dog runs .\na.jpg#1\tA dog is running .\n'
c missing '0c.png\tno such image\n'
c no_tab '0a.png a caption without a tab\n'
c bad_k '1a.jpg#x\tcaption\n'
c empty_caption '0a.png\t\n'
# ckpt: training checkpoints of two tiny runs of `simlearn train` on a .npy
# (with a projector and Adam; batch norm and SGD), their training logs for
# jsonl, and damaged copies.
$PY - "$tmp" <<'PY'
import sys, os, numpy as np
d = sys.argv[1]
np.save(os.path.join(d, "t.npy"), np.random.default_rng(0).standard_normal((32, 6)).astype(np.float32))
np.save(os.path.join(d, "ty.npy"), (np.arange(32) % 3).astype(np.int64))
PY
tr() { OMP_NUM_THREADS=1 $SL train --data "$tmp/t.npy" --labels "$tmp/ty.npy" --aug none --steps 2 --batch 8 --threads 1 "$@" >/dev/null; }
tr --encoder "flatten,linear(4)" --projector "linear(3)" --objective infonce -o $C/ckpt/infonce.safetensors
tr --encoder "flatten,linear(4),bn,relu" --projector none --objective supcon --optim sgd -o $C/ckpt/supcon.safetensors
mv $C/ckpt/infonce.jsonl $C/jsonl/train_infonce
mv $C/ckpt/supcon.jsonl $C/jsonl/train_supcon
$PY - "$C/ckpt" <<'PY'
import sys, os, struct, json
d = sys.argv[1]
b = open(os.path.join(d, "infonce.safetensors"), "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h["__metadata__"]
def save(name, hh):
    hb = json.dumps(hh).encode()
    open(os.path.join(d, name), "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
bad = dict(h); bad["__metadata__"] = dict(meta)
for k in list(meta):
    if k.endswith("spec"):
        bad["__metadata__"][k] = "linear(99999999)"
save("bad_spec.safetensors", bad)
nometa = {k: v for k, v in h.items() if k != "__metadata__"}
save("no_meta.safetensors", nometa)
open(os.path.join(d, "truncated.safetensors"), "wb").write(b[: len(b) - 40])
PY
echo "seeds: $(find $C -type f | wc -l) files, $(du -sk $C | cut -f1) KB"
