"""
Tests of `autogalaxy.FitImaging` with an oversampled PSF (`convolve_over_sample_size` N > 1).

With N > 1 light is evaluated on the dataset's own grids: `grids.lp` is over-sampled at k N on the native mask (the
k x k sub-pixels of each of a pixel's N x N fine pixels are averaged into that fine pixel) and `grids.blurring` is
the blurring region of the PSF's native footprint over-sampled at N (one sample per fine pixel). The fine values are
blurred with the PSF held at the fine pixel scale (native / N) and binned to the native pixels by the MEAN of each
N x N block (DESIGN.md sections 1 and 4).

Every number is compared with an independent reference:

- the closed form of a circular Gaussian convolved with a circular Gaussian PSF, integrated over each native pixel
  with `scipy.special.erf` (the headline accuracy test);
- a brute force built from numpy only: the light evaluated with the profile's formula on the full fine frame,
  `scipy.signal.convolve2d` with the fine kernel, and a reshape-mean over N x N blocks;
- the light profile evaluated by the release's native over-sampler (for `LightProfileOperated` light, which is
  binned, not blurred);
- the fit of a dataset built another way (the same Gaussian PSF sampled on an odd grid, for an even kernel).

N = 1 bit-for-bit invariance is the differential suite's job (`differential/`) and is not repeated here.
"""

import numpy as np
import pytest
from scipy.signal import convolve2d
from scipy.special import erf

import autoarray as aa
import autogalaxy as ag
from autoarray.dataset.grids import GridsDataset
from autogalaxy.profiles.light.linear.abstract import LightProfileLinearObjFuncList

PS = 0.1  # native pixel scale (arc-seconds)


# ----------------------------------------------------------------------------------------------------------------------
# Independent references (numpy / scipy only)
# ----------------------------------------------------------------------------------------------------------------------


def gaussian_sb(y, x, centre, intensity, sigma):
    """autogalaxy's circular Gaussian: `intensity` is the PEAK surface brightness, I(r) = I exp(-r^2 / 2 sigma^2)."""
    return intensity * np.exp(
        -0.5 * ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / sigma**2
    )


def exact_convolved_gaussian_pixel_means(mask, intensity, sigma_light, sigma_psf, centre):
    """
    The exact native pixel values of a circular Gaussian light profile (peak `intensity`, so total flux
    2 pi sigma_light^2 intensity) convolved with a unit-flux circular Gaussian PSF: a Gaussian of
    sigma^2 = sigma_light^2 + sigma_psf^2 with the same flux, integrated over each pixel (separable, one erf per
    axis) and divided by the pixel area (autoarray values are surface brightness).
    """
    sigma = np.sqrt(sigma_light**2 + sigma_psf**2)
    flux = intensity * 2.0 * np.pi * sigma_light**2

    centres = aa.Grid2D.from_mask(mask=mask, over_sample_size=1).array
    dy = centres[:, 0] - centre[0]
    dx = centres[:, 1] - centre[1]
    half = PS / 2.0

    def fraction(lo, hi):
        return 0.5 * (erf(hi / (np.sqrt(2.0) * sigma)) - erf(lo / (np.sqrt(2.0) * sigma)))

    return flux * fraction(dy - half, dy + half) * fraction(dx - half, dx + half) / PS**2


def sub_offsets(k):
    """Sub-pixel centre offsets, in units of a pixel, of a uniform k x k over-sampling."""
    return (np.arange(k) + 0.5) / k - 0.5


def fine_frame_from(sb, native_shape, N, k, sub_sampled, pad=0):
    """
    The surface brightness `sb(y, x)` on the fine frame of a native frame `native_shape` padded by `pad` native
    pixels on every side (pixel scale PS / N, centred on the origin, y decreasing with row). Fine pixels where
    `sub_sampled` (a boolean fine-frame array, or True for all) is set are the mean of k x k sub-samples; the others
    are sampled once at their centre.
    """
    ps = PS / N
    H = (native_shape[0] + 2 * pad) * N
    W = (native_shape[1] + 2 * pad) * N
    y = (H / 2.0 - 0.5 - np.arange(H)) * ps
    x = (np.arange(W) - W / 2.0 + 0.5) * ps
    Y, X = np.meshgrid(y, x, indexing="ij")

    centre_values = sb(Y, X)
    sub_values = np.mean(
        [sb(Y - a * ps, X + b * ps) for a in sub_offsets(k) for b in sub_offsets(k)],
        axis=0,
    )
    return np.where(sub_sampled, sub_values, centre_values)


def block_mean(frame, N):
    H, W = frame.shape
    return frame.reshape(H // N, N, W // N, N).mean(axis=(1, 3))


def brute_force_model(sb, native_mask, kernel, N, k):
    """
    The reference oversampled model of a masked fit: the light on the whole fine frame (fine pixels inside the fine
    mask with k x k sub-samples, the blurring region with one sample each), convolved with the fine kernel by
    `convolve2d`, binned by N x N block means, and read at the unmasked native pixels in row-major order.

    Light farther out than the kernel's reach cannot affect an unmasked pixel, so evaluating the whole frame is the
    same as evaluating the fine mask plus its fine blurring region.
    """
    native = np.asarray(native_mask, dtype=bool)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)
    frame = fine_frame_from(sb, native.shape, N, k, sub_sampled=fine_unmasked)
    blurred = convolve2d(frame, kernel, mode="same")
    return block_mean(blurred, N)[~native]


# ----------------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------------


