"""
Tests of `Imaging` and `GridsDataset` with an oversampled PSF convolution (`convolve_over_sample_size_lp` /
`convolve_over_sample_size_pixelization` N > 1): every guard of DESIGN.md §4 that `Imaging` (and the inversion
factory) owns, the sizes surviving every `apply_*` / trim, the PSF's cached fine state, `from_fits`, the fine grids
and their offset copies on `FitDataset.grids`, and that none of the guards fires at N = 1.

Every guard test asserts the exception TYPE and a PHRASE of its message. Geometry is checked against masks and
coordinates built independently (numpy repeats, floor arithmetic), not against the code under test.
"""


import logging

import numpy as np
import pytest
from astropy.io import fits

import autoarray as aa
from autoarray.dataset.grids import GridsDataset
from autoarray.fit.mock.mock_fit_imaging import MockFitImaging as FitImaging  # aa.FitImaging is abstract
from autoarray.inversion.inversion.factory import inversion_imaging_from
from autoarray.inversion.inversion.imaging import inversion_imaging_util
from autoarray.operators.over_sampling import over_sample_util

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
MASK_RADIUS = 1.0


# ----------------------------------------------------------------------------------------------------------------------
# Builders (every call makes fresh objects: `Imaging` normalises its PSF's kernel in place)
# ----------------------------------------------------------------------------------------------------------------------


def data_and_noise():
    rng = np.random.default_rng(3)
    data = aa.Array2D.no_mask(
        values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE
    )
    noise_map = aa.Array2D.full(
        fill_value=0.5, shape_native=SHAPE, pixel_scales=PIXEL_SCALE
    )
    return data, noise_map


def psf_from(n=2, pixel_scale=None, shape=None, use_fft=None):
    """A Gaussian PSF held at `pixel_scale` (default: the fine scale PIXEL_SCALE / n) with `n` recorded on it."""
    pixel_scale = PIXEL_SCALE / n if pixel_scale is None else pixel_scale
    shape = (4 * n + 1, 4 * n + 1) if shape is None else shape
    return aa.Convolver.from_gaussian(
        shape_native=shape,
        pixel_scales=pixel_scale,
        sigma=0.15,
        normalize=True,
        convolve_over_sample_size=n,
    )


def imaging_from(
    psf="fine",
    n_lp=2,
    n_pixelization=2,
    over_sample_size_lp=4,
    over_sample_size_pixelization=4,
    **kwargs,
):
    data, noise_map = data_and_noise()
    if isinstance(psf, str) and psf == "fine":
        psf = psf_from(n=max(n_lp, n_pixelization) if isinstance(n_lp, int) else 2)
    return aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=over_sample_size_lp,
        over_sample_size_pixelization=over_sample_size_pixelization,
        convolve_over_sample_size_lp=n_lp,
        convolve_over_sample_size_pixelization=n_pixelization,
        **kwargs,
    )


def mask_from():
    return aa.Mask2D.circular(
        shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=MASK_RADIUS
    )


def masked_imaging_from(n=2, **kwargs):
    return imaging_from(
        psf=psf_from(n=n), n_lp=n, n_pixelization=n, **kwargs
    ).apply_mask(mask=mask_from())


def upscaled_mask_from(mask, n):
    """The fine mask, built independently of the library: every native pixel repeated n x n."""
    values = np.repeat(np.repeat(np.asarray(mask), n, axis=0), n, axis=1)
    return aa.Mask2D(
        mask=values,
        pixel_scales=(mask.pixel_scales[0] / n, mask.pixel_scales[1] / n),
        origin=mask.origin,
    )


def adaptive_size_from(mask):
    size = over_sample_util.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.from_mask(mask=mask),
        sub_size_list=[8, 4, 2],
        radial_list=[0.3, 0.6],
    )
    assert len(np.unique(np.asarray(size))) > 1  # precondition: really adaptive
    return size


@pytest.fixture(autouse=True)
def _real_radial_bins(monkeypatch):
    # PYAUTO_SMALL_DATASETS=1 makes the radial-bin sizes uniform, which would hide the adaptive guard.
    monkeypatch.delenv("PYAUTO_SMALL_DATASETS", raising=False)


def gaussian_values_on(grid):
    return np.exp(-np.sum(np.asarray(grid.array) ** 2, axis=1) / 0.5)


def convolved_fine_image_from(dataset):
    """Convolve a fixed fine image (and its fine blurring image) with the dataset's PSF."""
    grid = dataset.grids.lp_oversampled
    blurring_grid = dataset.grids.lp_blurring_oversampled
    image = aa.Array2D(values=gaussian_values_on(grid), mask=grid.mask)
    blurring_image = aa.Array2D(
        values=gaussian_values_on(blurring_grid), mask=blurring_grid.mask
    )
    return np.asarray(
        dataset.psf.convolved_image_from(
            image=image, blurring_image=blurring_image
        ).array
    )


