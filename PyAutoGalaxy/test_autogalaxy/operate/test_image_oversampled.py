"""
Tests of `autogalaxy.operate.image` with an oversampled PSF (`convolve_over_sample_size` N > 1).

The functions under test choose the grids light is evaluated on (`blurring_grids_from`), build the padded fine
grids of unmasked images (`padded_grids_oversampled_from`, `OperateImage.padded_image_2d_oversampled_from`), blur
masked and unmasked images at fine resolution and bin them, and bin `LightProfileOperated` light without blurring it.

References are independent: fine-frame pixel centres and light built with numpy from the profile's formula,
`scipy.signal.convolve2d` with the fine kernel, and N x N block means. The release's native over-sampler is used
only as the reference for operated light (binning N x N fine pixels of sub-size k is a native over-sampling of
size k N).
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa
import autogalaxy as ag
from autogalaxy.operate.image import (
    blurring_grids_from,
    padded_grids_oversampled_from,
    psf_is_oversampled,
)

PS = 0.1
SHAPE = (24, 26)


def gaussian_sb(y, x, centre, intensity, sigma):
    """autogalaxy's circular Gaussian: I(r) = intensity * exp(-r^2 / 2 sigma^2)."""
    return intensity * np.exp(
        -0.5 * ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / sigma**2
    )


def sub_offsets(k):
    return (np.arange(k) + 0.5) / k - 0.5


def fine_centres_from(native_shape, N, pad=0):
    """Fine pixel centres (Y, X) of a native frame padded by `pad` native pixels, centred on the origin."""
    ps = PS / N
    H = (native_shape[0] + 2 * pad) * N
    W = (native_shape[1] + 2 * pad) * N
    y = (H / 2.0 - 0.5 - np.arange(H)) * ps
    x = (np.arange(W) - W / 2.0 + 0.5) * ps
    return np.meshgrid(y, x, indexing="ij")


def fine_frame_from(sb, native_shape, N, k, sub_sampled=True, pad=0):
    ps = PS / N
    Y, X = fine_centres_from(native_shape, N, pad)
    sub_values = np.mean(
        [sb(Y - a * ps, X + b * ps) for a in sub_offsets(k) for b in sub_offsets(k)],
        axis=0,
    )
    return np.where(sub_sampled, sub_values, sb(Y, X))


def block_mean(frame, N):
    H, W = frame.shape
    return frame.reshape(H // N, N, W // N, N).mean(axis=(1, 3))


def fine_psf_from(N, sigma=0.09):
    size = 4 * N + 1
    return aa.Convolver.from_gaussian(
        shape_native=(size, size),
        pixel_scales=PS / N,
        sigma=sigma,
        axis_ratio=0.65,
        angle=30.0,
        centre=(0.008, -0.005),
        normalize=True,
        convolve_over_sample_size=N,
    )


def masked_dataset_from(psf, N, k):
    dataset = ag.Imaging(
        data=aa.Array2D.zeros(shape_native=SHAPE, pixel_scales=PS),
        noise_map=aa.Array2D.ones(shape_native=SHAPE, pixel_scales=PS),
        psf=psf,
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    mask = aa.Mask2D.circular(
        shape_native=SHAPE, pixel_scales=PS, radius=0.9, centre=(0.05, -0.1)
    )
    return dataset.apply_mask(mask=mask)


PARAMS = [
    dict(centre=(0.12, -0.21), intensity=1.3, sigma=0.11),
    dict(centre=(-0.3, 0.2), intensity=0.6, sigma=0.2),
]


def galaxies_from(params=PARAMS):
    return ag.Galaxies(
        galaxies=[ag.Galaxy(redshift=0.5, light=ag.lp.Gaussian(**p)) for p in params]
    )


# ----------------------------------------------------------------------------------------------------------------------
# blurring_grids_from / psf_is_oversampled
# ----------------------------------------------------------------------------------------------------------------------


def test__psf_is_oversampled():
    assert psf_is_oversampled(fine_psf_from(N=2))
    assert not psf_is_oversampled(
        aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.1)
    )
    assert not psf_is_oversampled(None)


def test__blurring_grids_from__fine_grids_for_oversampled_psf_native_otherwise():
    N = 2
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=2)

    grid, blurring_grid = blurring_grids_from(grids=dataset.grids, psf=dataset.psf)
    assert grid is dataset.grids.lp_oversampled
    assert blurring_grid is dataset.grids.lp_blurring_oversampled
    assert grid.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert grid.shape_slim == N**2 * dataset.mask.pixels_in_mask

    native_psf = aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.1)
    grid, blurring_grid = blurring_grids_from(grids=dataset.grids, psf=native_psf)
    assert grid is dataset.grids.lp
    assert blurring_grid is dataset.grids.blurring


