"""
Tests of `Imaging` and `GridsDataset` with an oversampled PSF convolution (`convolve_over_sample_size_lp` /
`convolve_over_sample_size_pixelization` N > 1): the guards `Imaging` owns, the one PSF held at the larger N and
the coarse PSF of a path at a smaller N, the sizes surviving every `apply_*` / trim, the PSF's state, `from_fits`,
the grids (one set: `lp` over-sampled at k N, `blurring` the footprint's region over-sampled at N) and their offset
copies on `FitDataset.grids`, the simulator, and that none of the guards fires at N = 1.

Every guard test asserts the exception TYPE and a PHRASE of its message. Geometry and model images are checked
against masks, coordinates and fine convolutions built independently in this file (loops, closed forms,
`scipy.signal.convolve2d`), never against the code under test.
"""

import numpy as np
import pytest
from astropy.io import fits
from scipy.signal import convolve2d

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
from autoarray.dataset.grids import GridsDataset
from autoarray.fit.mock.mock_fit_imaging import MockFitImaging as FitImaging  # aa.FitImaging is abstract
from autoarray.operators.convolver import OversampledConvolverState
from autoarray.operators.over_sampling import over_sample_util

import jax.numpy as jnp

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
MASK_RADIUS = 1.0


# ----------------------------------------------------------------------------------------------------------------------
# Builders (every call makes fresh objects: `Imaging` normalises its PSF's kernel in place)
# ----------------------------------------------------------------------------------------------------------------------


def data_and_noise(shape=SHAPE):
    rng = np.random.default_rng(3)
    data = aa.Array2D.no_mask(values=rng.normal(size=shape) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=0.5, shape_native=shape, pixel_scales=PIXEL_SCALE)
    return data, noise_map


def kernel_values_from(n, shape=None):
    """An elliptical, off-centre Gaussian at the fine scale, not normalised (asymmetric: a flipped kernel shows)."""
    shape = (4 * n + 1, 4 * n + 1) if shape is None else shape
    ps = PIXEL_SCALE / n
    y = (np.arange(shape[0]) - shape[0] // 2)[:, None] * -ps - 0.3 * ps
    x = (np.arange(shape[1]) - shape[1] // 2)[None, :] * ps + 0.2 * ps
    return 3.0 * np.exp(-0.5 * ((y / 0.12) ** 2 + (x / 0.18) ** 2))


def psf_from(n=2, pixel_scale=None, shape=None, use_fft=None, convolve_over_sample_size=None):
    """A PSF held at `pixel_scale` (default: the fine scale PIXEL_SCALE / n) with `n` recorded on it."""
    pixel_scale = PIXEL_SCALE / n if pixel_scale is None else pixel_scale
    return aa.Convolver(
        kernel=aa.Array2D.no_mask(values=kernel_values_from(n, shape), pixel_scales=pixel_scale),
        use_fft=use_fft,
        convolve_over_sample_size=n if convolve_over_sample_size is None else convolve_over_sample_size,
    )


def imaging_from(psf="fine", n_lp=2, n_pixelization=2, over_sample_size_lp=4, over_sample_size_pixelization=4, **kwargs):
    data, noise_map = data_and_noise()
    if isinstance(psf, str):
        psf = psf_from(n=max(n_lp, n_pixelization))
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


def mask_from(radius=MASK_RADIUS, centre=(0.0, 0.0)):
    return aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=radius, centre=centre)


def masked_imaging_from(n=2, **kwargs):
    return imaging_from(psf=psf_from(n=n), n_lp=n, n_pixelization=n, **kwargs).apply_mask(mask=mask_from())


def adaptive_size_from(mask, sub_size_list=(8, 4, 2)):
    size = over_sample_util.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.from_mask(mask=mask), sub_size_list=list(sub_size_list), radial_list=[0.3, 0.6]
    )
    assert len(np.unique(np.asarray(size))) > 1  # precondition: really adaptive
    return size


@pytest.fixture(autouse=True)
def _real_radial_bins(monkeypatch):
    # PYAUTO_SMALL_DATASETS=1 makes the radial-bin sizes uniform, which would hide the adaptive behaviour.
    monkeypatch.delenv("PYAUTO_SMALL_DATASETS", raising=False)


