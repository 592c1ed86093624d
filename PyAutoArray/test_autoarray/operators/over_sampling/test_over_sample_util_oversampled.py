"""
Tests of the fine-grid helpers of oversampled convolution in ``over_sample_util``: the upscaled (fine) mask, its
inverse, the index that orders fine pixels like the native over-sampler, and mean binning back to native pixels.
"""

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
        "circular": aa.Mask2D.circular(
            shape_native=(9, 8), pixel_scales=(0.2, 0.3), radius=0.8, origin=(0.5, -0.3)
        ),
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


# ----------------------------------------------------------------------------------------------------------------------
# mask_2d_upscaled_from / Convolver.native_mask_from
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__mask_2d_upscaled_from__values_pixel_scales_and_origin(name, factor):
    mask = native_masks()[name]
    fine = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=factor)

    assert isinstance(fine, aa.Mask2D)
    assert fine.shape_native == (
        mask.shape_native[0] * factor,
        mask.shape_native[1] * factor,
    )
    # every native pixel becomes a factor x factor block (Kronecker product with a block of ones)
    expected = np.kron(np.asarray(mask).astype(int), np.ones((factor, factor), dtype=int)).astype(bool)
    assert np.array_equal(np.asarray(fine), expected)
    assert fine.pixels_in_mask == mask.pixels_in_mask * factor**2
    assert fine.pixel_scales == pytest.approx(
        (mask.pixel_scales[0] / factor, mask.pixel_scales[1] / factor), rel=1e-15
    )
    assert fine.origin == mask.origin


def native_mask_via_convolver_from(fine_mask, factor):
    """The native mask an oversampled Convolver derives for values on ``fine_mask`` (the inverse of the upscale)."""
    if factor == 1:
        return fine_mask
    kernel = aa.Array2D.no_mask(values=np.ones((3, 3)), pixel_scales=fine_mask.pixel_scales)
    return aa.Convolver(kernel=kernel, convolve_over_sample_size=factor).native_mask_from(mask=fine_mask)


@pytest.mark.parametrize("factor", [1, 2, 3])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__upscale_then_downscale__round_trip(name, factor):
    mask = native_masks()[name]
    fine = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=factor)
    back = native_mask_via_convolver_from(fine_mask=fine, factor=factor)

    assert isinstance(back, aa.Mask2D)
    assert back.shape_native == mask.shape_native
    assert np.array_equal(np.asarray(back), np.asarray(mask))
    assert back.pixel_scales == pytest.approx(mask.pixel_scales, rel=1e-14)
    assert back.origin == mask.origin


def test__upscaled_fine_grid__coincides_with_native_extent():
    """The fine grid covers exactly the native pixels: its centres average to the native centres."""
    mask = native_masks()["circular"]
    factor = 3
    fine = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=factor)
    native_grid = np.asarray(aa.Grid2D.from_mask(mask=mask, over_sample_size=1))
    fine_grid = np.asarray(aa.Grid2D.from_mask(mask=fine, over_sample_size=1))
    H, W = mask.shape_native
    fine_native = np.zeros((H * factor, W * factor, 2))
    fine_native[~np.asarray(fine)] = fine_grid
    block_centres = fine_native.reshape(H, factor, W, factor, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(
        block_centres[~np.asarray(mask)], native_grid, rtol=0.0, atol=1e-12
    )


def test__native_mask_from__non_block_mask_raises():
    fine_values = np.ones((8, 8), dtype=bool)
    fine_values[2:6, 2:6] = False
    fine_values[2, 2] = True  # breaks the 2x2 block at (1, 1)
    fine = aa.Mask2D(mask=fine_values, pixel_scales=0.1)
    with pytest.raises(aa.exc.KernelException, match="uniform"):
        native_mask_via_convolver_from(fine_mask=fine, factor=2)

    # blocks misaligned by one fine pixel
    shifted = np.ones((8, 8), dtype=bool)
    shifted[1:5, 1:5] = False
    with pytest.raises(aa.exc.KernelException, match=r"\(8, 8\)"):
        native_mask_via_convolver_from(
            fine_mask=aa.Mask2D(mask=shifted, pixel_scales=0.1), factor=2
        )


@pytest.mark.parametrize("shape, factor", [((9, 8), 2), ((8, 9), 2), ((12, 10), 3)])
def test__native_mask_from__shape_not_a_multiple_raises(shape, factor):
    fine = aa.Mask2D(mask=np.ones(shape, dtype=bool), pixel_scales=0.1)
    with pytest.raises(aa.exc.KernelException, match="multiple"):
        native_mask_via_convolver_from(fine_mask=fine, factor=factor)


def test__native_mask_from__accepts_block_mask_built_by_hand():
    fine_values = np.ones((9, 6), dtype=bool)
    fine_values[3:9, 0:3] = False
    back = native_mask_via_convolver_from(
        fine_mask=aa.Mask2D(mask=fine_values, pixel_scales=(0.05, 0.1), origin=(1.0, 0.0)),
        factor=3,
    )
    assert np.array_equal(
        np.asarray(back), np.array([[True, True], [False, True], [False, True]])
    )
    assert back.pixel_scales == pytest.approx((0.15, 0.3), rel=1e-14)
    assert back.origin == (1.0, 0.0)


# ----------------------------------------------------------------------------------------------------------------------
# fine_slim_index_for_native_sub_from
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
@pytest.mark.parametrize("name", MASK_NAMES)
def test__fine_slim_index__gathers_fine_grid_in_over_sampler_order(name, factor):
    mask = native_masks()[name]
    fine = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=factor)
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=factor)

    fine_grid = np.asarray(aa.Grid2D.from_mask(mask=fine, over_sample_size=1))
    over_sampled = np.asarray(
        aa.Grid2D.from_mask(mask=mask, over_sample_size=factor).over_sampled
    )

    assert index.shape == (mask.pixels_in_mask * factor**2,)
    np.testing.assert_allclose(fine_grid[index], over_sampled, rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("factor", [2, 3])
def test__fine_slim_index__is_a_permutation(factor):
    mask = native_masks()["annulus"]
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=factor)
    assert np.issubdtype(index.dtype, np.integer)
    assert np.array_equal(np.sort(index), np.arange(mask.pixels_in_mask * factor**2))