def test__blurring_grids_from__oversampled_psf_without_fine_grids_raises():
    N = 3
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=1)
    grids = aa.GridsInterface(lp=dataset.grids.lp, blurring=dataset.grids.blurring)

    with pytest.raises(aa.exc.DatasetException) as e:
        blurring_grids_from(grids=grids, psf=psf)
    message = str(e.value)
    assert "convolve_over_sample_size=3" in message
    assert "convolve_over_sample_size_lp=3" in message


# ----------------------------------------------------------------------------------------------------------------------
# Masked blurred images
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__blurred_image_2d_from_and_list__match_brute_force(N, k):
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    native = np.asarray(dataset.mask, dtype=bool)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)
    kernel = psf.kernel.native.array

    refs = []
    for p in PARAMS:
        frame = fine_frame_from(
            lambda y, x, p=p: gaussian_sb(y, x, **p), SHAPE, N, k, sub_sampled=fine_unmasked
        )
        refs.append(block_mean(convolve2d(frame, kernel, mode="same"), N)[~native])

    galaxies = galaxies_from()
    grid, blurring_grid = blurring_grids_from(grids=dataset.grids, psf=dataset.psf)

    image = galaxies.blurred_image_2d_from(grid=grid, psf=dataset.psf, blurring_grid=blurring_grid)
    tol = 1e-12 * np.max(refs[0] + refs[1])
    assert image.shape_slim == dataset.mask.pixels_in_mask
    assert image.mask.pixel_scales == pytest.approx((PS, PS), rel=1e-12)
    np.testing.assert_allclose(image.array, refs[0] + refs[1], rtol=0, atol=tol)

    image_list = galaxies.blurred_image_2d_list_from(
        grid=grid, blurring_grid=blurring_grid, psf=dataset.psf
    )
    for image, ref in zip(image_list, refs):
        np.testing.assert_allclose(image.array, ref, rtol=0, atol=tol)


