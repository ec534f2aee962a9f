#!/usr/bin/python3
"""R5 linear-probe benchmark driver: runs `simlearn probe` (validation-grid
selection, then a fit with the selected strength alone) and the scikit-learn
reference in the same run, on 2 threads, and prints the summary line."""
import os, re, subprocess, sys, time

simlearn, data = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
files = ['--train', f'{data}/x_train.npy', '--train-labels', f'{data}/y_train.npy',
         '--test', f'{data}/x_test.npy', '--test-labels', f'{data}/y_test.npy']


def probe(extra):
    cmd = [simlearn, 'probe'] + files + ['--threads', '2', '-q'] + extra
    print('$', ' '.join(cmd), flush=True)
    t = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.time() - t
    print(out, end='', flush=True)
    fit = float(re.search(r'refit on \d+ rows with lambda \S+: \d+ iterations, \d+ evaluations, ([\d.]+) s', out).group(1))
    sel = re.search(r'selection: ([\d.]+) s', out)
    lam = re.search(r'refit on \d+ rows with lambda (\S+):', out).group(1)
    acc = float(re.search(r'test ([\d.]+)%', out).group(1))
    cpu = float(re.search(r'processor ([\d.]+) s', out).group(1))
    return dict(fit=fit, select=float(sel.group(1)) if sel else 0.0, lam=lam, acc=acc, wall=wall, cpu=cpu)


grid = probe(['--no-confusion'])
print(f'simlearn with selection: {grid["select"]:.2f} s selection + {grid["fit"]:.2f} s refit '
      f'= {grid["select"] + grid["fit"]:.2f} s (command wall time {grid["wall"]:.2f} s), '
      f'lambda {grid["lam"]}, test {grid["acc"]:.2f}%', flush=True)

cmd = ['/usr/bin/python3', os.path.join(here, 'probe_sklearn.py'), data]
print('$', ' '.join(cmd), flush=True)
sk_out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
print('sklearn:', sk_out, flush=True)
sk = dict(kv.split('=') for kv in sk_out.split())

fixed = probe(['--lambda', grid['lam']])
print(f'simlearn fixed lambda {fixed["lam"]}: fit {fixed["fit"]:.2f} s '
      f'(command wall time {fixed["wall"]:.2f} s), test {fixed["acc"]:.2f}%', flush=True)

skfit = float(sk['fit'])
print(f'processor time (all threads): simlearn whole fixed-lambda probe {fixed["cpu"]:.2f} s, '
      f'sklearn fit {float(sk["cpu"]):.2f} s, ratio {float(sk["cpu"]) / fixed["cpu"]:.2f}')
print(f'with validation-grid selection: simlearn {grid["select"] + grid["fit"]:.2f} s ({grid["acc"]:.2f}%), '
      f'sklearn {skfit:.2f} s ({float(sk["test"]):.2f}%), ratio {skfit / (grid["select"] + grid["fit"]):.2f}')
print(f'probe: simlearn {fixed["fit"]:.2f} s ({fixed["acc"]:.2f}%), sklearn {skfit:.2f} s '
      f'({float(sk["test"]):.2f}%), ratio {skfit / fixed["fit"]:.2f}')
