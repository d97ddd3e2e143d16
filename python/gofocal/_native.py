"""The two native libraries beside this file, loaded once, lazily.

``_gofocal_ops.so`` is the TensorFlow op library; it finds the Go kernels in
``libgoloss.so`` beside it. ``libgoloss.so`` is also opened through ctypes for
the calls that need no tensor (class weights, parameter checks): the same
file, so the process holds one Go runtime.
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


class _SeedParams(ctypes.Structure):
    _fields_ = [("gamma", ctypes.c_double), ("e", ctypes.c_double), ("validate", ctypes.c_int),
                ("threads", ctypes.c_int)]


class _BinaryParams(ctypes.Structure):
    _fields_ = [("gamma", ctypes.c_double), ("alpha", ctypes.POINTER(ctypes.c_double)),
                ("alpha_len", ctypes.c_int64), ("label_smoothing", ctypes.c_double),
                ("from_logits", ctypes.c_int), ("validate", ctypes.c_int),
                ("threads", ctypes.c_int)]


def _built_against():
    try:
        from gofocal import _build_info
    except ImportError:
        return None
    return _build_info.TENSORFLOW_VERSION


def _check_built(path):
    if not os.path.exists(path):
        raise ImportError(
            f"gofocal: {path} is missing; build it with `make shared-lib` "
            "(or reinstall the package)")
    built = _built_against()
    if built is not None and built.split(".")[:2] != tf.__version__.split(".")[:2]:
        raise ImportError(
            f"gofocal: the op library was built against TensorFlow {built}, "
            f"but TensorFlow {tf.__version__} is running; rebuild it with "
            "`make shared-lib` (or reinstall the package) under this TensorFlow")


@tf.autograph.experimental.do_not_convert
def ops():
    """The loaded op module (``tf.load_op_library``)."""
    global _ops
    with _lock:
        if _ops is None:
            _check_built(OPS_PATH)
            try:
                _ops = tf.load_op_library(OPS_PATH)
            except tf.errors.NotFoundError as err:
                raise ImportError(
                    f"gofocal: TensorFlow {tf.__version__} cannot load {OPS_PATH}: {err.message}. "
                    f"It was built against TensorFlow {_built_against()}; rebuild it with "
                    "`make shared-lib`.") from err
        return _ops


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
            lib.goloss_seed_check.argtypes = [
                ctypes.POINTER(_SeedParams), ctypes.c_char_p, ctypes.c_size_t]
            lib.goloss_binary_check.argtypes = [
                ctypes.POINTER(_BinaryParams), ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]
            _goloss = lib
        return _goloss


def _raise_on(status, message):
    if status != 0:
        text = message.value.decode("utf-8", "replace")
        if status == 5:
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


def check_seed(gamma, e):
    """Raises ValueError, with the Go core's message, for bad seed parameters."""
    err = ctypes.create_string_buffer(512)
    params = _SeedParams(float(gamma), float(e), 1, 1)
    _raise_on(goloss().goloss_seed_check(ctypes.byref(params), err, len(err)), err)


def check_binary(gamma, label_smoothing, alpha):
    """Raises ValueError, with the Go core's message, for bad binary parameters.

    A list alpha of n values is checked as one value per class for n classes.
    """
    err = ctypes.create_string_buffer(512)
    values = (ctypes.c_double * len(alpha))(*alpha)
    params = _BinaryParams(float(gamma), values, len(alpha), float(label_smoothing), 0, 1, 1)
    status = goloss().goloss_binary_check(ctypes.byref(params), max(len(alpha), 1), err, len(err))
    _raise_on(status, err)
