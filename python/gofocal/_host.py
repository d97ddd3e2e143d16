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


def check_non_negative(name, v):
    """Go's checkNonNegative: finite and >= 0."""
    v = float(v)
    if not (v >= 0) or math.isinf(v):
        raise _param(f"{name} = {go_float(v)}, want a finite {name} >= 0")


def check_gamma(gamma):
    """Go's checkGamma: finite and >= 0."""
    check_non_negative("gamma", gamma)


def check_ignore(ignore_value):
    """Go's checkIgnore for an ignore value (None: none): not NaN, which no
    label equals."""
    if ignore_value is not None and math.isnan(float(ignore_value)):
        raise _param("ignore_value = NaN, want a number (no label equals NaN)")


def check_seed(gamma, e, ignore_value=None):
    """Go's Seed.Check, as goloss_seed_check reports it."""
    check_gamma(gamma)
    check_unit("e", e)
    check_ignore(ignore_value)


def check_binary(gamma, label_smoothing, alpha, ignore_value=None):
    """Go's Binary.Check for len(alpha) classes (or one when alpha holds at
    most one value), as goloss_binary_check reports it."""
    check_gamma(gamma)
    check_unit("label_smoothing", label_smoothing)
    for c, a in enumerate(float(a) for a in alpha):
        if not (0 <= a <= 1):
            raise _param(f"alpha[{c}] = {go_float(a)}, want 0 <= alpha <= 1")
    check_ignore(ignore_value)


def check_asymmetric(gamma_neg, gamma_pos, clip, eps=1e-8, ignore_value=None):
    """Go's Asymmetric.Check, as goloss_asymmetric_check reports it, except
    that an eps of 0 (the Go core's "the default, 1e-8") is an error here:
    a Python caller gives eps itself, 1e-8 by default."""
    check_non_negative("gamma_neg", gamma_neg)
    check_non_negative("gamma_pos", gamma_pos)
    check_unit("clip", clip)
    eps = float(eps)
    if not (0 <= eps < 1):
        raise _param(f"eps = {go_float(eps)}, want 0 < eps < 1 (or 0 for the default 1e-08)")
    if eps == 0:
        raise _param("eps = 0, want 0 < eps < 1")
    check_ignore(ignore_value)


def _checked_counts(counts):
    """Go's checkCounts: the counts as floats, each finite and > 0."""
    counts = [float(n) for n in counts]
    if not counts:
        # (the C ABI's own check of its classes argument)
        raise ValueError("goloss: shape mismatch: 0 classes, want at least 1")
    for c, n in enumerate(counts):
        if not (n > 0) or math.isinf(n):
            raise ValueError(f"goloss: invalid value: class count {c} is {go_float(n)}, "
                             "want a finite count > 0")
    return counts


def _normalised(ratios):
    total = 0.0
    for r in ratios:
        total += r
    return [r / total for r in ratios]


def class_weights(counts):
    """Go's ClassWeights: ``(m / n[c]) / sum_k (m / n[k])`` with m the
    smallest count, summed in order, as goloss_class_weights computes it."""
    counts = _checked_counts(counts)
    least = min(counts)
    return _normalised([least / n for n in counts])


def class_weights_beta(counts, beta):
    """Go's ClassWeightsBeta, SPEC's class-balanced weights: ``E(m) / E(n[c])``
    normalised, with ``E(n) = 1 - beta^n = -expm1(n * log(beta))`` and m the
    smallest count, as goloss_class_weights_beta computes it. Python's
    ``math.log`` and ``math.expm1`` (the C library's) may differ from Go's in
    the last bit, and so may these weights (test_host.py bounds it)."""
    counts = _checked_counts(counts)
    beta = float(beta)
    if not (0 <= beta < 1):
        raise _param(f"beta = {go_float(beta)}, want 0 <= beta < 1")
    rate = math.inf if beta == 0 else -math.log(beta)

    def effective(n):
        return -math.expm1(-n * rate)

    least = min(counts)
    if least * rate >= 2.0 ** -1000:
        e_least = effective(least)
        ratios = [e_least / effective(n) for n in counts]
    else:
        # E(m) = m * rate to the last bit, and so is E(n) where n * rate <
        # 2^-54 (expm1(x) = x there): the ratio of those is m / n.
        ratios = [least / n if n * rate < 2.0 ** -54 else least * (rate / effective(n))
                  for n in counts]
    return _normalised(ratios)
