"""
The CPU sparse operator (`Imaging.apply_sparse_operator_cpu`) with a mask that comes closer to the image's edge than
half the PSF kernel.

Its precision operator reads the noise-map up to half a kernel beyond every unmasked pixel. On the series' own path
(light profiles at N = 2, the pixelization at N = 1 with the coarse kernel) the noise-map is padded, so its log
evidence terms equal the mapping-matrix inversion's (an independent path: the blurred mapping matrix, no precision
operator). With every N at 1 the operator is the release's as it is, and a warning names the cause and the paths that
are exact.
"""
import warnings

import numpy as np
import pytest

import autoarray as aa

SHAPE = (80, 80)
PIXEL_SCALE = 0.05
KERNEL = 31  # native pixels: its half (15) is more than the 1.5" mask's distance to the edge (10 pixels)


def dataset_from(lp, pixelization, radius=1.5):
    n = max(lp, pixelization)
    size = KERNEL * n if (KERNEL * n) % 2 == 1 else KERNEL * n + 1
    y, x = np.mgrid[:size, :size] - size // 2
    kernel = np.exp(-0.5 * ((x / (3.0 * n)) ** 2 + (y / (2.0 * n)) ** 2))
    psf = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=kernel / kernel.sum(), pixel_scales=PIXEL_SCALE / n),
        convolve_over_sample_size=n,
    )
    rng = np.random.default_rng(1)
    dataset = aa.Imaging(
        data=aa.Array2D.no_mask(values=rng.normal(1.0, 0.1, SHAPE), pixel_scales=PIXEL_SCALE),
        noise_map=aa.Array2D.no_mask(values=np.full(SHAPE, 0.1), pixel_scales=PIXEL_SCALE),
        psf=psf,
        over_sample_size_lp=2 * n,
        over_sample_size_pixelization=2 * n,
        convolve_over_sample_size_lp=lp,
        convolve_over_sample_size_pixelization=pixelization,
    )
    return dataset.apply_mask(
        mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=radius)
    )


def evidence_terms_from(dataset):
    mesh = aa.mesh.RectangularUniform(shape=(12, 12))
    mapper = aa.Mapper(
        interpolator=mesh.interpolator_from(
            source_plane_data_grid=dataset.grids.pixelization, source_plane_mesh_grid=None
        ),
        regularization=aa.reg.Constant(coefficient=1.0),
    )
    inversion = aa.Inversion(
        dataset=dataset, linear_obj_list=[mapper], settings=aa.Settings(use_positive_only_solver=False)
    )
    return type(inversion).__name__, np.array(
        [
            inversion.log_det_curvature_reg_matrix_term,
            np.sum(inversion.curvature_matrix),
            np.sum(inversion.data_vector),
        ]
    )


def test__pixelization_at_n1_beside_light_at_n2__mask_near_edge__equals_the_mapping_path():
    dataset = dataset_from(lp=2, pixelization=1)
    mapping_name, mapping = evidence_terms_from(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the padded operator needs no warning
        sparse_dataset = dataset.apply_sparse_operator_cpu()
    sparse_name, sparse = evidence_terms_from(sparse_dataset)

    assert (mapping_name, sparse_name) == ("InversionImagingMapping", "InversionImagingSparseNumba")
    assert np.all(np.isfinite(sparse))
    assert sparse == pytest.approx(mapping, rel=1e-10)


def test__every_n_at_1__mask_near_edge__warns_naming_the_cause_and_the_exact_paths():
    dataset = dataset_from(lp=1, pixelization=1)
    with pytest.warns(UserWarning, match=r"closer than half the PSF kernel \(31, 31\).*mapping path"):
        dataset.apply_sparse_operator_cpu()


def test__every_n_at_1__mask_inside_half_a_kernel__no_warning_and_the_mapping_path():
    dataset = dataset_from(lp=1, pixelization=1, radius=1.2)  # 16 pixels from the edge, half the kernel is 15
    _, mapping = evidence_terms_from(dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparse_dataset = dataset.apply_sparse_operator_cpu()
    _, sparse = evidence_terms_from(sparse_dataset)
    assert sparse == pytest.approx(mapping, rel=1e-10)


def test__every_n_at_1__mask_near_edge__the_jax_operator_named_by_the_warning_is_exact():
    pytest.importorskip("jax")
    dataset = dataset_from(lp=1, pixelization=1)
    _, mapping = evidence_terms_from(dataset)
    _, sparse = evidence_terms_from(dataset.apply_sparse_operator())
    assert sparse == pytest.approx(mapping, rel=1e-10)
