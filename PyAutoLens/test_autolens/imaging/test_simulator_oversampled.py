"""
Tests of `autolens.SimulatorImaging.via_tracer_from` with an oversampled PSF (`convolve_over_sample_size` N > 1).

The tracer's image is evaluated on the grid padded by the PSF's native footprint (`psf.footprint_shape_native`), each
sub-sample ray-traced: the grid's own pixels at k x k sub-samples per fine pixel, the padding at one sample per fine
pixel (it is over-sampled at N). It is convolved with the fine PSF, binned by N x N block means and trimmed. The
returned dataset carries the fine PSF and N, so fitting it with the same tracer reproduces the noise-free image.

A background sky is added (and subtracted again) because the release draws Poisson noise even when it is not added
and rejects the tiny negative values a convolution leaves where light has vanished (N = 1 behaves the same).
LightProfileOperated light is not used: the simulator blurs it (a release behaviour the feature keeps).
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
import autolens as al

PS = 0.1
SHAPE = (30, 30)
EINSTEIN_RADIUS = 0.8
MASS_CENTRE = (0.0, 0.01)


def gaussian_sb(y, x, centre, intensity, sigma):
    """autogalaxy's circular Gaussian: I(r) = intensity * exp(-r^2 / 2 sigma^2)."""
    return intensity * np.exp(
        -0.5 * ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / sigma**2
    )


def traced(y, x):
    """Singular isothermal sphere (autolens IsothermalSph), two planes: beta = theta - theta_E unit(theta - c)."""
    dy = y - MASS_CENTRE[0]
    dx = x - MASS_CENTRE[1]
    r = np.sqrt(dy**2 + dx**2)
    return y - EINSTEIN_RADIUS * dy / r, x - EINSTEIN_RADIUS * dx / r


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


def fine_psf_from(N, **kwargs):
    return aa.Convolver.from_gaussian(
        shape_native=(4 * N + 1, 4 * N + 1),
        pixel_scales=PS / N,
        sigma=0.08,
        normalize=True,
        convolve_over_sample_size=N,
        **kwargs,
    )


def simulator_from(psf):
    return al.SimulatorImaging(
        exposure_time=300.0,
        psf=psf,
        background_sky_level=1.0,
        add_poisson_noise_to_data=False,
        include_poisson_noise_in_noise_map=False,
        noise_if_add_noise_false=0.01,
    )


def sersic_tracer():
    return al.Tracer(
        galaxies=[
            al.Galaxy(
                redshift=0.5,
                light=al.lp.Sersic(
                    centre=(0.0, 0.0), ell_comps=(0.05, 0.0), intensity=0.3, effective_radius=0.4
                ),
                mass=al.mp.Isothermal(centre=(0.0, 0.0), ell_comps=(0.1, -0.05), einstein_radius=0.8),
            ),
            al.Galaxy(
                redshift=1.0,
                light=al.lp.Sersic(
                    centre=(0.05, 0.02), ell_comps=(0.0, 0.15), intensity=1.0, effective_radius=0.1
                ),
            ),
        ]
    )


def gaussian_tracer(lens_light, source_light):
    return al.Tracer(
        galaxies=[
            al.Galaxy(
                redshift=0.5,
                light=al.lp.Gaussian(**lens_light),
                mass=al.mp.IsothermalSph(centre=MASS_CENTRE, einstein_radius=EINSTEIN_RADIUS),
            ),
            al.Galaxy(redshift=1.0, light=al.lp.Gaussian(**source_light)),
        ]
    )


LENS_LIGHT = dict(centre=(0.0, 0.01), intensity=0.8, sigma=0.15)
SOURCE_LIGHT = dict(centre=(0.07, -0.04), intensity=2.0, sigma=0.07)


@pytest.mark.parametrize("N, k", [(2, 1), (3, 1)])
def test__round_trip__fit_of_noise_free_simulation_has_zero_residuals(N, k):
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    tracer = sersic_tracer()

    dataset = simulator_from(psf).via_tracer_from(tracer=tracer, grid=grid)

    assert dataset.data.shape_native == grid.shape_native
    assert dataset.psf.convolve_over_sample_size == N
    assert dataset.convolve_over_sample_size_lp == N
    assert dataset.convolve_over_sample_size_pixelization == N
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert np.all(np.asarray(dataset.over_sample_size_lp.array) == k * N)

    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.2)
    masked = dataset.apply_mask(mask=mask)
    fit = al.FitImaging(dataset=masked, tracer=tracer)

    assert np.max(np.abs(fit.residual_map.array)) < 1e-10 * np.max(masked.data.array)
    assert fit.chi_squared < 1e-12


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__simulated_image__equals_numpy_brute_force(N, k):
    """
    The noise-free simulated image equals the lens light plus the lensed source (every sub-sample traced by the
    closed-form SIS) on a padded fine frame (the grid's fine pixels k x k sub-sampled, the padding's once),
    `convolve2d` with the fine kernel, N x N block means, trimmed. With k > 1 the reference with the padding sampled
    k x k as well is visibly different, so the test tells the two conventions apart.
    """
    psf = fine_psf_from(N=N, axis_ratio=0.6, angle=40.0)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    # a second lens-plane Gaussian still bright at the grid's edge, where the padding's sampling shows
    edge_light = dict(centre=(1.35, -1.2), intensity=0.8, sigma=0.15)
    tracer = gaussian_tracer(LENS_LIGHT, SOURCE_LIGHT)
    tracer = al.Tracer(
        galaxies=list(tracer.galaxies) + [al.Galaxy(redshift=0.5, light=al.lp.Gaussian(**edge_light))]
    )

    dataset = simulator_from(psf).via_tracer_from(tracer=tracer, grid=grid)

    pad = 4

    def reference_from(k_pad):
        frame = fine_frame_from(
            lambda y, x: gaussian_sb(y, x, **LENS_LIGHT)
            + gaussian_sb(y, x, **edge_light)
            + gaussian_sb(*traced(y, x), **SOURCE_LIGHT),
            SHAPE,
            N,
            k,
            pad=pad,
            k_pad=k_pad,
        )
        reference = block_mean(convolve2d(frame, psf.kernel.native.array, mode="same"), N)
        return reference[pad:-pad, pad:-pad]

    reference = reference_from(k_pad=1)
    tol = 1e-12 * np.max(reference)
    np.testing.assert_allclose(dataset.data.native.array, reference, rtol=0, atol=tol)

    if k > 1:
        assert np.max(np.abs(reference_from(k_pad=k) - reference)) > 1e3 * tol


def test__via_galaxies_from__same_as_via_tracer_from():
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    tracer = gaussian_tracer(LENS_LIGHT, SOURCE_LIGHT)

    via_tracer = simulator_from(psf).via_tracer_from(tracer=tracer, grid=grid)
    via_galaxies = simulator_from(psf).via_galaxies_from(galaxies=list(tracer.galaxies), grid=grid)

    assert via_galaxies.psf.convolve_over_sample_size == N
    np.testing.assert_array_equal(via_galaxies.data.native.array, via_tracer.data.native.array)