def fine_psf_from(N, sigma=0.08, half_width_native=2.0, **kwargs):
    size = 2 * int(np.ceil(half_width_native * N)) + 1
    return aa.Convolver.from_gaussian(
        shape_native=(size, size),
        pixel_scales=PS / N,
        sigma=sigma,
        normalize=True,
        convolve_over_sample_size=N,
        **kwargs,
    )


def masked_dataset_from(
    psf, N, k, data=None, noise=1.0, shape=(30, 30), radius=1.2
) -> aa.Imaging:
    if data is None:
        data = aa.Array2D.zeros(shape_native=shape, pixel_scales=PS)
    elif not isinstance(data, aa.Array2D):
        data = aa.Array2D.no_mask(values=data, pixel_scales=PS)
    dataset = ag.Imaging(
        data=data,
        noise_map=aa.Array2D.full(fill_value=noise, shape_native=shape, pixel_scales=PS),
        psf=psf,
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    mask = aa.Mask2D.circular(shape_native=shape, pixel_scales=PS, radius=radius)
    return dataset.apply_mask(mask=mask)


def full_frame_data_from(native_mask, slim_values):
    """Native data with `slim_values` in the unmasked pixels and 0 elsewhere."""
    native = np.asarray(native_mask, dtype=bool)
    frame = np.zeros(native.shape)
    frame[~native] = slim_values
    return frame


# ----------------------------------------------------------------------------------------------------------------------
# Headline: closed-form accuracy of a Gaussian convolved with a Gaussian PSF
# ----------------------------------------------------------------------------------------------------------------------


def closed_form_errors(N, over_sample_size, sigma_light, sigma_psf, centre, intensity=1.0):
    """
    Fit the closed-form test: model_data of a circular Gaussian light profile with a PSF built by
    `Convolver.from_gaussian(normalize=True)` at pixel scale PS / N (N = 1: the native PSF sampled at native pixel
    centres), compared with the exact pixel-integrated convolution. Returns (max abs error, RMS error, peak,
    total model flux / exact flux).
    """
    half = int(np.ceil(5.0 * sigma_psf / (PS / N)))  # the kernel reaches 5 sigma at every N
    psf = aa.Convolver.from_gaussian(
        shape_native=(2 * half + 1, 2 * half + 1),
        pixel_scales=PS / N,
        sigma=sigma_psf,
        normalize=True,
        convolve_over_sample_size=N,
    )
    dataset = masked_dataset_from(
        psf=psf, N=N, k=over_sample_size // N, shape=(30, 30), radius=1.0
    )
    galaxy = ag.Galaxy(
        redshift=0.5,
        light=ag.lp.Gaussian(centre=centre, intensity=intensity, sigma=sigma_light),
    )
    model = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array

    exact = exact_convolved_gaussian_pixel_means(
        mask=dataset.mask,
        intensity=intensity,
        sigma_light=sigma_light,
        sigma_psf=sigma_psf,
        centre=centre,
    )
    residual = model - exact
    # The flux in the masked pixels, over the exact flux in the same pixels.
    flux_ratio = np.sum(model) / np.sum(exact)
    return (
        np.max(np.abs(residual)),
        np.sqrt(np.mean(residual**2)),
        np.max(exact),
        flux_ratio,
    )


def test__closed_form_reference__is_right_for_a_wide_gaussian():
    """
    Check the reference itself: for a source and PSF many pixels wide, sampling at pixel centres is accurate, so
    N = 1 with a generous budget must agree with the erf formula closely. If the reference had the wrong flux
    convention (e.g. `intensity` taken as the total flux) this would fail by orders of magnitude.
    """
    max_err, rms_err, peak, flux_ratio = closed_form_errors(
        N=1, over_sample_size=4, sigma_light=0.25, sigma_psf=0.2, centre=(0.03, -0.02)
    )
    assert max_err / peak < 2e-3
    assert flux_ratio == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("sigma_psf", [0.05, 0.07])
def test__closed_form_accuracy__oversampled_psf_beats_native_psf_at_fixed_budget(sigma_psf):
    """
    Headline test. A compact, off-centre circular Gaussian (sigma 0.5 native pixels) blurred by a small circular
    Gaussian PSF (sigma 0.5 and 0.7 native pixels). The evaluation budget is fixed at over_sample_size_lp = 4
    (16 light samples per native pixel) for N = 1, 2 and 4. At N = 1 the PSF is sampled at native pixel centres,
    which misrepresents a PSF this small; at N = 2 and 4 it is sampled at the fine pixel scale, so the model is
    much closer to the exact pixel-integrated convolution. The same total flux is produced at every N.
    """
    sigma_light = 0.05
    centre = (0.023, -0.037)

    results = {
        (N, s): closed_form_errors(
            N=N,
            over_sample_size=s,
            sigma_light=sigma_light,
            sigma_psf=sigma_psf,
            centre=centre,
        )
        for N, s in [(1, 4), (2, 4), (4, 4), (1, 16), (2, 16)]
    }
    peak = results[(1, 4)][2]

    print(f"\nclosed form, sigma_light={sigma_light}, sigma_psf={sigma_psf}, peak={peak:.5f}")
    for (N, s), (max_err, rms_err, _, flux_ratio) in results.items():
        print(
            f"  N={N} over_sample_size_lp={s:2d}: max|err|={max_err:.3e} ({max_err / peak:.2%} of peak) "
            f"rms={rms_err:.3e} flux ratio={flux_ratio:.12f}"
        )

    max1, rms1 = results[(1, 4)][:2]
    max2, rms2 = results[(2, 4)][:2]
    max4, rms4 = results[(4, 4)][:2]

    # (a) At the same budget, N = 2 is clearly more accurate than N = 1 (max and RMS).
    assert max2 < 0.7 * max1
    assert rms2 < 0.7 * rms1
    # In fact by about an order of magnitude for these PSFs.
    assert max2 < 0.2 * max1

    # (b) N = 4 is at least as good as N = 2 (the remaining error is the 16-sample light evaluation, the same
    # at both).
    assert max4 <= 1.05 * max2
    assert rms4 <= 1.05 * rms2

    # The N = 1 error is the PSF sampling: a 4x larger budget does not fix it, and N = 2 at budget 4 still wins.
    assert results[(1, 16)][0] > 2.0 * max2
    # At N = 2 the error is the light sampling: a 4x finer light sampling shrinks it by ~16 (midpoint rule), so
    # the oversampled model converges to the exact answer.
    assert results[(2, 16)][0] < 0.15 * max2
    assert results[(2, 16)][0] / peak < 2e-3

    # Flux is conserved (mean binning, not sum): a sum-bin would be N^2 too bright.
    for N, s in results:
        assert results[(N, s)][3] == pytest.approx(1.0, abs=1e-6)


# ----------------------------------------------------------------------------------------------------------------------
# Brute force of model_data and the per-galaxy images
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 1), (2, 2), (3, 1)])
def test__model_data_and_galaxy_images__match_numpy_brute_force(N, k):
    """
    Two galaxies (circular Gaussians off-centre) and an elliptical, rotated, off-centre fine PSF (so an up/down or
    left/right flip of the kernel or the grid would show). model_data, blurred_image and every entry of
    galaxy_model_image_dict must equal the brute force, including the k x k sub-sampling of the fine mask's pixels
    and the single sample of the fine blurring region.
    """
    psf = fine_psf_from(N=N, sigma=0.09, axis_ratio=0.6, angle=35.0, centre=(0.011, -0.007))
    dataset = masked_dataset_from(psf=psf, N=N, k=k)

    params = [
        dict(centre=(0.12, -0.21), intensity=1.3, sigma=0.11),
        dict(centre=(-0.35, 0.27), intensity=0.6, sigma=0.2),
    ]
    galaxies = [
        ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**p)) for p in params
    ]
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)

    kernel = psf.kernel.native.array
    refs = [
        brute_force_model(
            lambda y, x, p=p: gaussian_sb(y, x, **p), dataset.mask, kernel, N, k
        )
        for p in params
    ]
    total = refs[0] + refs[1]
    tol = 1e-12 * np.max(total)

    assert fit.model_data.shape_slim == dataset.mask.pixels_in_mask
    np.testing.assert_allclose(fit.model_data.array, total, rtol=0, atol=tol)
    np.testing.assert_allclose(fit.blurred_image.array, total, rtol=0, atol=tol)

    image_dict = fit.galaxy_model_image_dict
    for galaxy, ref in zip(galaxies, refs):
        np.testing.assert_allclose(image_dict[galaxy].array, ref, rtol=0, atol=tol)


