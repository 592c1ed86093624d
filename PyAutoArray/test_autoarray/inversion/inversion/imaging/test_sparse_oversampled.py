"""
Tests of the sparse inversion paths with an oversampled PSF (`convolve_over_sample_size` N > 1): the JAX FFT operator
(`Imaging.apply_sparse_operator`, an `ImagingSparseOperatorOversampled` used by `InversionImagingSparse`) and the CPU
polyphase operator (`Imaging.apply_sparse_operator_cpu`, a `SparseLinAlgImagingNumbaOversampled`, which forms the
operated mapping matrix for the mapping-path linear algebra of `InversionImagingSparseNumbaOversampled`).

References are independent of the operators: the blurred mapping matrix B of a brute-force fine convolution (the
mapper's fine mapping matrix placed on the full fine frame, `scipy.signal.convolve2d` with the fine kernel, N x N block
means), from which the curvature matrix is B^T C^-1 B and the data vector B^T C^-1 d; and the mapping-matrix inversion,
whose own operated mapping matrix is tested against a coordinate-based brute force in `test_mapping_oversampled.py`.
The kernel is elliptical, rotated and off-centre, so a missing kernel flip (K^T) changes the answer (checked).
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
from autoarray.inversion.mock.mock_linear_obj_func_list import MockLinearObjFuncList

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
MASK_RADIUS = 1.0
RTOL = 1.0e-10

KINDS = ["jax", "cpu"]


# ----------------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------------


def fine_kernel_values_from(n):
    """An elliptical, rotated, off-centre Gaussian at the fine scale, normalised (asymmetric: a flip shows)."""
    size = 4 * n + 1
    ps = PIXEL_SCALE / n
    y = (np.arange(size) - size // 2)[:, None] * -ps - 0.3 * ps
    x = (np.arange(size) - size // 2)[None, :] * ps + 0.4 * ps
    angle = np.radians(30.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    values = np.exp(-0.5 * ((u / 0.16) ** 2 + (v / 0.09) ** 2))
    return values / values.sum()


def masked_dataset_from(n_psf, sub_size, n_pixelization=None, n_lp=None):
    rng = np.random.default_rng(11)
    psf = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(n_psf), pixel_scales=PIXEL_SCALE / n_psf),
        convolve_over_sample_size=n_psf,
    )
    dataset = aa.Imaging(
        data=aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE),
        noise_map=aa.Array2D.no_mask(values=0.3 + rng.random(SHAPE), pixel_scales=PIXEL_SCALE),
        psf=psf,
        over_sample_size_lp=sub_size,
        over_sample_size_pixelization=sub_size,
        convolve_over_sample_size_lp=n_psf if n_lp is None else n_lp,
        convolve_over_sample_size_pixelization=n_psf if n_pixelization is None else n_pixelization,
    )
    return dataset.apply_mask(
        mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=MASK_RADIUS)
    )


def with_sparse_operator(dataset, kind):
    return dataset.apply_sparse_operator() if kind == "jax" else dataset.apply_sparse_operator_cpu()


def mapper_from(dataset, mesh_name="rectangular"):
    grid = dataset.grids.pixelization
    if mesh_name == "rectangular":
        interpolator = aa.mesh.RectangularUniform(shape=(6, 6)).interpolator_from(
            border_relocator=dataset.grids.border_relocator,
            source_plane_data_grid=grid,
            source_plane_mesh_grid=None,
        )
    else:
        mesh_grid = aa.image_mesh.Overlay(shape=(7, 7)).image_plane_mesh_grid_from(mask=grid.mask)
        interpolator = aa.mesh.Delaunay(pixels=mesh_grid.shape[0]).interpolator_from(
            border_relocator=dataset.grids.border_relocator,
            source_plane_data_grid=grid,
            source_plane_mesh_grid=mesh_grid,
        )
    return aa.Mapper(interpolator=interpolator, regularization=aa.reg.Constant(coefficient=1.0))


def inversion_from(dataset, linear_obj_list):
    return aa.Inversion(
        dataset=dataset,
        linear_obj_list=linear_obj_list,
        settings=aa.Settings(use_positive_only_solver=False),
    )


def brute_force_operated_mapping_matrix_from(fine_mapping_matrix, mask, n, kernel):
    """The fine mapping matrix on the full fine frame, convolved column by column and block-meaned to native rows."""
    fine = np.repeat(np.repeat(np.asarray(mask), n, axis=0), n, axis=1)
    frames = np.zeros(fine.shape + (fine_mapping_matrix.shape[1],))
    frames[~fine] = fine_mapping_matrix
    blurred = np.stack(
        [convolve2d(frames[:, :, c], kernel, mode="same") for c in range(frames.shape[2])], axis=2
    )
    h, w = fine.shape[0] // n, fine.shape[1] // n
    return blurred.reshape(h, n, w, n, -1).mean(axis=(1, 3))[~np.asarray(mask)]


def assert_close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0.0, atol=rtol * np.max(np.abs(expected)))


# ----------------------------------------------------------------------------------------------------------------------
# Against the brute force
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mesh_name", ["rectangular", "delaunay"])
@pytest.mark.parametrize("n, sub_size", [(2, 4), (3, 3)])
def test__sparse_operator__curvature_data_vector_and_mapped_data_equal_brute_force(n, sub_size, mesh_name, kind):
    dataset = with_sparse_operator(masked_dataset_from(n, sub_size), kind)
    assert dataset.sparse_operator.convolve_over_sample_size == n
    mapper = mapper_from(dataset, mesh_name)
    inversion = inversion_from(dataset, [mapper])

    expected_type = "InversionImagingSparse" if kind == "jax" else "InversionImagingSparseNumbaOversampled"
    assert type(inversion).__name__ == expected_type

    kernel = np.asarray(dataset.psf.kernel.native.array)
    operated = brute_force_operated_mapping_matrix_from(
        np.asarray(mapper.mapping_matrix_oversampled_from(n)), dataset.mask, n, kernel
    )
    data, noise = np.asarray(dataset.data.array), np.asarray(dataset.noise_map.array)

    assert_close(inversion.curvature_matrix, operated.T @ (operated / noise[:, None] ** 2))
    assert_close(inversion.data_vector, operated.T @ (data / noise**2))

    reconstruction = np.asarray(inversion.reconstruction)
    assert_close(inversion.mapped_reconstructed_operated_data.array, operated @ reconstruction)
    assert_close(inversion.mapped_reconstructed_data.array, np.asarray(mapper.mapping_matrix) @ reconstruction)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 3])
def test__non_square_image_off_centre_mask_and_even_non_square_kernel__equal_brute_force(n, kind):
    """
    Nothing is square or centred, so a swap of y and x (in the frame, the crop, the footprint or the index maps)
    would show: a 14 x 17 image, a mask off its centre, and an even 4N x (2N + 2) kernel (held as its odd 2 x 2
    average).
    """
    shape = (14, 17)
    rng = np.random.default_rng(2)
    values = fine_kernel_values_from(n)[: 4 * n, : 2 * n + 2]
    dataset = aa.Imaging(
        data=aa.Array2D.no_mask(values=rng.normal(size=shape) + 1.0, pixel_scales=PIXEL_SCALE),
        noise_map=aa.Array2D.no_mask(values=0.3 + rng.random(shape), pixel_scales=PIXEL_SCALE),
        psf=aa.Convolver(
            kernel=aa.Array2D.no_mask(values=values / values.sum(), pixel_scales=PIXEL_SCALE / n),
            convolve_over_sample_size=n,
        ),
        over_sample_size_lp=n,
        over_sample_size_pixelization=n,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(
        mask=aa.Mask2D.circular(shape_native=shape, pixel_scales=PIXEL_SCALE, radius=0.9, centre=(0.4, -0.5))
    )
    dataset = with_sparse_operator(dataset, kind)
    kernel = np.asarray(dataset.psf.kernel.native.array)
    assert kernel.shape == (4 * n + 1, 2 * n + 3)

    mapper = mapper_from(dataset)
    inversion = inversion_from(dataset, [mapper])
    operated = brute_force_operated_mapping_matrix_from(
        np.asarray(mapper.mapping_matrix_oversampled_from(n)), dataset.mask, n, kernel
    )
    data, noise = np.asarray(dataset.data.array), np.asarray(dataset.noise_map.array)

    assert_close(inversion.curvature_matrix, operated.T @ (operated / noise[:, None] ** 2))
    assert_close(inversion.data_vector, operated.T @ (data / noise**2))
    assert_close(
        inversion.mapped_reconstructed_operated_data.array, operated @ np.asarray(inversion.reconstruction)
    )


@pytest.mark.parametrize("kind", KINDS)
def test__asymmetric_kernel__the_flipped_kernel_gives_another_answer(kind):
    """
    The reference above would catch a missing flip: with the kernel flipped (K^T in place of K) the brute force
    moves far beyond the tolerance, while the operator matches the unflipped one.
    """
    n = 2
    dataset = with_sparse_operator(masked_dataset_from(n, 4), kind)
    mapper = mapper_from(dataset)
    inversion = inversion_from(dataset, [mapper])
    fine_mapping_matrix = np.asarray(mapper.mapping_matrix_oversampled_from(n))
    kernel = np.asarray(dataset.psf.kernel.native.array)
    data, noise = np.asarray(dataset.data.array), np.asarray(dataset.noise_map.array)

    for flip, matches in ((False, True), (True, False)):
        operated = brute_force_operated_mapping_matrix_from(
            fine_mapping_matrix, dataset.mask, n, kernel[::-1, ::-1] if flip else kernel
        )
        expected = operated.T @ (data / noise**2)
        difference = np.max(np.abs(np.asarray(inversion.data_vector) - expected)) / np.max(np.abs(expected))
        assert (difference < RTOL) == matches, (flip, difference)
        if flip:
            assert difference > 1.0e-3


@pytest.mark.parametrize("kind", KINDS)
def test__adaptive_over_sample_sizes__curvature_and_data_vector_equal_brute_force(kind):
    """
    Radial-bin sizes (2N at the centre, N outside, some rounded up): each fine pixel's triplets carry its own
    1 / k_i**2, and the operators still give the brute force of the (adaptive) fine mapping matrix.
    """
    n = 2
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALE),
        sub_size_list=[2 * n, n - 1],
        radial_list=[0.5],
    )
    dataset = with_sparse_operator(masked_dataset_from(n, sizes), kind)
    assert sorted(np.unique(np.asarray(dataset.grids.pixelization.over_sample_size.array)).tolist()) == [n, 2 * n]
    mapper = mapper_from(dataset)
    inversion = inversion_from(dataset, [mapper])

    operated = brute_force_operated_mapping_matrix_from(
        np.asarray(mapper.mapping_matrix_oversampled_from(n)), dataset.mask, n, np.asarray(dataset.psf.kernel.native.array)
    )
    data, noise = np.asarray(dataset.data.array), np.asarray(dataset.noise_map.array)
    assert_close(inversion.curvature_matrix, operated.T @ (operated / noise[:, None] ** 2))
    assert_close(inversion.data_vector, operated.T @ (data / noise**2))


@pytest.mark.parametrize("kind", KINDS)
def test__two_mappers__the_off_diagonal_block_equals_brute_force(kind):
    """Two mappers (a rectangular and a Delaunay mesh) on the same data: every block of F through each operator."""
    n = 2
    dataset = with_sparse_operator(masked_dataset_from(n, 4), kind)
    mappers = [mapper_from(dataset, "rectangular"), mapper_from(dataset, "delaunay")]
    inversion = inversion_from(dataset, mappers)

    kernel = np.asarray(dataset.psf.kernel.native.array)
    operated = np.hstack(
        [
            brute_force_operated_mapping_matrix_from(
                np.asarray(mapper.mapping_matrix_oversampled_from(n)), dataset.mask, n, kernel
            )
            for mapper in mappers
        ]
    )
    noise = np.asarray(dataset.noise_map.array)
    expected = operated.T @ (operated / noise[:, None] ** 2)
    assert_close(inversion.curvature_matrix, expected)
    assert np.max(np.abs(expected[: mappers[0].pixels, mappers[0].pixels :])) > 1e-3 * np.max(np.abs(expected))


# ----------------------------------------------------------------------------------------------------------------------
# Against the mapping path
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n, sub_size", [(2, 4), (3, 3)])
def test__linear_function_beside_a_mapper__every_block_equals_the_mapping_path(n, sub_size, kind):
    """
    A linear function (its operated mapping matrix given, as linear light profiles give theirs) beside a mapper:
    the mapper x function cross terms, the function's own block and its data vector entry through each sparse path
    equal the mapping path's, and so do the reconstruction and its blurred image.
    """
    mapping_dataset = masked_dataset_from(n, sub_size)
    sparse_dataset = with_sparse_operator(mapping_dataset, kind)
    pixels = mapping_dataset.mask.pixels_in_mask
    override = np.random.default_rng(5).random((pixels, 2))

    def linear_obj_list(dataset):
        func = MockLinearObjFuncList(
            parameters=2,
            grid=dataset.grids.lp,
            mapping_matrix=np.ones((pixels, 2)),
            regularization=None,
            operated_mapping_matrix_override=override,
        )
        return [func, mapper_from(dataset)]

    mapping = inversion_from(mapping_dataset, linear_obj_list(mapping_dataset))
    sparse = inversion_from(sparse_dataset, linear_obj_list(sparse_dataset))
    assert type(mapping).__name__ == "InversionImagingMapping"
    assert type(sparse).__name__ == (
        "InversionImagingSparse" if kind == "jax" else "InversionImagingSparseNumbaOversampled"
    )

    assert_close(sparse.curvature_matrix, mapping.curvature_matrix)
    assert_close(sparse.data_vector, mapping.data_vector)
    assert_close(sparse.reconstruction, mapping.reconstruction, rtol=1e-8)
    assert_close(sparse.mapped_reconstructed_operated_data.array, mapping.mapped_reconstructed_operated_data.array, rtol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_psf, n_pix", [(4, 2), (2, 1)])
def test__pixelization_at_a_smaller_n__the_operator_is_built_for_the_pixelization(n_psf, n_pix, kind):
    """
    With the PSF held at N = n_psf and the pixelization at n_pix, the operator is built from the pixelization's PSF
    (its exact coarse kernel): at n_pix = 1 the release's native operator with that kernel.
    """
    mapping_dataset = masked_dataset_from(n_psf, 2 * n_psf, n_pixelization=n_pix)
    sparse_dataset = with_sparse_operator(mapping_dataset, kind)
    operator = sparse_dataset.sparse_operator
    if n_pix == 1:
        assert type(operator).__name__ in ("ImagingSparseOperator", "SparseLinAlgImagingNumba")
    else:
        assert operator.convolve_over_sample_size == n_pix

    mapping = inversion_from(mapping_dataset, [mapper_from(mapping_dataset)])
    sparse = inversion_from(sparse_dataset, [mapper_from(sparse_dataset)])

    assert_close(sparse.curvature_matrix, mapping.curvature_matrix)
    assert_close(sparse.data_vector, mapping.data_vector)
    assert_close(sparse.mapped_reconstructed_operated_data.array, mapping.mapped_reconstructed_operated_data.array, rtol=1e-8)


# ----------------------------------------------------------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test__an_operator_built_for_another_n__dataset_exception(kind):
    at_2 = with_sparse_operator(masked_dataset_from(2, 4), kind)
    at_1 = with_sparse_operator(masked_dataset_from(1, 4), kind)

    def imaging_with(sparse_operator, n):
        return aa.Imaging(
            data=at_2.data,
            noise_map=at_2.noise_map,
            psf=at_2.psf if n == 2 else at_1.psf,
            over_sample_size_lp=4,
            over_sample_size_pixelization=4,
            convolve_over_sample_size_lp=n,
            convolve_over_sample_size_pixelization=n,
            sparse_operator=sparse_operator,
        )

    assert imaging_with(at_2.sparse_operator, 2).sparse_operator is at_2.sparse_operator

    for operator, n, built in ((at_1.sparse_operator, 2, 1), (at_2.sparse_operator, 1, 2)):
        with pytest.raises(
            aa.exc.DatasetException,
            match=rf"built for a PSF at convolve_over_sample_size={built}.*apply_sparse_operator",
        ):
            imaging_with(operator, n)


@pytest.mark.parametrize("kind", KINDS)
def test__linear_function_without_override__inversion_exception(kind):
    """A linear function's native mapping matrix cannot be convolved by the fine PSF, on any path."""
    dataset = with_sparse_operator(masked_dataset_from(2, 4), kind)
    pixels = dataset.mask.pixels_in_mask
    func = MockLinearObjFuncList(
        parameters=1, grid=dataset.grids.lp, mapping_matrix=np.ones((pixels, 1)), regularization=None
    )
    inversion = inversion_from(dataset, [func, mapper_from(dataset)])

    with pytest.raises(aa.exc.InversionException, match="has no operated_mapping_matrix_override"):
        inversion.curvature_matrix
