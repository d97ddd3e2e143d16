#!/usr/bin/env python3
"""Speed of the gofocal op against the composites it replaces (`make bench`).

One process, float32, TensorFlow's intra-op pool at 2 threads (inter-op 1 by
default). For each batch x classes size, every candidate is one `tf.function`
called with the same (labels, predictions), in two passes:

  fwd+bwd  loss and its gradient w.r.t. the predictions (tf.GradientTape
           inside the function), both returned;
  fwd      the loss alone.

Candidates, all measured in the same run, in rounds: each round runs every
candidate once, in a shuffled order, as --settle untimed calls and then a block
of timed calls (so a candidate is timed in its own steady state, not in what
the previous one left behind; --cold interleaves single calls instead):

  seed op             gofocal.seed_focal_loss(...) then tf.reduce_mean
  seed op, TF pool    the same with sharding="tensorflow" (TF's intra-op pool, one Go call per shard)
  seed composite      gofocal.composite.seed_composite(...), tf.reduce_mean, graph mode
  seed composite XLA  the same, tf.function(jit_compile=True)
  binary op           gofocal BinaryFocalLoss(apply_class_balancing=True), alpha 0.25, gamma 2
  Keras BFCE          keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True), graph mode
  Keras BFCE XLA      the same, jit_compile=True
  memory floor        labels + predictions (reads both, writes one tensor of their size), fwd only
  empty call          a tf.function that returns a constant: the fixed cost of a call

Eager execution is synchronous, so every output a function returns is fully
computed when the call returns; the timed region also ends with `.numpy()` of
the returned scalar. Big outputs (gradients, the floor's sum) are returned, not
copied out (a copy would add the same memory traffic to every candidate).

Prints a table (median, p10, p90 in ms; ratios to the gofocal op of the same
variant and to the memory floor) and the issue's targets as met / not met;
writes a section of BENCHMARKS.md between markers and a PNG chart of the ratios.

    .venv/bin/python bench/bench.py            # full run, ~3-5 minutes on 2 cores
    .venv/bin/python bench/bench.py --quick    # smoke run, under a minute
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DEFAULT_SIZES = "32x10,256x100,1024x1000,4096x1000"
# One section per kind of CPU (kernel, model, family): a run replaces the
# section of its own kind and keeps the others.
MARK_START = "<!-- bench:start {} -->"
MARK_END = "<!-- bench:end {} -->"

GAMMA = 2.0
E = 0.1
ALPHA = 0.25
POSITIVE_RATE = 0.03
SEED = 20260505

# Candidate keys, their labels, their variant's op (for "/ op"), and passes.
# The cells after the first block (issue 11) run at 1024x1000 only, fwd+bwd:
# another gamma, float64, logits; each op against its own peer.
CANDIDATES = [
    # key, label, reference op key, passes
    ("seed_op", "seed op", "seed_op", ("fwd+bwd", "fwd")),
    ("seed_op_tfpool", "seed op, TF pool", "seed_op", ("fwd+bwd", "fwd")),
    ("seed_composite", "seed composite", "seed_op", ("fwd+bwd", "fwd")),
    ("seed_composite_xla", "seed composite XLA", "seed_op", ("fwd+bwd", "fwd")),
    ("binary_op", "binary op", "binary_op", ("fwd+bwd", "fwd")),
    ("keras_bfce", "Keras BFCE", "binary_op", ("fwd+bwd", "fwd")),
    ("keras_bfce_xla", "Keras BFCE XLA", "binary_op", ("fwd+bwd", "fwd")),
    ("floor", "memory floor", None, ("fwd",)),
    ("empty", "empty call", None, ("fwd",)),
    ("seed_op_g25", "seed op γ=2.5", "seed_op_g25", ("fwd+bwd",)),
    ("seed_composite_g25", "seed composite γ=2.5", "seed_op_g25", ("fwd+bwd",)),
    ("seed_op_f64", "seed op float64", "seed_op_f64", ("fwd+bwd",)),
    ("seed_composite_f64", "seed composite float64", "seed_op_f64", ("fwd+bwd",)),
    ("binary_op_g25", "binary op γ=2.5", "binary_op_g25", ("fwd+bwd",)),
    ("keras_bfce_g25", "Keras BFCE γ=2.5", "binary_op_g25", ("fwd+bwd",)),
    ("binary_logits_op", "binary op, logits", "binary_logits_op", ("fwd+bwd",)),
    ("keras_bfce_logits", "Keras BFCE, logits", "binary_logits_op", ("fwd+bwd",)),
    ("binary_logits_op_g25", "binary op, logits γ=2.5", "binary_logits_op_g25", ("fwd+bwd",)),
    ("keras_bfce_logits_g25", "Keras BFCE, logits γ=2.5", "binary_logits_op_g25", ("fwd+bwd",)),
    # Issue 14: the asymmetric loss (ASL, the reference's defaults) with
    # class weights and 10% of the labels unknown (ignore_value=-1), on
    # probabilities and on logits, against its TensorFlow-ops composite.
    ("asym_op", "ASL op, weights, partial labels", "asym_op", ("fwd+bwd",)),
    ("asym_composite", "ASL composite", "asym_op", ("fwd+bwd",)),
    ("asym_logits_op", "ASL op, logits, weights, partial", "asym_logits_op", ("fwd+bwd",)),
    ("asym_logits_composite", "ASL composite, logits", "asym_logits_op", ("fwd+bwd",)),
    # Measured in a process of its own with GOLOSS_KERNEL=generic (the
    # kernel is chosen once per process), against the composite timed in
    # that same process.
    ("seed_op_generic", "seed op, generic kernel", "seed_op_generic", ("fwd+bwd",)),
    ("seed_composite_generic", "seed composite (generic's process)", "seed_op_generic", ("fwd+bwd",)),
    ("asym_op_generic", "ASL op, generic kernel", "asym_op_generic", ("fwd+bwd",)),
    ("asym_composite_generic", "ASL composite (generic's process)", "asym_op_generic", ("fwd+bwd",)),
]
# The inputs of the cells that do not take float32 probabilities.
INPUTS = {"seed_op_f64": "f64", "seed_composite_f64": "f64",
          "binary_logits_op": "logits", "keras_bfce_logits": "logits",
          "binary_logits_op_g25": "logits", "keras_bfce_logits_g25": "logits",
          "asym_op": "partial", "asym_composite": "partial",
          "asym_logits_op": "partial_logits", "asym_logits_composite": "partial_logits"}
UNKNOWN_RATE = 0.1
# Cells measured at 1024x1000 only.
BIG_ONLY = {key for key, *_ in CANDIDATES[9:]}
# The generic kernel's cells: what the child process measures, and the
# keys they take in the parent.
GENERIC = {"seed_op": "seed_op_generic", "seed_composite": "seed_composite_generic",
           "asym_op": "asym_op_generic", "asym_composite": "asym_composite_generic"}
LABELS = {key: label for key, label, _, _ in CANDIDATES}
REFERENCE = {key: ref for key, _, ref, _ in CANDIDATES}
PASSES = ("fwd+bwd", "fwd")


# --------------------------------------------------------------------------- options

def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        m = re.fullmatch(r"(\d+)\s*[x×*]\s*(\d+)", item)
        if not m:
            raise argparse.ArgumentTypeError(f"size {item!r} is not BATCHxCLASSES, e.g. 1024x1000")
        b, c = int(m.group(1)), int(m.group(2))
        if b < 1 or c < 1:
            raise argparse.ArgumentTypeError(f"size {item!r} must have batch and classes >= 1")
        sizes.append((b, c))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes given")
    return sizes


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Benchmark the gofocal op against the TensorFlow/Keras composites.",
        epilog="Outputs: a table and the targets on stdout; --out-md, --out-png, --out-json.")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: few repetitions; writes under build/bench-quick/ unless "
                         "--out-md/--out-png are given, so BENCHMARKS.md keeps the full run")
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES),
                    help=f"comma-separated BATCHxCLASSES list (default {DEFAULT_SIZES})")
    ap.add_argument("--reps", type=int, default=None,
                    help="minimum timed repetitions per candidate and pass (default 30, quick 5)")
    ap.add_argument("--max-reps", type=int, default=None,
                    help="most repetitions per size (default 1000, quick 40)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timed calls per size; small sizes get more repetitions "
                         "up to --max-reps (default 60, quick 1.5)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed calls per candidate after tracing/compiling (default 5, quick 2)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds over all candidates (shuffled each round); each round runs a block "
                         "of a candidate's timed calls (default 5, quick 1)")
    ap.add_argument("--settle", type=int, default=3,
                    help="untimed calls of a candidate before each of its blocks (default 3)")
    ap.add_argument("--cold", action="store_true",
                    help="one timed call per candidate per round and no settling calls: every call "
                         "runs right after another candidate's")
    ap.add_argument("--intra-op", type=int, default=2, help="TensorFlow intra-op threads (default 2)")
    ap.add_argument("--inter-op", type=int, default=1, help="TensorFlow inter-op threads (default 1)")
    ap.add_argument("--out-md", default=None,
                    help="markdown file whose bench section is written/replaced "
                         "(default BENCHMARKS.md at the repo root; '' to skip)")
    ap.add_argument("--out-png", default=None,
                    help="chart of the ratios (default bench/ratios-KERNEL-familyN-modelM.png; '' to skip)")
    ap.add_argument("--generic-child", action="store_true",
                    help="internal: time the seed op and its composite at 1024x1000 fwd+bwd and print "
                         "their stats as JSON (make bench runs this with GOLOSS_KERNEL=generic)")
    ap.add_argument("--out-json", default="", help="also write the raw figures as JSON to this path (default: none)")
    args = ap.parse_args(argv)
    q = args.quick
    if args.reps is None:
        args.reps = 5 if q else 30
    if args.max_reps is None:
        args.max_reps = 40 if q else 1000
    args.max_reps = max(args.max_reps, args.reps)
    if args.budget is None:
        args.budget = 1.5 if q else 60.0
    if args.warmup is None:
        args.warmup = 2 if q else 5
    if args.rounds is None:
        args.rounds = 1 if q else 5
    if args.cold:
        args.rounds, args.settle = args.max_reps, 0
    quick_dir = os.path.join(ROOT, "build", "bench-quick")
    if args.out_md is None:
        args.out_md = os.path.join(quick_dir if q else ROOT, "BENCHMARKS.md")
    if args.out_png is None:
        args.out_png = os.path.join(quick_dir if q else HERE, "ratios.png")
    return args


# --------------------------------------------------------------------------- machine

def cpu_info():
    model, family, model_no, flags = "unknown", None, None, ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model == "unknown":
                    model = value
                elif key == "cpu family" and family is None:
                    family = value
                elif key == "model" and model_no is None:
                    model_no = value
                elif key == "flags" and not flags:
                    flags = value
    except OSError:
        pass
    simd = [f for f in ("avx512f", "avx2", "fma") if f in flags.split()]
    hypervisor = "hypervisor" in flags.split()
    logical = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    return dict(model=model, family=family, model_no=model_no, simd=simd, hypervisor=hypervisor,
                logical=logical, usable=usable)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def cpu_times():
    """(non-idle CPU seconds of the whole machine, steal seconds, this process's CPU seconds, wall)."""
    import resource
    busy = steal = 0.0
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal ...
        busy = (sum(fields[:3]) + sum(fields[5:8])) / tick
        steal = fields[7] / tick if len(fields) > 7 else 0.0
    except (OSError, ValueError, IndexError):
        return None
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return busy, steal, ru.ru_utime + ru.ru_stime, time.monotonic()


def other_load(start, end, cores):
    """Share of the cores that other processes (and the hypervisor's steal) took during the run."""
    if start is None or end is None:
        return None, None
    wall = (end[3] - start[3]) * cores
    if wall <= 0:
        return None, None
    other = max(0.0, (end[0] - start[0]) - (end[2] - start[2])) / wall
    steal = (end[1] - start[1]) / wall
    return other, steal


def busy_note(other, steal):
    """A warning when other work shared the cores during the run."""
    if other is None or other < 0.10:
        return ""
    return (f"other processes used {100 * other:.0f}% of the cores during the run (steal "
            f"{100 * steal:.0f}%); the figures are noisier and slower than on an idle machine")


def library_fingerprints(gofocal):
    """sha256 prefix and time of the built libraries: the working tree may differ from HEAD."""
    import hashlib
    pkg = os.path.dirname(os.path.abspath(gofocal.__file__))
    out = []
    for name in ("libgoloss.so", "_gofocal_ops.so"):
        path = os.path.join(pkg, name)
        try:
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:12]
            built = datetime.datetime.fromtimestamp(os.path.getmtime(path)).astimezone().strftime("%H:%M %Z %Y-%m-%d")
            out.append(f"{name} {digest} (built {built})")
        except OSError:
            out.append(f"{name} missing")
    return "; ".join(out)