# ----------------------------------------------------------------------------------------------------------------------
# Guards: the sizes themselves
# ----------------------------------------------------------------------------------------------------------------------


KEYWORDS = ["convolve_over_sample_size_lp", "convolve_over_sample_size_pixelization"]


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize(
    "value", [2.0, True, np.float64(2), np.array(2)], ids=["float", "bool", "np.float64", "array"]
)
def test__non_int_size__type_error_naming_the_keyword(keyword, value):
    kwargs = dict(n_lp=2, n_pixelization=2)
    kwargs["n_lp" if keyword.endswith("_lp") else "n_pixelization"] = value
    data, noise_map = data_and_noise()

    with pytest.raises(TypeError, match=f"{keyword} must be an integer >= 1"):
        aa.Imaging(
            data=data,
            noise_map=noise_map,
            psf=psf_from(n=2),
            over_sample_size_lp=4,
            over_sample_size_pixelization=4,
            convolve_over_sample_size_lp=kwargs["n_lp"],
            convolve_over_sample_size_pixelization=kwargs["n_pixelization"],
        )


def test__numpy_integer_size__accepted_and_stored_as_python_int():
    dataset = imaging_from(n_lp=np.int64(2), n_pixelization=np.int32(2))
    assert type(dataset.convolve_over_sample_size_lp) is int
    assert type(dataset.convolve_over_sample_size_pixelization) is int
    assert dataset.psf.convolve_over_sample_size == 2


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize("value", [0, -1])
def test__size_below_one__dataset_exception(keyword, value):
    data, noise_map = data_and_noise()
    kwargs = {keyword: value}

    with pytest.raises(
        aa.exc.DatasetException, match=f"{keyword} must be an integer >= 1, but {value} was given"
    ):
        aa.Imaging(data=data, noise_map=noise_map, psf=psf_from(n=1), **kwargs)


@pytest.mark.parametrize("n_lp, n_pixelization", [(3, 2), (2, 3), (6, 4)])
def test__sizes_where_the_smaller_does_not_divide_the_larger__dataset_exception(n_lp, n_pixelization):
    with pytest.raises(
        aa.exc.DatasetException,
        match=(
            f"convolve_over_sample_size_lp={n_lp} and "
            f"convolve_over_sample_size_pixelization={n_pixelization}: one PSF, held at the larger size"
        ),
    ):
        imaging_from(
            psf=psf_from(n=max(n_lp, n_pixelization)),
            n_lp=n_lp,
            n_pixelization=n_pixelization,
            over_sample_size_lp=12,
            over_sample_size_pixelization=12,
        )


@pytest.mark.parametrize("n_lp, n_pixelization", [(2, 1), (1, 2), (4, 2), (2, 4)])
def test__different_sizes__one_psf_at_the_larger_and_a_coarse_psf_for_the_other_path(n_lp, n_pixelization):
    n = max(n_lp, n_pixelization)
    dataset = imaging_from(
        psf=psf_from(n=n), n_lp=n_lp, n_pixelization=n_pixelization
    ).apply_mask(mask=mask_from())
    assert dataset.psf.convolve_over_sample_size == n
    assert dataset.psf_lp.convolve_over_sample_size == n_lp
    assert dataset.psf_pixelization.convolve_over_sample_size == n_pixelization
    for path_psf, path_n in ((dataset.psf_lp, n_lp), (dataset.psf_pixelization, n_pixelization)):
        if path_n == n:
            assert path_psf is dataset.psf
        else:
            assert path_psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / path_n,) * 2, rel=1e-12)
            assert np.sum(path_psf.kernel.native.array) == pytest.approx(1.0, rel=1e-12)
            assert path_psf.footprint_shape_native == dataset.psf.footprint_shape_native
    # the light-profile grids follow the light profiles' N
    assert (dataset.grids.lp_oversampled is None) == (n_lp == 1)


def test__oversampled_without_psf__dataset_exception():
    with pytest.raises(aa.exc.DatasetException, match="but the dataset has no PSF"):
        imaging_from(psf=None)


# ----------------------------------------------------------------------------------------------------------------------
# Guards: the PSF
# ----------------------------------------------------------------------------------------------------------------------


def test__oversampled_psf_but_dataset_sizes_1__dataset_exception():
    with pytest.raises(
        aa.exc.DatasetException,
        match=r"The PSF is oversampled \(convolve_over_sample_size=2\).*Set both to 2",
    ):
        imaging_from(psf=psf_from(n=2), n_lp=1, n_pixelization=1)


def test__oversampled_psf_n2_but_dataset_sizes_3__dataset_exception():
    with pytest.raises(
        aa.exc.DatasetException,
        match=r"convolve_over_sample_size=2\) but the dataset has convolve_over_sample_size_lp=3",
    ):
        imaging_from(
            psf=psf_from(n=2),
            n_lp=3,
            n_pixelization=3,
            over_sample_size_lp=6,
            over_sample_size_pixelization=6,
        )