# ----------------------------------------------------------------------------------------------------------------------
# LightProfileOperated
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__operated_light__binned_not_blurred__equals_native_over_sampled_image(N, k):
    """
    Operated light (already PSF-convolved) is evaluated on the grid's sub-pixels and binned without convolution.
    Binning N x N fine pixels each sampled k x k is exactly a native over-sampling of size k * N, so the fit's image
    must equal the release's native over-sampled evaluation.
    """
    psf = fine_psf_from(N=N, sigma=0.1)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)

    operated = ag.lp_operated.Gaussian(
        centre=(0.07, -0.11), ell_comps=(0.1, -0.05), intensity=0.9, sigma=0.15
    )
    galaxy = ag.Galaxy(redshift=0.5, light=operated)
    fit = ag.FitImaging(dataset=dataset, galaxies=[galaxy])

    native_grid = aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=k * N)
    reference = operated.image_2d_from(grid=native_grid).array

    tol = 1e-12 * np.max(reference)
    np.testing.assert_allclose(fit.blurred_image.array, reference, rtol=0, atol=tol)
    np.testing.assert_allclose(fit.model_data.array, reference, rtol=0, atol=tol)
    np.testing.assert_allclose(
        fit.galaxy_model_image_dict[galaxy].array, reference, rtol=0, atol=tol
    )


def test__operated_plus_standard_light__sum_of_binned_and_blurred():
    """One galaxy with a standard and an operated profile: blurred standard light (brute force) + binned operated."""
    N, k = 2, 2
    psf = fine_psf_from(N=N, sigma=0.08)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)

    standard = dict(centre=(0.1, 0.05), intensity=1.1, sigma=0.12)
    operated = ag.lp_operated.Gaussian(centre=(-0.2, 0.1), intensity=0.4, sigma=0.1)
    galaxy = ag.Galaxy(redshift=0.5, bulge=ag.lp.Gaussian(**standard), psf_light=operated)

    fit = ag.FitImaging(dataset=dataset, galaxies=[galaxy])

    reference = brute_force_model(
        lambda y, x: gaussian_sb(y, x, **standard),
        dataset.mask,
        psf.kernel.native.array,
        N,
        k,
    ) + operated.image_2d_from(
        grid=aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=k * N)
    ).array

    np.testing.assert_allclose(
        fit.model_data.array, reference, rtol=0, atol=1e-12 * np.max(reference)
    )


