#!/usr/bin/python3
"""Driver of `make bench-probe` (R5): one multinomial logistic-regression fit on
standardised Fashion-MNIST pixels, simlearn (bench/probe_bench.c) against
scikit-learn (bench/probe_sklearn.py), with the same L2 strength, the same
standardisation, the same gradient tolerance and the same thread count, in the
same run.

Both solutions are then put in the same coordinates (scikit-learn's standardised
features) and scored by one float64 function here: the objective
mean_i CE_i + (lambda / 2) ||W||^2 and the largest entry of its gradient. The run
fails (exit status 1, no summary line) unless both solvers report convergence by the gradient test
and both solutions meet the tolerance in this independent check.
Ends with   probe: simlearn <s> s (<acc>%), sklearn <s> s (<acc>%), ratio <sklearn s / simlearn s>
usage: probe_bench.py PROBE_BENCH_BINARY DATADIR N LAMBDA TOL MAX_ITER THREADS OUTDIR"""
import os
import subprocess
import sys

if len(sys.argv) != 9:
    sys.exit(__doc__.rsplit('usage: ', 1)[1])
binary, data, nwant, lam, tol, max_iter, threads, out = sys.argv[1:]
os.environ.setdefault('OPENBLAS_NUM_THREADS', threads)
import numpy as np  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(out, exist_ok=True)
# The independent check recomputes the gradient in float64; simlearn's own
# test uses float32 products, so a solution may sit this little above TOL here.
SLACK = 1.05


def run(cmd, tag):
    print('$', ' '.join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(res.stderr)
    if res.returncode != 0:
        sys.exit(f'probe_bench.py: {cmd[0]} exited with status {res.returncode}')
    line = [ln for ln in res.stdout.splitlines() if ln.startswith(tag + ' ')]
    if len(line) != 1:
        sys.exit(f'probe_bench.py: no "{tag}" line in the output of {cmd[0]}:\n{res.stdout}')
    return dict(kv.split('=', 1) for kv in line[0].split()[1:])


def objective(W, b, xs, y, lam):
    """Mean cross-entropy + lambda/2 ||W||^2 and the largest |gradient| entry (W and b)."""
    z = xs @ W.T + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    s = p.sum(axis=1, keepdims=True)
    n = len(y)
    ce = np.log(s[:, 0]) - z[np.arange(n), y]
    p /= s
    p[np.arange(n), y] -= 1.0
    gW = p.T @ xs / n + lam * W
    gb = p.mean(axis=0)
    f = ce.mean() + 0.5 * lam * np.sum(W * W)
    return f, max(np.abs(gW).max(), np.abs(gb).max())


sl = run([binary, f'{data}/train_x.npy', f'{data}/train_y.npy', f'{data}/test_x.npy', f'{data}/test_y.npy',
          nwant, lam, tol, max_iter, threads, f'{out}/simlearn'], 'SIMLEARN')
sk = run(['/usr/bin/python3', os.path.join(here, 'probe_sklearn.py'), data, nwant, lam, tol, max_iter, threads,
          f'{out}/sklearn'], 'SKLEARN')
lam_f, tol_f = float(lam), float(tol)

xtr = np.load(f'{data}/train_x.npy')
ytr = np.load(f'{data}/train_y.npy')
n = int(nwant) if 0 < int(nwant) < len(xtr) else len(xtr)
xtr, ytr = xtr[:n].astype(np.float64), ytr[:n]
classes = np.unique(ytr)
y = np.searchsorted(classes, ytr)


def load(side, name):
    a = np.load(f'{out}/{side}.{name}.npy').astype(np.float64)
    return a if name == 'W' else a.reshape(-1)


m_sk, s_sk = load('sklearn', 'mean'), load('sklearn', 'scale')
xs = (xtr - m_sk) / s_sk
# simlearn's solution, moved from its own standardisation to scikit-learn's.
m_sl, s_sl = load('simlearn', 'mean'), load('simlearn', 'scale')
W_sl = load('simlearn', 'W')
b_sl = load('simlearn', 'b') + (W_sl / s_sl) @ (m_sk - m_sl)
W_sl = W_sl * (s_sk / s_sl)
f_sl, g_sl = objective(W_sl, b_sl, xs, y, lam_f)
f_sk, g_sk = objective(load('sklearn', 'W'), load('sklearn', 'b'), xs, y, lam_f)

print(f'problem: {n} training rows x {xtr.shape[1]} standardised pixels, {len(classes)} classes, '
      f'lambda {lam_f:g} (scikit-learn C = 1/(lambda n) = {float(sk["C"]):.6g}), gradient tolerance {tol_f:g} '
      f'on the mean loss (scikit-learn tol = {float(sk["tol"]):.6g} on its summed loss), '
      f'at most {max_iter} iterations, {threads} threads')
print(f'simlearn: fit {float(sl["fit_s"]):.2f} s ({sl["iterations"]} iterations, {sl["evaluations"]} evaluations, '
      f'stop: {sl["stop"]}; own report: loss {float(sl["objective"]):.8f}, max |grad| {float(sl["max_grad"]):.2e}), '
      f'whole run {float(sl["whole_s"]):.2f} s, processor {float(sl["cpu_s"]):.2f} s, '
      f'train {float(sl["train_acc"]):.2f}%, test {float(sl["test_acc"]):.2f}%')
print(f'sklearn {sk["version"]}: fit {float(sk["fit_s"]):.2f} s ({sk["iterations"]} iterations, '
      f'converged: {"yes" if sk["converged"] == "1" else "no"}), whole run {float(sk["whole_s"]):.2f} s, '
      f'processor {float(sk["cpu_s"]):.2f} s, train {float(sk["train_acc"]):.2f}%, test {float(sk["test_acc"]):.2f}%')
print(f'check (float64, same coordinates): simlearn loss {f_sl:.8f} max |grad| {g_sl:.2e}; '
      f'sklearn loss {f_sk:.8f} max |grad| {g_sk:.2e}; loss difference {f_sl - f_sk:+.2e}')
bad = []
if sl['stop'] != 'gradient':
    bad.append(f'simlearn stopped by "{sl["stop"]}", not by the gradient test')
if sk['converged'] != '1':
    bad.append('scikit-learn did not converge (ConvergenceWarning or iteration limit)')
if g_sl > SLACK * tol_f:
    bad.append(f'simlearn solution: max |grad| {g_sl:.2e} > tolerance {tol_f:g}')
if g_sk > SLACK * tol_f:
    bad.append(f'scikit-learn solution: max |grad| {g_sk:.2e} > tolerance {tol_f:g}')
if bad:
    sys.exit('\n'.join('FAIL: ' + b for b in bad))
print(f'probe: simlearn {float(sl["fit_s"]):.2f} s ({float(sl["test_acc"]):.2f}%), sklearn {float(sk["fit_s"]):.2f} s '
      f'({float(sk["test_acc"]):.2f}%), ratio {float(sk["fit_s"]) / float(sl["fit_s"]):.2f}')
