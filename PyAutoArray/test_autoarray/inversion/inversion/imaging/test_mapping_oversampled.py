"""
Tests of the pixelization (mapping-matrix) inversion path with an oversampled PSF convolution
(`convolve_over_sample_size` N > 1), at N = 2 and 3, for a rectangular and a Delaunay mesh.

The fine mapping matrix (`Mapper.fine_mapping_matrix_from`, rows pixel-major: native pixel i's fine pixel (a, b) is
row i * N**2 + a * N + b) is checked against an INDEPENDENT reference (`reference_fine_mapping_matrix_from`): every
sub-pixel of the native over-sampled grid is placed in its fine pixel from its (y, x) coordinates alone (floor
arithmetic on the fine frame), and its mesh weights (`pix_indexes_for_sub_slim_index`,
`pix_weights_for_sub_slim_index`, `pix_sizes_for_sub_slim_index`) / k^2 are accumulated there. The operated mapping
matrix is checked against `scipy.signal.convolve2d` of each reference column on the full fine frame, block-meaned to
native pixels.
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
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


def fine_kernel_values_from(n):
    """An elliptical, rotated, off-centre Gaussian at the fine scale (asymmetric, so a flipped kernel shows)."""
    size = 4 * n + 1
    ps = PIXEL_SCALE / n
    y = (np.arange(size) - size // 2)[:, None] * -ps - 0.3 * ps
    x = (np.arange(size) - size // 2)[None, :] * ps + 0.4 * ps
    angle = np.radians(30.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    return np.exp(-0.5 * ((u / 0.16) ** 2 + (v / 0.09) ** 2))


def fine_psf_from(n):
    return aa.Convolver(
        kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(n), pixel_scales=PIXEL_SCALE / n),
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
        psf=fine_psf_from(n),
        over_sample_size_lp=sub_size,
        over_sample_size_pixelization=sub_size,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n if n_pixelization is None else n_pixelization,
    )
    return dataset.apply_mask(mask=mask_from(radius))


def mapper_from(grid, mesh_name="rectangular", border_relocator=None):
    if mesh_name == "rectangular":
        interpolator = aa.mesh.RectangularUniform(shape=(8, 8)).interpolator_from(
            border_relocator=border_relocator, source_plane_data_grid=grid, source_plane_mesh_grid=None
        )
    else:
        mesh_grid = aa.image_mesh.Overlay(shape=(8, 8)).image_plane_mesh_grid_from(mask=grid.mask)
        interpolator = aa.mesh.Delaunay(pixels=mesh_grid.shape[0]).interpolator_from(
            border_relocator=border_relocator, source_plane_data_grid=grid, source_plane_mesh_grid=mesh_grid
        )
    return aa.Mapper(interpolator=interpolator, regularization=aa.reg.Constant(coefficient=1.0))


def dataset_mapper_from(n, sub_size, mesh_name="rectangular"):
    dataset = masked_dataset_from(n, sub_size)
    mapper = mapper_from(dataset.grids.pixelization, mesh_name=mesh_name, border_relocator=dataset.grids.border_relocator)
    return dataset, mapper


def inversion_from(dataset, linear_obj_list):
    return aa.Inversion(
        dataset=dataset, linear_obj_list=linear_obj_list, settings=aa.Settings(use_positive_only_solver=False)
    )


# ----------------------------------------------------------------------------------------------------------------------
# Independent references
# ----------------------------------------------------------------------------------------------------------------------


def fine_row_from(mask, coordinates, n):
    """The pixel-major fine row of every (y, x) point, by floor arithmetic on the fine frame of `mask`."""
    H, W = mask.shape_native
    psy, psx = mask.pixel_scales
    top = mask.origin[0] + H * psy / 2.0
    left = mask.origin[1] - W * psx / 2.0
    coordinates = np.asarray(coordinates)
    rows = np.floor((top - coordinates[:, 0]) / (psy / n)).astype(int)
    cols = np.floor((coordinates[:, 1] - left) / (psx / n)).astype(int)
    slim = np.full((H, W), -1)
    slim[~np.asarray(mask)] = np.arange(mask.pixels_in_mask)
    native = slim[rows // n, cols // n]
    assert np.all(native >= 0), "a sub-pixel fell outside the mask"
    return native * n * n + (rows % n) * n + cols % n


def reference_fine_mapping_matrix_from(mapper, grid, mask, n, sub_size):
    """
    One row per fine pixel (pixel-major), one column per mesh pixel: each sub-pixel of `grid.over_sampled` is placed
    in the fine pixel containing its (y, x) point, and its mesh weights / k^2 (k = sub_size / n of its native pixel;
    `sub_size` an int or one per native pixel) are added to that row.
    """
    sizes = np.broadcast_to(np.asarray(sub_size), (mask.pixels_in_mask,))
    k_of_sub = np.repeat(sizes // n, sizes**2)
    fine_rows = fine_row_from(mask, grid.over_sampled, n)
    fine_pixels = mask.pixels_in_mask * n * n
    # every fine pixel owns exactly k x k sub-pixels
    owned = np.bincount(fine_rows, minlength=fine_pixels)
    assert np.all(owned[fine_rows] == k_of_sub**2)

    indexes = np.asarray(mapper.pix_indexes_for_sub_slim_index)
    weights = np.asarray(mapper.pix_weights_for_sub_slim_index)
    sizes_of_sub = np.asarray(mapper.pix_sizes_for_sub_slim_index)
    assert indexes.shape[0] == fine_rows.shape[0]

    matrix = np.zeros((fine_pixels, mapper.pixels))
    for j in range(indexes.shape[1]):
        use = j < sizes_of_sub
        np.add.at(matrix, (fine_rows[use], indexes[use, j]), weights[use, j] / k_of_sub[use] ** 2)
    return matrix


def fine_frames_from(fine_matrix, mask, n):
    """Pixel-major fine rows placed on the full fine frame (explicit loops)."""
    H, W = mask.shape_native
    frames = np.zeros((H * n, W * n, fine_matrix.shape[1]))
    for i, (y, x) in enumerate(zip(*np.nonzero(~np.asarray(mask)))):
        for a in range(n):
            for b in range(n):
                frames[n * y + a, n * x + b] = fine_matrix[i * n * n + a * n + b]
    return frames


def block_mean(frames, n):
    h, w = frames.shape[0] // n, frames.shape[1] // n
    return frames.reshape(h, n, w, n, -1).mean(axis=(1, 3))


def reference_native_mapping_matrix_from(fine_matrix, mask, n):
    return block_mean(fine_frames_from(fine_matrix, mask, n), n)[~np.asarray(mask)]


def convolved_frames_from(frames, kernel):
    return np.stack([convolve2d(frames[:, :, c], kernel, mode="same") for c in range(frames.shape[2])], axis=2)


def reference_operated_mapping_matrix_from(fine_matrix, mask, n, kernel):
    return block_mean(convolved_frames_from(fine_frames_from(fine_matrix, mask, n), kernel), n)[~np.asarray(mask)]


def assert_close_to_peak(result, reference, rtol=RTOL_PEAK):
    result, reference = np.asarray(result), np.asarray(reference)
    assert result.shape == reference.shape
    assert np.max(np.abs(result - reference)) <= rtol * np.max(np.abs(reference))


# ----------------------------------------------------------------------------------------------------------------------
# The fine mapping matrix
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__fine_mapping_matrix_from__equals_the_coordinate_based_reference(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    reference = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_size)
    assert reference.shape == (n**2 * dataset.mask.pixels_in_mask, mapper.pixels)
    assert np.count_nonzero(reference) > reference.shape[0]  # not trivially sparse

    fine_matrix = np.asarray(mapper.fine_mapping_matrix_from(convolve_over_sample_size=n))
    assert fine_matrix.shape == reference.shape
    np.testing.assert_allclose(fine_matrix, reference, rtol=0.0, atol=1e-15)

    for start, end in ((10, 37), (0, 1), (mapper.pixels - 5, None)):
        block = np.asarray(mapper.fine_mapping_matrix_from(convolve_over_sample_size=n, pixel_start=start, pixel_end=end))
        stop = mapper.pixels if end is None else end
        assert block.shape == (reference.shape[0], stop - start)
        np.testing.assert_allclose(block, reference[:, start:stop], rtol=0.0, atol=1e-15)


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__native_mapping_matrix__stays_native_and_is_the_block_mean_of_the_fine_one(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    reference = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_size)
    native = np.asarray(mapper.mapping_matrix)
    assert native.shape == (dataset.mask.pixels_in_mask, mapper.pixels)
    np.testing.assert_allclose(native, reference_native_mapping_matrix_from(reference, dataset.mask, n), rtol=0.0, atol=1e-15)


# ----------------------------------------------------------------------------------------------------------------------
# The inversion
# ----------------------------------------------------------------------------------------------------------------------


@pytest.fixture(params=["phase kernels", "fft blocks"])
def path(request, monkeypatch):
    """
    The two ways numpy forms a mapper's operated mapping matrix at N > 1: with numba from the sub-pixel mappings and
    the phase kernels (numba installed), or by fine FFTs in column blocks (numba not installed, and under JAX).
    """
    if request.param == "fft blocks":
        monkeypatch.setattr(aa.numba_util, "is_installed", lambda: False)
    return request.param


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", N_AND_SUB_SIZE)
def test__inversion__operated_mapping_matrix_equals_the_brute_force_fine_convolution(n, sub_size, mesh_name, path):
    """
    By fine FFTs the mapper's columns are formed and convolved in blocks of pixels // N^4 (4 at N = 2, 1 at N = 3
    for 64 mesh pixels); by phase kernels each native pixel's sub-pixel mappings are summed per (phase, column) and
    spread by their phase kernel: on either path every column is the brute force's.
    """
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    inversion = inversion_from(dataset, [mapper])
    assert type(inversion).__name__ == "InversionImagingMapping"

    reference = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_size)
    kernel = fine_kernel_values_from(n) / np.sum(fine_kernel_values_from(n))  # the dataset normalises its PSF
    expected = reference_operated_mapping_matrix_from(reference, dataset.mask, n, kernel)

    operated = np.asarray(inversion.operated_mapping_matrix)
    assert operated.shape == (dataset.mask.pixels_in_mask, mapper.pixels)
    assert_close_to_peak(operated, expected)
    assert_close_to_peak(inversion.operated_mapping_matrix_oversampled_from(mapper=mapper), expected)

    # The linear algebra uses it.
    data = np.asarray(dataset.data.array)
    assert_close_to_peak(inversion.data_vector, expected.T @ data / NOISE**2, rtol=1e-10)
    assert_close_to_peak(inversion.curvature_matrix, expected.T @ expected / NOISE**2, rtol=1e-10)


@pytest.mark.parametrize("n, sub_size", [(2, 4), (3, 3)])
def test__inversion__mixed_precision__single_precision_and_the_brute_force_to_float32(n, sub_size, path):
    """With use_mixed_precision the fine convolution runs in single precision, as the native path's does."""
    dataset, mapper = dataset_mapper_from(n, sub_size, "rectangular")
    inversion = aa.Inversion(
        dataset=dataset,
        linear_obj_list=[mapper],
        settings=aa.Settings(use_positive_only_solver=False, use_mixed_precision=True),
    )
    reference = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_size)
    kernel = fine_kernel_values_from(n) / np.sum(fine_kernel_values_from(n))
    expected = reference_operated_mapping_matrix_from(reference, dataset.mask, n, kernel)

    operated = inversion.operated_mapping_matrix_oversampled_from(mapper=mapper)
    assert operated.dtype == np.float32
    assert_close_to_peak(operated, expected, rtol=1e-6)
    assert np.max(np.abs(operated - expected)) > 0.0  # it is not the double-precision result