# ----------------------------------------------------------------------------------------------------------------------
# Unmasked blurred images
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 1), (2, 2)])
def test__unmasked_blurred_image__equals_model_data_inside_mask_and_galaxy_list_sums_to_it(N, k):
    """
    The unmasked blurred image is built by a different route (the grid padded by the PSF's footprint, blurred on its
    own frame, trimmed). The padded grid samples the mask's pixels k x k per fine pixel and the masked pixels and the
    padding once per fine pixel, as the fit samples its blurring region, so inside the mask it must equal
    model_data. It must also equal the numpy brute force on the full 30 x 30 frame, including outside the mask.
    """
    psf = fine_psf_from(N=N, sigma=0.09, axis_ratio=0.7, angle=20.0)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)

    params = [
        dict(centre=(0.12, -0.21), intensity=1.3, sigma=0.11),
        dict(centre=(-0.35, 0.27), intensity=0.6, sigma=0.2),
    ]
    galaxies = [ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**p)) for p in params]
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)

    unmasked = fit.unmasked_blurred_image
    native = np.asarray(dataset.mask, dtype=bool)
    assert unmasked.shape_native == native.shape

    peak = np.max(fit.model_data.array)
    np.testing.assert_allclose(
        unmasked.native.array[~native], fit.model_data.array, rtol=0, atol=1e-10 * peak
    )

    unmasked_list = fit.unmasked_blurred_image_of_galaxies_list
    assert len(unmasked_list) == 2
    np.testing.assert_allclose(
        sum(image.native.array for image in unmasked_list),
        unmasked.native.array,
        rtol=0,
        atol=1e-12 * peak,
    )

    # Full-frame brute force (pad by 3 native pixels so nothing is lost at the frame's edge): fine pixels of the
    # mask k x k, everything else once.
    pad = 3
    padded_native = np.pad(native, pad, constant_values=True)
    frame = fine_frame_from(
        lambda y, x: sum(gaussian_sb(y, x, **p) for p in params),
        native.shape,
        N,
        k,
        sub_sampled=~np.repeat(np.repeat(padded_native, N, axis=0), N, axis=1),
        pad=pad,
    )
    reference = block_mean(convolve2d(frame, psf.kernel.native.array, mode="same"), N)
    reference = reference[pad:-pad, pad:-pad]
    np.testing.assert_allclose(unmasked.native.array, reference, rtol=0, atol=1e-12 * peak)
    # Outside the mask there is light (the test would not notice a zeroed padding otherwise).
    assert np.max(unmasked.native.array[native]) > 1e-3 * peak


# ----------------------------------------------------------------------------------------------------------------------
# Linear light profiles
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 1), (2, 2)])
def test__linear_light_profiles__recover_intensities_of_noise_free_oversampled_data(N, k):
    """
    Data = the numpy brute-force N = 2 model of two Gaussians and a 3-Gaussian basis with known intensities. The
    linear fit (the grids' sub-pixels, fine PSF, binned mapping matrix) must recover every intensity to 1e-6 and leave a
    chi-squared of ~0. The noise-map is small so that the release's tiny curvature-diagonal stabiliser
    (`no_regularization_add_to_curvature_diag_value`) does not bias the solution.
    """
    psf = fine_psf_from(N=N, sigma=0.08, axis_ratio=0.8, angle=50.0)
    mask_dataset = masked_dataset_from(psf=psf, N=N, k=k)

    truth = {
        "bulge": dict(centre=(0.05, -0.03), intensity=1.7, sigma=0.1),
        "satellite": dict(centre=(-0.4, 0.3), intensity=0.45, sigma=0.08),
        "mge_0": dict(centre=(0.2, 0.25), intensity=0.8, sigma=0.06),
        "mge_1": dict(centre=(0.2, 0.25), intensity=0.3, sigma=0.15),
        "mge_2": dict(centre=(0.2, 0.25), intensity=0.1, sigma=0.35),
    }
    model = brute_force_model(
        lambda y, x: sum(gaussian_sb(y, x, **p) for p in truth.values()),
        mask_dataset.mask,
        psf.kernel.native.array,
        N,
        k,
    )
    noise = 1e-4
    dataset = masked_dataset_from(
        psf=psf,
        N=N,
        k=k,
        data=full_frame_data_from(mask_dataset.mask, model),
        noise=noise,
    )

    def linear(name):
        p = truth[name]
        return ag.lp_linear.Gaussian(centre=p["centre"], sigma=p["sigma"])

    linear_profiles = {name: linear(name) for name in truth}
    basis = ag.lp_basis.Basis(
        profile_list=[linear_profiles[f"mge_{i}"] for i in range(3)]
    )
    galaxies = [
        ag.Galaxy(redshift=0.5, bulge=linear_profiles["bulge"]),
        ag.Galaxy(redshift=0.5, light=linear_profiles["satellite"]),
        ag.Galaxy(redshift=0.5, mge=basis),
    ]

    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)

    intensities = fit.linear_light_profile_intensity_dict
    for name, profile in linear_profiles.items():
        assert intensities[profile] == pytest.approx(truth[name]["intensity"], rel=1e-6), name

    assert fit.chi_squared < 1e-8
    assert np.max(np.abs(fit.residual_map.array)) < 1e-6 * np.max(model)