def test__operated_light__binned_in_image_list_and_galaxy_dict():
    """
    A galaxy with standard and operated light in the list and dict routes: the standard part is blurred (brute
    force), the operated part binned (native over-sampling of size k N), for every route.
    """
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    native = np.asarray(dataset.mask, dtype=bool)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)

    standard = PARAMS[0]
    operated = ag.lp_operated.Gaussian(
        centre=(-0.1, 0.15), ell_comps=(0.05, 0.1), intensity=0.8, sigma=0.1
    )
    galaxy = ag.Galaxy(redshift=0.5, bulge=ag.lp.Gaussian(**standard), psf_light=operated)
    galaxies = ag.Galaxies(galaxies=[galaxy])

    frame = fine_frame_from(
        lambda y, x: gaussian_sb(y, x, **standard), SHAPE, N, k, sub_sampled=fine_unmasked
    )
    reference = block_mean(
        convolve2d(frame, psf.kernel.native.array, mode="same"), N
    )[~native] + operated.image_2d_from(
        grid=aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=k * N)
    ).array
    tol = 1e-12 * np.max(reference)

    grid, blurring_grid = blurring_grids_from(grids=dataset.grids, psf=dataset.psf)

    np.testing.assert_allclose(
        galaxies.blurred_image_2d_from(
            grid=grid, psf=dataset.psf, blurring_grid=blurring_grid
        ).array,
        reference,
        rtol=0,
        atol=tol,
    )
    (from_list,) = galaxies.blurred_image_2d_list_from(
        grid=grid, blurring_grid=blurring_grid, psf=dataset.psf
    )
    np.testing.assert_allclose(from_list.array, reference, rtol=0, atol=tol)

    image_dict = galaxies.galaxy_blurred_image_2d_dict_from(
        grid=grid, psf=dataset.psf, blurring_grid=blurring_grid
    )
    np.testing.assert_allclose(image_dict[galaxy].array, reference, rtol=0, atol=tol)


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__native_grids_with_oversampled_psf__give_the_fits_model(N, k):
    """
    The modeller's usual call, `blurred_image_2d_from(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring,
    psf=dataset.psf)`, with an oversampled PSF: the fine grids follow from the native grid's mask and over-sample
    size, so the image is the fit's model image (and the brute-force fine convolution), for the plain, list and
    per-galaxy variants.
    """
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    galaxies = galaxies_from()
    native = dict(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring, psf=dataset.psf)
    fine = dict(
        grid=dataset.grids.lp_oversampled,
        blurring_grid=dataset.grids.lp_blurring_oversampled,
        psf=dataset.psf,
    )

    fit_model = ag.FitImaging(dataset=dataset, galaxies=galaxies).model_data
    image = galaxies.blurred_image_2d_from(**native)
    assert image.shape == (dataset.mask.pixels_in_mask,)
    np.testing.assert_allclose(image.array, fit_model.array, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(image.array, galaxies.blurred_image_2d_from(**fine).array, rtol=1e-12, atol=1e-15)

    for native_image, fine_image in zip(
        galaxies.blurred_image_2d_list_from(**native), galaxies.blurred_image_2d_list_from(**fine)
    ):
        np.testing.assert_allclose(native_image.array, fine_image.array, rtol=1e-12, atol=1e-15)

    native_dict = galaxies.galaxy_blurred_image_2d_dict_from(**native)
    fine_dict = galaxies.galaxy_blurred_image_2d_dict_from(**fine)
    for galaxy in galaxies:
        np.testing.assert_allclose(native_dict[galaxy].array, fine_dict[galaxy].array, rtol=1e-12, atol=1e-15)

    # and the fine-grid image is the brute force (tested above), so the native call is too; a native PSF would
    # give a visibly different image
    native_psf_image = galaxies.blurred_image_2d_from(
        grid=dataset.grids.lp,
        blurring_grid=dataset.grids.blurring,
        psf=ag.Convolver.from_gaussian(
            shape_native=dataset.psf.footprint_shape_native, pixel_scales=PS, sigma=0.02, normalize=True
        ),
    )
    assert np.max(np.abs(native_psf_image.array - image.array)) > 1e-3 * np.max(image.array)


# ----------------------------------------------------------------------------------------------------------------------
# Padded (unmasked) images
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__padded_grids_oversampled_from__geometry(N, k):
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)

    padded_grid, fine_padded_grid = padded_grids_oversampled_from(grid=grid, psf=psf)

    footprint = psf.footprint_shape_native
    padded_shape = (SHAPE[0] + footprint[0] - 1, SHAPE[1] + footprint[1] - 1)
    assert padded_grid.shape_native == padded_shape
    assert fine_padded_grid.shape_native == (N * padded_shape[0], N * padded_shape[1])
    assert fine_padded_grid.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert np.all(np.asarray(fine_padded_grid.over_sample_size.array) == k)

    pad = (footprint[0] - 1) // 2
    Y, X = fine_centres_from(SHAPE, N, pad=pad)
    np.testing.assert_allclose(
        fine_padded_grid.native.array[..., 0], Y, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        fine_padded_grid.native.array[..., 1], X, rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__unmasked_blurred_image_2d_from_and_list__match_full_frame_brute_force(N, k):
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    galaxies = galaxies_from()

    pad = 3
    kernel = psf.kernel.native.array
    refs = []
    for p in PARAMS:
        frame = fine_frame_from(lambda y, x, p=p: gaussian_sb(y, x, **p), SHAPE, N, k, pad=pad)
        refs.append(block_mean(convolve2d(frame, kernel, mode="same"), N)[pad:-pad, pad:-pad])
    tol = 1e-12 * np.max(refs[0] + refs[1])

    image = galaxies.unmasked_blurred_image_2d_from(grid=grid, psf=psf)
    assert image.shape_native == SHAPE
    np.testing.assert_allclose(image.native.array, refs[0] + refs[1], rtol=0, atol=tol)

    image_list = galaxies.unmasked_blurred_image_2d_list_from(grid=grid, psf=psf)
    for image, ref in zip(image_list, refs):
        assert image.shape_native == SHAPE
        np.testing.assert_allclose(image.native.array, ref, rtol=0, atol=tol)


def test__unmasked_blurred_image_2d_from__operated_light_is_binned_not_blurred():
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    operated = ag.lp_operated.Gaussian(centre=(0.1, -0.1), intensity=0.7, sigma=0.12)
    galaxies = ag.Galaxies(galaxies=[ag.Galaxy(redshift=0.5, light=operated)])

    image = galaxies.unmasked_blurred_image_2d_from(grid=grid, psf=psf)
    reference = operated.image_2d_from(grid=grid).native.array
    np.testing.assert_allclose(
        image.native.array, reference, rtol=0, atol=1e-12 * np.max(reference)
    )


def test__padded_image_2d_oversampled_from__is_the_fine_padded_frame():
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)

    image = galaxies_from().padded_image_2d_oversampled_from(grid=grid, psf=psf)

    pad = (psf.footprint_shape_native[0] - 1) // 2
    reference = fine_frame_from(
        lambda y, x: sum(gaussian_sb(y, x, **p) for p in PARAMS), SHAPE, N, k, pad=pad
    )
    assert image.shape_native == reference.shape
    np.testing.assert_allclose(
        image.native.array, reference, rtol=0, atol=1e-12 * np.max(reference)
    )
