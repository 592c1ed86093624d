"""
Tests of the pixelization (mapping-matrix) inversion path with an oversampled PSF convolution
(`convolve_over_sample_size` N > 1), at N = 2 and 3, for a rectangular and a Delaunay mesh.

The fine mapping matrix is checked against an INDEPENDENT reference (`reference_fine_mapping_matrix_from`): every
sub-pixel of the native over-sampled grid is placed in its fine pixel from its (y, x) coordinates alone (floor
arithmetic on the fine frame), and its mesh weights / k^2 are accumulated there. The operated mapping matrix is
checked against `scipy.signal.convolve2d` of each reference column on the full fine frame, block-meaned to native.
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
from autoarray.fit import fit_util
from autoarray.inversion.mock.mock_linear_obj_func_list import MockLinearObjFuncList

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
MASK_RADIUS = 1.0
NOISE = 0.5
RTOL_PEAK = 1.0e-12

# (N, over_sample_size_pixelization = k * N)
N_AND_SUB_SIZE = [(2, 2), (2, 4), (3, 3), (3, 6)]


# ----------------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------------


def fine_kernel_from(n):
    """An elliptical, rotated, off-centre Gaussian at the fine scale (asymmetric, so a flipped kernel shows)."""
    size = 4 * n + 1
    ps = PIXEL_SCALE / n
    y = (np.arange(size) - size // 2)[:, None] * -ps - 0.3 * ps
    x = (np.arange(size) - size // 2)[None, :] * ps + 0.4 * ps
    angle = np.radians(30.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    values = np.exp(-0.5 * ((u / 0.16) ** 2 + (v / 0.09) ** 2))
    return aa.Convolver(
        kernel=aa.Array2D.no_mask(values=values, pixel_scales=ps),
        convolve_over_sample_size=n,
    )


def mask_from(radius=MASK_RADIUS):
    return aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=radius)


def masked_dataset_from(n, sub_size, radius=MASK_RADIUS, n_pixelization=None):
    """A masked dataset with the PSF at N = n (light profiles at n, the pixelization at `n_pixelization` or n)."""
    rng = np.random.default_rng(7)
    data = aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=NOISE, shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=fine_kernel_from(n),
        over_sample_size_lp=sub_size,
        over_sample_size_pixelization=sub_size,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n if n_pixelization is None else n_pixelization,
    )
    return dataset.apply_mask(mask=mask_from(radius))


def mapper_from(grid, mesh_name="rectangular", border_relocator=None):
    if mesh_name == "rectangular":
        interpolator = aa.mesh.RectangularUniform(shape=(8, 8)).interpolator_from(
            border_relocator=border_relocator,
            source_plane_data_grid=grid,
            source_plane_mesh_grid=None,
        )
    else:
        mesh_grid = aa.image_mesh.Overlay(shape=(8, 8)).image_plane_mesh_grid_from(mask=grid.mask)
        interpolator = aa.mesh.Delaunay(pixels=mesh_grid.shape[0]).interpolator_from(
            border_relocator=border_relocator,
            source_plane_data_grid=grid,
            source_plane_mesh_grid=mesh_grid,
        )
    return aa.Mapper(interpolator=interpolator, regularization=aa.reg.Constant(coefficient=1.0))


def dataset_mapper_from(n, sub_size, mesh_name="rectangular"):
    dataset = masked_dataset_from(n, sub_size)
    mapper = mapper_from(
        dataset.grids.pixelization,
        mesh_name=mesh_name,
        border_relocator=dataset.grids.border_relocator,
    )
    return dataset, mapper


# ----------------------------------------------------------------------------------------------------------------------
# Independent references
# ----------------------------------------------------------------------------------------------------------------------


def fine_frame_of(mask, n):
    """The fine mask (boolean, numpy) and its fine pixel scales, built with numpy only."""
    fine = np.repeat(np.repeat(np.asarray(mask), n, axis=0), n, axis=1)
    return fine, (mask.pixel_scales[0] / n, mask.pixel_scales[1] / n)


def reference_fine_mapping_matrix_from(mapper, grid, mask, n, sub_size):
    """
    One row per fine pixel (row-major over the fine frame of `mask` upscaled by n), one column per mesh pixel.

    Each sub-pixel of `grid.over_sampled` (pixel-major) is placed in the fine pixel containing its (y, x) point, and
    its mesh weights / k^2 (k = sub_size / n of its native pixel; `sub_size` an int or one per native pixel) are
    added to that row.
    """
    sizes = np.broadcast_to(np.asarray(sub_size), (mask.pixels_in_mask,))
    k_of_sub = np.repeat(sizes // n, sizes**2)
    fine, (ps_y, ps_x) = fine_frame_of(mask, n)
    fine_slim = np.full(fine.shape, -1, dtype=int)
    fine_slim[~fine] = np.arange(int(np.sum(~fine)))

    coords = np.asarray(grid.over_sampled)
    top = mask.origin[0] + fine.shape[0] * ps_y / 2.0
    left = mask.origin[1] - fine.shape[1] * ps_x / 2.0
    rows = np.floor((top - coords[:, 0]) / ps_y).astype(int)
    cols = np.floor((coords[:, 1] - left) / ps_x).astype(int)
    fine_index = fine_slim[rows, cols]
    assert np.all(fine_index >= 0), "a sub-pixel fell outside the fine mask"
    # every fine pixel owns exactly k x k sub-pixels
    owned = np.bincount(fine_index, minlength=int(np.sum(~fine)))
    assert np.all(owned[fine_index] == k_of_sub**2)

    indexes = np.asarray(mapper.pix_indexes_for_sub_slim_index)
    weights = np.asarray(mapper.pix_weights_for_sub_slim_index)
    sizes = np.asarray(mapper.pix_sizes_for_sub_slim_index)
    assert indexes.shape[0] == coords.shape[0]

    matrix = np.zeros((int(np.sum(~fine)), mapper.pixels))
    for j in range(indexes.shape[1]):
        use = j < sizes
        np.add.at(matrix, (fine_index[use], indexes[use, j]), weights[use, j] / k_of_sub[use] ** 2)
    return matrix


def fine_frames_from(fine_matrix, fine):
    frames = np.zeros(fine.shape + (fine_matrix.shape[1],))
    frames[~fine] = fine_matrix
    return frames


def block_mean(frames, n):
    h, w = frames.shape[0] // n, frames.shape[1] // n
    return frames.reshape(h, n, w, n, -1).mean(axis=(1, 3))


def reference_native_mapping_matrix_from(fine_matrix, mask, n):
    fine, _ = fine_frame_of(mask, n)
    return block_mean(fine_frames_from(fine_matrix, fine), n)[~np.asarray(mask)]


def reference_operated_mapping_matrix_from(fine_matrix, mask, n, kernel_native):
    fine, _ = fine_frame_of(mask, n)
    frames = fine_frames_from(fine_matrix, fine)
    blurred = np.stack(
        [convolve2d(frames[:, :, c], kernel_native, mode="same") for c in range(frames.shape[2])],
        axis=2,
    )
    return block_mean(blurred, n)[~np.asarray(mask)]


# ----------------------------------------------------------------------------------------------------------------------
# The fine mapping matrix
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__mapping_matrix_oversampled__equals_coordinate_based_reference(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    reference = reference_fine_mapping_matrix_from(
        mapper, dataset.grids.pixelization, dataset.mask, n, sub_size
    )
    assert reference.shape == (n**2 * dataset.mask.pixels_in_mask, mapper.pixels)
    assert np.count_nonzero(reference) > reference.shape[0]  # not trivially sparse

    fine_matrix = np.asarray(mapper.mapping_matrix_oversampled_from(n))
    assert fine_matrix.shape == reference.shape
    np.testing.assert_allclose(fine_matrix, reference, rtol=0.0, atol=1e-15)

    start, stop = 10, 37
    block = np.asarray(
        mapper.mapping_matrix_oversampled_from(n, pixel_start=start, pixel_stop=stop)
    )
    assert block.shape == (reference.shape[0], stop - start)
    np.testing.assert_allclose(block, reference[:, start:stop], rtol=0.0, atol=1e-15)


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__native_mapping_matrix__stays_native_and_is_the_block_mean_of_the_fine_one(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    reference = reference_fine_mapping_matrix_from(
        mapper, dataset.grids.pixelization, dataset.mask, n, sub_size
    )
    native = np.asarray(mapper.mapping_matrix)
    assert native.shape == (dataset.mask.pixels_in_mask, mapper.pixels)
    np.testing.assert_allclose(
        native, reference_native_mapping_matrix_from(reference, dataset.mask, n), rtol=0.0, atol=1e-15
    )


# ----------------------------------------------------------------------------------------------------------------------
# The inversion
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__inversion__operated_mapping_matrix_equals_brute_force_fine_convolution(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    inversion = aa.Inversion(
        dataset=dataset,
        linear_obj_list=[mapper],
        settings=aa.Settings(use_positive_only_solver=False),
    )
    assert type(inversion).__name__ == "InversionImagingMapping"

    reference = reference_fine_mapping_matrix_from(
        mapper, dataset.grids.pixelization, dataset.mask, n, sub_size
    )
    kernel = np.asarray(dataset.psf.kernel.native.array)
    np.testing.assert_allclose(kernel.sum(), 1.0, rtol=1e-12)  # the dataset normalised it
    expected = reference_operated_mapping_matrix_from(reference, dataset.mask, n, kernel)

    operated = np.asarray(inversion.operated_mapping_matrix)
    assert operated.shape == (dataset.mask.pixels_in_mask, mapper.pixels)
    peak = np.max(np.abs(expected))
    for column in range(expected.shape[1]):
        np.testing.assert_allclose(
            operated[:, column], expected[:, column], rtol=0.0, atol=RTOL_PEAK * peak,
            err_msg=f"column {column}",
        )

    # The linear algebra uses it.
    data = np.asarray(dataset.data.array)
    np.testing.assert_allclose(
        np.asarray(inversion.data_vector), expected.T @ data / NOISE**2, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        np.asarray(inversion.curvature_matrix), expected.T @ expected / NOISE**2, rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", [(2, 4), (3, 3)])
def test__inversion__reconstruction_evidence_and_mapped_data(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    inversion = aa.Inversion(
        dataset=dataset,
        linear_obj_list=[mapper],
        settings=aa.Settings(use_positive_only_solver=False),
    )

    reconstruction = np.asarray(inversion.reconstruction)
    assert reconstruction.shape == (mapper.pixels,)
    assert np.all(np.isfinite(reconstruction))

    # The reconstruction solves (F + H) s = D.
    np.testing.assert_allclose(
        reconstruction,
        np.linalg.solve(np.asarray(inversion.curvature_reg_matrix), np.asarray(inversion.data_vector)),
        rtol=1e-8,
        atol=1e-10,
    )

    # mapped_reconstructed_data uses the NATIVE (unblurred) mapping matrix, the operated one the blurred matrix.
    mapped = np.asarray(inversion.mapped_reconstructed_data.array)
    np.testing.assert_allclose(mapped, np.asarray(mapper.mapping_matrix) @ reconstruction, rtol=1e-10, atol=1e-12)
    mapped_operated = np.asarray(inversion.mapped_reconstructed_operated_data.array)
    np.testing.assert_allclose(
        mapped_operated,
        np.asarray(inversion.operated_mapping_matrix) @ reconstruction,
        rtol=1e-10,
        atol=1e-12,
    )
    assert np.max(np.abs(mapped - mapped_operated)) > 1e-6

    chi_squared = np.sum(((np.asarray(dataset.data.array) - mapped_operated) / NOISE) ** 2)
    log_evidence = fit_util.log_evidence_from(
        chi_squared=chi_squared,
        regularization_term=inversion.regularization_term,
        log_curvature_regularization_term=inversion.log_det_curvature_reg_matrix_term,
        log_regularization_term=inversion.log_det_regularization_matrix_term,
        noise_normalization=np.sum(np.log(2 * np.pi * NOISE**2)) * dataset.mask.pixels_in_mask,
    )
    assert np.isfinite(log_evidence)


# ----------------------------------------------------------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------------------------------------------------------


def func_list_from(dataset, override=None):
    pixels = dataset.mask.pixels_in_mask
    return MockLinearObjFuncList(
        parameters=1,
        grid=dataset.grids.lp,
        mapping_matrix=np.ones((pixels, 1)),
        regularization=None,
        operated_mapping_matrix_override=override,
    )


@pytest.mark.parametrize("with_mapper", [False, True])
def test__guard__linear_object_without_override_at_n2__inversion_exception(with_mapper):
    dataset, mapper = dataset_mapper_from(2, 4)
    linear_obj_list = [func_list_from(dataset)] + ([mapper] if with_mapper else [])
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=linear_obj_list)

    with pytest.raises(
        aa.exc.InversionException,
        match=r"MockLinearObjFuncList has no operated_mapping_matrix_override.*convolve_over_sample_size=2",
    ):
        inversion.operated_mapping_matrix


def test__guard__linear_object_with_override_at_n2__is_used_as_given():
    dataset, mapper = dataset_mapper_from(2, 4)
    override = np.linspace(0.0, 1.0, dataset.mask.pixels_in_mask)[:, None]
    inversion = aa.Inversion(
        dataset=dataset, linear_obj_list=[func_list_from(dataset, override=override), mapper]
    )
    operated = np.asarray(inversion.operated_mapping_matrix)
    assert operated.shape == (dataset.mask.pixels_in_mask, 1 + mapper.pixels)
    np.testing.assert_array_equal(operated[:, :1], override)


def test__guard__linear_object_without_override_at_n1__is_convolved():
    rng = np.random.default_rng(7)
    data = aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=NOISE, shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    psf = aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PIXEL_SCALE, sigma=0.2, normalize=True)
    dataset = aa.Imaging(data=data, noise_map=noise_map, psf=psf).apply_mask(mask=mask_from())
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[func_list_from(dataset)])
    operated = np.asarray(inversion.operated_mapping_matrix)
    assert operated.shape == (dataset.mask.pixels_in_mask, 1)
    assert np.all(np.isfinite(operated))


@pytest.mark.parametrize("n, sub_size", [(2, 3), (3, 4), (3, 2)])
def test__guard__mapper_sub_size_not_multiple_of_n__dataset_exception(n, sub_size):
    """The rule of the dataset's over-sample sizes, checked by the same function and exception type."""
    dataset = masked_dataset_from(n, 2 * n)
    grid = aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=sub_size)
    mapper = mapper_from(grid)

    with pytest.raises(
        aa.exc.DatasetException,
        match=rf"over_sample_size_pixelization={sub_size} is not a multiple of the convolution over sample size {n}",
    ):
        mapper.mapping_matrix_oversampled_from(n)

    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])
    with pytest.raises(aa.exc.DatasetException, match=f"is not a multiple of the convolution over sample size"):
        inversion.operated_mapping_matrix