def git_state():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "n/a"


# --------------------------------------------------------------------------- candidates

def make_inputs(np, tf, batch, classes):
    """Multi-hot labels with ~3% positives; probabilities in (0, 1); long-tailed
    class counts turned into the seed's normalised inverse-frequency weights.
    Also the same labels and predictions in float64, and the logits, for the
    cells that take them (INPUTS)."""
    rng = np.random.default_rng([SEED, batch, classes])
    labels = (rng.random((batch, classes)) < POSITIVE_RATE).astype(np.float32)
    logits = rng.normal(-2.0, 1.5, size=(batch, classes))
    predictions = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    counts = np.maximum(1, np.round(5000.0 * np.arange(1, classes + 1) ** -1.2))
    weights = (1.0 / counts) / np.sum(1.0 / counts)
    partial = np.where(rng.random((batch, classes)) < UNKNOWN_RATE, -1.0, labels).astype(np.float32)
    inputs = {"f32": (tf.constant(labels), tf.constant(predictions)),
              "partial": (tf.constant(partial), tf.constant(predictions)),
              "partial_logits": (tf.constant(partial), tf.constant(logits.astype(np.float32))),
              "f64": (tf.constant(labels.astype(np.float64)), tf.constant(predictions.astype(np.float64))),
              "logits": (tf.constant(labels), tf.constant(logits.astype(np.float32)))}
    return inputs, tf.constant(weights.astype(np.float32)), float(labels.mean())


