"""Builds gofocal's two native libraries into a platform wheel.

`pip install ./python` (from a clone of the repository, with Go >= 1.26,
g++ and make on PATH, into an environment that already has TensorFlow 2.16
to 2.21) runs `make libs` at the repository root: libgoloss.so from the Go
core and _gofocal_ops.so compiled against the TensorFlow of the environment
being installed into, not of pip's isolated build environment. `make wheel`
builds the same wheel into dist/.

Every build is keyed on that TensorFlow: setuptools and make build in a
folder of their own per TensorFlow version, Python and TensorFlow folder
(python/build/tf2.21.0-cpython-311-1a2b3c4d5e), where make's stamps also
rebuild the op when the TensorFlow in that folder changes, and the libraries
are copied from there into the wheel on every build: no build packages
libraries built for another TensorFlow.

The wheel is for one CPython and platform (cp311-cp311-linux_x86_64) and one
TensorFlow major.minor, which its metadata names as extras, the way
tensorflow/addons did: `gofocal[tensorflow]` and `gofocal[tensorflow-cpu]`
require that TensorFlow (`tensorflow>=2.18,<2.19`); plain `gofocal` requires
none, since a dependency cannot say "tensorflow or tensorflow-cpu", and
`import gofocal` under another TensorFlow is an ImportError naming both
versions.
"""

import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
NATIVE_FILES = ("libgoloss.so", "_gofocal_ops.so", "_build_info.py")
SKIP_NATIVE = bool(os.environ.get("GOFOCAL_SKIP_NATIVE_BUILD"))  # `make shared-lib`: editable


def _target_environment():
    """This interpreter's environment without pip's build isolation, which
    hides the target's site-packages through PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


_PROBE = """
import json, sys
import tensorflow as tf
print(json.dumps({"version": tf.__version__, "include": tf.sysconfig.get_include(),
                  "python": sys.implementation.cache_tag}))
"""


_found = None


def _target_tensorflow():
    """The TensorFlow of the environment being installed into: its version,
    header folder and this Python's tag. Asked of that environment's Python
    once per installed TensorFlow (importing it takes seconds, and pip runs
    setup.py three times a build): the answer is kept under the fingerprint
    that make's packaging/tf_id.py gives it without importing it."""
    global _found
    if _found is not None:
        return _found
    env = _target_environment()
    identify = subprocess.run([sys.executable, str(ROOT / "packaging" / "tf_id.py")], env=env,
                              capture_output=True, text=True)
    fingerprint = identify.stdout
    cache = HERE / "build" / "tf-probe" / (hashlib.sha256(fingerprint.encode()).hexdigest()[:16] + ".json")
    known = identify.returncode == 0 and "\ntensorflow none" not in fingerprint
    if known and cache.exists():
        _found = json.loads(cache.read_text())
        return _found
    check = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(
            "gofocal: building needs TensorFlow 2.16 to 2.21 (tensorflow or tensorflow-cpu) "
            f"installed in the target environment ({sys.executable}); install it first, "
            "for example `pip install tensorflow-cpu==2.18.*`.\n" + check.stderr[-800:])
    _found = json.loads(check.stdout.strip().splitlines()[-1])
    if known:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(_found))
        partial.replace(cache)
    return _found


def _build_key(tf):
    """One build folder per TensorFlow version, Python and TensorFlow
    folder: two environments never share a build of the op."""
    folder = hashlib.sha256(tf["include"].encode()).hexdigest()[:10]
    return f"tf{tf['version']}-{tf['python']}-{folder}"


def _go_version_needed():
    found = re.search(r"^go (\d+)\.(\d+)", (ROOT / "go.mod").read_text(), re.M)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 0)


def _check_tools():
    """make, Go and a C++ compiler, before make runs: without them the
    build would fail deep in make's output."""
    missing = []
    if shutil.which("make") is None:
        missing.append("make (GNU make; Debian/Ubuntu: apt-get install make)")
    cxx = shlex.split(os.environ.get("CXX", "g++"))[0]
    if shutil.which(cxx) is None:
        missing.append(f"{cxx}, a C++17 compiler for the TensorFlow op "
                       "(Debian/Ubuntu: apt-get install g++; or set CXX)")
    need = _go_version_needed()
    go = shutil.which(os.environ.get("GO", "go"))
    if go is None:
        missing.append(f"go, Go >= {need[0]}.{need[1]} for the loss core (https://go.dev/dl/)")
    else:
        found = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                               env=dict(os.environ, GOTOOLCHAIN="local")).stdout.strip()
        version = re.match(r"go(\d+)\.(\d+)", found)
        if version and (int(version.group(1)), int(version.group(2))) < need:
            missing.append(f"Go >= {need[0]}.{need[1]} for the loss core (https://go.dev/dl/); "
                           f"{go} is {found}")
    if missing:
        raise SystemExit(
            "gofocal: building from source needs, on PATH:\n  " + "\n  ".join(missing) +
            "\nInstall them and run pip again, or install a wheel built elsewhere "
            "(`make wheel` in a clone writes dist/gofocal-*.whl for one TensorFlow).")


class BuildNative(build_py):
    """build_py, then the native libraries into the build's package folder."""

    def run(self):
        super().run()
        if SKIP_NATIVE:
            return  # `make shared-lib` builds them in the source tree itself
        tf = _target_tensorflow()
        scratch = HERE / "build" / _build_key(tf) / "native"
        built = scratch / "gofocal"
        built.mkdir(parents=True, exist_ok=True)
        # -trimpath: no build-time path in libgoloss.so.
        env = dict(_target_environment(), GOFLAGS=(os.environ.get("GOFLAGS", "") + " -trimpath").strip())
        for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
            env.pop(name, None)  # `make wheel` runs pip: this make is not its child
        subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "libs", f"PKG={built}",
                        f"BUILD={scratch}", f"TF_PYTHON={sys.executable}"], env=env, check=True)
        package = pathlib.Path(self.build_lib) / "gofocal"
        for name in NATIVE_FILES:
            shutil.copyfile(built / name, package / name)


class BinaryDistribution(Distribution):
    """A wheel for one Python and platform: it holds native libraries."""

    def has_ext_modules(self):
        return True


def _tensorflow_extras():
    """The TensorFlow the libraries are built for, as extras (as
    tensorflow/addons did): `gofocal[tensorflow]`, `gofocal[tensorflow-cpu]`."""
    if SKIP_NATIVE:
        return {}
    major, minor = (int(part) for part in _target_tensorflow()["version"].split(".")[:2])
    pin = f">={major}.{minor},<{major}.{minor + 1}"
    return {"tensorflow": [f"tensorflow{pin}"], "tensorflow-cpu": [f"tensorflow-cpu{pin}"]}


def _options():
    if SKIP_NATIVE:
        return {}
    # setuptools' build folders (build/lib.*, build/bdist.*, the egg-info)
    # per TensorFlow too, beside make's (native/): two builds, even at once,
    # never share one.
    base = HERE / "build" / _build_key(_target_tensorflow())
    base.mkdir(parents=True, exist_ok=True)
    return {"build": {"build_base": str(base)}, "egg_info": {"egg_base": str(base)}}


if not SKIP_NATIVE:
    # What the build needs, said before pip gets as far as building.
    if not (ROOT / "go.mod").exists() or not (ROOT / "Makefile").exists():
        raise SystemExit(f"gofocal: build from a clone of the repository: {ROOT} lacks "
                         "go.mod and the Makefile")
    _check_tools()
    _target_tensorflow()

setup(cmdclass={"build_py": BuildNative}, distclass=BinaryDistribution,
      extras_require=_tensorflow_extras(), options=_options())
