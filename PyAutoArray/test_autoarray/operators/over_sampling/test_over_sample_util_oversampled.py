"""
Tests of the over-sampling helpers of oversampled convolution (convolution over sample size N > 1):

- `OverSampler.fine_index_for_sub_slim_from(N)`: the fine pixel every sub-pixel lies in (fine pixels pixel-major:
  native pixel i's fine pixel (a, b) is i * N**2 + a * N + b) and the weight 1 / k**2 of each fine pixel's
  sub-pixels (a pixel over-sampled at s = k N);
- `OverSampler.fine_binned_from(array, N, xp)`: sub-pixel values binned (mean) to those fine pixels;
- `over_sample_util.fine_sub_size_from` (the k N rule) and `over_sample_util.over_sample_size_for_convolution_from`
  (a uniform size must be a multiple of N, per-pixel sizes are rounded up).

The references place every sub-pixel in its fine pixel from its (y, x) coordinates alone (floor arithmetic on the
fine frame), and fine pixel centres come from the closed form of the pixel geometry.
"""

import re

import numpy as np
import pytest

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
from autoarray.operators.over_sampling import over_sample_util

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)


def native_masks():
    rect = np.ones((7, 11), dtype=bool)
    rect[2:5, 1:9] = False
    rect[3, 4] = True
    return {
        "circular": aa.Mask2D.circular(shape_native=(9, 8), pixel_scales=(0.2, 0.3), radius=0.8, origin=(0.5, -0.3)),
        "annulus": aa.Mask2D.elliptical_annular(
            shape_native=(12, 10),
            pixel_scales=0.25,
            inner_major_axis_radius=0.4,
            inner_axis_ratio=0.7,
            inner_phi=20.0,
            outer_major_axis_radius=1.2,
            outer_axis_ratio=0.6,
            outer_phi=40.0,
            centre=(0.1, -0.2),
        ),
        "rectangle": aa.Mask2D(mask=rect, pixel_scales=0.1, origin=(-1.0, 2.0)),
    }


MASK_NAMES = ["circular", "annulus", "rectangle"]


def coordinate_fine_index_from(mask, coordinates, N):
    """
    The pixel-major fine index of every (y, x) point: its row and column on the fine frame (the mask's frame at
    pixel scales / N) by floor arithmetic, the native pixel holding it, and its place (a, b) in that pixel.
    """
    H, W = mask.shape_native
    psy, psx = mask.pixel_scales
    top = mask.origin[0] + H * psy / 2.0
    left = mask.origin[1] - W * psx / 2.0
    coordinates = np.asarray(coordinates)
    rows = np.floor((top - coordinates[:, 0]) / (psy / N)).astype(int)
    cols = np.floor((coordinates[:, 1] - left) / (psx / N)).astype(int)
    slim = np.full((H, W), -1)
    slim[~np.asarray(mask)] = np.arange(mask.pixels_in_mask)
    native = slim[rows // N, cols // N]
    assert np.all(native >= 0), "a point fell outside the mask"
    return native * N * N + (rows % N) * N + cols % N


def fine_centres_from(mask, N):
    """The fine pixel centres of a mask, pixel-major, from the closed form of the pixel geometry."""
    H, W = mask.shape_native
    psy, psx = mask.pixel_scales
    oy, ox = mask.origin
    centres = []
    for y, x in zip(*np.nonzero(~np.asarray(mask))):
        for a in range(N):
            for b in range(N):
                centres.append((oy + (H / 2.0 - y - (a + 0.5) / N) * psy, ox + (x + (b + 0.5) / N - W / 2.0) * psx))
    return np.array(centres)


def adaptive_sizes_from(mask, N, seed=0):
    """Per-pixel sizes k_i N with k_i in 1..3, at random."""
    return aa.Array2D(values=N * np.random.default_rng(seed).integers(1, 4, mask.pixels_in_mask), mask=mask)


# ----------------------------------------------------------------------------------------------------------------------
# fine_index_for_sub_slim_from
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 1), (2, 2), (3, 1), (3, 2), (4, 1)])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__fine_index_for_sub_slim_from__equals_the_coordinate_reference(name, N, k):
    mask = native_masks()[name]
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=k * N)
    fine_index, fine_weight = grid.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=N)

    expected = coordinate_fine_index_from(mask, grid.over_sampled, N)
    assert np.issubdtype(np.asarray(fine_index).dtype, np.integer)
    np.testing.assert_array_equal(fine_index, expected)
    # every fine pixel owns k x k sub-pixels, each weighing 1 / k^2 in its mean
    np.testing.assert_array_equal(np.bincount(fine_index), np.full(mask.pixels_in_mask * N * N, k * k))
    np.testing.assert_allclose(fine_weight, np.full(mask.pixels_in_mask * N * N, 1.0 / k**2), rtol=1e-15)