def build_candidates(tf, keras, gofocal, weights):
    """{(key, pass): tf.function(labels, predictions) -> (scalar, *outputs)}."""
    from gofocal import composite

    binary_cls = getattr(getattr(gofocal, "losses", None), "BinaryFocalLoss", None)
    if binary_cls is not None:
        gofocal_bfl = binary_cls(apply_class_balancing=True, alpha=ALPHA, gamma=GAMMA)
    else:  # fall back to the op wrapper, same math and reduction
        from gofocal import _ops

        def gofocal_bfl(y, p):
            return tf.reduce_mean(_ops.binary_focal_loss(y, p, alpha=ALPHA, gamma=GAMMA))
    keras_bfce = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=ALPHA, gamma=GAMMA)

    losses = {
        "seed_op": lambda y, p: tf.reduce_mean(gofocal.seed_focal_loss(y, p, weights, gamma=GAMMA, e=E)),
        # The same op with the rows sharded over TensorFlow's intra-op pool
        # (one Go call per shard) instead of over goroutines in one Go call.
        "seed_op_tfpool": lambda y, p: tf.reduce_mean(gofocal.seed_focal_loss(
            y, p, weights, gamma=GAMMA, e=E, sharding="tensorflow")),
        "seed_composite": lambda y, p: tf.reduce_mean(composite.seed_composite(y, p, weights, gamma=GAMMA, e=E)),
        "binary_op": lambda y, p: gofocal_bfl(y, p),
        "keras_bfce": lambda y, p: keras_bfce(y, p),
    }
    losses["seed_composite_xla"] = losses["seed_composite"]
    losses["keras_bfce_xla"] = losses["keras_bfce"]
    weights64 = tf.cast(weights, tf.float64)
    losses.update({
        "seed_op_g25": lambda y, p: tf.reduce_mean(gofocal.seed_focal_loss(y, p, weights, gamma=2.5, e=E)),
        "seed_composite_g25": lambda y, p: tf.reduce_mean(composite.seed_composite(y, p, weights, gamma=2.5, e=E)),
        "seed_op_f64": lambda y, p: tf.reduce_mean(gofocal.seed_focal_loss(y, p, weights64, gamma=GAMMA, e=E)),
        "seed_composite_f64": lambda y, p: tf.reduce_mean(composite.seed_composite(y, p, weights64, gamma=GAMMA, e=E)),
    })
    for key, gamma, logits in (("_g25", 2.5, False), ("_logits", GAMMA, True), ("_logits_g25", 2.5, True)):
        ours = binary_cls(apply_class_balancing=True, alpha=ALPHA, gamma=gamma, from_logits=logits)
        theirs = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=ALPHA, gamma=gamma,
                                                       from_logits=logits)
        op_key = "binary_logits_op" + key[len("_logits"):] if logits else "binary_op" + key
        losses[op_key] = ours
        losses["keras_bfce" + key] = theirs

    # ASL's class weights: the same weights at mean 1 (AsymmetricLoss's scale).
    asym_weights = weights * tf.cast(tf.size(weights), weights.dtype)
    for key, logits in (("asym", False), ("asym_logits", True)):
        losses[key + "_op"] = (lambda logits: lambda y, p: tf.reduce_mean(gofocal.asymmetric_loss(
            y, p, from_logits=logits, class_weights=asym_weights, ignore_value=-1)))(logits)
        losses[key + "_composite"] = (lambda logits: lambda y, p: tf.reduce_mean(
            composite.asymmetric_composite(y, p, from_logits=logits, class_weights=asym_weights,
                                           ignore_value=-1)))(logits)

    def forward(loss_fn):
        def f(y, p):
            loss = loss_fn(y, p)
            return (loss,)
        return f

    def forward_backward(loss_fn):
        def f(y, p):
            with tf.GradientTape() as tape:
                tape.watch(p)
                loss = loss_fn(y, p)
            return loss, tape.gradient(loss, p)
        return f

    def floor(y, p):
        z = y + p
        return z[0, 0], z

    def empty(y, p):
        return (tf.constant(0.0),)

    fns = {}
    for key, _, _, passes in CANDIDATES:
        if key.endswith("_generic"):
            continue  # measured in a child process (generic_cells)
        xla = key.endswith("_xla")
        for pass_ in passes:
            if key == "floor":
                py = floor
            elif key == "empty":
                py = empty
            elif pass_ == "fwd":
                py = forward(losses[key])
            else:
                py = forward_backward(losses[key])
            fns[(key, pass_)] = tf.function(py, jit_compile=True if xla else None, autograph=False)
    return fns