@pytest.mark.parametrize("n", [2, 3])
def test__adaptive_sizes__fine_mapping_matrix_equals_coordinate_based_reference(n):
    """Radial-bin sizes (2n at the centre, n outside): each fine pixel owns the k_i x k_i sub-pixels of its pixel."""
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALE),
        sub_size_list=[2 * n, n],
        radial_list=[0.5],
    )
    dataset = masked_dataset_from(n, sizes)
    sub_sizes = np.asarray(dataset.grids.pixelization.over_sample_size.array).astype(int)
    assert sorted(np.unique(sub_sizes).tolist()) == [n, 2 * n]
    mapper = mapper_from(dataset.grids.pixelization, border_relocator=dataset.grids.border_relocator)

    reference = reference_fine_mapping_matrix_from(
        mapper, dataset.grids.pixelization, dataset.mask, n, sub_sizes
    )
    np.testing.assert_allclose(
        np.asarray(mapper.mapping_matrix_oversampled_from(n)), reference, rtol=0.0, atol=1e-15
    )
    # its N x N block mean is the native mapping matrix
    fine, _ = fine_frame_of(dataset.mask, n)
    binned = block_mean(fine_frames_from(reference, fine), n)[~np.asarray(dataset.mask)]
    np.testing.assert_allclose(np.asarray(mapper.mapping_matrix), binned, rtol=0.0, atol=1e-15)


