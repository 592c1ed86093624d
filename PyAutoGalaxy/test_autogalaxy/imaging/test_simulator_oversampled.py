"""
Tests of `autogalaxy.SimulatorImaging` with an oversampled PSF (`convolve_over_sample_size` N > 1).

`via_galaxies_from(galaxies, grid)` with `grid = Grid2D.uniform(shape, native pixel scale, over_sample_size=k N)`
evaluates the galaxies on the grid padded by the PSF's native footprint (`psf.footprint_shape_native`): the grid's
own pixels at k x k sub-samples per fine pixel, the padding at one sample per fine pixel (it is over-sampled at N).
It convolves with the fine PSF, bins N x N blocks by their mean and trims to the grid's shape. The dataset it
returns carries the fine PSF and N, so that fitting it with the same galaxies reproduces the noise-free image.

Note on the set-up: the simulations add a background sky (which is subtracted again) because the release draws
Poisson noise even when it is not added, and numpy rejects the tiny negative values a convolution leaves where a
Gaussian has vanished (this happens at N = 1 too). LightProfileOperated light is not used here: the simulator
blurs it (a release behaviour the feature keeps).
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
import autogalaxy as ag

PS = 0.1
SHAPE = (30, 30)


def gaussian_sb(y, x, centre, intensity, sigma):
    """autogalaxy's circular Gaussian: I(r) = intensity * exp(-r^2 / 2 sigma^2)."""
    return intensity * np.exp(
        -0.5 * ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / sigma**2
    )


def sub_offsets(k):
    return (np.arange(k) + 0.5) / k - 0.5


def fine_frame_from(sb, native_shape, N, k, pad=0, k_pad=1):
    """
    sb on the fine frame of `native_shape` padded by `pad` native pixels: the fine pixels of `native_shape` the mean
    of k x k sub-samples, those of the padding of k_pad x k_pad (1: one sample at the fine pixel's centre).
    """
    ps = PS / N
    H = (native_shape[0] + 2 * pad) * N
    W = (native_shape[1] + 2 * pad) * N
    y = (H / 2.0 - 0.5 - np.arange(H)) * ps
    x = (np.arange(W) - W / 2.0 + 0.5) * ps
    Y, X = np.meshgrid(y, x, indexing="ij")

    def sampled(size):
        return np.mean(
            [sb(Y - a * ps, X + b * ps) for a in sub_offsets(size) for b in sub_offsets(size)],
            axis=0,
        )

    interior = np.zeros((H, W), dtype=bool)
    interior[pad * N : H - pad * N, pad * N : W - pad * N] = True
    return np.where(interior, sampled(k), sampled(k_pad))


def block_mean(frame, N):
    H, W = frame.shape
    return frame.reshape(H // N, N, W // N, N).mean(axis=(1, 3))


def fine_psf_from(N, sigma=0.08, **kwargs):
    return aa.Convolver.from_gaussian(
        shape_native=(4 * N + 1, 4 * N + 1),
        pixel_scales=PS / N,
        sigma=sigma,
        normalize=True,
        convolve_over_sample_size=N,
        **kwargs,
    )


def simulator_from(psf, noise=0.01):
    return ag.SimulatorImaging(
        exposure_time=300.0,
        psf=psf,
        background_sky_level=1.0,
        add_poisson_noise_to_data=False,
        include_poisson_noise_in_noise_map=False,
        noise_if_add_noise_false=noise,
    )


def sersic_and_gaussian_galaxies():
    return [
        ag.Galaxy(
            redshift=0.5,
            bulge=ag.lp.Sersic(
                centre=(0.05, -0.03),
                ell_comps=(0.1, 0.05),
                intensity=1.0,
                effective_radius=0.3,
                sersic_index=2.0,
            ),
        ),
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Gaussian(
                centre=(-0.3, 0.2), ell_comps=(0.0, 0.1), intensity=0.5, sigma=0.1
            ),
        ),
    ]


def gaussian_galaxies():
    return [
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Gaussian(
                centre=(0.05, -0.03), ell_comps=(0.1, 0.05), intensity=1.0, sigma=0.15
            ),
        ),
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Gaussian(centre=(-0.2, 0.15), intensity=0.5, sigma=0.1),
        ),
    ]


