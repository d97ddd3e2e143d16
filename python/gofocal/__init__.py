"""gofocal: a fused multi-label focal loss for TensorFlow and Keras.

The loss and its gradient are computed in one pass by a Go core
(``libgoloss.so``) inside a TensorFlow custom op. See SPEC.md for the math.

    import gofocal
    model.compile(optimizer="sgd", loss=[gofocal.focal_loss(classes_num)])
"""

from gofocal import composite
from gofocal._ops import asymmetric_loss, binary_focal_loss, seed_focal_loss
from gofocal.losses import AsymmetricLoss, BinaryFocalLoss, FocalLoss, class_weights, focal_loss

__version__ = "0.1.0"

# Load the op library now: a SavedModel or a graph that names the ops finds
# them after `import gofocal`, and a missing or mismatched library is an
# ImportError here rather than an error in the middle of training.
from gofocal import _native as _native_libraries  # noqa: E402

_native_libraries.ops()

__all__ = ["AsymmetricLoss", "BinaryFocalLoss", "FocalLoss", "asymmetric_loss",
           "binary_focal_loss", "class_weights", "composite", "focal_loss", "seed_focal_loss",
           "__version__"]