def test__guard__mapper_with_adaptive_sizes_not_multiples_of_n__dataset_exception():
    dataset = masked_dataset_from(2, 4)
    sizes = np.where(np.arange(dataset.mask.pixels_in_mask) % 2 == 0, 3, 4)
    grid = aa.Grid2D.from_mask(
        mask=dataset.mask, over_sample_size=aa.Array2D(values=sizes, mask=dataset.mask)
    )
    mapper = mapper_from(grid)
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])

    with pytest.raises(aa.exc.DatasetException, match=r"adaptive over-sample sizes \[3, 4\] are not all multiples"):
        inversion.operated_mapping_matrix


def test__guard__mapper_mask_differs_from_dataset_mask__kernel_exception():
    dataset = masked_dataset_from(2, 4)
    smaller = masked_dataset_from(2, 4, radius=0.6)
    assert smaller.mask.pixels_in_mask < dataset.mask.pixels_in_mask
    mapper = mapper_from(smaller.grids.pixelization, border_relocator=smaller.grids.border_relocator)
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])

    fine_pixels = 4 * dataset.mask.pixels_in_mask
    with pytest.raises(
        aa.exc.KernelException,
        match=(
            rf"{4 * smaller.mask.pixels_in_mask} values \(rows\) were given to convolve on the fine mask .* which "
            rf"has {fine_pixels} pixels"
        ),
    ):
        inversion.operated_mapping_matrix


