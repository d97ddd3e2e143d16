"""The Python side of the checks and class weights (gofocal._host, which
building a loss runs so that it starts no Go runtime) held to the Go core
through its C ABI: the same accept/reject decisions, the same messages byte
for byte, the same weight bits."""

import math
import struct

import numpy as np
import pytest

from gofocal import _host, _native

# Numbers whose Go formatting takes every branch of go_float: signs, zeros,
# the fixed and exponent forms and the boundaries between them, subnormals,
# the largest finite, NaN and the infinities.
ODD = [0.0, -0.0, 1.0, -1.0, 0.25, 0.5, 1.5, 2.0, 1e-4, 9.99e-5, 1e-5, 123456.0, 999999.0,
       1e6, 1234567.0, 1e21, 1e22, 1e300, 5e-324, 2.2250738585072014e-308,
       1.7976931348623157e308, 1 / 3, -2.5, math.nan, math.inf, -math.inf,
       1 + 2 ** -52, 1 - 2 ** -53, 0.1 + 0.2]


def _random_floats(n, seed):
    rng = np.random.default_rng(seed)
    bits = [struct.unpack("<d", struct.pack("<Q", int(b)))[0]
            for b in rng.integers(0, 2 ** 63, n, dtype=np.uint64)]
    scaled = ((rng.uniform(size=n) - 0.5) * 10.0 ** rng.integers(-12, 12, n)).tolist()
    return bits + scaled


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (ValueError, RuntimeError) as err:
        return type(err).__name__, str(err)


@pytest.mark.parametrize("gamma", ODD + _random_floats(40, 1))
def test_seed_checks_match_the_go_core(gamma):
    for e in (0.1, gamma):
        assert _outcome(_host.check_seed, gamma, e) == _outcome(_native.check_seed, gamma, e)


@pytest.mark.parametrize("value", ODD + _random_floats(40, 2))
def test_binary_checks_match_the_go_core(value):
    for gamma, ls, alpha in [(value, 0.0, [0.25]), (2.0, value, [0.25]), (2.0, 0.0, [0.5, value]),
                             (2.0, 0.1, [value] * 3), (value, value, [])]:
        assert (_outcome(_host.check_binary, gamma, ls, alpha)
                == _outcome(_native.check_binary, gamma, ls, alpha)), (gamma, ls, alpha)


@pytest.mark.parametrize("bad", ODD + _random_floats(20, 3))
def test_class_weight_errors_match_the_go_core(bad):
    for counts in ([bad], [3.0, bad], [bad, 1.0, bad]):
        assert _outcome(_host.class_weights, counts) == _outcome(_native.class_weights, counts)
    assert _outcome(_host.class_weights, []) == _outcome(_native.class_weights, [])


@pytest.mark.parametrize("seed", range(12))
def test_class_weights_have_the_go_cores_bits(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    scale = 10.0 ** rng.uniform(-300, 300)
    counts = (rng.uniform(1e-3, 1e6, n) * scale).tolist()
    got, want = _host.class_weights(counts), _native.class_weights(counts)
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in want]
    assert math.isclose(sum(got), 1.0, rel_tol=1e-12)


def test_class_weights_of_extreme_counts():
    # SPEC's examples: normalised by the smallest count, none overflows.
    assert _host.class_weights([1e-308, 1e-308]) == [0.5, 0.5]
    got = _host.class_weights([5e-324, 1.0])
    assert got == _native.class_weights([5e-324, 1.0]) and got[0] == 1.0 and 0 <= got[1] < 1e-300


@pytest.mark.parametrize("value, text", [(0.0, "0"), (-0.0, "-0"), (-1.0, "-1"), (0.25, "0.25"),
                                         (1e6, "1e+06"), (999999.0, "999999"), (1.5e-5, "1.5e-05"),
                                         (1e-4, "0.0001"), (1e22, "1e+22"), (math.nan, "NaN"),
                                         (math.inf, "+Inf"), (-math.inf, "-Inf"),
                                         (1234567.0, "1.234567e+06"), (5e-324, "5e-324")])
def test_go_float_prints_as_go_does(value, text):
    assert _host.go_float(value) == text


@pytest.mark.parametrize("value", ODD + _random_floats(40, 4))
def test_asymmetric_checks_match_the_go_core(value):
    for gamma_neg, gamma_pos, clip, ignore in [(value, 1.0, 0.05, None), (4.0, value, 0.05, None),
                                               (4.0, 1.0, value, None), (4.0, 1.0, 0.05, value),
                                               (value, value, value, value)]:
        assert (_outcome(_host.check_asymmetric, gamma_neg, gamma_pos, clip, 1e-8, ignore)
                == _outcome(_native.check_asymmetric, gamma_neg, gamma_pos, clip, 1e-8, ignore)), \
            (gamma_neg, gamma_pos, clip, ignore)
    if value != 0:
        # eps: the same, except that 0, the C ABI's "the default", is an
        # error in Python, where eps is always given.
        assert (_outcome(_host.check_asymmetric, 4.0, 1.0, 0.05, value)
                == _outcome(_native.check_asymmetric, 4.0, 1.0, 0.05, value)), value


def test_an_eps_of_zero_is_an_error_in_python():
    assert _outcome(_native.check_asymmetric, 4.0, 1.0, 0.05, 0.0) == ("ok", None)
    assert _outcome(_host.check_asymmetric, 4.0, 1.0, 0.05, 0.0) == (
        "ValueError", "goloss: invalid parameter: eps = 0, want 0 < eps < 1")


@pytest.mark.parametrize("ignore", ODD)
def test_ignore_value_checks_match_the_go_core(ignore):
    assert (_outcome(_host.check_seed, 2.0, 0.1, ignore)
            == _outcome(_native.check_seed, 2.0, 0.1, ignore))
    assert (_outcome(_host.check_binary, 2.0, 0.0, [0.25], ignore)
            == _outcome(_native.check_binary, 2.0, 0.0, [0.25], ignore))


@pytest.mark.parametrize("bad", ODD + _random_floats(20, 5))
def test_class_balanced_weight_errors_match_the_go_core(bad):
    for counts, beta in (([bad], 0.9), ([3.0, bad], 0.99), ([1.0, 2.0], bad), ([bad], bad)):
        assert (_outcome(_host.class_weights_beta, counts, beta)
                == _outcome(_native.class_weights_beta, counts, beta)), (counts, beta)


def _ulps(a, b):
    """The distance of two positive doubles in units of the last place."""
    ia, ib = (struct.unpack("<q", struct.pack("<d", v))[0] for v in (a, b))
    return abs(ia - ib)


@pytest.mark.parametrize("seed", range(12))
def test_class_balanced_weights_match_the_go_core(seed):
    # Python's math.log and math.expm1 are the C library's, Go's are Go's:
    # they may round differently in the last bit, so a few ulps, not bits.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    counts = (rng.uniform(1, 10, n) * 10.0 ** rng.uniform(-3, 6, n)).tolist()
    for beta in (0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1 - 2 ** -40, float(rng.uniform())):
        got, want = _host.class_weights_beta(counts, beta), _native.class_weights_beta(counts, beta)
        assert max(_ulps(g, w) for g, w in zip(got, want)) <= 8, beta
        assert math.isclose(sum(got), 1.0, rel_tol=1e-12)
