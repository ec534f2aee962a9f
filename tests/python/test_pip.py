"""`pip install .` from a copy of the source tree, offline, with Debian's pip
and setuptools: the package installs and works."""

import os
import shutil
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = {".git", "build", "build-asan", "build-install", "simlearn", "out", "demo-out"}  # at the top


def test_pip_install_builds_and_imports(tmp_path):
    src = tmp_path / "src"
    def ignore(d, names):
        top = os.path.abspath(d) == TOP
        return [n for n in names if (top and n in SKIP) or n == "__pycache__" or n.endswith(".egg-info")]

    shutil.copytree(TOP, src, ignore=ignore)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                        "--target", str(tmp_path / "site"), str(src)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(src / "build-install" / "libsimlearn.a")
    code = ("import numpy as np, simlearn; x = np.random.default_rng(0).random((50, 8), dtype=np.float32);"
            "i = simlearn.Index(8); i.add(x); s, ids = i.search(x[:3], 1);"
            "m = simlearn.Model('linear(2)', '8'); print(simlearn.__file__, ids.ravel().tolist(), m(x).shape)")
    out = subprocess.run([sys.executable, "-c", code], env=dict(env, PYTHONPATH=str(tmp_path / "site")),
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(tmp_path / "site" / "simlearn" / "__init__.py"), "[0,", "1,", "2]", "(50,", "2)"]