@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", [(2, 4), (3, 3)])
def test__inversion__reconstruction_regularization_and_mapped_data(n, sub_size, mesh_name):
    dataset, mapper = dataset_mapper_from(n, sub_size, mesh_name)
    inversion = inversion_from(dataset, [mapper])
    kernel = fine_kernel_values_from(n) / np.sum(fine_kernel_values_from(n))
    blurred = reference_operated_mapping_matrix_from(
        reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_size),
        dataset.mask,
        n,
        kernel,
    )
    data = np.asarray(dataset.data.array)
    regularization = np.asarray(inversion.regularization_matrix)
    curvature_reg = blurred.T @ blurred / NOISE**2 + regularization

    reconstruction = np.asarray(inversion.reconstruction)
    assert reconstruction.shape == (mapper.pixels,)
    expected = np.linalg.solve(curvature_reg, blurred.T @ data / NOISE**2)
    np.testing.assert_allclose(reconstruction, expected, rtol=0.0, atol=1e-8 * np.max(np.abs(expected)))

    # mapped_reconstructed_data uses the NATIVE (unblurred) mapping matrix, the operated one the blurred matrix.
    mapped = np.asarray(inversion.mapped_reconstructed_data.array)
    np.testing.assert_allclose(mapped, np.asarray(mapper.mapping_matrix) @ expected, rtol=1e-7, atol=1e-9)
    mapped_operated = np.asarray(inversion.mapped_reconstructed_operated_data.array)
    np.testing.assert_allclose(mapped_operated, blurred @ expected, rtol=1e-7, atol=1e-9)
    assert np.max(np.abs(mapped - mapped_operated)) > 1e-6

    # the evidence's terms
    assert inversion.regularization_term == pytest.approx(expected @ regularization @ expected, rel=1e-7)
    assert inversion.log_det_curvature_reg_matrix_term == pytest.approx(np.linalg.slogdet(curvature_reg)[1], rel=1e-9)


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
        match=r"convolve_over_sample_size=2\) a linear object other than a mapper needs an "
        r"operated_mapping_matrix_override, which MockLinearObjFuncList does not have",
    ):
        inversion.operated_mapping_matrix