@pytest.mark.parametrize("N", [2, 3])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__fine_index_for_sub_slim_from__adaptive_sizes(name, N):
    mask = native_masks()[name]
    sizes = adaptive_sizes_from(mask, N, seed=N)
    assert len(np.unique(sizes.array)) > 1
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=sizes)
    fine_index, fine_weight = grid.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=N)

    np.testing.assert_array_equal(fine_index, coordinate_fine_index_from(mask, grid.over_sampled, N))
    k_of_fine = np.repeat(np.asarray(sizes.array) // N, N * N)
    np.testing.assert_array_equal(np.bincount(fine_index), k_of_fine**2)
    np.testing.assert_allclose(fine_weight, 1.0 / k_of_fine**2, rtol=1e-15)


def test__fine_index_for_sub_slim_from__hand_worked_examples():
    # Two unmasked pixels, (0, 1) then (1, 0), at s = N = 2: each sub-pixel is its own fine pixel, pixel-major.
    mask = aa.Mask2D(mask=[[True, False], [False, True]], pixel_scales=1.0)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=2)
    fine_index, fine_weight = grid.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=2)
    assert np.asarray(fine_index).tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert np.asarray(fine_weight).tolist() == [1.0] * 8

    # One pixel at s = 4, N = 2: its 4 x 4 sub-pixels (row-major) fall in 2 x 2 fine pixels.
    mask = aa.Mask2D(mask=[[False]], pixel_scales=1.0)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=4)
    fine_index, fine_weight = grid.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=2)
    assert np.asarray(fine_index).tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    assert np.asarray(fine_weight).tolist() == [0.25] * 4


@pytest.mark.parametrize("N, size, valid", [(2, 3, 4), (2, 5, 6), (3, 4, 6), (3, 2, 3)])
def test__fine_index_for_sub_slim_from__size_not_a_multiple__dataset_exception(N, size, valid):
    mask = native_masks()["circular"]
    over_sampler = aa.Grid2D.from_mask(mask=mask, over_sample_size=size).over_sampler
    with pytest.raises(aa.exc.DatasetException, match=rf"positive multiple of {N}.*got \[{size}\]\. Use \[{valid}\]"):
        over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=N)
    with pytest.raises(aa.exc.DatasetException, match=rf"positive multiple of {N}"):
        over_sampler.fine_binned_from(np.ones(mask.pixels_in_mask * size**2), convolve_over_sample_size=N)


# ----------------------------------------------------------------------------------------------------------------------
# fine_binned_from
# ----------------------------------------------------------------------------------------------------------------------


def reference_fine_binned_from(mask, coordinates, values, N):
    """The mean of the values of the sub-pixels inside every fine pixel, found from their coordinates."""
    index = coordinate_fine_index_from(mask, coordinates, N)
    fine_pixels = mask.pixels_in_mask * N * N
    total = np.zeros(fine_pixels)
    count = np.zeros(fine_pixels)
    for i, v in zip(index, np.asarray(values)):
        total[i] += v
        count[i] += 1
    assert np.all(count > 0)
    return total / count


@pytest.mark.parametrize(
    "name, N, sizes, xp",
    [(name, N, sizes, np) for name in MASK_NAMES for N in (2, 3) for sizes in ("uniform", "adaptive")]
    + [("annulus", 2, "uniform", jnp), ("annulus", 2, "adaptive", jnp), ("rectangle", 3, "adaptive", jnp)],
    ids=lambda v: v.__name__ if v is np or v is jnp else str(v),
)
def test__fine_binned_from__is_the_mean_of_the_sub_pixels_in_each_fine_pixel(name, N, sizes, xp):
    mask = native_masks()[name]
    over_sample_size = 2 * N if sizes == "uniform" else adaptive_sizes_from(mask, N, seed=7)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=over_sample_size)
    values = np.random.default_rng(N).normal(size=grid.over_sampled.shape[0])

    result = grid.over_sampler.fine_binned_from(xp.asarray(values), convolve_over_sample_size=N, xp=xp)

    assert result.shape == (mask.pixels_in_mask * N * N,)
    np.testing.assert_allclose(
        np.asarray(result), reference_fine_binned_from(mask, grid.over_sampled, values, N), rtol=1e-12, atol=1e-14
    )


