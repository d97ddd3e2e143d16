"""Safe in every process: fork, a second copy of the op library, a planted
libgoloss.so, and the library's own search paths.

Each case runs in a child Python with a timeout, so that a hang fails the
test instead of hanging the suite.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import gofocal
from gofocal import _native

PACKAGE = os.path.dirname(os.path.abspath(gofocal.__file__))
TIMEOUT = 240


def _run(script, cwd=None, env=None, timeout=TIMEOUT, prelude=""):
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    full_env.update(env or {})
    code = textwrap.dedent(prelude) + textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def _copy_package(folder):
    """A second copy of the package (both libraries) under folder."""
    dst = os.path.join(folder, "gofocal")
    shutil.copytree(PACKAGE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


# --- fork -----------------------------------------------------------------

_LOADED = """
def go_loaded():
    with open("/proc/self/maps") as f:
        return "libgoloss.so" in f.read()
"""


def test_importing_and_building_losses_starts_no_go_runtime():
    # What a hyperparameter sweep does in the parent before it forks.
    done = _run(prelude=_LOADED, script="""
        import gofocal
        gofocal.focal_loss([10, 1, 3])
        gofocal.FocalLoss(classes_num=[10, 1, 3], gamma=2.5)
        gofocal.FocalLoss(class_weights=gofocal.class_weights([4, 2]))
        gofocal.BinaryFocalLoss(apply_class_balancing=True, alpha=[0.2, 0.3])
        for bad in (lambda: gofocal.focal_loss([1, 0]), lambda: gofocal.FocalLoss([1], gamma=-1),
                    lambda: gofocal.BinaryFocalLoss(label_smoothing=2)):
            try:
                bad()
            except ValueError as err:
                print("error:", err)
        print("go loaded:", go_loaded())
        gofocal.seed_focal_loss([[1.0, 0.0]], [[0.5, 0.5]], [0.5, 0.5])
        print("after the op:", go_loaded())
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "go loaded: False" in done.stdout
    assert "after the op: True" in done.stdout
    assert done.stdout.count("error: goloss: invalid") == 3, done.stdout


_FORK_AFTER_THE_OP = """
    import os, signal, sys
    import numpy as np, tensorflow as tf, gofocal
    from gofocal import _native
    y = np.zeros((64, 512), np.float32); y[:, ::7] = 1
    p = np.full((64, 512), 0.25, np.float32)
    w = np.full(512, 1 / 512)
    print("parent:", float(gofocal.seed_focal_loss(y, p, w)[0]), flush=True)
    pid = os.fork()
    if pid == 0:
        signal.alarm(60)  # a hang is a failure, not a stuck suite
        for name, call in [
                ("seed go", lambda: gofocal.seed_focal_loss(y, p, w)),
                ("seed tensorflow", lambda: gofocal.seed_focal_loss(y, p, w, sharding="tensorflow")),
                ("binary", lambda: gofocal.binary_focal_loss(y, p, alpha=0.25)),
                ("kernel", _native.kernel)]:
            try:
                call()
                print(name, "computed", flush=True)
            except Exception as err:
                print(name, type(err).__name__, str(err).splitlines()[0], flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child status:", status)
    print("parent again:", float(gofocal.seed_focal_loss(y, p, w)[0]))
"""


def test_a_child_forked_after_the_op_ran_gets_an_error_naming_the_fix():
    done = _run(_FORK_AFTER_THE_OP)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "child status: 0" in out, out
    for name in ("seed go", "seed tensorflow", "binary"):
        line = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert line.startswith(name + " FailedPreconditionError"), line
        assert "fork" in line and '"spawn"' in line and '"forkserver"' in line, line
    kernel = next(l for l in out.splitlines() if l.startswith("kernel "))
    assert kernel.startswith("kernel RuntimeError") and "fork" in kernel, kernel
    parent = [l for l in out.splitlines() if l.startswith("parent")]
    assert parent[0].split(":")[1] == parent[1].split(":")[1], parent