def test__native_psf_at_fine_scale__rewrapped_with_n_and_gives_the_same_results():
    psf_native_flag = psf_from(n=1, pixel_scale=PIXEL_SCALE / 2, shape=(9, 9))
    assert psf_native_flag.convolve_over_sample_size == 1

    dataset = imaging_from(psf=psf_native_flag)
    dataset_reference = imaging_from(psf=psf_from(n=2))

    assert dataset.psf.convolve_over_sample_size == 2
    assert psf_native_flag.convolve_over_sample_size == 1  # the caller's PSF is not changed
    np.testing.assert_array_equal(
        dataset.psf.kernel.native.array, dataset_reference.psf.kernel.native.array
    )

    masked = dataset.apply_mask(mask=mask_from())
    masked_reference = dataset_reference.apply_mask(mask=mask_from())
    assert masked.psf.convolve_over_sample_size == 2

    result = convolved_fine_image_from(masked)
    assert result.shape == (mask_from().pixels_in_mask,)
    np.testing.assert_array_equal(result, convolved_fine_image_from(masked_reference))


def test__native_psf_at_native_scale_with_sizes_2__kernel_exception():
    # The brief asked for a DatasetException here; the library (and DESIGN.md §3-4: "a kernel whose pixel scale is
    # not the mask's divided by N is an error" -> KernelException) raises the pixel-scale KernelException.
    with pytest.raises(
        aa.exc.KernelException,
        match=r"needs the PSF at the fine pixel scale, the data pixel scale / 2 = \(0.1, 0.1\)",
    ):
        imaging_from(psf=psf_from(n=1, pixel_scale=PIXEL_SCALE, shape=(5, 5)))


@pytest.mark.parametrize("pixel_scale", [PIXEL_SCALE, PIXEL_SCALE / 3.0])
def test__oversampled_psf_at_wrong_pixel_scale__kernel_exception(pixel_scale):
    with pytest.raises(
        aa.exc.KernelException,
        match=r"needs the PSF at the fine pixel scale, the data pixel scale / 2 = \(0.1, 0.1\)",
    ):
        imaging_from(psf=psf_from(n=2, pixel_scale=pixel_scale))


# ----------------------------------------------------------------------------------------------------------------------
# Guards: over-sample sizes
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["over_sample_size_lp", "over_sample_size_pixelization"]
)
def test__adaptive_over_sample_size__rounded_up_to_multiples_of_n_with_one_log_line(name, caplog):
    """Radial bins [8, 4, 2] at N = 3: every size is raised to the next multiple of 3 (9, 6, 3), never lowered."""
    mask = aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    given = adaptive_size_from(mask)
    with caplog.at_level("INFO"):
        other = "over_sample_size_pixelization" if name == "over_sample_size_lp" else "over_sample_size_lp"
        dataset = imaging_from(psf=psf_from(n=3), n_lp=3, n_pixelization=3, **{name: given, other: 6})
    used = np.asarray(getattr(dataset, name).array).astype(int)
    expected = 3 * np.ceil(np.asarray(given.array) / 3).astype(int)
    np.testing.assert_array_equal(used, expected)
    assert np.all(used >= np.asarray(given.array))
    assert np.all(used % 3 == 0)
    raised = int(np.sum(np.asarray(given.array).astype(int) % 3 != 0))
    assert raised > 0
    lines = [r.getMessage() for r in caplog.records if "rounded up" in r.getMessage() and name in r.getMessage()]
    assert len(lines) == 1 and f"{raised} of {mask.pixels_in_mask} pixels" in lines[0]


