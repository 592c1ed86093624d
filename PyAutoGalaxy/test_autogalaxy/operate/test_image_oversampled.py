"""
Tests of `autogalaxy.operate.image` with an oversampled PSF (`convolve_over_sample_size` N > 1).

There is one set of grids. `dataset.grids.lp` is the release's over-sampled grid on the native mask at sub-size k N
(the k x k sub-pixels of each of a pixel's N x N fine pixels are averaged into that fine pixel's value) and
`dataset.grids.blurring` is the blurring region of the PSF's native footprint (`psf.footprint_shape_native`),
over-sampled at N (one sample per fine pixel). Light is evaluated on those sub-pixels, blurred at the fine pixel scale
and binned N x N (mean) to native pixels. Unmasked (plot) images pad the grid by the footprint, the padding (and any
masked pixel) over-sampled at N.

References are independent: fine-frame pixel centres and light built with numpy from the profile's formula,
`scipy.signal.convolve2d` with the fine kernel, N x N block means, and `scipy.ndimage` for the blurring region. The
release's native over-sampler is used only as the reference for operated light (binning N x N fine pixels of sub-size
k is a native over-sampling of size k N).
"""

import numpy as np
import pytest
from scipy.ndimage import binary_dilation
from scipy.signal import convolve2d

import autoarray as aa
import autogalaxy as ag
from autoarray.operators.mock.mock_psf import MockPSF

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
    """
    `sb` on the fine frame: fine pixels where `sub_sampled` (a boolean fine-frame array, or True) is set are the mean
    of k x k sub-samples, the others one sample at their centre.
    """
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


def interior_from(native_shape, N, pad):
    """Boolean fine frame of `native_shape` padded by `pad`: True on the unpadded frame, False in the padding."""
    interior = np.zeros(((native_shape[0] + 2 * pad) * N, (native_shape[1] + 2 * pad) * N), dtype=bool)
    interior[pad * N : (pad + native_shape[0]) * N, pad * N : (pad + native_shape[1]) * N] = True
    return interior


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


def native_pixel_centres_from(native_mask):
    """(y, x) centres of the unmasked pixels of a native mask centred on the origin, row-major (slim order)."""
    native = np.asarray(native_mask, dtype=bool)
    H, W = native.shape
    rows, columns = np.nonzero(~native)
    return (H / 2.0 - 0.5 - rows) * PS, (columns - W / 2.0 + 0.5) * PS


def pixel_major_sub_centres_from(native_mask, size):
    """
    The sub-pixel centres of every unmasked pixel at over-sample size `size`, pixel-major (all sub-pixels of the
    first pixel, row-major within it, then the second pixel...), built with numpy.
    """
    yc, xc = native_pixel_centres_from(native_mask)
    p, q = np.divmod(np.arange(size * size), size)
    y = yc[:, None] + PS / 2.0 - (p[None, :] + 0.5) * PS / size
    x = xc[:, None] - PS / 2.0 + (q[None, :] + 0.5) * PS / size
    return np.stack([y.ravel(), x.ravel()], axis=1)


# ----------------------------------------------------------------------------------------------------------------------
# The PSF's N and the dataset's one set of grids
# ----------------------------------------------------------------------------------------------------------------------