def test_a_child_forked_before_the_op_ran_computes():
    done = _run("""
        import os, signal
        import numpy as np, gofocal
        y = np.zeros((64, 512), np.float32); y[:, ::7] = 1
        p = np.full((64, 512), 0.25, np.float32)
        w = gofocal.class_weights(range(1, 513))
        pid = os.fork()
        if pid == 0:
            signal.alarm(60)
            print("child:", float(gofocal.seed_focal_loss(y, p, w)[0]), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("status:", status)
        print("parent:", float(gofocal.seed_focal_loss(y, p, w)[0]))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(l.split(": ", 1) for l in done.stdout.splitlines() if ": " in l)
    assert lines["status"] == "0", done.stdout
    assert lines["child"] == lines["parent"], done.stdout


# --- a second copy of the op library ----------------------------------------

def test_a_second_copy_loaded_after_gofocal_registers_nothing_and_does_not_abort(tmp_path):
    other = _copy_package(str(tmp_path))
    done = _run(f"""
        import tensorflow as tf, gofocal
        second = tf.load_op_library({os.path.join(other, "_gofocal_ops.so")!r})
        print("second has ops:", hasattr(second, "go_focal_seed_focal_loss"))
        print("loss:", float(gofocal.seed_focal_loss([[1.0, 0.0]], [[0.5, 0.5]], [0.5, 0.5])[0]))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "second has ops: False" in done.stdout
    assert "loss: 0.1083" in done.stdout
    assert (f"{os.path.join(other, '_gofocal_ops.so')} registers no ops: this process already "
            f"has gofocal's ops from {os.path.join(PACKAGE, '_gofocal_ops.so')}") in done.stderr


def test_importing_gofocal_after_another_copy_is_an_import_error_naming_both(tmp_path):
    other = _copy_package(str(tmp_path))
    done = _run(f"""
        import tensorflow as tf
        tf.load_op_library({os.path.join(other, "_gofocal_ops.so")!r})
        try:
            import gofocal
            print("imported")
        except ImportError as err:
            print("ImportError:", err)
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ImportError: gofocal: cannot use " + os.path.join(PACKAGE, "_gofocal_ops.so") in done.stdout
    assert "gofocal's ops from " + os.path.join(other, "_gofocal_ops.so") in done.stdout


# --- a planted libgoloss.so --------------------------------------------------

_PLANTED = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void planted(void) {
  FILE *f = fopen(getenv("PLANTED_MARKER"), "w");
  if (f) { fputs("planted code ran\n", f); fclose(f); }
}
"""


@pytest.fixture
def planted(tmp_path):
    """A folder holding a libgoloss.so whose loading writes a marker file."""
    folder = tmp_path / "planted"
    folder.mkdir()
    (folder / "planted.c").write_text(_PLANTED)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / "libgoloss.so"),
                    str(folder / "planted.c")], check=True)
    return folder, tmp_path / "marker"


@pytest.mark.parametrize("how", ["relative", "no slash"])
def test_the_op_never_loads_a_libgoloss_from_the_working_directory(tmp_path, planted, how):
    folder, marker = planted
    package = _copy_package(str(tmp_path / "pkg"))
    # Opened by a relative path (or, with LD_LIBRARY_PATH=., by a bare name),
    # then the process moves to the folder of the planted library.
    name, env = ("./_gofocal_ops.so", {}) if how == "relative" else ("_gofocal_ops.so", {"LD_LIBRARY_PATH": "."})
    env["PLANTED_MARKER"] = str(marker)
    done = _run(f"""
        import os, tensorflow as tf
        ops = tf.load_op_library({name!r})
        os.chdir({str(folder)!r})
        loss, _ = ops.go_focal_seed_focal_loss([[1.0, 0.0]], [[0.5, 0.5]], [0.5, 0.5],
                                               tf.constant(2.0, tf.float64), tf.constant(0.1, tf.float64))
        print("loss:", float(loss[0]))
        with open("/proc/self/maps") as f:
            print("goloss from:", sorted({{l.split()[-1] for l in f if l.rstrip().endswith("libgoloss.so")}}))
    """, cwd=package, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists(), "the planted libgoloss.so was loaded"
    assert "loss: 0.1083" in done.stdout
    assert f"goloss from: [{os.path.join(os.path.realpath(package), 'libgoloss.so')!r}]" in done.stdout


def test_a_missing_libgoloss_is_an_error_naming_the_absolute_path(tmp_path, planted):
    folder, marker = planted
    package = _copy_package(str(tmp_path / "pkg"))
    os.remove(os.path.join(package, "libgoloss.so"))
    done = _run(f"""
        import os, tensorflow as tf
        ops = tf.load_op_library("./_gofocal_ops.so")
        os.chdir({str(folder)!r})
        try:
            ops.go_focal_seed_focal_loss([[1.0]], [[0.5]], [1.0], tf.constant(2.0, tf.float64),
                                         tf.constant(0.1, tf.float64))
        except tf.errors.NotFoundError as err:
            print("NotFoundError:", err.message)
    """, cwd=package, env={"PLANTED_MARKER": str(marker)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists()
    want = os.path.join(os.path.realpath(package), "libgoloss.so")
    assert f"gofocal: cannot load the loss kernels from {want}: " in done.stdout, done.stdout


def _runpath(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines()
            if "(RUNPATH)" in line or "(RPATH)" in line]


def test_the_op_library_carries_no_build_time_path():
    assert _runpath(_native.OPS_PATH) == ["$ORIGIN/../tensorflow"]
    assert _runpath(_native.GOLOSS_PATH) == []


def test_an_unbuilt_source_tree_shadowing_a_built_gofocal_says_so(tmp_path):
    # A clone's python/ folder, not built, run from: its gofocal comes first
    # on sys.path, while the built one is installed (here: this suite's).
    clone = tmp_path / "clone"
    (clone / "python").mkdir(parents=True)
    (clone / "Makefile").write_text("")
    (clone / "python" / "setup.py").write_text("")
    shutil.copytree(PACKAGE, clone / "python" / "gofocal",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    done = _run("""
        try:
            import gofocal
            print("imported", gofocal.__file__)
        except ImportError as err:
            print("ImportError:", err)
    """, cwd=str(clone / "python"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"this gofocal, {clone / 'python' / 'gofocal'}, is a source tree that is not built" in done.stdout, done.stdout
    assert f"shadows the built gofocal at {os.path.realpath(PACKAGE)}" in done.stdout
    assert "run from another directory" in done.stdout
