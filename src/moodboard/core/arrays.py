"""Array aliases used between stages; shapes are given in each docstring that uses them."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
"""float32 array; embeddings are (n, d) and L2-normalised."""

IntArray = NDArray[np.int64]
"""int64 array of ids."""

Int32Array = NDArray[np.int32]
"""int32 array, used by the compact graph snapshot."""
