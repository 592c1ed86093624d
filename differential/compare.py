"""Bit-for-bit comparison of two scenario outputs."""
from typing import Optional

import numpy as np


def difference(pristine: np.ndarray, patched: np.ndarray) -> Optional[str]:
    """
    Return ``None`` when the two arrays are identical bit for bit, otherwise a sentence saying how they differ.

    Identical means: same dtype, same shape, NaNs in the same places and every other value equal
    (``np.array_equal``). For floating arrays the comparison is made on the raw bytes as well, so that -0.0 and
    0.0 count as different, as a reordered float operation can produce either.
    """
    if pristine.dtype != patched.dtype:
        return f"dtype differs: pristine {pristine.dtype}, patched {patched.dtype}"
    if pristine.shape != patched.shape:
        return f"shape differs: pristine {pristine.shape}, patched {patched.shape}"
    if pristine.dtype.kind in "fc":
        nan_a, nan_b = np.isnan(pristine), np.isnan(patched)
        if not np.array_equal(nan_a, nan_b):
            return f"NaNs differ: {int(nan_a.sum())} in pristine, {int(nan_b.sum())} in patched, not in the same places"
        if not np.array_equal(np.where(nan_a, 0, pristine), np.where(nan_b, 0, patched)):
            bad = np.where(nan_a, 0, pristine) != np.where(nan_b, 0, patched)
            idx = np.argwhere(bad)[0]
            a, b = pristine[tuple(idx)], patched[tuple(idx)]
            ulps = ""
            if pristine.dtype.kind == "f" and np.isfinite(a) and np.isfinite(b):
                ulps = f", {abs(float(b) - float(a)) / np.spacing(abs(a) or 1.0):.3g} ulp"
            return (
                f"values differ at {int(bad.sum())} of {bad.size} entries; first at index {tuple(int(i) for i in idx)}: "
                f"pristine {a!r}, patched {b!r}{ulps}"
            )
        clean_a = np.where(nan_a, 0, pristine)
        clean_b = np.where(nan_b, 0, patched)
        if clean_a.tobytes() != clean_b.tobytes():
            return "values are equal but their bits differ (signed zeros)"
        return None
    if pristine.dtype.kind == "O" or patched.dtype.kind == "O":
        return None if repr(pristine.tolist()) == repr(patched.tolist()) else "object values differ"
    if not np.array_equal(pristine, patched):
        return f"values differ at {int((pristine != patched).sum())} entries"
    return None


def real_values_problem(array: np.ndarray) -> Optional[str]:
    """Return why ``array`` does not look like a real output (empty, or no finite value), or ``None``."""
    if array.size == 0:
        return "empty array"
    if array.dtype.kind in "fc" and not np.isfinite(array).any():
        return "no finite value"
    return None
