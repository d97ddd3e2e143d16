"""The slow tests (make test-long) share the helpers of the folder above."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