def native_region_reference_from(mask_bool, box):
    """The masked pixels within the (by, bx) // 2 box of an unmasked pixel of `mask_bool` (a loop over offsets)."""
    by, bx = box
    H, W = mask_bool.shape
    padded = np.pad(~mask_bool, ((by // 2, by // 2), (bx // 2, bx // 2)))
    reach = np.zeros((H, W), dtype=bool)
    for dy in range(by):
        for dx in range(bx):
            reach |= padded[dy : dy + H, dx : dx + W]
    return reach & mask_bool


def fine_reach_region_from(mask_bool, kernel_shape, n):
    """The masked native pixels holding a fine pixel the fine kernel reaches from an unmasked fine pixel."""
    fine_unmasked = np.kron(~mask_bool, np.ones((n, n), dtype=bool))
    fine_region = native_region_reference_from(~fine_unmasked, kernel_shape) | fine_unmasked
    H, W = mask_bool.shape
    return fine_region.reshape(H, n, W, n).any(axis=(1, 3)) & mask_bool


def fine_centres_from(mask, n):
    """The fine pixel centres of a mask, pixel-major, from the closed form of the pixel geometry."""
    H, W = mask.shape_native
    psy, psx = mask.pixel_scales
    oy, ox = mask.origin
    out = []
    for y, x in zip(*np.nonzero(~np.asarray(mask))):
        for a in range(n):
            for b in range(n):
                out.append((oy + (H / 2.0 - y - (a + 0.5) / n) * psy, ox + (x + (b + 0.5) / n - W / 2.0) * psx))
    return np.array(out)


def profile(grid):
    """A compact, elliptical, off-centre light profile."""
    grid = np.asarray(grid)
    return np.exp(-0.5 * (((grid[:, 0] - 0.05) / 0.15) ** 2 + ((grid[:, 1] + 0.1) / 0.25) ** 2))


def model_image_reference_from(mask, n, sub_sizes, kernel):
    """
    The reference model image: on a fine frame (the native frame padded, every pixel n x n), each fine pixel of an
    unmasked pixel i holds the mean of the profile at its k_i x k_i sub-pixel centres (k_i = s_i / n, closed-form
    coordinates), each fine pixel of the blurring region (the pixels the fine kernel reaches) the profile at its
    centre; the frame is convolved with `convolve2d` and block-meaned.
    """
    mask_bool = np.asarray(mask)
    pad = kernel.shape[0] // n + 1
    padded = np.pad(mask_bool, pad, constant_values=True)
    H, W = padded.shape
    region = fine_reach_region_from(padded, kernel.shape, n)
    psy, psx = mask.pixel_scales
    oy, ox = mask.origin
    frame = np.zeros((H * n, W * n))
    slim = np.cumsum(~padded).reshape(padded.shape) - 1
    for y in range(H):
        for x in range(W):
            if not padded[y, x]:
                k = int(sub_sizes[slim[y, x]]) // n
            elif region[y, x]:
                k = 1
            else:
                continue
            for a in range(n):
                for b in range(n):
                    offsets = (np.arange(k) + 0.5) / (n * k)
                    ys = oy + (H / 2.0 - y - a / n - offsets) * psy
                    xs = ox + (x + b / n + offsets - W / 2.0) * psx
                    yy, xx = np.meshgrid(ys, xs, indexing="ij")
                    frame[n * y + a, n * x + b] = np.mean(profile(np.stack([yy.ravel(), xx.ravel()], axis=1)))
    blurred = convolve2d(frame, kernel, mode="same")
    return blurred.reshape(H, n, W, n).mean(axis=(1, 3))[~padded]


def model_image_from(dataset, xp=np):
    """The model image as a light-profile fit forms it from the dataset's grids and PSF."""
    grids = dataset.grids
    n = dataset.psf_lp.convolve_over_sample_size
    fine_image = grids.lp.over_sampler.fine_binned_from(
        xp.asarray(profile(grids.lp.over_sampled)), convolve_over_sample_size=n, xp=xp
    )
    return np.asarray(
        dataset.psf_lp.convolved_fine_image_from(
            fine_image=fine_image,
            mask=dataset.mask,
            fine_blurring_image=xp.asarray(profile(grids.blurring.over_sampled)),
            xp=xp,
        ).array
    )


def assert_close_to_peak(result, reference, rtol=1e-12):
    result, reference = np.asarray(result), np.asarray(reference)
    assert result.shape == reference.shape
    assert np.max(np.abs(result - reference)) <= rtol * np.max(np.abs(reference))


# ----------------------------------------------------------------------------------------------------------------------
# Guards: the sizes themselves
# ----------------------------------------------------------------------------------------------------------------------


KEYWORDS = ["convolve_over_sample_size_lp", "convolve_over_sample_size_pixelization"]


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize("value", [2.0, True, np.float64(2), np.array(2)], ids=["float", "bool", "np.float64", "array"])
def test__non_int_size__type_error(keyword, value):
    sizes = {"convolve_over_sample_size_lp": 2, "convolve_over_sample_size_pixelization": 2, keyword: value}
    data, noise_map = data_and_noise()
    with pytest.raises(TypeError, match=f"{keyword} must be an integer.*got"):
        aa.Imaging(
            data=data, noise_map=noise_map, psf=psf_from(n=2), over_sample_size_lp=4, over_sample_size_pixelization=4,
            **sizes,
        )


def test__numpy_integer_size__accepted_and_stored_as_python_int():
    dataset = imaging_from(n_lp=np.int64(2), n_pixelization=np.int32(2))
    assert type(dataset.convolve_over_sample_size_lp) is int
    assert type(dataset.convolve_over_sample_size_pixelization) is int
    assert dataset.psf.convolve_over_sample_size == 2


@pytest.mark.parametrize("keyword", KEYWORDS)
@pytest.mark.parametrize("value", [0, -1])
def test__size_below_one__kernel_exception(keyword, value):
    data, noise_map = data_and_noise()
    with pytest.raises(aa.exc.KernelException, match=f"must be 1 or more, got {value}"):
        aa.Imaging(data=data, noise_map=noise_map, psf=psf_from(n=1), **{keyword: value})


@pytest.mark.parametrize("n_lp, n_pixelization", [(3, 2), (2, 3), (6, 4)])
def test__sizes_where_the_smaller_does_not_divide_the_larger__dataset_exception(n_lp, n_pixelization):
    with pytest.raises(
        aa.exc.DatasetException,
        match=(
            f"convolve_over_sample_size_lp={n_lp} and convolve_over_sample_size_pixelization={n_pixelization}: the "
            f"smaller must divide the larger"
        ),
    ):
        imaging_from(
            psf=psf_from(n=max(n_lp, n_pixelization)), n_lp=n_lp, n_pixelization=n_pixelization,
            over_sample_size_lp=12, over_sample_size_pixelization=12,
        )


def coarse_kernel_by_the_formula(kernel, m):
    """K_m(D) = (1/m^2) sum_u T_m(u) K(m D + u), T_m(u) = (m - |u_y|)(m - |u_x|), by explicit loops."""
    ky, kx = kernel.shape
    cy, cx = ky // 2, kx // 2
    hy, hx = (cy + m - 1) // m, (cx + m - 1) // m
    out = np.zeros((2 * hy + 1, 2 * hx + 1))
    for dy in range(-hy, hy + 1):
        for dx in range(-hx, hx + 1):
            for uy in range(-(m - 1), m):
                for ux in range(-(m - 1), m):
                    y, x = cy + m * dy + uy, cx + m * dx + ux
                    if 0 <= y < ky and 0 <= x < kx:
                        out[dy + hy, dx + hx] += (m - abs(uy)) * (m - abs(ux)) * kernel[y, x] / m**2
    return out


@pytest.mark.parametrize("n_lp, n_pixelization", [(2, 1), (1, 2), (4, 2), (2, 4)])
def test__different_sizes__one_psf_at_the_larger_and_the_exact_coarse_psf_for_the_other_path(n_lp, n_pixelization):
    n = max(n_lp, n_pixelization)
    dataset = imaging_from(psf=psf_from(n=n), n_lp=n_lp, n_pixelization=n_pixelization).apply_mask(mask=mask_from())
    held = kernel_values_from(n) / np.sum(kernel_values_from(n))
    assert dataset.psf.convolve_over_sample_size == n
    np.testing.assert_allclose(dataset.psf.kernel.native.array, held, rtol=1e-13)
    for path_psf, path_n in ((dataset.psf_lp, n_lp), (dataset.psf_pixelization, n_pixelization)):
        assert path_psf.convolve_over_sample_size == path_n
        if path_n == n:
            assert path_psf is dataset.psf
        else:
            assert path_psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / path_n,) * 2, rel=1e-12)
            np.testing.assert_allclose(
                path_psf.kernel.native.array, coarse_kernel_by_the_formula(held, n // path_n), rtol=1e-12, atol=1e-16
            )
            assert np.sum(path_psf.kernel.native.array) == pytest.approx(1.0, rel=1e-12)
            assert path_psf.footprint_shape_native == dataset.psf.footprint_shape_native
    # the light-profile grids follow the light profiles' N
    assert np.all(np.asarray(dataset.grids.blurring.over_sample_size) == n_lp)
    np.testing.assert_array_equal(
        ~np.asarray(dataset.grids.blurring.mask),
        native_region_reference_from(np.asarray(dataset.mask), dataset.psf_lp.footprint_shape_native),
    )


def test__coarse_psf__follows_the_dataset_psf_when_it_is_replaced_or_its_kernel_changes():
    dataset = imaging_from(psf=psf_from(n=4), n_lp=4, n_pixelization=2).apply_mask(mask=mask_from())
    first = dataset.psf_pixelization
    assert dataset.psf_pixelization is first  # built once while the PSF stays the same
    assert dataset.psf_path_from(convolve_over_sample_size=2) is first
    assert dataset.psf_path_from(convolve_over_sample_size=4) is dataset.psf
    assert dataset.psf_lp is dataset.psf

    replacement_values = kernel_values_from(4)[::-1, :] * 0.5
    dataset.psf = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=replacement_values.copy(), pixel_scales=PIXEL_SCALE / 4),
        convolve_over_sample_size=4,
    )
    second = dataset.psf_pixelization
    assert second is not first
    np.testing.assert_allclose(
        second.kernel.native.array, coarse_kernel_by_the_formula(replacement_values, 2), rtol=1e-12, atol=1e-16
    )

    dataset.psf.kernel._array = dataset.psf.kernel._array * 3.0  # the kernel changed in place
    third = dataset.psf_pixelization
    assert third is not second
    np.testing.assert_allclose(
        third.kernel.native.array, coarse_kernel_by_the_formula(3.0 * replacement_values, 2), rtol=1e-12, atol=1e-16
    )


