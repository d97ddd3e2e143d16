"""`pip install ./python` builds both libraries into a working package, which
reports its versions and refuses, clearly, a TensorFlow it was not built for."""

import os
import pathlib
import re
import subprocess
import sys
import sysconfig

import pytest

import gofocal
from gofocal import _native

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(args, cwd, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A new venv that sees this one's TensorFlow (through a .pth file, so no
    second 1.4 GB install) and gets gofocal from `pip install ./python`."""
    venv = tmp_path_factory.mktemp("pkg") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    pathlib.Path(purelib, "tensorflow_from_dev_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "./python"],
                cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return python, pathlib.Path(purelib)


def test_pip_install_builds_both_libraries(installed):
    python, purelib = installed
    package = purelib / "gofocal"
    for name in ("libgoloss.so", "_gofocal_ops.so", "_build_info.py"):
        assert (package / name).is_file(), name
    # The op library does not link the Go library (one Go runtime per process).
    dynamic = subprocess.run(["readelf", "-d", str(package / "_gofocal_ops.so")],
                             capture_output=True, text=True, check=True).stdout
    assert "libgoloss" not in dynamic


def test_version_reports_package_libraries_and_tensorflow(installed, tmp_path):
    python, purelib = installed
    done = _run([python, "-m", "gofocal", "--version"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"gofocal {gofocal.__version__}" in out
    assert re.search(r"libgoloss \d+\.\d+\.\d+ \(kernel (generic|avx2|avx512)\)", out), out
    assert re.search(r"op library built against tensorflow 2\.18\.\d+", out), out
    assert re.search(r"tensorflow 2\.18\.\d+ \(running\)", out), out
    assert "op check: loss 0.108304" in out  # the seed loss of y [[1, 0]], p [[.5, .5]]
    where = _run([python, "-c", "import gofocal; print(gofocal.__file__)"], cwd=tmp_path)
    assert where.stdout.strip().startswith(str(purelib)), where.stdout


def test_other_tensorflow_gives_a_clear_message(installed, tmp_path):
    python, purelib = installed
    info = purelib / "gofocal" / "_build_info.py"
    original = info.read_text()
    info.write_text('TENSORFLOW_VERSION = "2.17.0"\n')
    try:
        done = _run([python, "-m", "gofocal", "--version"], cwd=tmp_path)
    finally:
        info.write_text(original)
    assert done.returncode == 1
    assert re.search(r"built against TensorFlow 2\.17\.0, but TensorFlow 2\.18\.\d+ is running; "
                     r"rebuild", done.stderr), done.stderr


def test_versions_agree():
    pyproject = (ROOT / "python" / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    goloss = re.search(r'const Version = "([^"]+)"', (ROOT / "goloss" / "goloss.go").read_text()).group(1)
    assert gofocal.__version__ == declared == goloss == _native.library_version()
