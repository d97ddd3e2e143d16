"""The two native libraries beside this file, loaded once, lazily.

``_gofocal_ops.so`` is the TensorFlow op library, loaded by ``import gofocal``;
it finds the Go kernels in ``libgoloss.so`` beside it when the op first runs.
``libgoloss.so`` is also opened here through ctypes, only for what asks the
Go core itself (its version and kernel, and the tests that hold the Python
checks of ``_host`` to it): the same file, so the process holds one Go
runtime. Nothing here runs at import or when a loss is built: a Go runtime
does not survive ``fork``.
"""

import ctypes
import os
import threading

import tensorflow as tf

_HERE = os.path.dirname(os.path.abspath(__file__))
OPS_PATH = os.path.join(_HERE, "_gofocal_ops.so")
GOLOSS_PATH = os.path.join(_HERE, "libgoloss.so")

_lock = threading.Lock()
_ops = None
_goloss = None


# goloss.h's parameter structs (ABI 6), field for field.
class _SeedParams(ctypes.Structure):
    _fields_ = [("gamma", ctypes.c_double), ("e", ctypes.c_double), ("validate", ctypes.c_int),
                ("threads", ctypes.c_int), ("has_ignore", ctypes.c_int),
                ("ignore_value", ctypes.c_double), ("grad_scale", ctypes.c_double)]


class _AsymmetricParams(ctypes.Structure):
    _fields_ = [("gamma_neg", ctypes.c_double), ("gamma_pos", ctypes.c_double),
                ("clip", ctypes.c_double), ("focal_grad", ctypes.c_int),
                ("from_logits", ctypes.c_int), ("validate", ctypes.c_int),
                ("threads", ctypes.c_int), ("has_ignore", ctypes.c_int),
                ("ignore_value", ctypes.c_double), ("eps", ctypes.c_double),
                ("grad_scale", ctypes.c_double)]


class _BinaryParams(ctypes.Structure):
    _fields_ = [("gamma", ctypes.c_double), ("alpha", ctypes.POINTER(ctypes.c_double)),
                ("alpha_len", ctypes.c_int64), ("label_smoothing", ctypes.c_double),
                ("from_logits", ctypes.c_int), ("validate", ctypes.c_int),
                ("threads", ctypes.c_int), ("has_ignore", ctypes.c_int),
                ("ignore_value", ctypes.c_double), ("grad_scale", ctypes.c_double)]


def _built_against():
    try:
        from gofocal import _build_info
    except ImportError:
        return None
    return _build_info.TENSORFLOW_VERSION


def _check_built(path):
    """An ImportError, with advice that works where this package is, for
    a missing library or one built for another TensorFlow major.minor."""
    import sys

    def major_minor(version):
        return ".".join(version.split(".")[:2])

    root = os.path.dirname(os.path.dirname(_HERE))
    if os.path.exists(os.path.join(root, "Makefile")) and os.path.exists(
            os.path.join(root, "python", "setup.py")):  # python/gofocal in a clone
        advice = f"run `make libs TF_PYTHON={sys.executable}` in {root}"
    else:  # installed, from a wheel or `pip install ./python`
        advice = ("reinstall gofocal: `pip install ./python` from a clone of gofocal (needs Go, "
                  "g++ and make; it builds against the running TensorFlow), or install a gofocal "
                  f"wheel built for TensorFlow {major_minor(tf.__version__)}")
    if not os.path.exists(path):
        other = _built_copy_elsewhere()
        if other is not None:
            raise ImportError(
                f"gofocal: this gofocal, {_HERE}, is a source tree that is not built, and it "
                f"shadows the built gofocal at {other} (the current directory or PYTHONPATH puts "
                "it first on sys.path): run from another directory to use the built one, or, to "
                f"use this one, {advice}")
        raise ImportError(f"gofocal: {path} is missing; to build it, {advice}")
    built = _built_against()
    if built is not None and major_minor(built) != major_minor(tf.__version__):
        raise ImportError(
            f"gofocal: the op library was built against TensorFlow {built}, "
            f"but TensorFlow {tf.__version__} is running; rebuild it for this TensorFlow (an op "
            f"loads only in the TensorFlow major.minor it was compiled for): {advice}. Or run "
            f"TensorFlow {major_minor(built)} (`pip install tensorflow-cpu=={major_minor(built)}.*`, "
            "or tensorflow).")


def _built_copy_elsewhere():
    """The folder of another gofocal package on this Python's path that has
    its op library (installed, or editable), or None."""
    import importlib.machinery
    import sys

    here = os.path.realpath(_HERE)
    candidates = [os.path.join(entry or os.getcwd(), "gofocal") for entry in sys.path]
    for finder in sys.meta_path:  # editable installs map the package by a finder
        if finder is importlib.machinery.PathFinder or not hasattr(finder, "find_spec"):
            continue
        try:
            spec = finder.find_spec("gofocal", None)
        except Exception:  # a third-party finder's failure is not ours to report
            continue
        if spec is not None and spec.origin:
            candidates.append(os.path.dirname(spec.origin))
    for folder in candidates:
        if (os.path.realpath(folder) != here
                and os.path.isfile(os.path.join(folder, "_gofocal_ops.so"))):
            return os.path.realpath(folder)
    return None