def test__oversampled_without_psf__dataset_exception():
    with pytest.raises(aa.exc.DatasetException, match="needs a PSF at the data pixel scale / 2, but the dataset has none"):
        imaging_from(psf=None)


# ----------------------------------------------------------------------------------------------------------------------
# Guards: the PSF
# ----------------------------------------------------------------------------------------------------------------------


def test__oversampled_psf_but_dataset_sizes_1__dataset_exception():
    with pytest.raises(
        aa.exc.DatasetException,
        match=r"The PSF has convolve_over_sample_size=2, but the dataset has convolve_over_sample_size_lp=1.*"
        r"Pass convolve_over_sample_size_lp=2",
    ):
        imaging_from(psf=psf_from(n=2), n_lp=1, n_pixelization=1)


def test__oversampled_psf_n2_but_dataset_sizes_3__dataset_exception():
    with pytest.raises(
        aa.exc.DatasetException,
        match=r"The PSF has convolve_over_sample_size=2, but the dataset has convolve_over_sample_size_lp=3",
    ):
        imaging_from(psf=psf_from(n=2), n_lp=3, n_pixelization=3, over_sample_size_lp=6, over_sample_size_pixelization=6)


def test__native_psf_at_fine_scale__given_n_and_the_model_is_the_fine_convolution():
    users_psf = psf_from(n=2, convolve_over_sample_size=1)
    assert users_psf.convolve_over_sample_size == 1

    dataset = imaging_from(psf=users_psf)
    assert dataset.psf.convolve_over_sample_size == 2
    assert users_psf.convolve_over_sample_size == 1  # the caller's PSF is not re-wrapped
    rewrapped = dataset.oversampled_psf_from(psf=psf_from(n=2, convolve_over_sample_size=1))
    assert rewrapped.convolve_over_sample_size == 2
    np.testing.assert_array_equal(rewrapped.kernel.native.array, kernel_values_from(2))

    masked = dataset.apply_mask(mask=mask_from())
    assert masked.psf.convolve_over_sample_size == 2
    kernel = kernel_values_from(2) / np.sum(kernel_values_from(2))
    assert_close_to_peak(
        model_image_from(masked), model_image_reference_from(masked.mask, 2, np.full(masked.mask.pixels_in_mask, 4), kernel)
    )