def test__linear_operated_light_profile__recovers_intensity():
    """lp_linear_operated at N = 2: its (binned, not blurred) image recovers the intensity of operated data."""
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    mask_dataset = masked_dataset_from(psf=psf, N=N, k=k)

    truth = ag.lp_operated.Gaussian(centre=(0.05, 0.1), intensity=2.5, sigma=0.12)
    model = truth.image_2d_from(
        grid=aa.Grid2D.from_mask(mask=mask_dataset.mask, over_sample_size=k * N)
    ).array
    dataset = masked_dataset_from(
        psf=psf, N=N, k=k, data=full_frame_data_from(mask_dataset.mask, model), noise=1e-4
    )

    linear = ag.lp_linear_operated.Gaussian(centre=(0.05, 0.1), sigma=0.12)
    fit = ag.FitImaging(dataset=dataset, galaxies=[ag.Galaxy(redshift=0.5, light=linear)])

    assert fit.linear_light_profile_intensity_dict[linear] == pytest.approx(2.5, rel=1e-6)
    assert fit.chi_squared < 1e-8


# ----------------------------------------------------------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------------------------------------------------------


def test__guard__grids_whose_blurring_grid_is_not_over_sampled_at_n__raise():
    """
    A dataset whose grids were built for another PSF must not silently convolve the wrong values: a blurring grid
    over-sampled at 1 (built with a native PSF of the same kernel) is refused by the k N rule
    (`over_sample_util.fine_sub_size_from`, DatasetException) and a blurring grid of a smaller region, over-sampled
    at N (built with a shorter fine PSF), by the convolution (values of the wrong length, KernelException).
    """
    N = 2
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=2)
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(intensity=1.0, sigma=0.1))
    ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data  # the dataset's own grids work

    native_psf = aa.Convolver(kernel=aa.Array2D.no_mask(values=psf.kernel.native.array, pixel_scales=PS))
    dataset.grids = GridsDataset(
        mask=dataset.mask,
        over_sample_size_lp=dataset.over_sample_size_lp,
        over_sample_size_pixelization=dataset.over_sample_size_pixelization,
        psf=native_psf,
    )
    assert np.all(np.asarray(dataset.grids.blurring.over_sample_size.array) == 1)
    with pytest.raises(aa.exc.DatasetException, match="must be a positive multiple of 2"):
        ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data
    with pytest.raises(aa.exc.DatasetException, match="must be a positive multiple of 2"):
        ag.FitImaging(dataset=dataset, galaxies=[galaxy]).galaxy_model_image_dict

    shorter_psf = fine_psf_from(N=N, half_width_native=1.0)
    assert shorter_psf.footprint_shape_native == (3, 3)
    dataset.grids = GridsDataset(
        mask=dataset.mask,
        over_sample_size_lp=dataset.over_sample_size_lp,
        over_sample_size_pixelization=dataset.over_sample_size_pixelization,
        psf=shorter_psf,
    )
    with pytest.raises(aa.exc.KernelException, match="blurring values"):
        ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data


def test__guard__linear_func_list_with_a_native_blurring_grid__raises__with_the_datasets_grids_is_the_brute_force():
    N, k = 2, 1
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    blurring_mask = dataset.mask.derive_mask.blurring_from(
        kernel_shape_native=psf.footprint_shape_native, allow_padding=True
    )

    func_list = LightProfileLinearObjFuncList(
        grid=dataset.grids.lp,
        blurring_grid=aa.Grid2D.from_mask(mask=blurring_mask, over_sample_size=1),
        psf=dataset.psf,
        light_profile_list=[ag.lp_linear.Gaussian(sigma=0.1)],
        regularization=None,
    )
    with pytest.raises(aa.exc.DatasetException, match="must be a positive multiple of 2"):
        func_list.operated_mapping_matrix_override

    # With the dataset's grids the column is the brute force of the unit-intensity profile.
    func_list = LightProfileLinearObjFuncList(
        grid=dataset.grids.lp,
        blurring_grid=dataset.grids.blurring,
        psf=dataset.psf,
        light_profile_list=[ag.lp_linear.Gaussian(sigma=0.1)],
        regularization=None,
    )
    operated = np.asarray(func_list.operated_mapping_matrix_override)
    assert operated.shape == (dataset.mask.pixels_in_mask, 1)
    reference = brute_force_model(
        lambda y, x: gaussian_sb(y, x, centre=(0.0, 0.0), intensity=1.0, sigma=0.1),
        dataset.mask,
        psf.kernel.native.array,
        N,
        k,
    )
    np.testing.assert_allclose(operated[:, 0], reference, rtol=0, atol=1e-12 * np.max(reference))


# ----------------------------------------------------------------------------------------------------------------------
# Adaptive over-sample sizes (radial bins) with N > 1
# ----------------------------------------------------------------------------------------------------------------------