def test__guard__linear_object_with_override_at_n2__is_used_as_given():
    dataset, mapper = dataset_mapper_from(2, 4)
    override = np.linspace(0.0, 1.0, dataset.mask.pixels_in_mask)[:, None]
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[func_list_from(dataset, override=override), mapper])
    operated = np.asarray(inversion.operated_mapping_matrix)
    assert operated.shape == (dataset.mask.pixels_in_mask, 1 + mapper.pixels)
    np.testing.assert_array_equal(operated[:, :1], override)
    kernel = fine_kernel_values_from(2) / np.sum(fine_kernel_values_from(2))
    expected = reference_operated_mapping_matrix_from(
        reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, 2, 4), dataset.mask, 2, kernel
    )
    assert_close_to_peak(operated[:, 1:], expected)


def test__guard__linear_object_without_override_at_n1__is_convolved_natively():
    rng = np.random.default_rng(7)
    data = aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=NOISE, shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    psf = aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PIXEL_SCALE, sigma=0.2, normalize=True)
    kernel = np.array(psf.kernel.native.array)
    dataset = aa.Imaging(data=data, noise_map=noise_map, psf=psf).apply_mask(mask=mask_from())
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[func_list_from(dataset)])
    operated = np.asarray(inversion.operated_mapping_matrix)
    mask = np.asarray(dataset.mask)
    frame = (~mask).astype(float)
    expected = convolve2d(frame, kernel, mode="same")[~mask][:, None]
    assert_close_to_peak(operated, expected)