def call(fn, y, p):
    out = fn(y, p)
    out[0].numpy()
    return out


# --------------------------------------------------------------------------- measuring

def percentile(sorted_values, q):
    """Linear-interpolated percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def check_agreement(np, outs):
    """Max relative differences op vs its reference, so the figures compare like with like."""
    notes = []
    for op, ref in (("seed_op", "seed_composite"), ("binary_op", "keras_bfce"),
                    ("asym_op", "asym_composite"), ("asym_logits_op", "asym_logits_composite")):
        a, b = outs.get((op, "fwd+bwd")), outs.get((ref, "fwd+bwd"))
        if a is None or b is None:
            continue
        la, lb = float(a[0].numpy()), float(b[0].numpy())
        ga, gb = a[1].numpy(), b[1].numpy()
        dl = abs(la - lb) / max(abs(lb), 1e-30)
        dg = float(np.max(np.abs(ga - gb))) / max(float(np.max(np.abs(gb))), 1e-30)
        notes.append((LABELS[op], LABELS[ref], dl, dg))
    return notes


def bench_size(np, tf, keras, gofocal, batch, classes, args, log, only=None):
    inputs, weights, pos_rate = make_inputs(np, tf, batch, classes)
    fns = build_candidates(tf, keras, gofocal, weights)
    for key_pass in list(fns):
        key = key_pass[0]
        if (only is not None and key not in only) or ((batch, classes) != (1024, 1000) and key in BIG_ONLY):
            del fns[key_pass]
    args_of = {k: inputs[INPUTS.get(k[0], "f32")] for k in fns}
    errors, est, outs = {}, {}, {}
    t_setup = time.perf_counter()
    for key_pass, fn in list(fns.items()):
        try:
            t0 = time.perf_counter()
            y, p = args_of[key_pass]
            outs[key_pass] = call(fn, y, p)  # traces (and compiles, with XLA)
            first = time.perf_counter() - t0
            last = first
            for _ in range(args.warmup):
                t0 = time.perf_counter()
                call(fn, y, p)
                last = time.perf_counter() - t0
            est[key_pass] = last
            if first > 1.0:
                log(f"    {LABELS[key_pass[0]]} {key_pass[1]}: first call {first:.2f} s")
        except Exception as err:  # a candidate that cannot run is reported, not fatal
            errors[key_pass] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            del fns[key_pass]
            log(f"    {LABELS[key_pass[0]]} {key_pass[1]}: FAILED {errors[key_pass]}")
    agreement = check_agreement(np, outs)
    del outs
    setup = time.perf_counter() - t_setup

    # Blocks: each round runs every candidate once, in a fresh shuffled order,
    # as `settle` untimed calls and then a block of timed calls. Within a
    # block a candidate runs in its own steady state (allocator, caches, pool
    # threads; what one candidate leaves behind slows the next one for a few
    # calls); several rounds spread slow drift of the machine over everyone.
    one_pass = sum(est.values()) or 1e-3
    reps = int(min(args.max_reps, max(args.reps, math.ceil(
        (args.budget / one_pass - args.settle * args.rounds)))))
    rounds = max(1, min(args.rounds, reps))
    blocks = [reps // rounds + (1 if r < reps % rounds else 0) for r in range(rounds)]
    order = list(fns.keys())
    times = {k: [] for k in order}
    rng = np.random.default_rng(SEED)
    t_timed = time.perf_counter()
    for block in blocks:
        for i in rng.permutation(len(order)):
            k = order[i]
            fn = fns[k]
            y, p = args_of[k]
            for _ in range(args.settle):
                call(fn, y, p)
            for _ in range(block):
                t0 = time.perf_counter()
                call(fn, y, p)
                times[k].append(time.perf_counter() - t0)
    timed = time.perf_counter() - t_timed

    stats = {}
    for k, ts in times.items():
        ts = sorted(t * 1e3 for t in ts)
        stats[k] = dict(median=percentile(ts, 0.5), p10=percentile(ts, 0.1), p90=percentile(ts, 0.9), n=len(ts))
    return dict(batch=batch, classes=classes, reps=reps, positives=pos_rate, stats=stats, errors=errors,
                agreement=agreement, setup_s=setup, timed_s=timed)


def ratios(result):
    """Add '/ op' and '/ floor' to each stat: candidate median over the op of its
    variant (same pass), and over the memory floor (forward)."""
    st = result["stats"]
    floor = st.get(("floor", "fwd"), {}).get("median")
    for (key, pass_), s in st.items():
        ref = REFERENCE[key]
        ref_stat = st.get((ref, pass_)) if ref else None
        s["vs_op"] = s["median"] / ref_stat["median"] if ref_stat else None
        s["vs_floor"] = s["median"] / floor if floor and key not in ("floor", "empty") else None
        if key == "floor":
            s["vs_floor"] = 1.0


# --------------------------------------------------------------------------- targets

def targets(results):
    """The issue's targets: (description, measured text, met or None if not measured)."""
    by_size = {(r["batch"], r["classes"]): r["stats"] for r in results}
    rows = []

    def get(size, key, pass_, field):
        s = by_size.get(size, {}).get((key, pass_))
        return None if s is None else s.get(field)

    big, small = (1024, 1000), (32, 10)
    for desc, key, thr in (
            ("seed op >= 10x faster than the seed composite (graph mode)", "seed_composite", 10.0),
            ("seed op >= 2x faster than the seed composite with XLA", "seed_composite_xla", 2.0),
            ("binary op >= 5x faster than Keras BinaryFocalCrossentropy", "keras_bfce", 5.0)):
        r = get(big, key, "fwd+bwd", "vs_op")
        rows.append((f"1024x1000 fwd+bwd: {desc}",
                     "not measured" if r is None else f"{LABELS[key]} / op = {r:.2f}x (need >= {thr:g}x)",
                     None if r is None else r >= thr))
    r = get(big, "seed_op", "fwd+bwd", "vs_floor")
    rows.append(("1024x1000 fwd+bwd: seed op within 3x of the memory floor",
                 "not measured" if r is None else f"op / floor = {r:.2f}x (need <= 3x)",
                 None if r is None else r <= 3.0))
    r = get(small, "seed_composite", "fwd+bwd", "vs_op")
    rows.append(("32x10 fwd+bwd: seed op no slower than the seed composite",
                 "not measured" if r is None else f"composite / op = {r:.2f}x (need >= 1x)",
                 None if r is None else r >= 1.0))
    # Issue 11: the other cells, each against its own peer.
    for desc, key, thr in (
            ("seed op γ=2.5 >= 5x faster than its composite", "seed_composite_g25", 5.0),
            ("seed op float64 >= 5x faster than its composite", "seed_composite_f64", 5.0),
            ("binary op γ=2.5 >= 5x faster than Keras BinaryFocalCrossentropy", "keras_bfce_g25", 5.0),
            ("binary op from logits >= 5x faster than Keras BinaryFocalCrossentropy", "keras_bfce_logits", 5.0),
            ("binary op from logits γ=2.5 >= 5x faster than Keras", "keras_bfce_logits_g25", 5.0),
            ("ASL op (weights, partial labels) >= 5x faster than its composite", "asym_composite", 5.0),
            ("ASL op from logits (weights, partial labels) >= 5x faster than its composite",
             "asym_logits_composite", 5.0),
            ("seed op on the generic kernel no slower than the composite (its own process)",
             "seed_composite_generic", 1.0),
            ("ASL op on the generic kernel no slower than its composite (its own process)",
             "asym_composite_generic", 1.0)):
        r = get(big, key, "fwd+bwd", "vs_op")
        rows.append((f"1024x1000 fwd+bwd: {desc}",
                     "not measured" if r is None else f"{LABELS[key]} / op = {r:.2f}x (need >= {thr:g}x)",
                     None if r is None else r >= thr))
    return rows