def test__native_psf_at_native_scale_with_sizes_2__dataset_exception_naming_the_sizes():
    with pytest.raises(
        aa.exc.DatasetException,
        match=r"The PSF has convolve_over_sample_size=1, but the dataset has convolve_over_sample_size_lp=2 and "
        r"convolve_over_sample_size_pixelization=2",
    ):
        imaging_from(psf=psf_from(n=1, shape=(5, 5)))


@pytest.mark.parametrize("pixel_scale", [PIXEL_SCALE, PIXEL_SCALE / 3.0])
def test__oversampled_psf_at_wrong_pixel_scale__kernel_exception(pixel_scale):
    with pytest.raises(
        aa.exc.KernelException,
        match=r"needs the PSF at the data pixel scale / 2 = \(0.1, 0.1\), but the kernel's pixel scales are",
    ):
        imaging_from(psf=psf_from(n=2, pixel_scale=pixel_scale))


# ----------------------------------------------------------------------------------------------------------------------
# Over-sample sizes
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["over_sample_size_lp", "over_sample_size_pixelization"])
def test__adaptive_over_sample_size__rounded_up_to_multiples_of_n_with_one_log_line(name, caplog):
    """Radial bins [8, 4, 2] at N = 3: every size is raised to the next multiple of 3 (9, 6, 3), never lowered."""
    mask = aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    given = adaptive_size_from(mask)
    other = "over_sample_size_pixelization" if name == "over_sample_size_lp" else "over_sample_size_lp"
    with caplog.at_level("INFO"):
        dataset = imaging_from(psf=psf_from(n=3), n_lp=3, n_pixelization=3, **{name: given, other: 6})
    used = np.asarray((dataset.over_sample_size_lp if name.endswith("_lp") else dataset.over_sample_size_pixelization).array)
    expected = 3 * np.ceil(np.asarray(given.array) / 3).astype(int)
    np.testing.assert_array_equal(used, expected)
    assert np.all(used >= np.asarray(given.array))
    raised = int(np.sum(np.asarray(given.array).astype(int) % 3 != 0))
    assert raised > 0
    lines = [r.getMessage() for r in caplog.records if "raised to the next multiple" in r.getMessage()]
    assert len(lines) == 1
    assert f"{name}: {raised} of {mask.pixels_in_mask} per-pixel sizes" in lines[0]
    # the grids use the sizes the dataset exposes
    grid = dataset.grids.lp if name.endswith("_lp") else dataset.grids.pixelization
    np.testing.assert_array_equal(np.asarray(grid.over_sample_size.array), expected)