def test__convolve_over_sample_size__fine_psf_is_n_native_and_mock_psfs_are_1():
    assert fine_psf_from(N=2).convolve_over_sample_size == 2
    assert fine_psf_from(N=3).convolve_over_sample_size == 3
    assert (
        aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.1).convolve_over_sample_size
        == 1
    )
    assert MockPSF().convolve_over_sample_size == 1


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__dataset_grids__lp_over_sampled_at_k_n__blurring_is_the_footprint_region_over_sampled_at_n(N, k):
    """
    grids.lp: the native mask's pixels, each with (k N)^2 sub-pixels, pixel-major; the mean of the k x k sub-pixels
    of fine pixel (a, b) is that fine pixel's centre. grids.blurring: the masked pixels within the PSF's native
    footprint (not its fine shape) of an unmasked pixel (scipy dilation), each with its N x N fine pixel centres.
    """
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    native = np.asarray(dataset.mask, dtype=bool)

    footprint = psf.footprint_shape_native
    assert footprint == (5, 5)  # 2 * ceil((4N // 2) / N) + 1, not the fine shape 4N + 1

    lp = dataset.grids.lp
    assert lp.shape_slim == dataset.mask.pixels_in_mask
    np.testing.assert_array_equal(np.asarray(lp.over_sample_size.array), k * N)
    expected_sub = pixel_major_sub_centres_from(dataset.mask, k * N)
    np.testing.assert_allclose(lp.over_sampled.array, expected_sub, rtol=0, atol=1e-12)

    # The k x k sub-pixels of fine pixel (a, b) (sub-pixels (r, c) with r // k = a, c // k = b) average to its centre.
    s = k * N
    r, c = np.divmod(np.arange(s * s), s)
    fine_of_sub = (r // k) * N + c // k
    sub = expected_sub.reshape(-1, s * s, 2)
    fine_means = np.stack(
        [sub[:, fine_of_sub == f, :].mean(axis=1) for f in range(N * N)], axis=1
    ).reshape(-1, 2)
    np.testing.assert_allclose(
        fine_means, pixel_major_sub_centres_from(dataset.mask, N), rtol=0, atol=1e-12
    )

    blurring = dataset.grids.blurring
    expected_blurring_mask = binary_dilation(~native, structure=np.ones(footprint, dtype=bool)) & native
    np.testing.assert_array_equal(~np.asarray(blurring.mask, dtype=bool), expected_blurring_mask)
    np.testing.assert_array_equal(np.asarray(blurring.over_sample_size.array), N)
    np.testing.assert_allclose(
        blurring.over_sampled.array,
        pixel_major_sub_centres_from(~expected_blurring_mask, N),
        rtol=0,
        atol=1e-12,
    )

    # The fine kernel's shape would give a larger region: the test would see footprint and fine shape confused.
    fine_shape_region = binary_dilation(~native, structure=np.ones(psf.kernel.shape_native, dtype=bool)) & native
    assert np.sum(fine_shape_region) > np.sum(expected_blurring_mask)


@pytest.mark.parametrize("N", [2, 3])
def test__guard__blurring_grid_not_over_sampled_at_a_multiple_of_n_or_of_the_wrong_region__raises(N):
    """
    A blurring grid over-sampled at a size that is not a multiple of N (the release's native blurring grid, sub-size
    1) is refused by the k N rule (`over_sample_util.fine_sub_size_from`, DatasetException); a blurring grid of
    another region (values of the wrong length) and native-length values are refused by the convolution
    (KernelException); a native convolution of an oversampled PSF is refused.
    """
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=1)
    galaxies = galaxies_from()
    blurring_mask = dataset.mask.derive_mask.blurring_from(
        kernel_shape_native=psf.footprint_shape_native, allow_padding=True
    )

    native_blurring_grid = aa.Grid2D.from_mask(mask=blurring_mask, over_sample_size=1)
    with pytest.raises(aa.exc.DatasetException, match=f"must be a positive multiple of {N}"):
        galaxies.blurred_image_2d_from(
            grid=dataset.grids.lp, blurring_grid=native_blurring_grid, psf=dataset.psf
        )
    with pytest.raises(aa.exc.DatasetException, match=f"must be a positive multiple of {N}"):
        galaxies.blurred_image_2d_list_from(
            grid=dataset.grids.lp, blurring_grid=native_blurring_grid, psf=dataset.psf
        )
    with pytest.raises(aa.exc.DatasetException, match=f"must be a positive multiple of {N}"):
        aa.util.over_sample.fine_sub_size_from(
            sub_size=np.asarray(native_blurring_grid.over_sample_size.array), convolve_over_sample_size=N
        )

    smaller_region = dataset.mask.derive_mask.blurring_from(kernel_shape_native=(3, 3), allow_padding=True)
    with pytest.raises(aa.exc.KernelException, match="blurring values"):
        galaxies.blurred_image_2d_from(
            grid=dataset.grids.lp,
            blurring_grid=aa.Grid2D.from_mask(mask=smaller_region, over_sample_size=N),
            psf=dataset.psf,
        )

    with pytest.raises(aa.exc.KernelException, match="fine pixels"):
        dataset.psf.convolved_fine_image_from(
            fine_image=np.ones(dataset.mask.pixels_in_mask), mask=dataset.mask
        )

    with pytest.raises(aa.exc.KernelException, match="convolved_fine_image_from"):
        dataset.psf.convolved_image_from(
            image=aa.Array2D(values=np.ones(dataset.mask.pixels_in_mask), mask=dataset.mask),
            blurring_image=None,
        )


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
    grids = dict(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring)

    image = galaxies.blurred_image_2d_from(psf=dataset.psf, **grids)
    tol = 1e-12 * np.max(refs[0] + refs[1])
    assert image.shape_slim == dataset.mask.pixels_in_mask
    assert image.mask.pixel_scales == pytest.approx((PS, PS), rel=1e-12)
    np.testing.assert_allclose(image.array, refs[0] + refs[1], rtol=0, atol=tol)

    image_list = galaxies.blurred_image_2d_list_from(psf=dataset.psf, **grids)
    assert len(image_list) == 2
    for image, ref in zip(image_list, refs):
        np.testing.assert_allclose(image.array, ref, rtol=0, atol=tol)

    image_dict = galaxies.galaxy_blurred_image_2d_dict_from(psf=dataset.psf, **grids)
    for galaxy, ref in zip(galaxies, refs):
        np.testing.assert_allclose(image_dict[galaxy].array, ref, rtol=0, atol=tol)


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

    grids = dict(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring)

    np.testing.assert_allclose(
        galaxies.blurred_image_2d_from(psf=dataset.psf, **grids).array,
        reference,
        rtol=0,
        atol=tol,
    )
    (from_list,) = galaxies.blurred_image_2d_list_from(psf=dataset.psf, **grids)
    np.testing.assert_allclose(from_list.array, reference, rtol=0, atol=tol)

    image_dict = galaxies.galaxy_blurred_image_2d_dict_from(psf=dataset.psf, **grids)
    np.testing.assert_allclose(image_dict[galaxy].array, reference, rtol=0, atol=tol)


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__dataset_grids_with_oversampled_psf__give_the_fits_model(N, k):
    """
    The modeller's usual call, `blurred_image_2d_from(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring,
    psf=dataset.psf)`, is the fit's model image and the brute-force fine convolution; a native PSF of the footprint's
    shape gives a visibly different image (so the equalities are not trivially met).
    """
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    native = np.asarray(dataset.mask, dtype=bool)
    fine_unmasked = ~np.repeat(np.repeat(native, N, axis=0), N, axis=1)
    galaxies = galaxies_from()
    grids = dict(grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring)

    reference = sum(
        block_mean(
            convolve2d(
                fine_frame_from(
                    lambda y, x, p=p: gaussian_sb(y, x, **p), SHAPE, N, k, sub_sampled=fine_unmasked
                ),
                psf.kernel.native.array,
                mode="same",
            ),
            N,
        )[~native]
        for p in PARAMS
    )
    tol = 1e-12 * np.max(reference)

    fit_model = ag.FitImaging(dataset=dataset, galaxies=galaxies).model_data
    image = galaxies.blurred_image_2d_from(psf=dataset.psf, **grids)
    assert image.shape == (dataset.mask.pixels_in_mask,)
    np.testing.assert_allclose(fit_model.array, reference, rtol=0, atol=tol)
    np.testing.assert_allclose(image.array, reference, rtol=0, atol=tol)

    native_psf_image = galaxies.blurred_image_2d_from(
        grid=aa.Grid2D.from_mask(mask=dataset.mask, over_sample_size=k * N),
        blurring_grid=aa.Grid2D.from_mask(
            mask=dataset.mask.derive_mask.blurring_from(
                kernel_shape_native=psf.footprint_shape_native, allow_padding=True
            ),
            over_sample_size=1,
        ),
        psf=ag.Convolver.from_gaussian(
            shape_native=psf.footprint_shape_native, pixel_scales=PS, sigma=0.02, normalize=True
        ),
    )
    assert np.max(np.abs(native_psf_image.array - image.array)) > 1e-3 * np.max(image.array)