def verdict(met):
    return "not measured" if met is None else ("met" if met else "NOT MET")


# --------------------------------------------------------------------------- output

def fmt_ratio(x):
    if x is None:
        return "-"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def measured_at(result, key):
    """Whether a candidate is measured at this result's size."""
    return key not in BIG_ONLY or (result["batch"], result["classes"]) == (1024, 1000)


def generic_cells(args, log):
    """The generic kernel's cells: the seed and ASL ops and their composites at 1024x1000,
    fwd+bwd, timed in a child process with GOLOSS_KERNEL=generic; their stats
    (keys as in GENERIC), or {} with a note when the child fails."""
    import json
    import subprocess
    cmd = [sys.executable, os.path.abspath(__file__), "--generic-child", "--sizes", "1024x1000"]
    if args.quick:
        cmd.append("--quick")
    env = dict(os.environ, GOLOSS_KERNEL="generic")
    log("  1024x1000: the generic kernel, in a child process ...")
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, timeout=1800).stdout
        stats = json.loads(out.strip().splitlines()[-1])
    except Exception as err:  # reported in the table as not measured
        log(f"    generic kernel: FAILED {type(err).__name__}: {err}")
        return {}
    return {(GENERIC[k], "fwd+bwd"): v for k, v in stats.items()}


