"""
`blurring_mask_2d_from` dilates by the kernel's rectangle as two 1D dilations: the same pixels as one dilation by
the whole rectangle (the reference here, written independently with scipy), for odd and even kernels, masks near
the edge and masks that need padding.
"""

import warnings

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from autoarray.mask import mask_2d_util


def reference_blurring_mask_from(mask, kernel_shape):
    mask = np.asarray(mask, dtype=bool)
    required = mask_2d_util.required_shape_for_kernel(mask, kernel_shape)
    if required != mask.shape:
        dy, dx = required[0] - mask.shape[0], required[1] - mask.shape[1]
        mask = np.pad(mask, ((dy // 2, dy - dy // 2), (dx // 2, dx - dx // 2)), constant_values=True)
    ky, kx = kernel_shape
    py, px = ky // 2, kx // 2
    unmasked = np.pad(~mask, ((py, py), (px, px)), constant_values=False)
    near = binary_dilation(unmasked, structure=np.ones((ky, kx), dtype=bool))
    near = near[py : py + mask.shape[0], px : px + mask.shape[1]]
    blurring = np.ones_like(mask)
    blurring[mask & near] = False
    return blurring


@pytest.mark.parametrize("seed", range(40))
def test__separable_dilation_equals_the_rectangle_dilation(seed):
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


def test__large_fine_kernel_on_a_fine_mask():
    mask = np.ones((240, 240), dtype=bool)
    yy, xx = np.mgrid[:240, :240]
    mask[(yy - 120) ** 2 + (xx - 120) ** 2 < 60**2] = False
    assert np.array_equal(
        mask_2d_util.blurring_mask_2d_from(mask, (81, 81)), reference_blurring_mask_from(mask, (81, 81))
    )