def test__fine_binned_from__mean_not_sum__hand_worked():
    mask = aa.Mask2D(mask=[[False, True]], pixel_scales=1.0)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=4)
    # sub-pixels row-major 0..15 on a 4 x 4 block; fine (0, 0) holds 0, 1, 4, 5 whose mean is 2.5, and so on
    result = grid.over_sampler.fine_binned_from(np.arange(16.0), convolve_over_sample_size=2)
    assert np.asarray(result).tolist() == [2.5, 4.5, 10.5, 12.5]
    # at s = N each sub-pixel is its fine pixel: the values are returned as they are
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=2)
    assert np.asarray(grid.over_sampler.fine_binned_from(np.array([1.0, 2.0, 3.0, 6.0]), 2)).tolist() == [
        1.0,
        2.0,
        3.0,
        6.0,
    ]


@pytest.mark.parametrize("N, k", [(2, 1), (2, 3), (3, 2), (4, 1)])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__fine_values__are_the_fine_pixel_centres_in_the_order_of_a_grid_over_sampled_at_n(name, N, k):
    """
    Binned to fine pixels, the sub-pixel coordinates of a grid over-sampled at k N are the centres of the fine
    pixels (closed form), in the order of `Grid2D.from_mask(mask, over_sample_size=N).over_sampled`; their N x N mean
    is the native pixel centre.
    """
    mask = native_masks()[name]
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=k * N)
    coordinates = np.asarray(grid.over_sampled)
    binned = np.stack(
        [np.asarray(grid.over_sampler.fine_binned_from(coordinates[:, c].copy(), N)) for c in (0, 1)], axis=1
    )
    expected = fine_centres_from(mask, N)
    np.testing.assert_allclose(binned, expected, rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(
        np.asarray(aa.Grid2D.from_mask(mask=mask, over_sample_size=N).over_sampled), expected, rtol=0.0, atol=1e-12
    )
    np.testing.assert_allclose(
        expected.reshape(mask.pixels_in_mask, N * N, 2).mean(axis=1), np.asarray(grid.array), rtol=0.0, atol=1e-12
    )


@pytest.mark.parametrize("sizes", ["uniform", "adaptive"])
@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test__fine_binned_from__values_of_the_wrong_length_raise(sizes, xp):
    """Native-length values, or one value too many or too few, raise: never a result of the wrong shape."""
    mask = native_masks()["circular"]
    over_sample_size = 4 if sizes == "uniform" else adaptive_sizes_from(mask, 2, seed=3)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=over_sample_size)
    sub_pixels = grid.over_sampled.shape[0]
    for length in (sub_pixels - 1, sub_pixels + 1, mask.pixels_in_mask, mask.pixels_in_mask * 4 + 1):
        with pytest.raises(aa.exc.KernelException, match="one value per sub-pixel"):
            np.asarray(grid.over_sampler.fine_binned_from(xp.ones(length), convolve_over_sample_size=2, xp=xp))


@pytest.mark.parametrize("sizes", ["uniform", "adaptive"])
def test__fine_binned_from__values_of_the_wrong_length__library_exception_naming_the_lengths(sizes):
    mask = native_masks()["circular"]
    over_sample_size = 4 if sizes == "uniform" else adaptive_sizes_from(mask, 2, seed=3)
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=over_sample_size)
    with pytest.raises(
        aa.exc.KernelException,
        match=rf"{grid.over_sampled.shape[0]}.*{mask.pixels_in_mask}|{mask.pixels_in_mask}.*{grid.over_sampled.shape[0]}",
    ):
        grid.over_sampler.fine_binned_from(np.ones(mask.pixels_in_mask), convolve_over_sample_size=2)


# ----------------------------------------------------------------------------------------------------------------------
# The k N rule
# ----------------------------------------------------------------------------------------------------------------------