# ----------------------------------------------------------------------------------------------------------------------
# A pixelization at a smaller N than the PSF's (one PSF held at N_psf, the pixelization at n = N_psf / m)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_psf, n_pix", [(4, 2), (2, 1), (4, 1)])
def test__pixelization_at_smaller_n__operated_mapping_matrix_equals_brute_force_on_the_psfs_grid(n_psf, n_pix):
    """
    The pixelization's fine mapping matrix at n (the coordinate-based reference; at n = 1 the native matrix), each
    value repeated over its m x m block of the held PSF's grid (m = N_psf / n), convolved there with the held
    kernel by `convolve2d` and block-meaned to native pixels: the inversion's operated mapping matrix, which
    convolves once at n with the exact coarse kernel (at n = 1 through the release's native code).
    """
    sub_size = 2 * n_psf
    dataset = masked_dataset_from(n_psf, sub_size, n_pixelization=n_pix)
    assert dataset.psf_pixelization.convolve_over_sample_size == n_pix
    mapper = mapper_from(dataset.grids.pixelization, border_relocator=dataset.grids.border_relocator)
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])

    matrix_at_n = reference_fine_mapping_matrix_from(
        mapper, dataset.grids.pixelization, dataset.mask, n_pix, sub_size
    )
    m = n_psf // n_pix
    fine_n, _ = fine_frame_of(dataset.mask, n_pix)
    frames_n = fine_frames_from(matrix_at_n, fine_n)
    frames_psf = np.repeat(np.repeat(frames_n, m, axis=0), m, axis=1)
    kernel = np.asarray(dataset.psf.kernel.native.array)
    blurred = np.stack(
        [convolve2d(frames_psf[:, :, c], kernel, mode="same") for c in range(frames_psf.shape[2])], axis=2
    )
    expected = block_mean(blurred, n_psf)[~np.asarray(dataset.mask)]

    operated = np.asarray(inversion.operated_mapping_matrix)
    np.testing.assert_allclose(operated, expected, rtol=0.0, atol=RTOL_PEAK * np.max(np.abs(expected)))

    # and it is not the matrix at the PSF's own N (the coarse path really is coarse)
    at_psf_n = reference_operated_mapping_matrix_from(
        reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n_psf, sub_size),
        dataset.mask,
        n_psf,
        kernel,
    )
    assert np.max(np.abs(at_psf_n - expected)) > 1e-6 * np.max(np.abs(expected))