def test__adaptive_over_sample_size__multiples_of_n_kept_and_fine_grid_samples_are_the_native_samples():
    """Sizes [8, 4, 2] at N = 2 keep their budget: the fine grid places exactly the native grid's samples."""
    data, noise_map = data_and_noise()
    sizes = adaptive_size_from(aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE))
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf_from(n=2),
        over_sample_size_lp=sizes,
        over_sample_size_pixelization=sizes,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    ).apply_mask(mask=mask_from())
    np.testing.assert_array_equal(
        np.asarray(dataset.over_sample_size_lp.array), np.asarray(sizes.apply_mask(mask=mask_from()).array)
    )
    grids = dataset.grids
    np.testing.assert_allclose(
        _sorted_rows(grids.lp_oversampled.over_sampled), _sorted_rows(grids.lp.over_sampled), atol=1e-10
    )
    # each fine pixel's sub-size is its native pixel's size / 2 (fine pixels of a native pixel found by floor)
    fine_sizes = np.asarray(grids.lp_oversampled.over_sample_size.array)
    rows, cols = np.nonzero(~np.asarray(grids.lp_oversampled.mask))
    native_sizes = np.asarray(dataset.over_sample_size_lp.native.array)
    np.testing.assert_array_equal(fine_sizes, native_sizes[rows // 2, cols // 2] // 2)


@pytest.mark.parametrize(
    "name", ["over_sample_size_lp", "over_sample_size_pixelization"]
)
def test__over_sample_size_not_multiple_of_n__dataset_exception_names_numbers_and_valid_choice(name):
    with pytest.raises(
        aa.exc.DatasetException,
        match=(
            f"{name}=3 is not a multiple of the convolution over sample size 2.*"
            f"Use {name}=4"
        ),
    ):
        imaging_from(**{name: 3})


def test__over_sample_size_not_multiple_of_3__valid_choice_is_a_multiple_of_3():
    with pytest.raises(
        aa.exc.DatasetException,
        match="over_sample_size_lp=4 is not a multiple of the convolution over sample size 3.*"
        "Use over_sample_size_lp=6",
    ):
        imaging_from(
            psf=psf_from(n=3),
            n_lp=3,
            n_pixelization=3,
            over_sample_size_lp=4,
            over_sample_size_pixelization=6,
        )


# ----------------------------------------------------------------------------------------------------------------------
# Guards: the sparse operator
# ----------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def sparse_builders_fail(monkeypatch):
    """Make both sparse-operator builders fail loudly if they are called."""
    from autoarray.inversion.inversion.imaging_numba import (
        inversion_imaging_numba_util,
    )

    def fail(*args, **kwargs):
        raise AssertionError("the expensive sparse-operator build was started")

    monkeypatch.setattr(
        inversion_imaging_util.ImagingSparseOperator,
        "from_noise_map_and_psf",
        fail,
    )
    monkeypatch.setattr(
        inversion_imaging_numba_util, "psf_precision_operator_sparse_from", fail
    )


def native_masked_imaging():
    return imaging_from(psf=psf_from(n=1, shape=(5, 5)), n_lp=1, n_pixelization=1).apply_mask(
        mask=mask_from()
    )


def test__sparse_operator_argument_built_at_n1_with_n2__dataset_exception():
    sparse_operator = native_masked_imaging().apply_sparse_operator().sparse_operator
    assert sparse_operator is not None

    masked = masked_imaging_from(n=2)

    with pytest.raises(
        aa.exc.DatasetException,
        match=r"built for a PSF at convolve_over_sample_size=1, but this dataset convolves its pixelization at "
        r"convolve_over_sample_size_pixelization=2",
    ):
        aa.Imaging(
            data=masked.data,
            noise_map=masked.noise_map,
            psf=psf_from(n=2),
            over_sample_size_lp=4,
            over_sample_size_pixelization=4,
            convolve_over_sample_size_lp=2,
            convolve_over_sample_size_pixelization=2,
            sparse_operator=sparse_operator,
        )


@pytest.mark.parametrize(
    "method, operator_type",
    [
        ("apply_sparse_operator", "ImagingSparseOperatorOversampled"),
        ("apply_sparse_operator_cpu", "SparseLinAlgImagingNumbaOversampled"),
    ],
)
def test__apply_sparse_operator_with_n2__builds_the_oversampled_operator(
    method, operator_type, sparse_builders_fail
):
    # The native builders fail if called (the fixture): at N = 2 the oversampled operator is built instead.
    dataset = getattr(masked_imaging_from(n=2), method)()

    assert type(dataset.sparse_operator).__name__ == operator_type
    assert dataset.sparse_operator.convolve_over_sample_size == 2
    assert dataset.convolve_over_sample_size_pixelization == 2


@pytest.mark.parametrize("method", ["apply_sparse_operator", "apply_sparse_operator_cpu"])
def test__apply_sparse_operator_at_n1__reaches_the_builder(method, sparse_builders_fail):
    # Control for the test above: the patched builders are the ones the methods really call.
    with pytest.raises(AssertionError, match="expensive sparse-operator build"):
        getattr(native_masked_imaging(), method)()


def _mapper_on(grids):
    interpolator = aa.mesh.RectangularUniform(shape=(5, 5)).interpolator_from(
        border_relocator=grids.border_relocator,
        source_plane_data_grid=grids.pixelization,
        source_plane_mesh_grid=None,
    )
    return aa.Mapper(
        interpolator=interpolator, regularization=aa.reg.Constant(coefficient=1.0)
    )


@pytest.mark.parametrize("entry", ["Inversion", "inversion_imaging_from"])
def test__dataset_interface_with_sparse_operator_and_oversampled_psf__inversion_exception(entry):
    native = native_masked_imaging().apply_sparse_operator()
    oversampled = masked_imaging_from(n=2)
    mapper = _mapper_on(native.grids)

    def interface_with(psf):
        return aa.DatasetInterface(
            data=native.data,
            noise_map=native.noise_map,
            grids=native.grids,
            psf=psf,
            sparse_operator=native.sparse_operator,
        )

    build = aa.Inversion if entry == "Inversion" else inversion_imaging_from

    # Control: with the native PSF the same interface gives the sparse inversion.
    inversion = build(dataset=interface_with(native.psf), linear_obj_list=[mapper])
    assert type(inversion).__name__ == "InversionImagingSparse"

    with pytest.raises(
        aa.exc.InversionException,
        match=r"sparse operator was built for a PSF at convolve_over_sample_size=1, but its pixelization is "
        r"convolved by a PSF at convolve_over_sample_size=2",
    ):
        build(dataset=interface_with(oversampled.psf), linear_obj_list=[mapper])


# ----------------------------------------------------------------------------------------------------------------------
# The sizes survive every apply_* and the trim
# ----------------------------------------------------------------------------------------------------------------------


def assert_oversampled(dataset, n=2):
    assert dataset.convolve_over_sample_size_lp == n
    assert dataset.convolve_over_sample_size_pixelization == n
    assert dataset.psf.convolve_over_sample_size == n
    assert dataset.grids.convolve_over_sample_size_lp == n
    assert dataset.grids.convolve_over_sample_size_pixelization == n
    assert dataset.grids.lp_oversampled is not None
    # the mapper builds its fine mapping matrix from the native pixelization grid's sub-pixels: no fine grid
    assert not hasattr(dataset.grids, "pixelization_oversampled")


def test__apply_mask__keeps_sizes():
    dataset = imaging_from().apply_mask(mask=mask_from())
    assert_oversampled(dataset)
    assert dataset.grids.lp_oversampled.shape[0] == 4 * mask_from().pixels_in_mask


def test__apply_noise_scaling__keeps_sizes():
    dataset = imaging_from().apply_noise_scaling(mask=mask_from())
    assert_oversampled(dataset)


def test__apply_over_sampling__keeps_sizes_and_uses_the_new_multiple_of_n():
    dataset = (
        imaging_from()
        .apply_mask(mask=mask_from())
        .apply_over_sampling(over_sample_size_lp=6, over_sample_size_pixelization=8)
    )
    assert_oversampled(dataset)
    assert np.all(np.asarray(dataset.over_sample_size_lp) == 6)
    assert np.all(np.asarray(dataset.grids.lp_oversampled.over_sample_size) == 3)
    assert np.all(np.asarray(dataset.grids.pixelization.over_sample_size) == 8)


def test__apply_over_sampling__not_multiple_of_n__still_guarded():
    with pytest.raises(aa.exc.DatasetException, match="over_sample_size_lp=5 is not a multiple"):
        imaging_from().apply_over_sampling(over_sample_size_lp=5)


def test__trimmed_after_convolution_from__keeps_sizes_and_rebuilds_grids_for_trimmed_mask():
    dataset = imaging_from()
    footprint = dataset.psf.footprint_shape_native
    assert footprint == (5, 5)  # 9x9 fine kernel at N=2 reaches 2 native pixels

    trimmed = dataset.trimmed_after_convolution_from(kernel_shape=footprint)
    assert_oversampled(trimmed)

    trimmed_mask = trimmed.data.mask
    assert trimmed_mask.shape_native == (11, 11)
    pixels = trimmed_mask.pixels_in_mask
    assert pixels == 121

    grids = trimmed.grids
    assert grids.lp.shape[0] == pixels
    assert grids.pixelization.shape[0] == pixels
    np.testing.assert_array_equal(
        np.asarray(grids.lp_oversampled.mask), np.asarray(upscaled_mask_from(trimmed_mask, 2))
    )
    assert grids.lp_oversampled.shape[0] == 4 * pixels
    # The fine grid's centres are those of the trimmed fine frame (22 x 22 at 0.1"): its first pixel is top-left.
    np.testing.assert_allclose(grids.lp_oversampled.array[0], (1.05, -1.05), atol=1e-12)
    # The blurring grids are the rings around the trimmed frame (padded by the native footprint / fine kernel).
    assert grids.blurring.shape[0] == 15 * 15 - 11 * 11
    assert grids.lp_blurring_oversampled.shape[0] == 30 * 30 - 22 * 22


# ----------------------------------------------------------------------------------------------------------------------
# The PSF's fine state and from_fits
# ----------------------------------------------------------------------------------------------------------------------


def test__apply_mask__psf_state_is_built_for_the_upscaled_data_mask():
    dataset = masked_imaging_from(n=2)
    fine_mask = upscaled_mask_from(dataset.data.mask, 2)

    assert dataset.psf._state is not None
    np.testing.assert_array_equal(
        np.asarray(dataset.psf._state.fine_mask), np.asarray(fine_mask)
    )
    assert dataset.psf.state_from(mask=fine_mask) is dataset.psf._state


def test__psf_setup_state_true__state_is_for_the_upscaled_mask():
    data, noise_map = data_and_noise()
    mask = mask_from()
    dataset = aa.Imaging(
        data=aa.Array2D(values=data.native, mask=mask),
        noise_map=aa.Array2D(values=noise_map.native, mask=mask),
        psf=psf_from(n=2),
        psf_setup_state=True,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    )
    fine_mask = upscaled_mask_from(mask, 2)
    # Checked before `state_from`, which would otherwise build and cache the state itself.
    assert dataset.psf._state is not None
    np.testing.assert_array_equal(np.asarray(dataset.psf._state.fine_mask), np.asarray(fine_mask))
    assert dataset.psf.state_from(mask=fine_mask) is dataset.psf._state


def write_fits(path, values, header=None):
    hdu = fits.PrimaryHDU(np.asarray(values, dtype="float64"))
    if header:
        for key, value in header.items():
            hdu.header[key] = value
    hdu.writeto(path, overwrite=True)


def test__from_fits__sizes_2__loads_psf_at_data_pixel_scale_over_2(tmp_path):
    data, noise_map = data_and_noise()
    write_fits(tmp_path / "data.fits", data.native.array)
    write_fits(tmp_path / "noise_map.fits", noise_map.native.array)
    write_fits(tmp_path / "psf.fits", psf_from(n=2).kernel.native.array)

    dataset = aa.Imaging.from_fits(
        data_path=tmp_path / "data.fits",
        noise_map_path=tmp_path / "noise_map.fits",
        psf_path=tmp_path / "psf.fits",
        pixel_scales=PIXEL_SCALE,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    )

    assert dataset.data.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
    np.testing.assert_allclose(dataset.psf.kernel.pixel_scales, (PIXEL_SCALE / 2, PIXEL_SCALE / 2))
    assert dataset.psf.kernel.shape_native == (9, 9)
    assert_oversampled(dataset)


def test__from_fits__oversampled_psf_file_loaded_with_sizes_1__kernel_exception(tmp_path):
    data, noise_map = data_and_noise()
    write_fits(tmp_path / "data.fits", data.native.array)
    write_fits(tmp_path / "noise_map.fits", noise_map.native.array)
    psf_from(n=2).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)

    with pytest.raises(
        aa.exc.KernelException,
        match=r"was saved with convolve_over_sample_size=2.*convolve_over_sample_size_pixelization to 2",
    ):
        aa.Imaging.from_fits(
            data_path=tmp_path / "data.fits",
            noise_map_path=tmp_path / "noise_map.fits",
            psf_path=tmp_path / "psf.fits",
            pixel_scales=PIXEL_SCALE,
        )

    # The same file loads with both sizes 2.
    dataset = aa.Imaging.from_fits(
        data_path=tmp_path / "data.fits",
        noise_map_path=tmp_path / "noise_map.fits",
        psf_path=tmp_path / "psf.fits",
        pixel_scales=PIXEL_SCALE,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    )
    assert dataset.psf.convolve_over_sample_size == 2


# ----------------------------------------------------------------------------------------------------------------------
# No guard fires at N = 1
# ----------------------------------------------------------------------------------------------------------------------


def test__n1__adaptive_sizes_allowed():
    mask = mask_from()
    size = adaptive_size_from(aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE))
    dataset = imaging_from(
        psf=psf_from(n=1, shape=(5, 5)),
        n_lp=1,
        n_pixelization=1,
        over_sample_size_lp=size,
        over_sample_size_pixelization=size,
    ).apply_mask(mask=mask)

    assert len(np.unique(np.asarray(dataset.over_sample_size_lp))) > 1
    assert dataset.grids.lp.over_sampled.shape[0] > 4 * mask.pixels_in_mask