# ----------------------------------------------------------------------------------------------------------------------
# Padded (unmasked) images
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1), (2, 3)])
def test__unmasked_blurred_image_2d_from_and_list__match_full_frame_brute_force(N, k):
    """
    The grid's own pixels sampled k x k per fine pixel, the padding once per fine pixel (it is over-sampled at N),
    convolve2d on the padded fine frame, N x N block means, trimmed. With k > 1 the reference with the padding sampled
    k x k as well is visibly different, so the test tells the two conventions apart.
    """
    psf = fine_psf_from(N=N)
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS, over_sample_size=k * N)
    params = [
        PARAMS[0],
        # light that is still bright at the frame's edge, where the padding's sampling shows
        dict(centre=(-0.95, 1.05), intensity=0.6, sigma=0.2),
    ]
    galaxies = galaxies_from(params)

    pad = 3
    kernel = psf.kernel.native.array
    interior = interior_from(SHAPE, N, pad)

    def reference_from(sub_sampled):
        return [
            block_mean(
                convolve2d(
                    fine_frame_from(
                        lambda y, x, p=p: gaussian_sb(y, x, **p), SHAPE, N, k, sub_sampled=sub_sampled, pad=pad
                    ),
                    kernel,
                    mode="same",
                ),
                N,
            )[pad:-pad, pad:-pad]
            for p in params
        ]

    refs = reference_from(sub_sampled=interior)
    tol = 1e-12 * np.max(refs[0] + refs[1])

    image = galaxies.unmasked_blurred_image_2d_from(grid=grid, psf=psf)
    assert image.shape_native == SHAPE
    np.testing.assert_allclose(image.native.array, refs[0] + refs[1], rtol=0, atol=tol)

    image_list = galaxies.unmasked_blurred_image_2d_list_from(grid=grid, psf=psf)
    for image, ref in zip(image_list, refs):
        assert image.shape_native == SHAPE
        np.testing.assert_allclose(image.native.array, ref, rtol=0, atol=tol)

    if k > 1:
        all_sub_sampled = reference_from(sub_sampled=True)
        assert np.max(np.abs(all_sub_sampled[1] - refs[1])) > 1e3 * tol