def test__fine_slim_index__hand_worked_example():
    # native mask: unmasked (0, 1) and (1, 0). Fine (factor 2) row-major slim order:
    #   row 0: (0,2)->0 (0,3)->1 ; row 1: (1,2)->2 (1,3)->3 ; row 2: (2,0)->4 (2,1)->5 ; row 3: (3,0)->6 (3,1)->7
    mask = aa.Mask2D(mask=[[True, False], [False, True]], pixel_scales=1.0)
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=2)
    assert index.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]

    mask = aa.Mask2D(mask=[[False, False], [True, True]], pixel_scales=1.0)
    # fine rows 0,1 have 4 unmasked each: row 0 -> 0..3, row 1 -> 4..7; native (0,0) has fine 0,1,4,5
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=2)
    assert index.tolist() == [0, 1, 4, 5, 2, 3, 6, 7]


# ----------------------------------------------------------------------------------------------------------------------
# binned_slim_from
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, factor, xp",
    [(name, factor, np) for name in MASK_NAMES for factor in (1, 2, 3, 4)]
    + [("annulus", 2, jnp), ("rectangle", 3, jnp)],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test__binned_slim_from__equals_reshape_mean(name, factor, xp):
    mask = native_masks()[name]
    fine = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=factor)
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=factor)
    H, W = mask.shape_native
    rng = np.random.default_rng(factor)

    frame = rng.normal(size=(H * factor, W * factor))
    fine_slim = frame[~np.asarray(fine)]
    expected = frame.reshape(H, factor, W, factor).mean(axis=(1, 3))[~np.asarray(mask)]
    result = over_sample_util.binned_slim_from(
        values=xp.asarray(fine_slim),
        fine_slim_index_for_native_sub=index,
        factor=factor,
        xp=xp,
    )
    assert result.shape == (mask.pixels_in_mask,)
    np.testing.assert_allclose(np.asarray(result), expected, rtol=1e-13, atol=1e-15)

    # a matrix is binned row-wise, column by column
    frames = rng.normal(size=(H * factor, W * factor, 3))
    fine_matrix = frames[~np.asarray(fine)]
    expected_matrix = frames.reshape(H, factor, W, factor, 3).mean(axis=(1, 3))[
        ~np.asarray(mask)
    ]
    result_matrix = over_sample_util.binned_slim_from(
        values=xp.asarray(fine_matrix),
        fine_slim_index_for_native_sub=index,
        factor=factor,
        xp=xp,
    )
    assert result_matrix.shape == (mask.pixels_in_mask, 3)
    np.testing.assert_allclose(
        np.asarray(result_matrix), expected_matrix, rtol=1e-13, atol=1e-15
    )


def test__binned_slim_from__mean_not_sum_hand_worked():
    mask = aa.Mask2D(mask=[[False, True]], pixel_scales=1.0)
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=2)
    result = over_sample_util.binned_slim_from(
        values=np.array([1.0, 2.0, 3.0, 6.0]),
        fine_slim_index_for_native_sub=index,
        factor=2,
    )
    assert result.tolist() == [3.0]