def test__n1__sparse_operator_and_sparse_inversion_work():
    dataset = native_masked_imaging().apply_sparse_operator()
    assert dataset.sparse_operator is not None

    inversion = aa.Inversion(dataset=dataset, linear_obj_list=[_mapper_on(dataset.grids)])
    assert type(inversion).__name__ == "InversionImagingSparse"
    assert np.all(np.isfinite(inversion.reconstruction))


def test__n1__even_kernel_with_fft_works():
    # (The release's `apply_mask` re-makes the PSF without `use_fft`, which rejects even kernels at N = 1 whatever
    # this series does; the unmasked dataset and the Convolver itself accept them.)
    kernel = aa.Array2D.no_mask(
        values=np.ones((4, 4)) / 16.0, pixel_scales=PIXEL_SCALE
    )
    psf = aa.Convolver(kernel=kernel, use_fft=True)
    dataset = imaging_from(psf=psf, n_lp=1, n_pixelization=1)
    assert dataset.psf.convolve_over_sample_size == 1
    assert dataset.psf.kernel.shape_native == (4, 4)

    mask = mask_from()
    image = aa.Array2D(values=np.ones(mask.pixels_in_mask), mask=mask)
    blurred = dataset.psf.convolved_image_from(image=image, blurring_image=None)
    assert blurred.shape == (mask.pixels_in_mask,)
    assert np.all(np.isfinite(np.asarray(blurred.array)))
    assert np.max(np.asarray(blurred.array)) > 0.5

    # at N = 2 the same even kernel is used through its odd 2 x 2 average (5 x 5)
    fine = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=np.ones((4, 4)) / 16.0, pixel_scales=PIXEL_SCALE / 2),
        use_fft=True,
        convolve_over_sample_size=2,
    )
    assert fine.kernel.shape_native == (5, 5)


