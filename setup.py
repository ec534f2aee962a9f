"""`pip install .` for the Python package: builds the static library with
make (a portable x86-64 build in build-install/, as `make install` does),
then the extension module over it. Everything comes from Debian (python3-dev,
python3-numpy, python3-setuptools, python3-wheel, libopenblas-dev, ...:
`scripts/deps.sh core python`); no network is needed:

    pip install --no-build-isolation .
"""
import glob
import os
import re
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = "build-install"
ARCH = os.environ.get("INSTALL_ARCH")


def version():
    with open(os.path.join(HERE, "include", "simlearn.h")) as f:
        return re.search(r'#define SL_VERSION_STRING "([^"]+)"', f.read()).group(1)


class BuildWithLibrary(build_ext):
    """Build libsimlearn.a with the project's Makefile first."""

    def run(self):
        cmd = ["make", "-C", HERE, "--no-print-directory", f"-j{os.cpu_count() or 1}", f"BUILD={BUILD}",
               f"{BUILD}/libsimlearn.a"]
        if ARCH is not None:
            cmd.append(f"ARCH={ARCH}")
        else:
            cmd.append("ARCH=" + subprocess.run(["make", "-C", HERE, "-s", "print-install-arch"], check=True,
                                                capture_output=True, text=True).stdout.strip())
        subprocess.run(cmd, check=True)
        ldlibs = subprocess.run(["make", "-C", HERE, "-s", "print-ldlibs"], check=True, capture_output=True,
                                text=True).stdout.split()
        for ext in self.extensions:
            ext.extra_link_args = ldlibs
        super().run()


setup(
    name="simlearn",
    version=version(),
    description="Representations learned by similarity: training, search, evaluation, geometry, word vectors",
    packages=["simlearn"],
    package_dir={"": "python"},
    python_requires=">=3.9",
    install_requires=["numpy"],
    ext_modules=[Extension(
        "simlearn._simlearn",
        sources=sorted(glob.glob("python/simlearn/*.c")),
        depends=["python/simlearn/_simlearn.h"],
        include_dirs=["include"],
        extra_compile_args=["-std=c11", "-fopenmp", "-pthread"],
        extra_objects=[f"{BUILD}/libsimlearn.a"],
        extra_link_args=[],  # the library's own link flags, from the Makefile (build_ext below)
    )],
    cmdclass={"build_ext": BuildWithLibrary},
)