def test__adaptive_over_sample_size__multiples_of_n_kept_and_each_fine_pixel_takes_size_over_n():
    """Sizes [8, 4, 2] at N = 2 keep their budget: a fine pixel of pixel i has (s_i / 2)^2 sub-pixels."""
    data, noise_map = data_and_noise()
    sizes = adaptive_size_from(aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE))
    dataset = aa.Imaging(
        data=data, noise_map=noise_map, psf=psf_from(n=2), over_sample_size_lp=sizes, over_sample_size_pixelization=sizes,
        convolve_over_sample_size_lp=2, convolve_over_sample_size_pixelization=2,
    ).apply_mask(mask=mask_from())
    expected_sizes = np.asarray(sizes.native.array)[~np.asarray(mask_from())]
    np.testing.assert_array_equal(np.asarray(dataset.over_sample_size_lp.array), expected_sizes)
    grid = dataset.grids.lp
    assert grid.over_sampled.shape[0] == int(np.sum(expected_sizes**2))
    _, fine_weight = grid.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=2)
    np.testing.assert_allclose(fine_weight, np.repeat(1.0 / (expected_sizes // 2) ** 2, 4), rtol=1e-15)


@pytest.mark.parametrize("name", ["over_sample_size_lp", "over_sample_size_pixelization"])
def test__over_sample_size_not_multiple_of_n__dataset_exception_naming_a_valid_choice(name):
    with pytest.raises(aa.exc.DatasetException, match=r"positive multiple of 2.*but got \[3\]\. Use \[4\] instead"):
        imaging_from(**{name: 3})


def test__over_sample_size_not_multiple_of_3__valid_choice_is_a_multiple_of_3():
    with pytest.raises(aa.exc.DatasetException, match=r"positive multiple of 3.*got \[4\]\. Use \[6\]"):
        imaging_from(psf=psf_from(n=3), n_lp=3, n_pixelization=3, over_sample_size_lp=4, over_sample_size_pixelization=6)


# ----------------------------------------------------------------------------------------------------------------------
# The sizes survive every apply_* and the trim
# ----------------------------------------------------------------------------------------------------------------------


def assert_oversampled(dataset, n=2):
    assert dataset.convolve_over_sample_size_lp == n
    assert dataset.convolve_over_sample_size_pixelization == n
    assert dataset.psf.convolve_over_sample_size == n
    assert np.all(np.asarray(dataset.grids.lp.over_sample_size) % n == 0)
    assert np.all(np.asarray(dataset.grids.blurring.over_sample_size) == n)


def test__apply_mask__keeps_sizes():
    dataset = imaging_from().apply_mask(mask=mask_from())
    assert_oversampled(dataset)
    assert dataset.grids.lp.shape[0] == mask_from().pixels_in_mask
    assert dataset.grids.lp.over_sampled.shape[0] == 16 * mask_from().pixels_in_mask


def test__apply_noise_scaling__keeps_sizes():
    assert_oversampled(imaging_from().apply_noise_scaling(mask=mask_from()))


def test__apply_over_sampling__keeps_sizes_and_uses_the_new_multiple_of_n():
    dataset = imaging_from().apply_mask(mask=mask_from()).apply_over_sampling(
        over_sample_size_lp=6, over_sample_size_pixelization=8
    )
    assert_oversampled(dataset)
    assert np.all(np.asarray(dataset.over_sample_size_lp) == 6)
    assert np.all(np.asarray(dataset.grids.lp.over_sample_size) == 6)
    assert np.all(np.asarray(dataset.grids.pixelization.over_sample_size) == 8)
    _, fine_weight = dataset.grids.lp.over_sampler.fine_index_for_sub_slim_from(convolve_over_sample_size=2)
    np.testing.assert_allclose(fine_weight, 1.0 / 9.0, rtol=1e-15)


def test__apply_over_sampling__not_multiple_of_n__still_guarded():
    with pytest.raises(aa.exc.DatasetException, match=r"positive multiple of 2.*got \[5\]"):
        imaging_from().apply_over_sampling(over_sample_size_lp=5)


def test__trimmed_after_convolution_from__keeps_n_and_trims_by_the_native_footprint():
    """
    A simulator trims by the PSF's native footprint (not the fine kernel's shape). The trimmed copy keeps N, its PSF
    and per-pixel sizes (its grids are the release's: `trimmed_after_convolution_from` copies the dataset).
    """
    dataset = imaging_from()
    footprint = dataset.psf.footprint_shape_native
    assert footprint == (5, 5)  # 9 x 9 fine kernel at N = 2 reaches 2 native pixels

    trimmed = dataset.trimmed_after_convolution_from(kernel_shape=footprint)
    assert trimmed.convolve_over_sample_size_lp == 2
    assert trimmed.convolve_over_sample_size_pixelization == 2
    assert trimmed.psf is dataset.psf
    assert trimmed.data.shape_native == (11, 11)
    assert trimmed.noise_map.shape_native == (11, 11)
    np.testing.assert_array_equal(trimmed.data.native.array, dataset.data.native.array[2:13, 2:13])
    assert trimmed.over_sample_size_lp.shape_native == (11, 11)
    assert np.all(np.asarray(trimmed.over_sample_size_lp) == 4)
    assert np.all(np.asarray(trimmed.over_sample_size_pixelization) == 4)


# ----------------------------------------------------------------------------------------------------------------------
# The PSF's state and from_fits
# ----------------------------------------------------------------------------------------------------------------------


def test__apply_mask__psf_state_is_built_for_the_native_data_mask_and_the_normalised_kernel():
    dataset = masked_imaging_from(n=2)
    state = dataset.psf._state
    assert isinstance(state, OversampledConvolverState)
    np.testing.assert_array_equal(np.asarray(state.mask), np.asarray(dataset.data.mask))
    np.testing.assert_allclose(state.kernel_values, kernel_values_from(2) / np.sum(kernel_values_from(2)), rtol=1e-14)
    assert dataset.psf.oversampled_state_from(mask=dataset.data.mask) is state
    # a model image through the dataset's state is the reference
    kernel = kernel_values_from(2) / np.sum(kernel_values_from(2))
    assert_close_to_peak(
        model_image_from(dataset), model_image_reference_from(dataset.mask, 2, np.full(dataset.mask.pixels_in_mask, 4), kernel)
    )


def test__psf_setup_state_true__state_is_for_the_native_mask():
    data, noise_map = data_and_noise()
    mask = mask_from()
    dataset = aa.Imaging(
        data=aa.Array2D(values=data.native, mask=mask),
        noise_map=aa.Array2D(values=noise_map.native, mask=mask),
        psf=psf_from(n=2),
        psf_setup_state=True,
        over_sample_size_lp=4,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=2,
        convolve_over_sample_size_pixelization=2,
    )
    state = dataset.psf._state
    assert isinstance(state, OversampledConvolverState)
    np.testing.assert_array_equal(np.asarray(state.mask), np.asarray(mask))
    assert dataset.psf.oversampled_state_from(mask=mask) is state


def test__path_at_a_smaller_n__its_coarse_psf_has_the_state_of_the_mask():
    dataset = imaging_from(psf=psf_from(n=4), n_lp=4, n_pixelization=2).apply_mask(mask=mask_from())
    state = dataset.psf_pixelization._state
    assert isinstance(state, OversampledConvolverState)
    assert state.convolve_over_sample_size == 2
    assert dataset.psf_pixelization.oversampled_state_from(mask=dataset.mask) is state


def write_fits(path, values, header=None):
    hdu = fits.PrimaryHDU(np.asarray(values, dtype="float64"))
    for key, value in (header or {}).items():
        hdu.header[key] = value
    hdu.writeto(path, overwrite=True)


def test__from_fits__sizes_2__loads_the_psf_at_the_data_pixel_scale_over_2(tmp_path):
    data, noise_map = data_and_noise()
    write_fits(tmp_path / "data.fits", data.native.array)
    write_fits(tmp_path / "noise_map.fits", noise_map.native.array)
    write_fits(tmp_path / "psf.fits", kernel_values_from(2))  # a file that records nothing

    dataset = aa.Imaging.from_fits(
        data_path=tmp_path / "data.fits", noise_map_path=tmp_path / "noise_map.fits", psf_path=tmp_path / "psf.fits",
        pixel_scales=PIXEL_SCALE, over_sample_size_lp=4, over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=2, convolve_over_sample_size_pixelization=2,
    )
    assert dataset.data.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / 2,) * 2, rel=1e-14)
    assert dataset.psf.kernel.shape_native == (9, 9)
    np.testing.assert_allclose(
        dataset.psf.kernel.native.array, kernel_values_from(2) / np.sum(kernel_values_from(2)), rtol=1e-14
    )
    assert_oversampled(dataset)


def test__from_fits__oversampled_psf_file_loaded_with_sizes_1__warns_and_reads_it_as_the_release(tmp_path):
    data, noise_map = data_and_noise()
    write_fits(tmp_path / "data.fits", data.native.array)
    write_fits(tmp_path / "noise_map.fits", noise_map.native.array)
    psf_from(n=2).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    assert fits.getheader(tmp_path / "psf.fits")["CONVOS"] == 2

    paths = dict(
        data_path=tmp_path / "data.fits", noise_map_path=tmp_path / "noise_map.fits", psf_path=tmp_path / "psf.fits",
        pixel_scales=PIXEL_SCALE,
    )
    with pytest.warns(UserWarning, match="records a PSF oversampled by 2.*convolve_over_sample_size_lp=2"):
        native = aa.Imaging.from_fits(**paths)
    assert native.psf.convolve_over_sample_size == 1
    assert native.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
    np.testing.assert_allclose(native.psf.kernel.native.array, kernel_values_from(2) / np.sum(kernel_values_from(2)), rtol=1e-14)

    # the same file loads with both sizes 2
    dataset = aa.Imaging.from_fits(**paths, convolve_over_sample_size_lp=2, convolve_over_sample_size_pixelization=2)
    assert dataset.psf.convolve_over_sample_size == 2


# ----------------------------------------------------------------------------------------------------------------------
# No guard fires at N = 1
# ----------------------------------------------------------------------------------------------------------------------


def native_psf_from():
    return aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PIXEL_SCALE, sigma=0.2, normalize=True)