def test__unmasked_blurred_image_2d_from__masked_grid__masked_pixels_sampled_once_per_fine_pixel():
    """
    The unmasked image of a masked grid (as a fit's plots make it): the mask's pixels k x k per fine pixel, the
    masked pixels and the padding once per fine pixel, so inside the mask it is the masked blurred image.
    """
    N, k = 2, 2
    psf = fine_psf_from(N=N)
    dataset = masked_dataset_from(psf=psf, N=N, k=k)
    native = np.asarray(dataset.mask, dtype=bool)
    galaxies = galaxies_from()

    pad = 3
    padded_native = np.pad(native, pad, constant_values=True)
    fine_unmasked = ~np.repeat(np.repeat(padded_native, N, axis=0), N, axis=1)
    frame = fine_frame_from(
        lambda y, x: sum(gaussian_sb(y, x, **p) for p in PARAMS), SHAPE, N, k, sub_sampled=fine_unmasked, pad=pad
    )
    reference = block_mean(convolve2d(frame, psf.kernel.native.array, mode="same"), N)[pad:-pad, pad:-pad]
    tol = 1e-12 * np.max(reference)

    image = galaxies.unmasked_blurred_image_2d_from(grid=dataset.grids.lp, psf=dataset.psf)
    assert image.shape_native == SHAPE
    np.testing.assert_allclose(image.native.array, reference, rtol=0, atol=tol)

    masked = galaxies.blurred_image_2d_from(
        grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring, psf=dataset.psf
    )
    np.testing.assert_allclose(image.native.array[~native], masked.array, rtol=0, atol=tol)


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