@pytest.mark.parametrize("n, sub_size, valid", [(2, 3, 4), (3, 4, 6), (3, 2, 3)])
def test__guard__mapper_sub_size_not_multiple_of_n__dataset_exception(n, sub_size, valid):
    """The rule of the dataset's over-sample sizes, checked by the same function and exception type."""
    dataset = masked_dataset_from(n, 2 * n)
    mapper = mapper_from(aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=sub_size))

    with pytest.raises(aa.exc.DatasetException, match=rf"positive multiple of {n}.*got \[{sub_size}\]\. Use \[{valid}\]"):
        mapper.fine_mapping_matrix_from(convolve_over_sample_size=n)

    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])
    with pytest.raises(aa.exc.DatasetException, match=rf"positive multiple of {n}"):
        inversion.operated_mapping_matrix


@pytest.mark.parametrize("n", [2, 3])
def test__adaptive_sizes__fine_mapping_matrix_equals_the_coordinate_based_reference(n):
    """Radial-bin sizes (2n at the centre, n outside): each fine pixel owns the k_i x k_i sub-pixels of its pixel."""
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALE), sub_size_list=[2 * n, n], radial_list=[0.5]
    )
    dataset = masked_dataset_from(n, sizes)
    sub_sizes = np.asarray(dataset.grids.pixelization.over_sample_size.array).astype(int)
    assert sorted(np.unique(sub_sizes).tolist()) == [n, 2 * n]
    mapper = mapper_from(dataset.grids.pixelization, border_relocator=dataset.grids.border_relocator)

    reference = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n, sub_sizes)
    np.testing.assert_allclose(
        np.asarray(mapper.fine_mapping_matrix_from(convolve_over_sample_size=n)), reference, rtol=0.0, atol=1e-15
    )
    # its N x N block mean is the native mapping matrix
    np.testing.assert_allclose(
        np.asarray(mapper.mapping_matrix), reference_native_mapping_matrix_from(reference, dataset.mask, n), rtol=0.0, atol=1e-15
    )
    # and the inversion convolves it
    kernel = fine_kernel_values_from(n) / np.sum(fine_kernel_values_from(n))
    inversion = inversion_from(dataset, [mapper])
    assert_close_to_peak(inversion.operated_mapping_matrix, reference_operated_mapping_matrix_from(reference, dataset.mask, n, kernel))


def test__guard__mapper_with_adaptive_sizes_not_multiples_of_n__dataset_exception():
    dataset = masked_dataset_from(2, 4)
    sizes = np.where(np.arange(dataset.mask.pixels_in_mask) % 2 == 0, 3, 4)
    grid = aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=aa.Array2D(values=sizes, mask=dataset.mask))
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper_from(grid)])
    with pytest.raises(aa.exc.DatasetException, match=r"positive multiple of 2.*got \[3\]\. Use \[4\] instead"):
        inversion.operated_mapping_matrix