def test__n1__psf_pixel_scale_is_not_checked():
    # The release does not compare the PSF's and the data's pixel scales; N = 1 keeps that behaviour.
    dataset = imaging_from(
        psf=psf_from(n=1, pixel_scale=PIXEL_SCALE / 2, shape=(5, 5)),
        n_lp=1,
        n_pixelization=1,
        over_sample_size_lp=3,
    )
    assert dataset.psf.convolve_over_sample_size == 1


# ----------------------------------------------------------------------------------------------------------------------
# GridsDataset and FitDataset.grids
# ----------------------------------------------------------------------------------------------------------------------


def test__grids__none_at_n1():
    dataset = native_masked_imaging()
    assert dataset.grids.lp_oversampled is None
    assert dataset.grids.lp_blurring_oversampled is None

    fit = FitImaging(dataset=dataset, use_mask_in_fit=False)
    assert fit.grids.lp_oversampled is None
    assert fit.grids.lp_blurring_oversampled is None


@pytest.mark.parametrize("n", [2, 3])
def test__grids__fine_masks_and_sub_sizes(n):
    dataset = masked_imaging_from(
        n=n, over_sample_size_lp=2 * n, over_sample_size_pixelization=3 * n
    )
    mask = dataset.mask
    psf = dataset.psf
    grids = dataset.grids

    fine_mask = upscaled_mask_from(mask, n)
    np.testing.assert_array_equal(
        np.asarray(over_sample_util.mask_2d_upscaled_from(mask, n)), np.asarray(fine_mask)
    )

    for grid, sub_size in ((grids.lp_oversampled, 2),):
        np.testing.assert_array_equal(np.asarray(grid.mask), np.asarray(fine_mask))
        np.testing.assert_allclose(grid.mask.pixel_scales, (PIXEL_SCALE / n, PIXEL_SCALE / n))
        assert grid.shape[0] == n**2 * mask.pixels_in_mask
        assert np.all(np.asarray(grid.over_sample_size) == sub_size)
        assert grid.over_sampled.shape[0] == n**2 * mask.pixels_in_mask * sub_size**2

    blurring_mask = fine_mask.derive_mask.blurring_from(
        kernel_shape_native=psf.kernel.shape_native
    )
    blurring = grids.lp_blurring_oversampled
    np.testing.assert_array_equal(np.asarray(blurring.mask), np.asarray(blurring_mask))
    assert blurring.shape[0] == int(np.sum(~np.asarray(blurring_mask)))
    assert np.all(np.asarray(blurring.over_sample_size) == 1)

    # The native blurring grid uses the native footprint of the fine kernel, not the fine kernel's shape.
    np.testing.assert_array_equal(
        np.asarray(grids.blurring.mask),
        np.asarray(mask.derive_mask.blurring_from(kernel_shape_native=psf.footprint_shape_native)),
    )


