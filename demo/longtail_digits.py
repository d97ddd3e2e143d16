"""Long-tailed multi-label data built from scikit-learn's bundled digits.

No installed package ships real multi-label long-tailed data small enough for
a one-minute demo, so this builds one, honestly, from real images:
``sklearn.datasets.load_digits`` (1,797 handwritten 8x8 digits, about 180 of
each, bundled with scikit-learn, no download).

Construction, all from one seed:

- Each digit's images are split into disjoint pools: 40 for test, 20 for
  validation, the rest (114 to 123) for training. No image is in two splits.
- Every digit gets a rank in a random order; the number of training samples
  that contain the digit falls off geometrically with the rank, from 179 down
  to 5 (``TRAIN_COUNTS``). Where a head digit needs more samples than its pool
  has images, images are reused (each at most twice), always in a different
  pair.
- A sample is two images of *different* digits side by side (8 x 16 pixels,
  128 features in [0, 1]); its labels are the two digits present. The pairs
  are random, so no digit is tied to another.
- Validation and test are built the same way from their own pools but are
  balanced (20 and 40 samples contain each digit), so every class's recall is
  measured on as many positives, as in long-tailed benchmarks (long-tailed
  training, balanced test).
- ``hide_labels`` makes partial labels from the training labels: a fixed
  fraction of them, chosen from the seed, becomes -1 (unknown).
"""

import numpy as np
from sklearn.datasets import load_digits

CLASSES = 10
HEAD, TAIL = 180, 5
TEST_PER_DIGIT, VAL_PER_DIGIT = 40, 20


def train_counts():
    """Training samples containing the digit of each rank: 179, 121, ..., 5.

    Geometric from HEAD to TAIL, rounded; the head loses one if the total is
    odd, since every sample holds two digits.
    """
    counts = np.rint(HEAD * (TAIL / HEAD) ** (np.arange(CLASSES) / (CLASSES - 1))).astype(int)
    if counts.sum() % 2:
        counts[0] -= 1
    return counts


def _pairs(classes, rng):
    """Random pairs of positions whose classes differ (a random matching,
    repaired by swapping partners between pairs)."""
    pairs = rng.permutation(len(classes)).reshape(-1, 2)
    for _ in range(100_000):
        same = np.flatnonzero(classes[pairs[:, 0]] == classes[pairs[:, 1]])
        if len(same) == 0:
            return pairs
        i, j = same[0], rng.integers(len(pairs))
        a, b = pairs[i, 1], pairs[j, 1]
        if classes[a] != classes[pairs[j, 0]] and classes[b] != classes[pairs[i, 0]]:
            pairs[i, 1], pairs[j, 1] = b, a
    raise RuntimeError("longtail_digits: could not pair the images into distinct digits")


def _samples(images, digits, items, rng):
    """Side-by-side pairs of the images ``items`` and their two-hot labels."""
    items = np.asarray(items)
    classes = digits[items]
    pairs = _pairs(classes, rng)
    left, right = items[pairs[:, 0]], items[pairs[:, 1]]
    x = np.concatenate([images[left], images[right]], axis=2).reshape(len(pairs), -1)
    y = np.zeros((len(pairs), CLASSES), np.float32)
    rows = np.arange(len(pairs))
    y[rows, digits[left]] = 1.0
    y[rows, digits[right]] = 1.0
    return x.astype(np.float32), y


def load(seed):
    """The data set for ``seed``.

    Returns a dict with ``train``, ``val`` and ``test`` as ``(x, y)`` pairs
    (x ``[n, 128]`` float32 in [0, 1], y ``[n, 10]`` two-hot float32, column
    c = digit c) and ``rank_of_digit`` (0 = most frequent in training).
    """
    rng = np.random.default_rng(seed)
    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    digits = data.target
    order = rng.permutation(CLASSES)            # order[r]: the digit of rank r
    counts = train_counts()

    train, val, test = [], [], []
    for rank, digit in enumerate(order):
        ids = rng.permutation(np.flatnonzero(digits == digit))
        test.extend(ids[:TEST_PER_DIGIT])
        val.extend(ids[TEST_PER_DIGIT:TEST_PER_DIGIT + VAL_PER_DIGIT])
        pool = ids[TEST_PER_DIGIT + VAL_PER_DIGIT:]
        need = counts[rank]
        copies = -(-need // len(pool))
        train.extend(np.concatenate([rng.permutation(pool) for _ in range(copies)])[:need])

    rank_of_digit = np.empty(CLASSES, int)
    rank_of_digit[order] = np.arange(CLASSES)
    return {
        "train": _samples(images, digits, train, rng),
        "val": _samples(images, digits, val, rng),
        "test": _samples(images, digits, test, rng),
        "rank_of_digit": rank_of_digit,
    }


def hide_labels(y, fraction, seed):
    """A copy of the labels ``y`` with ``round(fraction * y.size)`` of its
    elements, chosen uniformly at random from ``seed``, replaced by -1
    (unknown), as in partially annotated multi-label data: positives and
    negatives alike are hidden, so a rare digit keeps about ``1 - fraction``
    of its few known positives."""
    rng = np.random.default_rng([seed, 14])
    hidden = y.copy()
    flat = hidden.reshape(-1)
    flat[rng.choice(flat.size, size=int(round(fraction * flat.size)), replace=False)] = -1.0
    return hidden