def test__guard__mapper_mask_differs_from_the_dataset_mask__kernel_exception():
    dataset = masked_dataset_from(2, 4)
    smaller = masked_dataset_from(2, 4, radius=0.6)
    assert smaller.mask.pixels_in_mask < dataset.mask.pixels_in_mask
    mapper = mapper_from(smaller.grids.pixelization, border_relocator=smaller.grids.border_relocator)
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])
    with pytest.raises(
        aa.exc.KernelException,
        match=rf"\({4 * dataset.mask.pixels_in_mask} rows\), but got {4 * smaller.mask.pixels_in_mask}\.",
    ):
        inversion.operated_mapping_matrix


# ----------------------------------------------------------------------------------------------------------------------
# A pixelization at a smaller N than the PSF's (one PSF held at N_psf, the pixelization at n = N_psf / m)
# ----------------------------------------------------------------------------------------------------------------------


def expected_at_smaller_n_from(dataset, mapper, n_psf, n_pix, sub_size):
    """
    The pixelization's fine mapping matrix at n (the coordinate-based reference), each value repeated over its
    m x m block of the held PSF's grid (m = N_psf / n), convolved there with the held kernel and block-meaned.
    """
    matrix_at_n = reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n_pix, sub_size)
    m = n_psf // n_pix
    frames_psf = np.repeat(np.repeat(fine_frames_from(matrix_at_n, dataset.mask, n_pix), m, axis=0), m, axis=1)
    kernel = fine_kernel_values_from(n_psf) / np.sum(fine_kernel_values_from(n_psf))
    return block_mean(convolved_frames_from(frames_psf, kernel), n_psf)[~np.asarray(dataset.mask)], kernel


@pytest.mark.parametrize("n_psf, n_pix", [(4, 2), (2, 1), (4, 1)])
def test__pixelization_at_a_smaller_n__operated_mapping_matrix_equals_the_brute_force_on_the_psfs_grid(n_psf, n_pix):
    """
    The inversion's operated mapping matrix convolves once at n with the exact coarse kernel (at n = 1 through the
    release's native code): it is the brute force of the held kernel on the held PSF's grid.
    """
    sub_size = 2 * n_psf
    dataset = masked_dataset_from(n_psf, sub_size, n_pixelization=n_pix)
    assert dataset.psf_pixelization.convolve_over_sample_size == n_pix
    mapper = mapper_from(dataset.grids.pixelization, border_relocator=dataset.grids.border_relocator)
    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])

    expected, kernel = expected_at_smaller_n_from(dataset, mapper, n_psf, n_pix, sub_size)
    assert_close_to_peak(inversion.operated_mapping_matrix, expected)

    # and it is not the matrix at the PSF's own N (the coarse path really is coarse)
    at_psf_n = reference_operated_mapping_matrix_from(
        reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n_psf, sub_size),
        dataset.mask,
        n_psf,
        kernel,
    )
    assert np.max(np.abs(at_psf_n - expected)) > 1e-6 * np.max(np.abs(expected))


def test__dataset_interface__mappers_are_convolved_with_its_psf_pixelization():
    """A DatasetInterface carries the pixelization's PSF (`psf_pixelization`); without one, `psf` convolves mappers."""
    n_psf, n_pix, sub_size = 4, 2, 8
    dataset = masked_dataset_from(n_psf, sub_size, n_pixelization=n_pix)
    mapper = mapper_from(dataset.grids.pixelization, border_relocator=dataset.grids.border_relocator)
    expected, kernel = expected_at_smaller_n_from(dataset, mapper, n_psf, n_pix, sub_size)

    interface = aa.DatasetInterface(
        data=dataset.data,
        noise_map=dataset.noise_map,
        grids=dataset.grids,
        psf=dataset.psf,
        psf_pixelization=dataset.psf_pixelization,
    )
    assert interface.psf_pixelization is dataset.psf_pixelization
    assert_close_to_peak(aa.Inversion(dataset=interface, linear_obj_list=[mapper]).operated_mapping_matrix, expected)

    without = aa.DatasetInterface(data=dataset.data, noise_map=dataset.noise_map, grids=dataset.grids, psf=dataset.psf)
    assert without.psf_pixelization is dataset.psf
    at_psf_n = reference_operated_mapping_matrix_from(
        reference_fine_mapping_matrix_from(mapper, dataset.grids.pixelization, dataset.mask, n_psf, sub_size),
        dataset.mask,
        n_psf,
        kernel,
    )
    assert_close_to_peak(aa.Inversion(dataset=without, linear_obj_list=[mapper]).operated_mapping_matrix, at_psf_n)