def text_table(results):
    lines = []
    head = f"{'pass':<8} {'candidate':<19} {'median ms':>10} {'p10':>9} {'p90':>9} {'/ op':>7} {'/ floor':>8}"
    for r in results:
        lines.append("")
        lines.append(f"{r['batch']}x{r['classes']}  ({r['reps']} timed reps each, "
                     f"positives {100 * r['positives']:.1f}%)")
        lines.append(head)
        lines.append("-" * len(head))
        for pass_ in PASSES:
            for key, label, _, passes in CANDIDATES:
                if pass_ not in passes or not measured_at(r, key):
                    continue
                s = r["stats"].get((key, pass_))
                if s is None:
                    err = r["errors"].get((key, pass_), "not run")
                    lines.append(f"{pass_:<8} {label:<19} failed: {err}")
                    continue
                lines.append(f"{pass_:<8} {label:<19} {s['median']:>10.3f} {s['p10']:>9.3f} {s['p90']:>9.3f} "
                             f"{fmt_ratio(s['vs_op']):>7} {fmt_ratio(s['vs_floor']):>8}")
        for op, ref, dl, dg in r["agreement"]:
            lines.append(f"  check: {op} vs {ref}: loss rel diff {dl:.1e}, grad max diff {dg:.1e} of max |grad|")
    return "\n".join(lines)


def markdown_table(results):
    lines = ["| size | pass | candidate | median ms | p10 – p90 ms | ÷ op | ÷ floor |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in results:
        size = f"{r['batch']}×{r['classes']}"
        for pass_ in PASSES:
            for key, label, _, passes in CANDIDATES:
                if pass_ not in passes or not measured_at(r, key):
                    continue
                s = r["stats"].get((key, pass_))
                if s is None:
                    lines.append(f"| {size} | {pass_} | {label} | failed | | | |")
                    continue
                name = f"**{label}**" if key in ("seed_op", "binary_op") else label
                lines.append(f"| {size} | {pass_} | {name} | {s['median']:.3f} | {s['p10']:.3f} – {s['p90']:.3f} "
                             f"| {fmt_ratio(s['vs_op'])} | {fmt_ratio(s['vs_floor'])} |")
    return "\n".join(lines)


def chart(results, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sizes = [f"{r['batch']}×{r['classes']}" for r in results]
    panels = [
        ("fwd+bwd", "vs_op", ["seed_composite", "seed_composite_xla", "keras_bfce", "keras_bfce_xla"],
         "forward + backward: candidate ÷ gofocal op\n(> 1: the op is faster)"),
        ("fwd", "vs_op", ["seed_composite", "seed_composite_xla", "keras_bfce", "keras_bfce_xla"],
         "forward: candidate ÷ gofocal op\n(> 1: the op is faster)"),
        ("fwd+bwd", "vs_floor", ["seed_op", "seed_composite", "seed_composite_xla", "binary_op", "keras_bfce",
                                 "keras_bfce_xla"],
         "forward + backward: time ÷ memory floor\n(floor = labels + predictions, forward)"),
        ("fwd", "vs_floor", ["seed_op", "seed_composite", "seed_composite_xla", "binary_op", "keras_bfce",
                             "keras_bfce_xla"],
         "forward: time ÷ memory floor"),
    ]
    colors = {"seed_op": "#1b7837", "seed_composite": "#2166ac", "seed_composite_xla": "#92c5de",
              "binary_op": "#7fbf7b", "keras_bfce": "#b2182b", "keras_bfce_xla": "#f4a582"}
    fig, axes = plt.subplots(2, 2, figsize=(14, 11))
    for ax, (pass_, field, keys, sub) in zip(axes.flat, panels):
        x = np.arange(len(sizes))
        width = 0.8 / len(keys)
        for i, key in enumerate(keys):
            vals = []
            for r in results:
                s = r["stats"].get((key, pass_))
                v = s.get(field) if s else None
                vals.append(np.nan if v is None else v)
            pos = x - 0.4 + width * (i + 0.5)
            label = LABELS[key] + (" ÷ seed op" if field == "vs_op" and REFERENCE[key] == "seed_op" else
                                   " ÷ binary op" if field == "vs_op" else "")
            ax.bar(pos, vals, width, color=colors[key], label=label, edgecolor="black", linewidth=0.4)
            for xx, v in zip(pos, vals):
                if np.isfinite(v):
                    ax.text(xx, v * 1.04, f"{v:.2g}" if v < 1 else f"{v:.1f}" if v < 10 else f"{v:.0f}", ha="center", va="bottom",
                            fontsize=7, rotation=90)
        ax.axhline(1.0, color="black", linewidth=0.8)
        if pass_ == "fwd+bwd" and field == "vs_op":
            for thr, key in ((10, "seed_composite"), (2, "seed_composite_xla"), (5, "keras_bfce")):
                ax.axhline(thr, color=colors[key], linestyle="--", linewidth=1.2,
                           label=f"target at 1024×1000: {LABELS[key]} ÷ op ≥ {thr}")
        if pass_ == "fwd+bwd" and field == "vs_floor":
            ax.axhline(3, color=colors["seed_op"], linestyle="--", linewidth=1.2,
                       label="target at 1024×1000: seed op ÷ floor ≤ 3")
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(sizes)
        ax.set_title(sub, fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.5), max(hi, 2.0) * 1.8)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_markdown(path, section, kind):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    mark_start, mark_end = MARK_START.format(kind), MARK_END.format(kind)
    block = f"{mark_start}\n{section.rstrip()}\n{mark_end}\n"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    else:
        text = ("# Benchmarks\n\n"
                "Speed of the gofocal op against the TensorFlow and Keras code it replaces. "
                "The sections below are written by `make bench` (`bench/bench.py`), one per kind of "
                "CPU; rerunning it replaces the section of its CPU's kind.\n\n")
    start, end = text.find(mark_start), text.find(mark_end)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(mark_end):].lstrip("\n")
    else:
        # A new kind of CPU: its section goes before the hand-written part.
        at = text.find("\n## Reading the figures")
        if at == -1:
            text = text.rstrip("\n") + "\n\n" + block
        else:
            text = text[:at].rstrip("\n") + "\n\n" + block + text[at:]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main