def test__n1__adaptive_sizes_not_multiples_of_anything_allowed():
    mask = mask_from()
    size = adaptive_size_from(aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE), sub_size_list=(7, 3, 1))
    dataset = imaging_from(
        psf=native_psf_from(), n_lp=1, n_pixelization=1, over_sample_size_lp=size, over_sample_size_pixelization=size
    ).apply_mask(mask=mask)
    expected = np.asarray(size.native.array)[~np.asarray(mask)]
    np.testing.assert_array_equal(np.asarray(dataset.over_sample_size_lp.array), expected)
    assert dataset.grids.lp.over_sampled.shape[0] == int(np.sum(expected**2))


def test__n1__even_kernel_with_fft_is_accepted_and_n2_re_centres_it():
    kernel = aa.Array2D.no_mask(values=np.ones((4, 4)) / 16.0, pixel_scales=PIXEL_SCALE)
    dataset = imaging_from(psf=aa.Convolver(kernel=kernel, use_fft=True), n_lp=1, n_pixelization=1)
    assert dataset.psf.convolve_over_sample_size == 1
    assert dataset.psf.kernel.shape_native == (4, 4)

    with pytest.warns(UserWarning, match=r"even shape \(4, 4\)"):
        fine = aa.Convolver(
            kernel=aa.Array2D.no_mask(values=np.ones((4, 4)) / 16.0, pixel_scales=PIXEL_SCALE / 2),
            use_fft=True,
            convolve_over_sample_size=2,
        )
    assert fine.kernel.shape_native == (5, 5)
    assert np.sum(fine.kernel.native.array) == pytest.approx(1.0, rel=1e-13)