def _sorted_rows(values):
    values = np.round(np.asarray(values), 10)
    return values[np.lexsort((values[:, 1], values[:, 0]))]


@pytest.mark.parametrize("n", [2, 3])
def test__grids__fine_grid_samples_are_the_native_samples(n):
    # A native pixel with sub-size k*N and its N x N fine pixels with sub-size k place the same samples.
    dataset = masked_imaging_from(
        n=n, over_sample_size_lp=2 * n, over_sample_size_pixelization=n
    )
    grids = dataset.grids
    np.testing.assert_allclose(
        _sorted_rows(grids.lp_oversampled.over_sampled),
        _sorted_rows(grids.lp.over_sampled),
        atol=1e-10,
    )
    # and the fine pixel centres are the centres of the fine mask's pixels, row-major
    fine_mask = upscaled_mask_from(dataset.mask, n)
    rows, cols = np.nonzero(~np.asarray(fine_mask))
    fine_scale = PIXEL_SCALE / n
    y = (fine_mask.shape_native[0] / 2.0 - rows - 0.5) * fine_scale
    x = (cols - fine_mask.shape_native[1] / 2.0 + 0.5) * fine_scale
    np.testing.assert_allclose(grids.lp_oversampled.array, np.stack([y, x], axis=1), atol=1e-12)


