"""
Tests of `autolens.TracerToInversion` with an oversampled PSF (`convolve_over_sample_size` N > 1).

There is one set of grids: for N > 1 the linear light profiles of each plane are given the dataset's grids
(`grids.lp`, over-sampled at k N, and `grids.blurring`, over-sampled at N) ray-traced to that plane, sub-pixels
included, so their images are evaluated where the fine PSF needs them. The traced sub-pixels are compared with a
closed-form singular isothermal sphere applied with numpy to sub-pixel centres built by hand; the operated mapping
matrices with a numpy brute force.
"""

import numpy as np
import pytest
from scipy.ndimage import binary_dilation
from scipy.signal import convolve2d

import autoarray as aa
import autolens as al

PS = 0.1
SHAPE = (24, 24)
EINSTEIN_RADIUS = 0.6
MASS_CENTRE = (0.01, -0.02)


def traced(yx):
    yx = np.asarray(yx)
    dy = yx[:, 0] - MASS_CENTRE[0]
    dx = yx[:, 1] - MASS_CENTRE[1]
    r = np.sqrt(dy**2 + dx**2)
    return np.stack(
        [yx[:, 0] - EINSTEIN_RADIUS * dy / r, yx[:, 1] - EINSTEIN_RADIUS * dx / r], axis=1
    )


def gaussian_sb(y, x, centre, intensity, sigma):
    return intensity * np.exp(
        -0.5 * ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / sigma**2
    )


def fine_psf_from(N):
    return aa.Convolver.from_gaussian(
        shape_native=(4 * N + 1, 4 * N + 1),
        pixel_scales=PS / N,
        sigma=0.08,
        axis_ratio=0.75,
        angle=60.0,
        normalize=True,
        convolve_over_sample_size=N,
    )


def masked_dataset_from(N, k):
    dataset = al.Imaging(
        data=aa.Array2D.zeros(shape_native=SHAPE, pixel_scales=PS),
        noise_map=aa.Array2D.ones(shape_native=SHAPE, pixel_scales=PS),
        psf=fine_psf_from(N) if N > 1 else aa.Convolver.from_gaussian(
            shape_native=(5, 5), pixel_scales=PS, sigma=0.08, normalize=True
        ),
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=0.9)
    return dataset.apply_mask(mask=mask)


SOURCE = dict(centre=(0.05, 0.03), sigma=0.1)
LENS = dict(centre=MASS_CENTRE, sigma=0.15)


def tracer_and_profiles():
    lens_linear = al.lp_linear.Gaussian(**LENS)
    source_linear = al.lp_linear.Gaussian(**SOURCE)
    tracer = al.Tracer(
        galaxies=[
            al.Galaxy(
                redshift=0.5,
                light=lens_linear,
                mass=al.mp.IsothermalSph(centre=MASS_CENTRE, einstein_radius=EINSTEIN_RADIUS),
            ),
            al.Galaxy(redshift=1.0, light=source_linear),
        ]
    )
    return tracer, lens_linear, source_linear


def func_for(func_galaxy_dict, profile):
    (func,) = [f for f in func_galaxy_dict if profile in f.light_profile_list]
    return func