def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t_start = time.perf_counter()
    load_start = loadavg()
    times_start = cpu_times()

    import numpy as np
    import tensorflow as tf

    # Before any op runs (importing keras or gofocal runs none, but set it first anyway).
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    tf.config.experimental.set_synchronous_execution(True)
    # Each candidate is its own tf.function, traced once per size on purpose;
    # TensorFlow's "retracing" warning about that is noise here.
    tf.get_logger().setLevel("ERROR")

    import keras
    import gofocal

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    cpu = cpu_info()
    env = dict(
        cpu=cpu["model"] + (f" (family {cpu['family']} model {cpu['model_no']})" if cpu["family"] else ""),
        cores=f"{cpu['usable']} usable of {cpu['logical']} logical" + (", KVM/VM guest" if cpu["hypervisor"] else ""),
        simd=", ".join(cpu["simd"]) or "none of avx512f/avx2/fma",
        tf=tf.__version__, keras=keras.__version__, numpy=np.__version__,
        python=platform.python_version(), gofocal=getattr(gofocal, "__version__", "?"),
        git=git_state(),
        gomaxprocs=os.environ.get("GOMAXPROCS", f"unset (Go default: {cpu['usable']})"),
    )
    try:
        from gofocal import _native
        _native.ops()  # load both libraries now, so the fingerprints below are of what runs
        env["goloss"] = _native.library_version()
    except Exception:  # informational only
        env["goloss"] = "?"
    kernel = "unknown"
    try:
        kernel = _native.kernel()
        env["goloss"] += f", kernel {kernel}"
    except Exception:  # older libraries have no kernel query
        pass
    # The kind of CPU this run's section of BENCHMARKS.md (and its chart)
    # stands for.
    kind = f"{kernel}, {env['cpu']}"
    if args.out_png and os.path.basename(args.out_png) == "ratios.png":
        fam = f"-family{cpu['family']}-model{cpu['model_no']}" if cpu["family"] else ""
        args.out_png = os.path.join(os.path.dirname(args.out_png), f"ratios-{kernel}{fam}.png")
    if os.environ.get("GOLOSS_KERNEL"):
        env["goloss"] += f" (GOLOSS_KERNEL={os.environ['GOLOSS_KERNEL']})"
    env["libs"] = library_fingerprints(gofocal)
    rel_py = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT) else sys.executable
    command = shlex.join([rel_py, os.path.relpath(os.path.abspath(__file__), ROOT)] +
                         (sys.argv[1:] if argv is None else list(argv)))

    log(f"gofocal bench: TF {env['tf']}, intra-op {args.intra_op}, inter-op {args.inter_op}, "
        f"sizes {', '.join(f'{b}x{c}' for b, c in args.sizes)}{', quick' if args.quick else ''}")
    if args.generic_child:
        import json
        r = bench_size(np, tf, keras, gofocal, 1024, 1000, args, log, only=set(GENERIC))
        print(json.dumps({k: v for (k, pass_), v in r["stats"].items() if pass_ == "fwd+bwd"}))
        return 0
    results = []
    for batch, classes in args.sizes:
        log(f"  {batch}x{classes}: warming up ...")
        r = bench_size(np, tf, keras, gofocal, batch, classes, args, log)
        if (batch, classes) == (1024, 1000):
            r["stats"].update(generic_cells(args, log))
        ratios(r)
        log(f"  {batch}x{classes}: {r['reps']} reps, setup {r['setup_s']:.1f} s, timed {r['timed_s']:.1f} s")
        results.append(r)

    other, steal = other_load(times_start, cpu_times(), cpu["usable"])
    busy = busy_note(other, steal)
    share = "n/a" if other is None else f"{100 * other:.0f}% (steal {100 * steal:.0f}%)"
    threads_ok = (tf.config.threading.get_intra_op_parallelism_threads() == args.intra_op and
                  tf.config.threading.get_inter_op_parallelism_threads() == args.inter_op)
    elapsed = time.perf_counter() - t_start
    load_end = loadavg()
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")

    # ---- stdout
    print(f"gofocal benchmark, {date}")
    print(f"CPU: {env['cpu']}; {env['cores']}; {env['simd']}")
    print(f"TensorFlow {env['tf']}, Keras {env['keras']}, NumPy {env['numpy']}, Python {env['python']}; "
          f"gofocal {env['gofocal']} (goloss {env['goloss']}), git {env['git']}")
    print(f"libraries: {env['libs']}")
    print(f"float32; intra-op threads {args.intra_op}, inter-op threads {args.inter_op}"
          f"{'' if threads_ok else ' (NOT applied!)'}; GOMAXPROCS {env['gomaxprocs']}; "
          f"load average {load_start} at start, {load_end} at end; "
          f"CPU share of other processes during the run: {share}")
    print(f"command: {command}")
    if busy:
        print(f"WARNING: {busy}")
    print("times: one tf.function call each, median / p10 / p90 over the timed reps after warm-up;")
    print("/ op = median over the gofocal op of the same variant and pass; "
          "/ floor = median over the memory floor (forward)")
    print(text_table(results))
    print()
    rows = targets(results)
    print("Targets (issues 5, 11 and 14):")
    for desc, measured, met in rows:
        print(f"  [{verdict(met):>12}] {desc}: {measured}")
    failed = [(r["batch"], r["classes"], LABELS[k], p, e) for r in results for (k, p), e in r["errors"].items()]
    for b, c, label, p, e in failed:
        print(f"  note: {label} {p} at {b}x{c} failed: {e}")
    print(f"\ntotal wall time {elapsed:.0f} s")

    # ---- chart
    title = (f"gofocal op vs composites, float32, {args.intra_op} intra-op threads — {env['cpu']}, "
             f"TF {env['tf']}, {date}{' (QUICK run)' if args.quick else ''}")
    if args.out_png:
        try:
            chart(results, args.out_png, title)
            log(f"wrote {args.out_png}")
        except ImportError as err:
            log(f"chart skipped ({err}); matplotlib comes with python/requirements.txt")
            args.out_png = ""

    # ---- markdown
    if args.out_md:
        md_dir = os.path.dirname(os.path.abspath(args.out_md))
        lines = [
            f"## Op vs composites (`make bench`): {kind}",
            "",
            f"- Date: {date}{' — **quick run** (few repetitions)' if args.quick else ''}",
            f"- CPU: {env['cpu']}, {env['cores']} ({env['simd']})",
            f"- TensorFlow {env['tf']}, Keras {env['keras']}, NumPy {env['numpy']}, Python {env['python']}; "
            f"gofocal {env['gofocal']}, goloss {env['goloss']}; git {env['git']}",
            f"- Libraries: {env['libs']}",
            f"- One process, float32, intra-op threads {args.intra_op}, inter-op threads {args.inter_op}, "
            f"GOMAXPROCS {env['gomaxprocs']}; load average {load_start} at start, {load_end} at end; "
            f"CPU share of other processes during the run: {share}",
            f"- Command: `{command}` ({elapsed:.0f} s)",
        ] + ([f"- **Warning**: {busy}"] if busy else []) + [
            f"- Each figure: one call of a `tf.function` (`autograph=False`; XLA rows `jit_compile=True`); "
            f"median and p10 – p90 in ms over ≥ {args.reps} timed repetitions per candidate after "
            f"{args.warmup} warm-up calls, "
            + ("candidates interleaved call by call in a shuffled order (`--cold`). " if args.cold else
               f"in {args.rounds} rounds over the candidates in a shuffled order, each a block of timed "
               f"calls after {args.settle} untimed ones. ") +
            f"**fwd+bwd**: loss and `tf.GradientTape` gradient w.r.t. the predictions, both returned; "
            f"**fwd**: the loss alone.",
            f"- Inputs: multi-hot labels with {100 * POSITIVE_RATE:g}% positives, predictions = sigmoid of "
            f"N(−2, 1.5²) logits, seeded; seed variant gamma {GAMMA:g}, e {E:g}, long-tailed class weights; "
            f"binary variant alpha {ALPHA:g} with class balancing, gamma {GAMMA:g}; losses averaged to a scalar.",
            "- Candidates: **seed op** `tf.reduce_mean(gofocal.seed_focal_loss(...))`; "
            "seed composite `tf.reduce_mean(gofocal.composite.seed_composite(...))`; "
            "**binary op** `gofocal.losses.BinaryFocalLoss(apply_class_balancing=True)`; "
            "Keras BFCE `keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True)`; "
            "memory floor `labels + predictions` (reads both, writes one tensor their size); "
            "empty call: a `tf.function` returning a constant (the fixed cost of any call).",
            "- **÷ op**: median over the gofocal op of the same variant and pass (> 1: the op is faster). "
            "**÷ floor**: median over the memory floor's forward median.",
            "",
            "### Targets (issues 5, 11 and 14)",
            "",
        ]
        for desc, measured, met in rows:
            lines.append(f"- **{verdict(met)}** — {desc}: {measured}")
        for b, c, label, p, e in failed:
            lines.append(f"- note: {label} {p} at {b}×{c} failed: `{e}`")
        lines += ["", "### Times", "", markdown_table(results), ""]
        agree = [(r, a) for r in results for a in r["agreement"]]
        if agree:
            lines.append("Agreement of the compared losses in this run (fwd+bwd outputs): " + "; ".join(
                f"{r['batch']}×{r['classes']} {op} vs {ref}: loss {dl:.0e}, grad {dg:.0e}"
                for r, (op, ref, dl, dg) in agree) + " (relative).")
            lines.append("")
        if args.out_png:
            rel = os.path.relpath(os.path.abspath(args.out_png), md_dir)
            lines += [f"![ratios]({rel})", ""]
        write_markdown(args.out_md, "\n".join(lines), kind)
        log(f"wrote {args.out_md}")

    if args.out_json:
        data = dict(env=env, command=command, date=date, intra_op=args.intra_op, inter_op=args.inter_op,
                    results=[dict(batch=r["batch"], classes=r["classes"], reps=r["reps"],
                                  stats={f"{k}|{p}": s for (k, p), s in r["stats"].items()},
                                  errors={f"{k}|{p}": e for (k, p), e in r["errors"].items()})
                             for r in results],
                    targets=[dict(target=d, measured=m, met=t) for d, m, t in rows])
        os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)
        with open(args.out_json, "w") as f:
            json.dump(data, f, indent=1)
        log(f"wrote {args.out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