def test__n1__psf_pixel_scale_and_over_sample_size_are_not_checked():
    # The release compares neither; N = 1 keeps that behaviour.
    dataset = imaging_from(
        psf=psf_from(n=1, pixel_scale=PIXEL_SCALE / 2.5, shape=(5, 5)), n_lp=1, n_pixelization=1, over_sample_size_lp=3
    )
    assert dataset.psf.convolve_over_sample_size == 1
    assert np.all(np.asarray(dataset.grids.lp.over_sample_size) == 3)


def test__n1__sparse_operator_and_sparse_inversion_equal_the_brute_force():
    """At N = 1 the sparse operator is built and used as the release does: F = B^T C^-1 B, B by `convolve2d`."""
    dataset = imaging_from(psf=native_psf_from(), n_lp=1, n_pixelization=1).apply_mask(mask=mask_from())
    sparse = dataset.apply_sparse_operator()
    assert sparse.sparse_operator is not None
    grids = sparse.grids
    mapper = aa.Mapper(
        interpolator=aa.mesh.RectangularUniform(shape=(5, 5)).interpolator_from(
            border_relocator=grids.border_relocator, source_plane_data_grid=grids.pixelization, source_plane_mesh_grid=None
        ),
        regularization=aa.reg.Constant(coefficient=1.0),
    )
    inversion = aa.Inversion(dataset=sparse, linear_obj_list=[mapper])
    assert type(inversion).__name__ == "InversionImagingSparse"

    mask = np.asarray(dataset.mask)
    kernel = np.asarray(native_psf_from().kernel.native.array)
    mapping = np.asarray(mapper.mapping_matrix)
    frames = np.zeros(mask.shape + (mapping.shape[1],))
    frames[~mask] = mapping
    blurred = np.stack([convolve2d(frames[:, :, c], kernel, mode="same") for c in range(mapping.shape[1])], axis=2)[~mask]
    noise = np.asarray(dataset.noise_map.array)
    assert_close_to_peak(inversion.curvature_matrix, blurred.T @ (blurred / noise[:, None] ** 2), rtol=1e-10)
    assert_close_to_peak(inversion.data_vector, blurred.T @ (np.asarray(dataset.data.array) / noise**2), rtol=1e-10)


# ----------------------------------------------------------------------------------------------------------------------
# The grids: one set
# ----------------------------------------------------------------------------------------------------------------------


def test__grids__at_n1__blurring_grid_of_the_kernel_shape_with_one_sample():
    dataset = imaging_from(psf=native_psf_from(), n_lp=1, n_pixelization=1).apply_mask(mask=mask_from())
    blurring = dataset.grids.blurring
    np.testing.assert_array_equal(~np.asarray(blurring.mask), native_region_reference_from(np.asarray(dataset.mask), (5, 5)))
    assert np.all(np.asarray(blurring.over_sample_size) == 1)


@pytest.mark.parametrize("n", [2, 3])
def test__grids__lp_at_k_n_and_blurring_the_footprint_region_one_sample_per_fine_pixel(n):
    dataset = masked_imaging_from(n=n, over_sample_size_lp=2 * n, over_sample_size_pixelization=3 * n)
    mask = dataset.mask
    grids = dataset.grids

    np.testing.assert_array_equal(np.asarray(grids.lp.mask), np.asarray(mask))
    assert np.all(np.asarray(grids.lp.over_sample_size) == 2 * n)
    assert np.all(np.asarray(grids.pixelization.over_sample_size) == 3 * n)
    assert grids.lp.over_sampled.shape[0] == mask.pixels_in_mask * (2 * n) ** 2

    # the blurring region: the native pixels the fine kernel reaches (built on the fine frame), N x N samples each
    region = fine_reach_region_from(np.asarray(mask), dataset.psf.kernel.shape_native, n)
    blurring = grids.blurring
    np.testing.assert_array_equal(~np.asarray(blurring.mask), region)
    assert np.all(np.asarray(blurring.over_sample_size) == n)
    assert blurring.over_sampled.shape[0] == int(np.sum(region)) * n * n
    # its samples are the fine pixel centres, pixel-major
    np.testing.assert_allclose(np.asarray(blurring.over_sampled), fine_centres_from(blurring.mask, n), atol=1e-12)


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
@pytest.mark.parametrize("n, sizes", [(2, "uniform"), (3, "uniform"), (2, "adaptive")])
def test__model_image_from_the_grids_and_psf__equals_the_brute_force_fine_convolution(n, sizes, xp):
    """
    A light profile evaluated on `grids.lp` (binned to fine pixels) and `grids.blurring`, convolved by `psf`: the
    fine convolution of the profile's fine-pixel means built here from closed-form coordinates.
    """
    mask = mask_from(radius=0.8, centre=(0.1, -0.2))
    over_sample_size = 2 * n
    if sizes == "adaptive":
        over_sample_size = adaptive_size_from(aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PIXEL_SCALE), (6, 4, 2))
    dataset = imaging_from(
        psf=psf_from(n=n), n_lp=n, n_pixelization=n, over_sample_size_lp=over_sample_size,
        over_sample_size_pixelization=over_sample_size,
    ).apply_mask(mask=mask)
    sub_sizes = np.asarray(dataset.over_sample_size_lp.array).astype(int)
    kernel = kernel_values_from(n) / np.sum(kernel_values_from(n))
    assert_close_to_peak(model_image_from(dataset, xp=xp), model_image_reference_from(dataset.mask, n, sub_sizes, kernel))


