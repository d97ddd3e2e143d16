"""What gofocal computes in Python, before any tensor: the parameter checks
and the class weights, as the Go core (``goloss``) computes them.

Building a loss runs only this, so ``import gofocal`` and building losses
start no Go runtime: a Go runtime does not survive ``fork``, and the usual
hyperparameter sweep builds its losses in a parent that forks its workers
(multiprocessing's default on Linux). The Go core loads in the process that
first runs the op.

Each function here is the Go function of the same name transcribed: the same
float64 operations in the same order, the same messages byte for byte
(``goloss`` formats numbers with Go's ``%v``, which ``go_float`` reproduces).
``python/tests/test_host.py`` holds them to the Go core through its C ABI.
"""

import decimal
import math


def go_float(v):
    """``v`` as Go's ``fmt`` prints a float64 with ``%v`` (``strconv``'s
    shortest ``'g'``): ``-1``, ``0.25``, ``1e+06``, ``1.5e-05``, ``NaN``,
    ``+Inf``."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign = "-" if v < 0 else ""
    # repr gives the shortest digits that round-trip, as Go's shortest does.
    digits, exponent = _digits(abs(v))
    point = len(digits) + exponent  # the decimal point after this many digits
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _digits(v):
    """The shortest round-trip decimal digits of v > 0 (no trailing zeros)
    and the power of ten of the last one."""
    t = decimal.Decimal(repr(v)).normalize().as_tuple()
    return "".join(map(str, t.digits)), t.exponent


def _param(message):
    return ValueError("goloss: invalid parameter: " + message)


def check_unit(name, v):
    """Go's checkUnit: 0 <= v <= 1."""
    v = float(v)
    if not (0 <= v <= 1):
        raise _param(f"{name} = {go_float(v)}, want 0 <= {name} <= 1")


def check_gamma(gamma):
    """Go's checkGamma: finite and >= 0."""
    gamma = float(gamma)
    if not (gamma >= 0) or math.isinf(gamma):
        raise _param(f"gamma = {go_float(gamma)}, want a finite gamma >= 0")


def check_seed(gamma, e):
    """Go's Seed.Check, as goloss_seed_check reports it."""
    check_gamma(gamma)
    check_unit("e", e)


def check_binary(gamma, label_smoothing, alpha):
    """Go's Binary.Check for len(alpha) classes (or one when alpha holds at
    most one value), as goloss_binary_check reports it."""
    check_gamma(gamma)
    check_unit("label_smoothing", label_smoothing)
    for c, a in enumerate(float(a) for a in alpha):
        if not (0 <= a <= 1):
            raise _param(f"alpha[{c}] = {go_float(a)}, want 0 <= alpha <= 1")


def class_weights(counts):
    """Go's ClassWeights: ``(m / n[c]) / sum_k (m / n[k])`` with m the
    smallest count, summed in order, as goloss_class_weights computes it."""
    counts = [float(n) for n in counts]
    if not counts:
        # (the C ABI's own check of its classes argument)
        raise ValueError("goloss: shape mismatch: 0 classes, want at least 1")
    for c, n in enumerate(counts):
        if not (n > 0) or math.isinf(n):
            raise ValueError(f"goloss: invalid value: class count {c} is {go_float(n)}, "
                             "want a finite count > 0")
    least = min(counts)
    total = 0.0
    for n in counts:
        total += least / n
    return [(least / n) / total for n in counts]