@pytest.mark.parametrize(
    "N, k, galaxies_from",
    [
        (2, 1, sersic_and_gaussian_galaxies),
        (3, 1, sersic_and_gaussian_galaxies),
        # With k > 1 the fit samples its blurring region once per fine pixel while the simulator samples every
        # pixel of its (unmasked) grid k x k (the release treats the native blurring grid the same way), so use
        # light that has vanished at the mask's edge.
        (2, 2, gaussian_galaxies),
    ],
)
def test__round_trip__fit_of_noise_free_simulation_has_zero_residuals(N, k, galaxies_from):
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    galaxies = galaxies_from()

    dataset = simulator_from(psf=psf).via_galaxies_from(galaxies=galaxies, grid=grid)

    assert dataset.data.shape_native == grid.shape_native
    assert dataset.noise_map.shape_native == grid.shape_native
    assert dataset.psf.convolve_over_sample_size == N
    assert dataset.convolve_over_sample_size_lp == N
    assert dataset.convolve_over_sample_size_pixelization == N
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert dataset.psf.kernel.shape_native == psf.kernel.shape_native
    assert np.all(np.asarray(dataset.over_sample_size_lp.array) == k * N)

    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.2)
    masked = dataset.apply_mask(mask=mask)
    assert np.all(np.asarray(masked.grids.lp.over_sample_size.array) == k * N)
    assert np.all(np.asarray(masked.grids.blurring.over_sample_size.array) == N)

    fit = ag.FitImaging(dataset=masked, galaxies=galaxies)
    peak = np.max(masked.data.array)

    assert np.max(np.abs(fit.residual_map.array)) < 1e-10 * peak
    assert fit.chi_squared < 1e-12


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1), (2, 3)])
def test__simulated_image__equals_numpy_brute_force(N, k):
    """
    The noise-free simulated image equals: the galaxies' light on a padded fine frame (the grid's fine pixels k x k
    sub-sampled, the padding's once), `convolve2d` with the fine kernel, N x N block means, trimmed to the grid's
    shape. With k > 1 the reference with the padding sampled k x k as well is visibly different (light that is still
    bright at the grid's edge), so the test tells the two conventions apart.
    """
    psf = fine_psf_from(N=N, axis_ratio=0.6, angle=40.0, centre=(0.007, 0.0))
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    params = [
        dict(centre=(0.17, -0.23), intensity=1.2, sigma=0.12),
        dict(centre=(-0.41, 0.3), intensity=0.5, sigma=0.25),
        dict(centre=(1.35, -1.2), intensity=0.8, sigma=0.15),
    ]
    galaxies = [ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**p)) for p in params]

    dataset = simulator_from(psf=psf).via_galaxies_from(galaxies=galaxies, grid=grid)

    pad = 4

    def reference_from(k_pad):
        frame = fine_frame_from(
            lambda y, x: sum(gaussian_sb(y, x, **p) for p in params), SHAPE, N, k, pad=pad, k_pad=k_pad
        )
        reference = block_mean(convolve2d(frame, psf.kernel.native.array, mode="same"), N)
        return reference[pad:-pad, pad:-pad]

    reference = reference_from(k_pad=1)
    tol = 1e-12 * np.max(reference)
    np.testing.assert_allclose(dataset.data.native.array, reference, rtol=0, atol=tol)
    np.testing.assert_allclose(dataset.noise_map.native.array, 0.01, rtol=1e-12)

    if k > 1:
        assert np.max(np.abs(reference_from(k_pad=k) - reference)) > 1e3 * tol


def test__snr_light_profile__peak_signal_to_noise_uses_oversampled_psf():
    """
    An `lp_snr` profile sets its intensity from the peak of its PSF-blurred image. With N = 2 it must be blurred by
    the fine path: the noise-free peak p then satisfies p t / sqrt(p t + B t) = S/N exactly (t the exposure time,
    B the sky), which fixes p independently of the library; and the peak must be the same as for a standard
    profile with the intensity the SNR profile chose.
    """
    N, k = 2, 2
    exposure_time, sky, snr = 300.0, 1.0, 40.0
    psf = fine_psf_from(N=N, sigma=0.07)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)

    simulator = ag.SimulatorImaging(
        exposure_time=exposure_time,
        psf=psf,
        background_sky_level=sky,
        add_poisson_noise_to_data=False,
        include_poisson_noise_in_noise_map=False,
        noise_if_add_noise_false=0.01,
    )
    light = ag.lp_snr.Gaussian(centre=(0.02, -0.03), sigma=0.06, signal_to_noise_ratio=snr)
    dataset = simulator.via_galaxies_from(
        galaxies=[ag.Galaxy(redshift=0.5, light=light)], grid=grid
    )

    # Solve p t / sqrt(p t + B t) = S for p: (p t)^2 - S^2 p t - S^2 B t = 0.
    a = snr**2
    counts = 0.5 * (a + np.sqrt(a**2 + 4.0 * a * sky * exposure_time))
    expected_peak = counts / exposure_time

    assert np.max(dataset.data.array) == pytest.approx(expected_peak, rel=1e-6)

    # The same galaxy as a standard profile with the chosen intensity gives the same image.
    standard = ag.lp.Gaussian(centre=(0.02, -0.03), sigma=0.06, intensity=light.intensity)
    dataset_standard = simulator.via_galaxies_from(
        galaxies=[ag.Galaxy(redshift=0.5, light=standard)], grid=grid
    )
    np.testing.assert_allclose(
        dataset.data.native.array,
        dataset_standard.data.native.array,
        rtol=0,
        atol=1e-12 * expected_peak,
    )


def test__adaptive_over_sample_size__simulate_then_fit_has_zero_residuals():
    """
    Radial-bin sizes [8, 4, 2] at N = 2 (the usual modelling script's over-sampling): the simulator evaluates each
    fine pixel with its native pixel's size / 2, the dataset keeps the sizes, and fitting the noise-free simulation
    with the same galaxies leaves rounding-level residuals.
    """
    N = 2
    psf = fine_psf_from(N=N)
    mask = aa.Mask2D.all_false(shape_native=SHAPE, pixel_scales=PS)
    over_sample_size = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.from_mask(mask=mask), sub_size_list=[8, 4, 2], radial_list=[0.3, 0.6]
    )
    assert len(np.unique(over_sample_size.array)) == 3
    grid = aa.Grid2D.from_mask(mask=mask, over_sample_size=over_sample_size)

    dataset = simulator_from(psf=psf).via_galaxies_from(galaxies=gaussian_galaxies(), grid=grid)
    np.testing.assert_array_equal(
        np.asarray(dataset.over_sample_size_lp.native.array), np.asarray(over_sample_size.native.array)
    )

    masked = dataset.apply_mask(mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.2))
    fit = ag.FitImaging(dataset=masked, galaxies=gaussian_galaxies())
    assert np.max(np.abs(fit.residual_map.array)) < 1e-10 * np.max(masked.data.array)
