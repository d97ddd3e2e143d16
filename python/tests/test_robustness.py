"""Faults and load: concurrent calls, many calls, a panic inside the Go core,
and very wide rows."""

import os
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import gofocal
from gofocal import composite


def _inputs(rows, cols, seed):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=(rows, cols)) < 0.2).astype(np.float32)
    p = rng.uniform(0.01, 0.99, size=(rows, cols)).astype(np.float32)
    w = rng.uniform(0.1, 1.0, size=cols)
    return y, p, w


def _seed_and_grad(y, p, w):
    p = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = gofocal.seed_focal_loss(y, p, w)
    return loss.numpy(), tape.gradient(loss, p).numpy()


def test_eight_threads_give_the_serial_results():
    cases = [_inputs(64, 50 + 7 * i, i) for i in range(8)]
    serial = [_seed_and_grad(*c) for c in cases]
    results = [None] * len(cases)
    errors = []

    def work(i):
        try:
            for _ in range(20):
                results[i] = _seed_and_grad(*cases[i])
        except Exception as err:  # reported below, on the main thread
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for (loss, grad), (want_loss, want_grad) in zip(results, serial):
        np.testing.assert_array_equal(loss, want_loss)
        np.testing.assert_array_equal(grad, want_grad)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_ten_thousand_calls_leave_memory_flat():
    y, p, w = _inputs(32, 100, 1)
    y, p = tf.constant(y), tf.constant(p)
    step = tf.function(lambda y, p: gofocal.seed_focal_loss(y, p, w))
    # Warm up: tracing, TensorFlow's pools, and the Go runtime's heap, which
    # settles after some thousands of calls (about +3.5 MiB, then flat).
    for _ in range(10000):
        step(y, p)
    before = _rss_bytes()
    for _ in range(10000):
        step(y, p)
    after = _rss_bytes()
    growth = (after - before) / 2**20
    print(f"\nRSS over 10,000 calls: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB "
          f"({growth:+.2f} MiB)")
    assert growth < 2, f"RSS grew by {growth:.1f} MiB over 10,000 calls"


_PANIC_SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf, gofocal
    print("package:", gofocal.__file__)
    y, p, w = [[1.0, 0.0]], [[0.5, 0.5]], [0.5, 0.5]
    try:
        gofocal.seed_focal_loss(y, p, w)
        print("no error")
    except tf.errors.InternalError as err:
        print("InternalError:", err.message)
    print("next call:", gofocal.seed_focal_loss(y, p, w).numpy()[0])
""")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_panic_in_the_go_core_is_an_exception_and_the_next_call_works(tmp_path):
    # The test hook exists only in a library built with the goloss_testhooks
    # tag (the shipped one has none: cgo/capi's tests check it), so the
    # package is copied with such a library beside its op. With
    # GOLOSS_TEST_PANICS=1 the op's one Go call panics (the default sharding
    # calls Go once); the next call runs normally.
    package = tmp_path / "gofocal"
    shutil.copytree(os.path.dirname(gofocal.__file__), package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["go", "build", "-tags", "goloss_testhooks", "-buildmode=c-shared", "-o",
                    str(package / "libgoloss.so"), "./cgo"], cwd=REPO, check=True, timeout=600)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", GOLOSS_TEST_PANICS="1",
               PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _PANIC_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"package: {package / '__init__.py'}" in done.stdout
    assert "InternalError:" in done.stdout
    assert "goloss: internal error: a panic provoked by GOLOSS_TEST_PANICS" in done.stdout
    assert "next call: 0.1083" in done.stdout


@pytest.mark.parametrize("variant", ["seed", "binary"])
def test_a_million_classes(variant):
    rows, cols = 2, 1_000_000
    y, p, _ = _inputs(rows, cols, 5)
    w = np.full(cols, 1.0 / cols)
    p64 = tf.constant(p.astype(np.float64))
    with tf.GradientTape() as tape:
        tape.watch(p64)
        if variant == "seed":
            loss = gofocal.seed_focal_loss(y, p64, w)
            want = composite.seed_composite_per_sample(y, p64, w)
        else:
            loss = gofocal.binary_focal_loss(y, p64, alpha=0.25)
            want = composite.binary_composite(y, p64, alpha=0.25)
    grad = tape.gradient(loss, p64)
    assert loss.shape == (rows,) and grad.shape == (rows, cols)
    assert np.all(np.isfinite(grad.numpy()))
    np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-10)


def test_rank_three_is_an_error_for_the_seed_variant():
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match=r"\[batch, classes\]"):
        gofocal.seed_focal_loss(np.ones((2, 3, 4)), np.full((2, 3, 4), 0.5), np.ones(4))


@pytest.mark.parametrize("variant", ["seed", "binary"])
def test_go_and_tensorflow_sharding_give_the_same_bits(variant):
    y, p, w = _inputs(513, 300, 9)  # enough work for both to split the rows
    p = tf.constant(p)
    results = {}
    for sharding in ("go", "tensorflow"):
        with tf.GradientTape() as tape:
            tape.watch(p)
            if variant == "seed":
                loss = gofocal.seed_focal_loss(y, p, w, sharding=sharding)
            else:
                loss = gofocal.binary_focal_loss(y, p, alpha=0.25, sharding=sharding)
        results[sharding] = (loss.numpy(), tape.gradient(loss, p).numpy())
    for a, b in zip(results["go"], results["tensorflow"]):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_subnormal_results_do_not_depend_on_the_thread():
    """TensorFlow's threads flush subnormals (FTZ/DAZ); Go's worker threads do
    not. The C ABI runs the core in the default mode on every thread, so a row
    computed on the caller's thread (a small batch) and on a goroutine (a
    large one) gives the same bits, subnormals included."""
    op = gofocal._native.ops()
    # y = 0, p = 1e-8 (clipped), gamma 5: the gradient is about 5e-39, a
    # float32 subnormal.
    row = np.full((1, 4), 1e-8, np.float32)

    def grad(rows):
        p = np.repeat(row, rows, axis=0)
        _, g = op.go_focal_binary_focal_loss(
            np.zeros_like(p), p, tf.constant([], tf.float64), tf.constant(5.0, tf.float64),
            tf.constant(0.0, tf.float64))
        return g.numpy()

    small, large = grad(1), grad(20000)
    value = small[0, 0]
    assert value != 0 and abs(value) < np.finfo(np.float32).tiny, value
    np.testing.assert_array_equal(small[0].view(np.uint32), large[0].view(np.uint32))
    np.testing.assert_array_equal(small[0].view(np.uint32), large[-1].view(np.uint32))


def test_gradient_through_a_function_traced_for_the_loss_alone():
    """Inside a graph the op skips its gradient when nothing consumes it
    (evaluation); a tf.function traced that way and then differentiated from
    an outer tape still gets the right gradient."""
    y, p, w = _inputs(64, 30, 21)
    p = tf.constant(p)
    loss_fn = tf.function(lambda y, p: tf.reduce_mean(gofocal.seed_focal_loss(y, p, w)))
    first = loss_fn(y, p)  # traced for the loss alone
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = loss_fn(y, p)
    grad = tape.gradient(loss, p)
    with tf.GradientTape() as tape:
        tape.watch(p)
        eager = tf.reduce_mean(gofocal.seed_focal_loss(y, p, w))
    want = tape.gradient(eager, p)
    assert float(first) == float(loss) == float(eager)
    np.testing.assert_array_equal(grad.numpy(), want.numpy())
    assert np.abs(want.numpy()).max() > 0