def adaptive_dataset_from(psf, N, sizes_inner_outer, radius_inner=0.4, shape=(30, 30), data=None, noise=1.0):
    """A masked dataset whose over-sample sizes are radial bins: `inner` within `radius_inner` of the centre."""
    if data is None:
        data = aa.Array2D.zeros(shape_native=shape, pixel_scales=PS)
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=shape, pixel_scales=PS),
        sub_size_list=list(sizes_inner_outer),
        radial_list=[radius_inner],
    )
    dataset = ag.Imaging(
        data=data,
        noise_map=aa.Array2D.full(fill_value=noise, shape_native=shape, pixel_scales=PS),
        psf=psf,
        over_sample_size_lp=sizes,
        over_sample_size_pixelization=sizes,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    return dataset.apply_mask(mask=aa.Mask2D.circular(shape_native=shape, pixel_scales=PS, radius=1.2))


def brute_force_adaptive_model(sb, dataset, kernel, N):
    """
    The reference model with per-pixel sizes: each fine pixel inside the fine mask is the mean of k_i x k_i
    sub-samples, k_i = (the size the dataset reports for its native pixel) / N; the blurring region is sampled once;
    then the full-frame `convolve2d` and the N x N block mean, as for uniform sizes.
    """
    native = np.asarray(dataset.mask, dtype=bool)
    sizes = np.asarray(dataset.over_sample_size_lp.native.array).astype(int)
    fine_k = np.repeat(np.repeat(sizes // N, N, axis=0), N, axis=1)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)
    frame = fine_frame_from(sb, native.shape, N, 1, sub_sampled=False)
    for k in np.unique(fine_k[fine_unmasked]):
        frame = np.where(
            fine_unmasked & (fine_k == k), fine_frame_from(sb, native.shape, N, int(k), sub_sampled=True), frame
        )
    return block_mean(convolve2d(frame, kernel, mode="same"), N)[~native]


@pytest.mark.parametrize("N, sizes", [(2, (8, 2)), (4, (16, 4)), (2, (5, 3))])
def test__adaptive_sizes__model_data_matches_the_per_pixel_brute_force(N, sizes):
    """
    Radial-bin sizes at N = 2 and 4 (multiples of N: the budget is kept) and at N = 2 with sizes 5 and 3 (rounded up
    to 6 and 4): model data and galaxy images equal the brute force with each pixel's own sub-sampling.
    """
    psf = fine_psf_from(N=N, sigma=0.09, axis_ratio=0.6, angle=35.0, centre=(0.011, -0.007))
    dataset = adaptive_dataset_from(psf=psf, N=N, sizes_inner_outer=sizes)
    used = np.unique(np.asarray(dataset.over_sample_size_lp.array)).astype(int)
    np.testing.assert_array_equal(used, sorted(N * int(np.ceil(s / N)) for s in sizes))

    params = dict(centre=(0.05, -0.03), intensity=1.3, sigma=0.07)
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**params))
    fit = ag.FitImaging(dataset=dataset, galaxies=[galaxy])

    reference = brute_force_adaptive_model(
        lambda y, x: gaussian_sb(y, x, **params), dataset, psf.kernel.native.array, N
    )
    tol = 1e-12 * np.max(reference)
    np.testing.assert_allclose(fit.model_data.array, reference, rtol=0, atol=tol)
    np.testing.assert_allclose(fit.galaxy_model_image_dict[galaxy].array, reference, rtol=0, atol=tol)

    # The adaptive model really differs from the uniform one of the smaller size (the test would not notice
    # per-pixel sizes being ignored otherwise).
    uniform = masked_dataset_from(psf=psf, N=N, k=int(used.min()) // N)
    uniform_model = ag.FitImaging(dataset=uniform, galaxies=[galaxy]).model_data.array
    assert np.max(np.abs(uniform_model - reference)) > 1e3 * tol


def test__adaptive_sizes__linear_light_profile_recovers_its_intensity():
    N = 2
    psf = fine_psf_from(N=N, sigma=0.08)
    params = dict(centre=(0.03, -0.02), intensity=1.7, sigma=0.08)
    template = adaptive_dataset_from(psf=psf, N=N, sizes_inner_outer=(8, 2))
    model = brute_force_adaptive_model(
        lambda y, x: gaussian_sb(y, x, **params), template, psf.kernel.native.array, N
    )
    dataset = adaptive_dataset_from(
        psf=psf,
        N=N,
        sizes_inner_outer=(8, 2),
        data=aa.Array2D.no_mask(values=full_frame_data_from(template.mask, model), pixel_scales=PS),
        noise=1e-4,
    )
    linear = ag.lp_linear.Gaussian(centre=params["centre"], sigma=params["sigma"])
    fit = ag.FitImaging(dataset=dataset, galaxies=[ag.Galaxy(redshift=0.5, light=linear)])
    (intensity,) = fit.linear_light_profile_intensity_dict.values()
    assert intensity == pytest.approx(params["intensity"], rel=1e-6)


def gaussian_kernel_values(size, sigma_fine_pixels):
    """A unit-sum circular Gaussian on `size` x `size` pixels, centred on the array's centre: a pixel's centre for an
    odd size, the corner between the four central pixels for an even size (as STPSF and poppy write them)."""
    centres = np.arange(size) - (size - 1) / 2.0
    values = np.exp(-0.5 * (centres[:, None] ** 2 + centres[None, :] ** 2) / sigma_fine_pixels**2)
    return values / np.sum(values)


@pytest.mark.parametrize("N", [2, 4])
def test__even_fine_psf__fit_and_simulation_equal_those_of_the_same_psf_sampled_on_an_odd_grid(N):
    """
    The same Gaussian PSF (sigma 0.1", 2 N fine pixels) sampled on an even grid, centred on the corner between the
    four central fine pixels, and on an odd grid, centred on a fine pixel. An oversampled Convolver re-centres the
    even kernel on a fine pixel (announced by a warning): the fit's model and a noise-free simulation then agree
    with those of the odd PSF to 1e-6 of the peak. The 2 x 2 average of the even kernel (also odd and centred, but
    one fine pixel wider) misses the odd PSF's model by more than 1e-3 of the peak, so the agreement is not a
    property of any re-centring. The user's kernel values are not modified.
    """
    sigma = 2.0 * N  # fine pixels
    half = int(np.ceil(6.0 * sigma))
    even_values = gaussian_kernel_values(2 * half, sigma)
    odd_values = gaussian_kernel_values(2 * half + 1, sigma)
    average_values = convolve2d(even_values, np.ones((2, 2)) / 4.0, mode="full")
    given = even_values.copy()

    def psf_from(values):
        return aa.Convolver(
            kernel=aa.Array2D.no_mask(values=values, pixel_scales=PS / N), convolve_over_sample_size=N
        )

    with pytest.warns(UserWarning, match="even shape"):
        even_psf = psf_from(given)
    np.testing.assert_array_equal(given, even_values)
    assert even_psf.kernel.shape_native == (2 * half + 1, 2 * half + 1)

    params = dict(centre=(0.05, -0.03), intensity=1.3, sigma=0.07)
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**params))

    def model_from(psf):
        dataset = masked_dataset_from(psf=psf, N=N, k=1)
        return ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array

    even_model = model_from(even_psf)
    odd_model = model_from(psf_from(odd_values))
    average_model = model_from(psf_from(average_values))
    peak = np.max(odd_model)

    assert np.max(np.abs(even_model - odd_model)) < 1e-6 * peak
    assert np.max(np.abs(average_model - odd_model)) > 1e-3 * peak

    def simulated_from(psf):
        simulator = ag.SimulatorImaging(
            exposure_time=300.0,
            psf=psf,
            background_sky_level=1.0,
            add_poisson_noise_to_data=False,
            include_poisson_noise_in_noise_map=False,
            noise_if_add_noise_false=0.01,
        )
        grid = aa.Grid2D.uniform(shape_native=(30, 30), pixel_scales=PS, over_sample_size=N)
        return simulator.via_galaxies_from(galaxies=[galaxy], grid=grid)

    with pytest.warns(UserWarning, match="even shape"):
        simulated_even = simulated_from(psf_from(even_values.copy()))
    simulated_odd = simulated_from(psf_from(odd_values))
    np.testing.assert_allclose(
        simulated_even.data.native.array,
        simulated_odd.data.native.array,
        rtol=0,
        atol=1e-6 * np.max(simulated_odd.data.array),
    )

    # The simulation made with the even PSF is fitted by it to rounding.
    masked = simulated_even.apply_mask(
        mask=aa.Mask2D.circular(shape_native=(30, 30), pixel_scales=PS, radius=1.2)
    )
    fit = ag.FitImaging(dataset=masked, galaxies=[galaxy])
    assert np.max(np.abs(fit.residual_map.array)) < 1e-10 * np.max(masked.data.array)