def pixel_major_sub_centres_from(native_mask, size):
    """The sub-pixel centres of every unmasked pixel at over-sample size `size`, pixel-major, built with numpy."""
    native = np.asarray(native_mask, dtype=bool)
    H, W = native.shape
    rows, columns = np.nonzero(~native)
    yc, xc = (H / 2.0 - 0.5 - rows) * PS, (columns - W / 2.0 + 0.5) * PS
    p, q = np.divmod(np.arange(size * size), size)
    y = yc[:, None] + PS / 2.0 - (p[None, :] + 0.5) * PS / size
    x = xc[:, None] - PS / 2.0 + (q[None, :] + 0.5) * PS / size
    return np.stack([y.ravel(), x.ravel()], axis=1)


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__linear_funcs_get_the_datasets_grids_traced_to_their_plane(N, k):
    dataset = masked_dataset_from(N=N, k=k)
    tracer, lens_linear, source_linear = tracer_and_profiles()

    func_galaxy_dict = al.TracerToInversion(
        dataset=dataset, tracer=tracer
    ).lp_linear_func_list_galaxy_dict
    lens_func = func_for(func_galaxy_dict, lens_linear)
    source_func = func_for(func_galaxy_dict, source_linear)

    sub = pixel_major_sub_centres_from(dataset.mask, k * N)
    blurring_native = np.asarray(dataset.grids.blurring.mask, dtype=bool)
    blurring_sub = pixel_major_sub_centres_from(blurring_native, N)
    assert dataset.grids.blurring.over_sampled.shape[0] == N**2 * np.sum(~blurring_native)

    # The lens plane gets the dataset's grids, sub-pixels at k N (light) and N (blurring region).
    np.testing.assert_allclose(lens_func.grid.over_sampled.array, sub, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lens_func.blurring_grid.over_sampled.array, blurring_sub, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(lens_func.grid.array, dataset.grids.lp.array)

    # The source plane gets them ray-traced: the pixel centres and every sub-pixel.
    np.testing.assert_allclose(
        source_func.grid.array, traced(dataset.grids.lp.array), rtol=0, atol=1e-13
    )
    np.testing.assert_allclose(
        source_func.grid.over_sampled.array, traced(sub), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        source_func.blurring_grid.over_sampled.array, traced(blurring_sub), rtol=0, atol=1e-12
    )
    assert source_func.psf.convolve_over_sample_size == N
    assert lens_func.psf.convolve_over_sample_size == N


def test__source_operated_mapping_matrix__brute_force():
    """The source's blurred column: the lensed unit Gaussian on the fine frame (k x k sub-samples inside the fine
    mask, one sample in the blurring region), convolve2d with the fine kernel, N x N block means."""
    N, k = 2, 2
    dataset = masked_dataset_from(N=N, k=k)
    tracer, _, source_linear = tracer_and_profiles()
    func_galaxy_dict = al.TracerToInversion(
        dataset=dataset, tracer=tracer
    ).lp_linear_func_list_galaxy_dict
    source_func = func_for(func_galaxy_dict, source_linear)

    def sb(Y, X):
        beta = traced(np.stack([Y.ravel(), X.ravel()], axis=1))
        return gaussian_sb(beta[:, 0], beta[:, 1], intensity=1.0, **SOURCE).reshape(Y.shape)

    native = np.asarray(dataset.mask, dtype=bool)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)
    ps = PS / N
    H, W = fine_unmasked.shape
    y = (H / 2.0 - 0.5 - np.arange(H)) * ps
    x = (np.arange(W) - W / 2.0 + 0.5) * ps
    Y, X = np.meshgrid(y, x, indexing="ij")
    offsets = (np.arange(k) + 0.5) / k - 0.5
    sub = np.mean([sb(Y - a * ps, X + b * ps) for a in offsets for b in offsets], axis=0)
    frame = np.where(fine_unmasked, sub, sb(Y, X))
    blurred = convolve2d(frame, dataset.psf.kernel.native.array, mode="same")
    reference = blurred.reshape(H // N, N, W // N, N).mean(axis=(1, 3))[~native]

    operated = np.asarray(source_func.operated_mapping_matrix_override)
    assert operated.shape == (dataset.mask.pixels_in_mask, 1)
    np.testing.assert_allclose(operated[:, 0], reference, rtol=0, atol=1e-12 * np.max(reference))


def test__native_dataset__linear_funcs_get_a_native_psf_and_a_blurring_grid_sampled_once():
    """At N = 1 nothing is over-sampled for the PSF: the blurring grid is sampled once per pixel, as in the release,
    and its region is the kernel's shape."""
    dataset = masked_dataset_from(N=1, k=2)
    tracer, lens_linear, source_linear = tracer_and_profiles()
    func_galaxy_dict = al.TracerToInversion(
        dataset=dataset, tracer=tracer
    ).lp_linear_func_list_galaxy_dict
    blurring_native = np.asarray(dataset.grids.blurring.mask, dtype=bool)
    native = np.asarray(dataset.mask, dtype=bool)
    np.testing.assert_array_equal(
        ~blurring_native, binary_dilation(~native, structure=np.ones((5, 5), dtype=bool)) & native
    )
    for profile in (lens_linear, source_linear):
        func = func_for(func_galaxy_dict, profile)
        assert func.psf.convolve_over_sample_size == 1
        assert func.blurring_grid.over_sampled.shape[0] == np.sum(~blurring_native)
        np.testing.assert_array_equal(np.asarray(func.blurring_grid.over_sample_size.array), 1)