def test__model_image_at_a_smaller_lp_n__equals_the_brute_force_on_the_held_psfs_grid():
    """Light at N = 2 beside a PSF held at N = 4: repeated onto the N = 4 grid, convolved there, block-meaned."""
    dataset = imaging_from(psf=psf_from(n=4), n_lp=2, n_pixelization=4, over_sample_size_lp=4,
                           over_sample_size_pixelization=4).apply_mask(mask=mask_from())
    held = kernel_values_from(4) / np.sum(kernel_values_from(4))
    # the profile's fine-pixel means at N = 2 (sub-size 2 each), repeated over 2 x 2 blocks of the N = 4 grid
    mask_bool = np.asarray(dataset.mask)
    pad = 4
    padded = np.pad(mask_bool, pad, constant_values=True)
    H, W = padded.shape
    region = fine_reach_region_from(padded, held.shape, 4)
    frame_2 = np.zeros((H * 2, W * 2))
    for y, x in zip(*np.nonzero(~padded | region)):
        k = 2 if not padded[y, x] else 1
        for a in range(2):
            for b in range(2):
                offsets = (np.arange(k) + 0.5) / (2 * k)
                ys = (H / 2.0 - y - a / 2 - offsets) * PIXEL_SCALE
                xs = (x + b / 2 + offsets - W / 2.0) * PIXEL_SCALE
                yy, xx = np.meshgrid(ys, xs, indexing="ij")
                frame_2[2 * y + a, 2 * x + b] = np.mean(profile(np.stack([yy.ravel(), xx.ravel()], axis=1)))
    frame_4 = np.repeat(np.repeat(frame_2, 2, axis=0), 2, axis=1)
    expected = convolve2d(frame_4, held, mode="same").reshape(H, 4, W, 4).mean(axis=(1, 3))[~padded]
    assert_close_to_peak(model_image_from(dataset), expected)


def test__grids_dataset__no_psf__no_blurring_grid():
    mask = mask_from()
    sizes = aa.Array2D(values=np.full(mask.pixels_in_mask, 4), mask=mask)
    grids = GridsDataset(mask=mask, over_sample_size_lp=sizes, over_sample_size_pixelization=sizes, psf=None)
    assert grids.blurring is None


@pytest.mark.parametrize("offset", [(0.1, -0.2), (0.0, 0.0), (np.float64(0.0), 0)], ids=["offset", "zero", "numpy-zero"])
def test__fit_grids__shifted_copies_keep_their_sub_sizes(offset):
    dataset = masked_imaging_from(n=2)
    fit = FitImaging(dataset=dataset, use_mask_in_fit=False, dataset_model=aa.DatasetModel(grid_offset=offset))
    fit_grids = fit.grids
    for original, shifted, size in (
        (dataset.grids.lp, fit_grids.lp, 4),
        (dataset.grids.pixelization, fit_grids.pixelization, 4),
        (dataset.grids.blurring, fit_grids.blurring, 2),
    ):
        np.testing.assert_allclose(np.asarray(shifted.array), np.asarray(original.array) - np.array(offset), atol=1e-14)
        np.testing.assert_allclose(
            np.asarray(shifted.over_sampled), np.asarray(original.over_sampled) - np.array(offset), atol=1e-14
        )
        np.testing.assert_allclose(shifted.mask.origin, (original.mask.origin[0] - offset[0], original.mask.origin[1] - offset[1]))
        np.testing.assert_array_equal(np.asarray(shifted.mask), np.asarray(original.mask))
        assert shifted.mask.pixel_scales == original.mask.pixel_scales
        assert np.all(np.asarray(shifted.over_sample_size) == size)


# ----------------------------------------------------------------------------------------------------------------------
# The simulator
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, size", [(2, 4), (3, 6), (4, 4)])
def test__simulator__an_oversampled_psf_gives_a_dataset_at_its_n(n, size):
    simulator = aa.SimulatorImaging(
        exposure_time=300.0,
        psf=psf_from(n=n),
        add_poisson_noise_to_data=False,
        include_poisson_noise_in_noise_map=False,
        noise_if_add_noise_false=0.1,
    )
    image = aa.Array2D.no_mask(values=np.random.default_rng(1).random(SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)

    # the image is already blurred (a galaxy simulator blurs light on fine pixels): only sky and noise are added
    dataset = simulator.via_image_from(image=image, convolved=True)
    np.testing.assert_allclose(dataset.data.native.array, image.native.array, rtol=1e-14)
    np.testing.assert_allclose(dataset.noise_map.array, 0.1)
    assert dataset.convolve_over_sample_size_lp == n
    assert dataset.convolve_over_sample_size_pixelization == n
    assert dataset.psf.convolve_over_sample_size == n
    assert np.all(np.asarray(dataset.over_sample_size_lp) == size)
    assert np.sum(dataset.psf.kernel.native.array) == pytest.approx(1.0, rel=1e-13)

    # a native image cannot be blurred by the fine kernel
    with pytest.raises(aa.exc.KernelException, match="use convolved_fine_image_from"):
        simulator.via_image_from(image=image)