# ----------------------------------------------------------------------------------------------------------------------
# Light profiles at a smaller N than the PSF's (one PSF held at N_psf, light profiles at n = N_psf / m)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_lp, n_pix", [(2, 4), (1, 2), (1, 4)])
def test__light_profiles_at_smaller_n__model_is_the_brute_force_on_the_psfs_grid(n_lp, n_pix):
    """
    Light evaluated at n (fine pixels inside the mask with k x k sub-samples, the blurring region once), each value
    repeated over its m x m block of the held PSF's grid, convolved there with the held kernel and block-meaned to
    native pixels: the fit's model, which convolves once at n with the exact coarse kernel (at n = 1 through the
    release's native code).
    """
    n_psf = max(n_lp, n_pix)
    m = n_psf // n_lp
    os_size = 4 * n_psf
    psf = fine_psf_from(N=n_psf, sigma=0.09, axis_ratio=0.6, angle=35.0, centre=(0.011, -0.007))
    shape = (30, 30)
    dataset = ag.Imaging(
        data=aa.Array2D.zeros(shape_native=shape, pixel_scales=PS),
        noise_map=aa.Array2D.full(fill_value=1.0, shape_native=shape, pixel_scales=PS),
        psf=psf,
        over_sample_size_lp=os_size,
        over_sample_size_pixelization=os_size,
        convolve_over_sample_size_lp=n_lp,
        convolve_over_sample_size_pixelization=n_pix,
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=shape, pixel_scales=PS, radius=1.2))
    assert dataset.psf.convolve_over_sample_size == n_psf
    assert dataset.psf_lp.convolve_over_sample_size == n_lp

    params = dict(centre=(0.05, -0.03), intensity=1.3, sigma=0.07)
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**params))
    model = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array

    native = np.asarray(dataset.mask, dtype=bool)
    unmasked_at_n = ~np.repeat(np.repeat(native, n_lp, axis=0), n_lp, axis=1)
    frame_n = fine_frame_from(
        lambda y, x: gaussian_sb(y, x, **params), native.shape, n_lp, os_size // n_lp, sub_sampled=unmasked_at_n
    )
    frame_psf = np.repeat(np.repeat(frame_n, m, axis=0), m, axis=1)
    blurred = convolve2d(frame_psf, psf.kernel.native.array, mode="same")
    reference = block_mean(blurred, n_psf)[~native]

    np.testing.assert_allclose(model, reference, rtol=0, atol=1e-12 * np.max(reference))


