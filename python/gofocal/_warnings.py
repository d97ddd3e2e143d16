"""Warnings that name the user's line, not a line of gofocal, Keras or
TensorFlow (between a user's call and gofocal there are often frames of
tf.function tracing and Keras's training loop)."""

import os
import sys

_LIBRARIES = ("gofocal", "keras", "tf_keras", "tensorflow")


def user_stacklevel():
    """The ``stacklevel`` for a ``warnings.warn`` called by the caller of
    this function that makes the warning name the first frame outside the
    packages gofocal, keras, tf_keras and tensorflow, and outside code that
    autograph generated."""
    inside = []
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            inside.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    inside = tuple(inside)
    frame, level = sys._getframe(1), 1  # the caller (which warns) is stacklevel 1
    while frame is not None and _library_frame(frame, inside):
        frame, level = frame.f_back, level + 1
    return level


def _library_frame(frame, inside):
    """Whether frame runs in one of the folders inside or in code autograph
    generated (a converted copy of a user's function, which the warning's
    reader cannot open: its caller's frames lead to the user's call)."""
    path = os.path.abspath(frame.f_code.co_filename)
    return path.startswith(inside) or os.path.basename(path).startswith("__autograph_generated_file")