@pytest.mark.parametrize("delta", [-1, 1])
def test__binned_slim_from__wrong_length_raises(delta):
    mask = native_masks()["circular"]
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=2)
    with pytest.raises(aa.exc.ArrayException, match="Cannot bin"):
        over_sample_util.binned_slim_from(
            values=np.ones(index.shape[0] + delta),
            fine_slim_index_for_native_sub=index,
            factor=2,
        )
    with pytest.raises(aa.exc.ArrayException, match="Cannot bin"):
        over_sample_util.binned_slim_from(
            values=np.ones((index.shape[0] + delta, 2)),
            fine_slim_index_for_native_sub=index,
            factor=2,
        )


def test__binned_slim_from__native_length_values_raise():
    """Values on the native mask passed where fine values are expected."""
    mask = native_masks()["rectangle"]
    index = over_sample_util.fine_slim_index_for_native_sub_from(mask=mask, factor=3)
    with pytest.raises(aa.exc.ArrayException, match="Cannot bin"):
        over_sample_util.binned_slim_from(
            values=np.ones(mask.pixels_in_mask),
            fine_slim_index_for_native_sub=index,
            factor=3,
        )


@pytest.mark.parametrize("sub_size", [1, 2, 3])
def test__grid_2d_upscaled_from__over_sampled_coordinates_equal_the_pixel_by_pixel_computation(sub_size):
    """The fine grid's vectorised over-sampled coordinates are exactly those of the release's per-pixel loop."""
    native = aa.Mask2D.circular(shape_native=(17, 14), pixel_scales=(0.2, 0.15), radius=1.1, centre=(0.1, -0.2))
    native = aa.Mask2D(mask=np.asarray(native), pixel_scales=(0.2, 0.15), origin=(0.3, -0.1))
    for factor in (2, 3):
        grid = over_sample_util.grid_2d_upscaled_from(
            mask=native,
            sub_size=over_sample_util.fine_over_sample_size_from(
                over_sample_size=sub_size * factor, convolve_over_sample_size=factor
            ),
            factor=factor,
        )
        expected = over_sample_util.grid_2d_slim_over_sampled_via_mask_from(
            mask_2d=np.asarray(grid.mask),
            pixel_scales=grid.mask.pixel_scales,
            sub_size=np.full(grid.mask.pixels_in_mask, sub_size),
            origin=grid.mask.origin,
        )
        assert np.array_equal(grid.over_sampled.array, expected)
        assert grid.mask.pixel_scales == (0.2 / factor, 0.15 / factor)
        assert np.all(grid.over_sample_size.array == sub_size)


def test__fine_over_sample_size_from__rejects_a_size_that_is_not_a_multiple():
    with pytest.raises(aa.exc.DatasetException, match="multiple of the convolution over sample size 2"):
        over_sample_util.fine_over_sample_size_from(over_sample_size=3, convolve_over_sample_size=2)


def test__fine_over_sample_size_from__adaptive_sizes_give_ceil_per_pixel():
    native = aa.Mask2D.circular(shape_native=(9, 9), pixel_scales=0.2, radius=0.6)
    values = np.where(np.arange(native.pixels_in_mask) < 5, 5, 2)
    sizes = aa.Array2D(values=values, mask=native)
    k = over_sample_util.fine_over_sample_size_from(over_sample_size=sizes, convolve_over_sample_size=2)
    np.testing.assert_array_equal(k, np.where(values == 5, 3, 1))


def test__grid_2d_slim_over_sampled_vectorised_from__adaptive_equals_the_release_loop_bit_for_bit():
    native = aa.Mask2D.circular(shape_native=(17, 14), pixel_scales=(0.2, 0.15), radius=1.1, centre=(0.1, -0.2))
    native = aa.Mask2D(mask=np.asarray(native), pixel_scales=(0.2, 0.15), origin=(0.3, -0.1))
    sizes = np.random.default_rng(3).integers(1, 6, native.pixels_in_mask)
    result = over_sample_util.grid_2d_slim_over_sampled_vectorised_from(
        mask_2d=np.asarray(native), pixel_scales=native.pixel_scales, sub_size=sizes, origin=native.origin
    )
    expected = over_sample_util.grid_2d_slim_over_sampled_via_mask_from(
        mask_2d=np.asarray(native), pixel_scales=native.pixel_scales, sub_size=sizes, origin=native.origin
    )
    assert np.array_equal(result, expected)