def test__fine_sub_size_from__is_size_over_n():
    np.testing.assert_array_equal(over_sample_util.fine_sub_size_from(np.array([2, 4, 8, 6]), 2), [1, 2, 4, 3])
    np.testing.assert_array_equal(over_sample_util.fine_sub_size_from(np.array([3, 9, 12]), 3), [1, 3, 4])
    np.testing.assert_array_equal(over_sample_util.fine_sub_size_from(np.array([1, 5, 7]), 1), [1, 5, 7])


@pytest.mark.parametrize(
    "sizes, N, given, valid",
    [([3], 2, "[3]", "[4]"), ([4, 5, 7, 8], 2, "[5, 7]", "[6, 8]"), ([4, 6, 2], 3, "[2, 4]", "[3, 6]"), ([0, 2], 2, "[0]", "[2]")],
)
def test__fine_sub_size_from__not_a_positive_multiple__dataset_exception_naming_valid_sizes(sizes, N, given, valid):
    with pytest.raises(
        aa.exc.DatasetException,
        match=rf"convolve_over_sample_size={N} every over-sample size must be a positive multiple of {N}.*"
        rf"but got {re.escape(given)}\. Use {re.escape(valid)} instead",
    ):
        over_sample_util.fine_sub_size_from(np.array(sizes), N)


def test__over_sample_size_for_convolution_from__a_uniform_size_must_be_a_multiple():
    mask = native_masks()["annulus"]
    sizes, raised = over_sample_util.over_sample_size_for_convolution_from(
        over_sample_size=6, mask=mask, convolve_over_sample_size=3
    )
    assert isinstance(sizes, aa.Array2D)
    np.testing.assert_array_equal(sizes.array, np.full(mask.pixels_in_mask, 6))
    assert raised == 0
    sizes, raised = over_sample_util.over_sample_size_for_convolution_from(
        over_sample_size=np.int64(4), mask=mask, convolve_over_sample_size=2
    )
    np.testing.assert_array_equal(sizes.array, np.full(mask.pixels_in_mask, 4))

    for size, N, valid in ((3, 2, 4), (4, 3, 6), (np.int64(5), 2, 6)):
        with pytest.raises(aa.exc.DatasetException, match=rf"multiple of {N}.*Use \[{valid}\]"):
            over_sample_util.over_sample_size_for_convolution_from(
                over_sample_size=size, mask=mask, convolve_over_sample_size=N
            )


@pytest.mark.parametrize("as_array2d", [True, False], ids=["Array2D", "ndarray"])
def test__over_sample_size_for_convolution_from__per_pixel_sizes_are_rounded_up(as_array2d):
    mask = native_masks()["annulus"]
    values = np.random.default_rng(4).integers(1, 9, mask.pixels_in_mask)
    given = aa.Array2D(values=values, mask=mask) if as_array2d else values
    sizes, raised = over_sample_util.over_sample_size_for_convolution_from(
        over_sample_size=given, mask=mask, convolve_over_sample_size=3
    )
    expected = 3 * ((values + 2) // 3)
    np.testing.assert_array_equal(sizes.array, expected)
    assert np.all(np.asarray(sizes.array) >= values)
    assert raised == int(np.sum(values % 3 != 0)) > 0
    assert np.array_equal(np.asarray(sizes.mask), np.asarray(mask))


def test__over_sample_size_for_convolution_from__equal_per_pixel_sizes_are_still_rounded_up():
    """An Array2D of sizes is per-pixel even when all are equal: rounded up, not refused."""
    mask = native_masks()["rectangle"]
    sizes, raised = over_sample_util.over_sample_size_for_convolution_from(
        over_sample_size=aa.Array2D(values=np.full(mask.pixels_in_mask, 3), mask=mask),
        mask=mask,
        convolve_over_sample_size=2,
    )
    np.testing.assert_array_equal(sizes.array, np.full(mask.pixels_in_mask, 4))
    assert raised == mask.pixels_in_mask


def test__over_sample_size_for_convolution_from__a_per_pixel_size_below_one__dataset_exception():
    mask = native_masks()["rectangle"]
    values = np.full(mask.pixels_in_mask, 2)
    values[3] = 0
    with pytest.raises(aa.exc.DatasetException, match=r"positive multiple of 2.*got \[0\]"):
        over_sample_util.over_sample_size_for_convolution_from(
            over_sample_size=aa.Array2D(values=values, mask=mask), mask=mask, convolve_over_sample_size=2
        )
