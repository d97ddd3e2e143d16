"""`make wheel` writes a platform wheel for this Python and .venv's
TensorFlow that carries no build-time path, names in its metadata the
TensorFlow it was built for, and installs and trains in a fresh venv with no
Go, no compiler and no clone."""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest
import tensorflow as tf

import gofocal

ROOT = pathlib.Path(__file__).resolve().parents[3]
MAJOR_MINOR = ".".join(tf.__version__.split(".")[:2])
TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
PLATFORM = sysconfig.get_platform().replace("-", "_").replace(".", "_")
WHEEL_NAME = f"gofocal-{gofocal.__version__}-{TAG}-{TAG}-{PLATFORM}.whl"


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHONPATH")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


def _run(args, timeout=1200, **kwargs):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _run(["make", "-C", ROOT, "--no-print-directory", "wheel", f"WHEEL_DIR={out}"], env=_env())
    wheels = sorted(out.glob("gofocal-*.whl"))
    assert [w.name for w in wheels] == [WHEEL_NAME]
    return wheels[0]


def test_wheel_is_a_platform_wheel(wheel):
    with zipfile.ZipFile(wheel) as z:
        info = z.read(f"gofocal-{gofocal.__version__}.dist-info/WHEEL").decode()
        names = z.namelist()
    assert "Root-Is-Purelib: false" in info, info
    assert f"Tag: {TAG}-{TAG}-{PLATFORM}" in info, info
    for name in ("libgoloss.so", "_gofocal_ops.so", "_build_info.py", "__init__.py"):
        assert f"gofocal/{name}" in names, names


def test_metadata_names_the_tensorflow_it_was_built_for(wheel):
    with zipfile.ZipFile(wheel) as z:
        metadata = z.read(f"gofocal-{gofocal.__version__}.dist-info/METADATA").decode()
        build_info = z.read("gofocal/_build_info.py").decode()
    major, minor = (int(p) for p in MAJOR_MINOR.split("."))
    pin = f"<{major}.{minor + 1},>={major}.{minor}"
    requires = re.findall(r"^Requires-Dist: (.*)$", metadata, re.M)
    # No hard TensorFlow requirement (users have tensorflow or tensorflow-cpu):
    # the TensorFlow it was built for is in the extras, as tensorflow/addons did.
    assert sorted(requires) == sorted([
        "numpy", f'tensorflow{pin}; extra == "tensorflow"',
        f'tensorflow-cpu{pin}; extra == "tensorflow-cpu"']), requires
    assert f'TENSORFLOW_VERSION = "{tf.__version__}"' in build_info, build_info


def test_no_build_time_path_inside(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path)
    package = tmp_path / "gofocal"
    runpath = {}
    for name in ("_gofocal_ops.so", "libgoloss.so"):
        dynamic = _run(["readelf", "-d", package / name]).stdout
        runpath[name] = re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dynamic)
    assert runpath == {"_gofocal_ops.so": ["$ORIGIN/../tensorflow"], "libgoloss.so": []}, runpath
    # Nowhere the clone, this venv (TensorFlow's headers), Go's root or a home.
    goroot = _run(["go", "env", "GOROOT"]).stdout.strip()
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for build_path in {str(ROOT), sys.prefix, os.path.realpath(sys.prefix), goroot,
                               os.path.expanduser("~")}:
                assert build_path.encode() not in data, (path, build_path)


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory):
    """A new venv with TensorFlow from PyPI (pip's cache has .venv's) and the
    wheel, installed with no Go, compiler or make on PATH."""
    venv = tmp_path_factory.mktemp("wheel") / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    requirements = (ROOT / "python" / "requirements.txt").read_text()
    pins = re.findall(r"^((?:tensorflow-cpu|keras)==\S+)", requirements, re.M)
    assert len(pins) == 2, pins
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins])
    go = shutil.which("go")
    bare_path = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep)
        if not (go and os.path.exists(os.path.join(d, "go"))))
    env = _env(PATH=os.pathsep.join([str(venv / "bin"), bare_path]))
    assert subprocess.run(["bash", "-c", "which go"], env=env, capture_output=True).returncode != 0
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel], env=env)
    return python, env


def test_wheel_trains_in_a_fresh_venv_without_go(fresh_venv, tmp_path):
    python, env = fresh_venv
    example = """
import numpy as np, keras, gofocal
print(gofocal.__file__)
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
y = np.eye(4, dtype="float32")[np.argmax(x[:, :4], axis=1)]
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="softmax")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=gofocal.focal_loss([30, 20, 10, 4]))
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
assert history[-1] < history[0], history
print("trained", history)
"""
    done = _run([python, "-c", example], env=env, cwd=tmp_path)
    where, trained = done.stdout.strip().splitlines()[-2:]
    assert "site-packages" in where and not where.startswith(str(ROOT)), where
    assert trained.startswith("trained"), done.stdout


def test_version_in_a_fresh_venv_without_go(fresh_venv, tmp_path):
    python, env = fresh_venv
    out = _run([python, "-m", "gofocal", "--version"], env=env, cwd=tmp_path).stdout
    assert f"gofocal {gofocal.__version__}" in out, out
    assert f"op library built against tensorflow {tf.__version__}" in out, out
    assert "op check: loss 0.108304" in out, out


def test_other_tensorflow_says_which_wheel(fresh_venv, tmp_path):
    """Under another TensorFlow major.minor (faked in _build_info.py) the
    import names both versions and what to install."""
    python, env = fresh_venv
    where = _run([python, "-c", "import gofocal._build_info as b; print(b.__file__)"],
                 env=env, cwd=tmp_path).stdout.strip()
    info = pathlib.Path(where)
    original = info.read_text()
    info.write_text('TENSORFLOW_VERSION = "2.15.1"\n')
    try:
        done = subprocess.run([str(python), "-c", "import gofocal"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    finally:
        info.write_text(original)
    assert done.returncode == 1
    message = done.stderr.strip().splitlines()[-1]
    assert (f"built against TensorFlow 2.15.1, but TensorFlow {tf.__version__} is running; "
            "rebuild it for this TensorFlow") in message, message
    assert "`pip install ./python` from a clone of gofocal" in message, message
    assert f"a gofocal wheel built for TensorFlow {MAJOR_MINOR}" in message, message
    assert "`pip install tensorflow-cpu==2.15.*`" in message, message
