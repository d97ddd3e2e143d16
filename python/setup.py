"""Builds gofocal's two native libraries into the wheel.

`pip install ./python` (from a clone of the repository, with Go >= 1.26,
g++ and make on PATH, into an environment that already has TensorFlow 2.18)
runs `make libs` at the repository root: libgoloss.so from the Go core and
_gofocal_ops.so compiled against the TensorFlow of the environment being
installed into, not of pip's isolated build environment.
"""

import os
import pathlib
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _target_environment():
    """This interpreter's environment without pip's build isolation, which
    hides the target's site-packages through PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE")}
    check = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env,
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(
            "gofocal: building needs TensorFlow 2.18 installed in the target environment "
            f"({sys.executable}); install tensorflow-cpu==2.18.* first.\n" + check.stderr[-800:])
    return env


class BuildNative(build_py):
    """build_py, then the native libraries into the build's package folder."""

    def run(self):
        super().run()
        if os.environ.get("GOFOCAL_SKIP_NATIVE_BUILD"):
            return  # `make shared-lib` builds them in the source tree itself
        if not (ROOT / "go.mod").exists() or not (ROOT / "Makefile").exists():
            raise SystemExit(f"gofocal: build from a clone of the repository: {ROOT} lacks "
                             "go.mod and the Makefile")
        package = pathlib.Path(self.build_lib).resolve() / "gofocal"
        scratch = pathlib.Path(self.build_lib).resolve().parent / "gofocal-native"
        subprocess.run(["make", "-C", str(ROOT), "libs", f"PKG={package}", f"BUILD={scratch}",
                        f"TF_PYTHON={sys.executable}"], env=_target_environment(), check=True)


setup(cmdclass={"build_py": BuildNative})