def test__grids_dataset__no_psf__no_fine_blurring_grid():
    mask = mask_from()
    grids = GridsDataset(
        mask=mask,
        over_sample_size_lp=aa.Array2D(values=np.full(mask.pixels_in_mask, 4), mask=mask),
        over_sample_size_pixelization=aa.Array2D(
            values=np.full(mask.pixels_in_mask, 4), mask=mask
        ),
        psf=None,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    )
    assert grids.lp_oversampled is not None
    assert grids.lp_blurring_oversampled is None


@pytest.mark.parametrize(
    "offset", [(0.1, -0.2), (0.0, 0.0), (np.float64(0.0), 0)], ids=["offset", "zero", "numpy-zero"]
)
def test__fit_grids__carry_the_fine_grids_shifted_like_lp(offset):
    dataset = masked_imaging_from(n=2)
    fit = FitImaging(
        dataset=dataset,
        use_mask_in_fit=False,
        dataset_model=aa.DatasetModel(grid_offset=offset),
    )
    fit_grids = fit.grids

    for name in ("lp", "lp_oversampled", "lp_blurring_oversampled"):
        original = getattr(dataset.grids, name)
        shifted = getattr(fit_grids, name)
        assert shifted is not None, name
        np.testing.assert_allclose(
            np.asarray(shifted.array), np.asarray(original.array) - np.array(offset), atol=1e-14
        )
        np.testing.assert_allclose(
            np.asarray(shifted.over_sampled),
            np.asarray(original.over_sampled) - np.array(offset),
            atol=1e-14,
        )
        np.testing.assert_allclose(
            shifted.mask.origin,
            (original.mask.origin[0] - offset[0], original.mask.origin[1] - offset[1]),
        )
        np.testing.assert_array_equal(np.asarray(shifted.mask), np.asarray(original.mask))
        assert shifted.mask.pixel_scales == original.mask.pixel_scales


# ----------------------------------------------------------------------------------------------------------------------
# The dataset says its N: one log line, the PSF panel's title
# ----------------------------------------------------------------------------------------------------------------------


def test__oversampled_dataset__logs_one_line_with_its_n_and_the_psf_pixel_scale_when_masked(caplog):
    with caplog.at_level(logging.INFO, logger="autoarray.dataset.imaging.dataset"):
        imaging_from(psf=psf_from(n=4), n_lp=4, n_pixelization=2).apply_mask(mask=mask_from())
    lines = [r.getMessage() for r in caplog.records if "Oversampled PSF convolution" in r.getMessage()]
    assert lines == [
        f"IMAGING - Oversampled PSF convolution: convolve_over_sample_size_lp = 4, "
        f"convolve_over_sample_size_pixelization = 2; the 17 x 17 PSF kernel is held at {PIXEL_SCALE / 4:g}\" per "
        f"pixel, the data at {PIXEL_SCALE:g}\"."
    ]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="autoarray.dataset.imaging.dataset"):
        imaging_from(psf=psf_from(n=1, shape=(5, 5)), n_lp=1, n_pixelization=1).apply_mask(mask=mask_from())
    assert not [r for r in caplog.records if "Oversampled" in r.getMessage()]


def test__convolution_title__names_n_only_for_an_oversampled_dataset():
    from autoarray.plot.utils import convolution_title_from

    assert convolution_title_from("Model Image", imaging_from(n_lp=2, n_pixelization=2)) == "Model Image (N = 2)"
    assert (
        convolution_title_from("Model Image", imaging_from(psf=psf_from(n=4), n_lp=4, n_pixelization=2))
        == "Model Image (N = 4 light, 2 pixelization)"
    )
    native = imaging_from(psf=psf_from(n=1, shape=(5, 5)), n_lp=1, n_pixelization=1)
    assert convolution_title_from("Model Image", native) == "Model Image"
    assert convolution_title_from("Model Image", object()) == "Model Image"


@pytest.mark.parametrize("n", [1, 2])
def test__subplot_imaging_dataset__the_psf_panel_names_n_and_the_fine_pixel_scale(n, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from autoarray.dataset.plot import imaging_plots
    from autoarray.plot import array as plot_array_module

    titles = []
    original = plot_array_module.plot_array

    def recording(*args, **kwargs):
        titles.append(kwargs.get("title"))
        return original(*args, **kwargs)

    monkeypatch.setattr(plot_array_module, "plot_array", recording)
    if n == 1:
        dataset = imaging_from(psf=psf_from(n=1, shape=(5, 5)), n_lp=1, n_pixelization=1)
    else:
        dataset = imaging_from(n_lp=n, n_pixelization=n)
    imaging_plots.subplot_imaging_dataset(dataset=dataset, output_path=str(tmp_path), output_format="png")

    expected = "Point Spread Function" if n == 1 else f'Point Spread Function, {PIXEL_SCALE / n:g}"/px (N = {n})'
    assert expected in titles
    assert (tmp_path / "dataset.png").exists()
