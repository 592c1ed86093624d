"""
`blurring_mask_2d_from`: the masked pixels within the kernel's (ky // 2, kx // 2) box of an unmasked pixel, for odd
and even kernels, masks near the edge and masks that need padding. An oversampled PSF sizes its blurring region by
the fine kernel's native footprint (`footprint_shape_native_from`), so the footprint shapes are among those checked.

The reference counts the unmasked pixels in every box with a summed-area table (no dilation), written here.
"""

import warnings

import numpy as np
import pytest

from autoarray.mask import mask_2d_util
from autoarray.operators.convolver import footprint_shape_native_from


def reference_blurring_mask_from(mask, kernel_shape):
    mask = np.asarray(mask, dtype=bool)
    required = mask_2d_util.required_shape_for_kernel(mask, kernel_shape)
    if required != mask.shape:
        dy, dx = required[0] - mask.shape[0], required[1] - mask.shape[1]
        mask = np.pad(mask, ((dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2)), constant_values=True)
    ky, kx = kernel_shape
    H, W = mask.shape
    # A pixel p is in the box of an unmasked q when q - k // 2 <= p <= q + (k - 1 - k // 2) along each axis: k pixels,
    # centred for an odd k, one more before than after for an even k (the release's convention).
    hy, hx = ky - 1 - ky // 2, kx - 1 - kx // 2
    unmasked = np.pad((~mask).astype(np.int64), ((hy + 1, ky // 2), (hx + 1, kx // 2)))
    table = unmasked.cumsum(axis=0).cumsum(axis=1)
    # the number of unmasked q in rows p - hy .. p + ky // 2 and columns p - hx .. p + kx // 2
    count = table[ky : ky + H, kx : kx + W] - table[0:H, kx : kx + W] - table[ky : ky + H, 0:W] + table[0:H, 0:W]
    blurring = np.ones_like(mask)
    blurring[mask & (count > 0)] = False
    return blurring


def test__reference__hand_worked_example():
    mask = np.ones((5, 6), dtype=bool)
    mask[2, 2] = False
    expected = np.ones((5, 6), dtype=bool)
    expected[1:4, 1:4] = False
    expected[2, 2] = True
    assert np.array_equal(reference_blurring_mask_from(mask, (3, 3)), expected)
    expected = np.ones((5, 6), dtype=bool)
    expected[2, 1:4] = False
    expected[2, 2] = True
    assert np.array_equal(reference_blurring_mask_from(mask, (1, 3)), expected)
    # an even size reaches one more pixel before the unmasked pixel than after it
    expected = np.ones((5, 6), dtype=bool)
    expected[0:4, 2] = False
    expected[2, 2] = True
    assert np.array_equal(reference_blurring_mask_from(mask, (4, 1)), expected)


@pytest.mark.parametrize("seed", range(40))
def test__blurring_mask_2d_from__equals_the_reference(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(5, 50, 2))
    kernel_shape = tuple(int(v) for v in rng.integers(1, 16, 2))
    mask = rng.random(shape) > rng.uniform(0.05, 0.95)
    if mask.all():
        mask[shape[0] // 2, shape[1] // 2] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mask_2d_util.blurring_mask_2d_from(mask, kernel_shape, allow_padding=True)
    expected = reference_blurring_mask_from(mask, kernel_shape)
    assert result.shape == expected.shape
    assert np.array_equal(result, expected)


@pytest.mark.parametrize("kernel_shape, N", [((81, 81), 4), ((41, 33), 2), ((25, 25), 3), ((21, 13), 4)])
def test__blurring_mask_2d_from__native_footprint_of_a_fine_kernel(kernel_shape, N):
    """A circular mask in a frame with room for the footprint, and one at the frame's edge (padded)."""
    footprint = footprint_shape_native_from(kernel_shape_native=kernel_shape, convolve_over_sample_size=N)
    yy, xx = np.mgrid[:60, :60]
    mask = np.ones((60, 60), dtype=bool)
    mask[(yy - 30) ** 2 + (xx - 30) ** 2 < 15**2] = False
    assert np.array_equal(mask_2d_util.blurring_mask_2d_from(mask, footprint), reference_blurring_mask_from(mask, footprint))

    at_edge = np.ones((60, 60), dtype=bool)
    at_edge[(yy - 2) ** 2 + (xx - 57) ** 2 < 10**2] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = mask_2d_util.blurring_mask_2d_from(at_edge, footprint, allow_padding=True)
    expected = reference_blurring_mask_from(at_edge, footprint)
    assert result.shape == expected.shape and result.shape != at_edge.shape
    assert np.array_equal(result, expected)
