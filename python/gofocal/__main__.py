"""``python -m gofocal --version``: the versions of the package, its
libraries and TensorFlow, and a check that the op loads and runs."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gofocal", description=__doc__)
    parser.add_argument("--version", action="store_true",
                        help="print the versions and check that the op runs")
    args = parser.parse_args(argv)
    if not args.version:
        parser.print_help()
        return 0

    import tensorflow as tf

    import gofocal
    from gofocal import _native

    print(f"gofocal {gofocal.__version__}")
    print(f"tensorflow {tf.__version__} (running)")
    try:
        print(f"libgoloss {_native.library_version()} (kernel {_native.kernel()})")
        print(f"op library built against tensorflow {_native.built_against()}")
        loss = gofocal.seed_focal_loss([[1.0, 0.0]], [[0.5, 0.5]], [0.5, 0.5]).numpy()
    except (ImportError, OSError, ValueError, tf.errors.OpError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"op check: loss {loss[0]:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