def test__adaptive_sizes__unmasked_blurred_image_equals_model_data_inside_the_mask_and_has_light_outside():
    """
    The unmasked (plot) image of a masked dataset with adaptive sizes: the padded frame's masked pixels take size N
    (one sample per fine pixel, as the fit's blurring region), so inside the mask it equals the model data, and the
    light outside the mask is there (not lost to zero-size pixels).
    """
    N = 2
    psf = fine_psf_from(N=N, sigma=0.09, axis_ratio=0.7, angle=20.0)
    dataset = adaptive_dataset_from(psf=psf, N=N, sizes_inner_outer=(8, 4))
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(centre=(0.1, -0.2), intensity=1.3, sigma=0.3))
    fit = ag.FitImaging(dataset=dataset, galaxies=[galaxy])
    unmasked = fit.unmasked_blurred_image.native.array
    native = np.asarray(dataset.mask, dtype=bool)
    peak = np.max(fit.model_data.array)
    np.testing.assert_allclose(unmasked[~native], fit.model_data.array, rtol=0, atol=1e-10 * peak)
    assert np.all(np.isfinite(unmasked))
    assert np.min(unmasked[native]) > 0.0


# ----------------------------------------------------------------------------------------------------------------------
# A PSF replaced on a dataset after a first fit
# ----------------------------------------------------------------------------------------------------------------------


def dataset_with(n_lp, n_pix, psf):
    """A masked zero-data dataset holding ``psf`` at sizes (n_lp, n_pix), over-sampled at 2 max(n_lp, n_pix)."""
    n_psf = max(n_lp, n_pix)
    return ag.Imaging(
        data=aa.Array2D.zeros(shape_native=(30, 30), pixel_scales=PS),
        noise_map=aa.Array2D.full(fill_value=1.0, shape_native=(30, 30), pixel_scales=PS),
        psf=psf,
        over_sample_size_lp=2 * n_psf,
        over_sample_size_pixelization=2 * n_psf,
        convolve_over_sample_size_lp=n_lp,
        convolve_over_sample_size_pixelization=n_pix,
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=(30, 30), pixel_scales=PS, radius=1.2))


@pytest.mark.parametrize("n_lp, n_pix", [(2, 2), (1, 2), (2, 4)])
def test__psf_replaced_after_a_fit__next_fit_uses_the_new_psf(n_lp, n_pix):
    """
    `dataset.psf = other` after a first fit: the next fit equals the fit of a dataset built with `other` from the
    start (at equal sizes the PSF itself, at a smaller light-profile size the new PSF's coarse kernel; to round-off,
    as the replaced PSF convolves on a frame of its own), and differs from the first fit by more than 1e-2 of the
    peak.
    """
    n_psf = max(n_lp, n_pix)

    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(centre=(0.02, -0.01), intensity=1.0, sigma=0.06))
    dataset = dataset_with(n_lp, n_pix, fine_psf_from(N=n_psf, sigma=0.05))
    first = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array

    dataset.psf = fine_psf_from(N=n_psf, sigma=0.12)
    second = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array
    fresh = ag.FitImaging(dataset=dataset_with(n_lp, n_pix, fine_psf_from(N=n_psf, sigma=0.12)), galaxies=[galaxy])

    np.testing.assert_allclose(second, fresh.model_data.array, rtol=0, atol=1e-12 * np.max(first))
    assert np.max(np.abs(second - first)) > 1e-2 * np.max(first)


@pytest.mark.parametrize("n_lp, n_pix", [(2, 2), (1, 2), (2, 4)])
def test__psf_kernel_changed_in_place_after_a_fit__next_fit_uses_the_new_values(n_lp, n_pix):
    """
    The dataset's PSF kernel overwritten in place after a first fit: the fit state (and, at a smaller light-profile
    size, the coarse kernel) built from the old values must not be reused, so the next fit equals the fit of a dataset
    built with the new kernel from the start.
    """
    n_psf = max(n_lp, n_pix)

    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(centre=(0.02, -0.01), intensity=1.0, sigma=0.06))
    dataset = dataset_with(n_lp, n_pix, fine_psf_from(N=n_psf, sigma=0.05))
    first = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array

    new_values = fine_psf_from(N=n_psf, sigma=0.12).kernel.native.array
    assert dataset.psf.kernel._array.shape == (new_values.size,)
    dataset.psf.kernel._array[...] = new_values.ravel()
    second = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array
    fresh = ag.FitImaging(dataset=dataset_with(n_lp, n_pix, fine_psf_from(N=n_psf, sigma=0.12)), galaxies=[galaxy])

    np.testing.assert_allclose(second, fresh.model_data.array, rtol=0, atol=1e-12 * np.max(first))
    assert np.max(np.abs(second - first)) > 1e-2 * np.max(first)


def test__one_pixel_fine_kernel__the_model_is_the_light_binned_by_the_release_over_sampler():
    """
    A 1 x 1 fine kernel blurs nothing: at N = 2 the model is the light averaged over each data pixel's (k N)^2
    sub-pixels, which the release's over-sampled grid gives (`image_2d_from(grid=dataset.grids.lp)`).
    """
    psf = aa.Convolver(kernel=aa.Array2D.no_mask(values=[[1.0]], pixel_scales=PS / 2), convolve_over_sample_size=2)
    dataset = masked_dataset_from(psf=psf, N=2, k=2)
    galaxy = ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(centre=(0.03, -0.02), intensity=1.0, sigma=0.15))
    model = ag.FitImaging(dataset=dataset, galaxies=[galaxy]).model_data.array
    reference = galaxy.image_2d_from(grid=dataset.grids.lp).array
    np.testing.assert_allclose(model, reference, rtol=0, atol=1e-12 * np.max(reference))
    assert psf.kernel.shape_native == (3, 3) and psf.footprint_shape_native == (3, 3)