@tf.autograph.experimental.do_not_convert
def ops():
    """The loaded op module (``tf.load_op_library``)."""
    global _ops
    with _lock:
        if _ops is None:
            _check_built(OPS_PATH)
            try:
                module = tf.load_op_library(OPS_PATH)
            except tf.errors.NotFoundError as err:
                raise ImportError(
                    f"gofocal: TensorFlow {tf.__version__} cannot load {OPS_PATH}: {err.message}. "
                    f"It was built against TensorFlow {_built_against()}; rebuild it with "
                    "`make shared-lib`.") from err
            if not hasattr(module, "go_focal_seed_focal_loss"):
                raise ImportError(_second_copy_message())
            _ops = module
        return _ops


def _second_copy_message():
    """Why the op library registered nothing: another copy of it, loaded
    first from another path, holds gofocal's ops in this process (the copy
    registers nothing rather than have TensorFlow abort the process)."""
    first = ctypes.CDLL(OPS_PATH).gofocal_ops_first_copy
    first.restype = ctypes.c_char_p
    path = first()
    other = path.decode("utf-8", "replace") if path else "another copy"
    return (f"gofocal: cannot use {OPS_PATH}: this process already has gofocal's ops from "
            f"{other}, loaded first. Two copies of gofocal (an installed package and a source "
            "tree, or two environments on one path) cannot share a process: import gofocal "
            "from one of them (check sys.path and PYTHONPATH).")


@tf.autograph.experimental.do_not_convert
def goloss():
    """libgoloss.so through ctypes, with its prototypes set."""
    global _goloss
    with _lock:
        if _goloss is None:
            _check_built(GOLOSS_PATH)
            lib = ctypes.CDLL(GOLOSS_PATH)
            lib.goloss_version.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_kernel.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_class_weights.argtypes = [
                ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double),
                ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_class_weights_beta.argtypes = [
                ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double),
                ctypes.c_int64, ctypes.c_double, ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_asymmetric_check.argtypes = [
                ctypes.POINTER(_AsymmetricParams), ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_seed_check.argtypes = [
                ctypes.POINTER(_SeedParams), ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_binary_check.argtypes = [
                ctypes.POINTER(_BinaryParams), ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_process_check.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
            _goloss = lib
    # In a child forked after the library loaded, no call can run: say why
    # (the calls whose buffer is their output cannot).
    err = ctypes.create_string_buffer(512)
    _raise_on(_goloss.goloss_process_check(err, len(err)), err)
    return _goloss


# goloss.h's status codes that are not about the caller's input.
_ERR_INTERNAL = 5
_ERR_PROCESS = 6


def _raise_on(status, message):
    if status != 0:
        text = message.value.decode("utf-8", "replace")
        if status in (_ERR_INTERNAL, _ERR_PROCESS):
            raise RuntimeError(text)
        raise ValueError(text)


def library_version():
    """The version of libgoloss.so."""
    buf = ctypes.create_string_buffer(64)
    _raise_on(goloss().goloss_version(buf, len(buf)), buf)
    return buf.value.decode()


def kernel():
    """The kernel libgoloss.so computes with: generic, avx2 or avx512."""
    buf = ctypes.create_string_buffer(64)
    _raise_on(goloss().goloss_kernel(buf, len(buf)), buf)
    return buf.value.decode()


def built_against():
    """The TensorFlow version the libraries were built against, or None."""
    return _built_against()


def class_weights(counts):
    """The Go core's normalised inverse-frequency weights, as a list of floats."""
    n = len(counts)
    src = (ctypes.c_double * n)(*counts)
    dst = (ctypes.c_double * n)()
    err = ctypes.create_string_buffer(512)
    _raise_on(goloss().goloss_class_weights(dst, src, n, err, len(err)), err)
    return list(dst)


def class_weights_beta(counts, beta):
    """The Go core's class-balanced weights, as a list of floats."""
    n = len(counts)
    src = (ctypes.c_double * n)(*counts)
    dst = (ctypes.c_double * n)()
    err = ctypes.create_string_buffer(512)
    _raise_on(goloss().goloss_class_weights_beta(dst, src, n, float(beta), err, len(err)), err)
    return list(dst)


def _ignore(ignore_value):
    """has_ignore and ignore_value of a parameter struct."""
    return (0, 0.0) if ignore_value is None else (1, float(ignore_value))


def check_seed(gamma, e, ignore_value=None):
    """Raises ValueError, with the Go core's message, for bad seed parameters."""
    err = ctypes.create_string_buffer(512)
    params = _SeedParams(float(gamma), float(e), 1, 1, *_ignore(ignore_value))
    _raise_on(goloss().goloss_seed_check(ctypes.byref(params), err, len(err)), err)


def check_asymmetric(gamma_neg, gamma_pos, clip, eps=1e-8, ignore_value=None):
    """Raises ValueError, with the Go core's message, for bad asymmetric
    parameters (an eps of 0 is the core's default, 1e-8)."""
    err = ctypes.create_string_buffer(512)
    params = _AsymmetricParams(float(gamma_neg), float(gamma_pos), float(clip), 0, 0, 1, 1,
                               *_ignore(ignore_value), float(eps))
    _raise_on(goloss().goloss_asymmetric_check(ctypes.byref(params), err, len(err)), err)


def check_binary(gamma, label_smoothing, alpha, ignore_value=None):
    """Raises ValueError, with the Go core's message, for bad binary parameters.

    A list alpha of n values is checked as one value per class for n classes.
    """
    err = ctypes.create_string_buffer(512)
    values = (ctypes.c_double * len(alpha))(*alpha)
    params = _BinaryParams(float(gamma), values, len(alpha), float(label_smoothing), 0, 1, 1,
                           *_ignore(ignore_value))
    status = goloss().goloss_binary_check(ctypes.byref(params), max(len(alpha), 1), err, len(err))
    _raise_on(status, err)
