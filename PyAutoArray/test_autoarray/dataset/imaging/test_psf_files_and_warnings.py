"""
No silent wrong answer where PSFs come from: every writer records the PSF's pixel scale (and N), every reader checks
it, a user's PSF object never convolves with a stale kernel, and the mistakes a user makes at N = 1 are warned about
(a warning changes no number: the differential suite shows N = 1 results stay the release's bit for bit).

Each test compares against an independent reference: the in-memory dataset or PSF the file was written from, or a
fresh Convolver of the kernel's current values.
"""

import logging
import warnings

import numpy as np
import pytest
from astropy.io import fits

import autoarray as aa
from autoarray.dataset.plot.imaging_plots import fits_imaging
from autoarray.operators.over_sampling import over_sample_util

import jax.numpy as jnp

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
N = 2


def data_and_noise():
    rng = np.random.default_rng(11)
    data = aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=0.5, shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    return data, noise_map


def fine_psf_from(n=N, normalize=True, use_fft=None, scale=1.0):
    psf = aa.Convolver.from_gaussian(
        shape_native=(4 * n + 1, 4 * n + 1),
        pixel_scales=PIXEL_SCALE / n,
        sigma=0.15,
        normalize=normalize,
        convolve_over_sample_size=n,
    )
    kernel = aa.Array2D.no_mask(values=psf.kernel.native.array * scale, pixel_scales=PIXEL_SCALE / n)
    return aa.Convolver(kernel=kernel, use_fft=use_fft, convolve_over_sample_size=n)


def oversampled_dataset_from(n=N):
    data, noise_map = data_and_noise()
    return aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=fine_psf_from(n=n),
        over_sample_size_lp=2 * n,
        over_sample_size_pixelization=2 * n,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    )


def fine_image_and_blurring_from(psf, mask):
    """A smooth positive image on the fine grid of `mask` and on its fine blurring region."""
    fine_mask = over_sample_util.mask_2d_upscaled_from(mask=mask, factor=psf.convolve_over_sample_size)
    blurring_mask = fine_mask.derive_mask.blurring_from(kernel_shape_native=psf.kernel.shape_native)
    values = []
    for m in (fine_mask, blurring_mask):
        grid = np.asarray(aa.Grid2D.from_mask(mask=m, over_sample_size=1).array)
        values.append(aa.Array2D(values=np.exp(-np.sum(grid**2, axis=1) / 0.4), mask=m))
    return values


def load(tmp_path, **kwargs):
    return aa.Imaging.from_fits(
        data_path=tmp_path / "data.fits",
        noise_map_path=tmp_path / "noise_map.fits",
        psf_path=tmp_path / "psf.fits",
        pixel_scales=PIXEL_SCALE,
        **kwargs,
    )


# ----------------------------------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------------------------------


def test__fits_imaging_separate_files__oversampled_psf_keeps_its_pixel_scale_and_n(tmp_path):
    dataset = oversampled_dataset_from()
    fits_imaging(
        dataset,
        data_path=tmp_path / "data.fits",
        psf_path=tmp_path / "psf.fits",
        noise_map_path=tmp_path / "noise_map.fits",
        overwrite=True,
    )
    header = fits.getheader(tmp_path / "psf.fits")
    assert header["PIXSCAY"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
    assert header["CONVOS"] == N

    # Loading it as a native PSF (every N at 1) is refused, naming what to set.
    with pytest.raises(aa.exc.KernelException, match="convolve_over_sample_size_pixelization to 2"):
        load(tmp_path)

    # Loaded with N, it is the in-memory dataset's PSF and blurs exactly as it does.
    reloaded = load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    assert reloaded.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / N,) * 2, rel=1e-12)
    np.testing.assert_allclose(reloaded.psf.kernel.native.array, dataset.psf.kernel.native.array, rtol=1e-14)
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=1.0)
    image, blurring = fine_image_and_blurring_from(dataset.psf, mask)
    np.testing.assert_allclose(
        reloaded.psf.convolved_image_from(image=image, blurring_image=blurring).array,
        dataset.psf.convolved_image_from(image=image, blurring_image=blurring).array,
        rtol=1e-12,
    )


def test__fits_imaging_single_file__psf_extension_records_the_fine_pixel_scale(tmp_path):
    dataset = oversampled_dataset_from()
    fits_imaging(dataset, file_path=tmp_path / "dataset.fits", overwrite=True)
    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        assert hdu_list["DATA"].header["PIXSCAY"] == pytest.approx(PIXEL_SCALE, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAY"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAX"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
        assert hdu_list["PSF"].header["CONVOS"] == N


# ----------------------------------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------------------------------


def test__native_psf_file_loaded_with_n2__kernel_exception_naming_both_pixel_scales(tmp_path):
    data, noise_map = data_and_noise()
    aa.output_to_fits(values=data.native.array, file_path=tmp_path / "data.fits", overwrite=True)
    aa.output_to_fits(values=noise_map.native.array, file_path=tmp_path / "noise_map.fits", overwrite=True)
    native_psf = aa.Convolver.from_gaussian(shape_native=(9, 9), pixel_scales=PIXEL_SCALE, sigma=0.15, normalize=True)
    native_psf.output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    assert fits.getheader(tmp_path / "psf.fits")["PIXSCAY"] == pytest.approx(PIXEL_SCALE)

    with pytest.raises(aa.exc.KernelException, match=r"records pixel scales \(0.2, 0.2\).*loaded at pixel scales \(0.1, 0.1\)"):
        load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)

    # At N = 1 it loads as it always did, with no warning (its pixel scale is the data's).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = load(tmp_path)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, native_psf.kernel.native.array, rtol=1e-14)


def test__fine_psf_file_without_convos_at_n1__warns_and_loads_as_the_release_does(tmp_path, caplog):
    data, noise_map = data_and_noise()
    aa.output_to_fits(values=data.native.array, file_path=tmp_path / "data.fits", overwrite=True)
    aa.output_to_fits(values=noise_map.native.array, file_path=tmp_path / "noise_map.fits", overwrite=True)
    # A fine PSF (0.1" for 0.2" data) written by a Convolver that was not told its N: no CONVOS, PIXSCAY = 0.1.
    fine = fine_psf_from()
    aa.Convolver(kernel=fine.kernel).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    assert "CONVOS" not in fits.getheader(tmp_path / "psf.fits")

    with caplog.at_level(logging.WARNING):
        with pytest.warns(UserWarning, match="looks like a PSF oversampled by 2.*convolve_over_sample_size_lp=2"):
            dataset = load(tmp_path)
    assert "oversampled by 2" in caplog.text
    # read as the release reads it: the kernel's values at the data pixel scale
    np.testing.assert_array_equal(
        dataset.psf.kernel.native.array, fine.kernel.native.array / np.sum(fine.kernel.native.array)
    )
    assert dataset.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
    assert dataset.psf.convolve_over_sample_size == 1


def test__fine_psf_in_memory_at_n1__warns_and_is_used_unchanged():
    data, noise_map = data_and_noise()
    fine = fine_psf_from()
    psf = aa.Convolver(kernel=fine.kernel)  # the fine PSF, built without the keyword
    with pytest.warns(UserWarning, match=r"pixel scales \(0.1, 0.1\) are the data's \(0.2, 0.2\) / 2"):
        dataset = aa.Imaging(data=data, noise_map=noise_map, psf=psf)
    assert dataset.psf is psf
    assert dataset.psf.convolve_over_sample_size == 1

    # A PSF at the data's pixel scale (or any scale that is not the data's / an integer) gets no warning.
    for pixel_scale in (PIXEL_SCALE, 1.0, PIXEL_SCALE / 2.5):
        kernel = aa.Array2D.no_mask(values=fine.kernel.native.array, pixel_scales=pixel_scale)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            aa.Imaging(data=data, noise_map=noise_map, psf=aa.Convolver(kernel=kernel))


# ----------------------------------------------------------------------------------------------------------------------
# The user's PSF object and numpy integers
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_fft", [True, False])
def test__users_psf_never_convolves_with_a_stale_kernel(use_fft):
    """
    Convolve with an unnormalised N = 2 PSF, pass it to Imaging (which normalises the kernel in place, as the
    release does), convolve again: the user's PSF gives what a fresh Convolver of its current kernel gives.
    """
    psf = fine_psf_from(normalize=False, use_fft=use_fft, scale=98.0)
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=1.0)
    image, blurring = fine_image_and_blurring_from(psf, mask)
    before = psf.convolved_image_from(image=image, blurring_image=blurring, xp=jnp)
    old_sum = np.sum(psf.kernel.native.array)
    assert old_sum > 50.0

    data, noise_map = data_and_noise()
    aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=2 * N,
        over_sample_size_pixelization=2 * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    assert np.sum(psf.kernel.native.array) == pytest.approx(1.0)

    fresh = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=np.array(psf.kernel.native.array), pixel_scales=PIXEL_SCALE / N),
        use_fft=use_fft,
        convolve_over_sample_size=N,
    )
    for xp in (np, jnp):
        after = psf.convolved_image_from(image=image, blurring_image=blurring, xp=xp)
        expected = fresh.convolved_image_from(image=image, blurring_image=blurring, xp=xp)
        np.testing.assert_allclose(np.asarray(after.array), np.asarray(expected.array), rtol=1e-12, atol=0.0)
    # and the first convolution really was sum(kernel) times brighter, so a stale state would have been caught
    assert np.max(np.asarray(before.array)) == pytest.approx(old_sum * np.max(np.asarray(after.array)), rel=1e-10)


def test__numpy_integers_are_accepted_wherever_an_n_is():
    n = np.int64(2)
    psf = aa.Convolver.from_gaussian(
        shape_native=(9, 9), pixel_scales=PIXEL_SCALE / 2, sigma=0.15, normalize=True, convolve_over_sample_size=n
    )
    assert psf.convolve_over_sample_size == 2 and type(psf.convolve_over_sample_size) is int
    data, noise_map = data_and_noise()
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=np.int32(4),
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=np.int32(2),
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=1.0))
    assert dataset.convolve_over_sample_size_lp == 2
    image, blurring = fine_image_and_blurring_from(dataset.psf, dataset.mask)
    reference = aa.Convolver(kernel=dataset.psf.kernel, convolve_over_sample_size=2)
    np.testing.assert_array_equal(
        dataset.psf.convolved_image_from(image=image, blurring_image=blurring).array,
        reference.convolved_image_from(image=image, blurring_image=blurring).array,
    )


# ----------------------------------------------------------------------------------------------------------------------
# Other writers' header spellings: poppy / STPSF (PIXELSCL, OVERSAMP, DET_SAMP, EXTNAME) and PSFEx (PSF_SAMP)
# ----------------------------------------------------------------------------------------------------------------------


def write_data(tmp_path):
    data, noise_map = data_and_noise()
    aa.output_to_fits(values=data.native.array, file_path=tmp_path / "data.fits", overwrite=True)
    aa.output_to_fits(values=noise_map.native.array, file_path=tmp_path / "noise_map.fits", overwrite=True)


def write_poppy_like(path, n, oversamp=None, det_samp=None):
    """
    A file laid out as poppy 1.1.2's `Instrument.calc_psf` writes it: the OVERSAMP HDU (PIXELSCL, OVERSAMP,
    DET_SAMP) first, then the DET_SAMP extension, binned to the detector, which records OVERSAMP = 1 for itself and
    keeps DET_SAMP = n and CALCSAMP = n.
    """
    native = aa.Convolver.from_gaussian(shape_native=(9, 9), pixel_scales=PIXEL_SCALE, sigma=0.15, normalize=True)
    fine = fine_psf_from(n=n)
    primary = fits.PrimaryHDU(fine.kernel.native.array)
    primary.header["EXTNAME"] = "OVERSAMP"
    primary.header["PIXELSCL"] = PIXEL_SCALE / n
    primary.header["OVERSAMP"] = n if oversamp is None else oversamp
    primary.header["DET_SAMP"] = n if det_samp is None else det_samp
    extension = fits.ImageHDU(native.kernel.native.array)
    extension.header["EXTNAME"] = "DET_SAMP"
    extension.header["PIXELSCL"] = PIXEL_SCALE
    extension.header["OVERSAMP"] = 1
    extension.header["DET_SAMP"] = n if det_samp is None else det_samp
    extension.header["CALCSAMP"] = n
    fits.HDUList([primary, extension]).writeto(path, overwrite=True)
    return native, fine


def test__poppy_file__oversamp_extension_by_extname_loads_with_the_n_its_pixelscl_gives(tmp_path):
    write_data(tmp_path)
    _, fine = write_poppy_like(tmp_path / "psf.fits", n=N)

    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu="OVERSAMP", pixel_scales=PIXEL_SCALE
    ) == N
    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu="DET_SAMP", pixel_scales=PIXEL_SCALE
    ) == 1

    dataset = load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine.kernel.native.array, rtol=1e-14)

    # the wrong N for its PIXELSCL is an error naming both, at any N > 1
    with pytest.raises(aa.exc.KernelException, match=r"records pixel scales \(0.1, 0.1\) \(header keywords PIXELSCL\)"):
        load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=4, convolve_over_sample_size_pixelization=4)

    # at N = 1 it loads as the release loads it, with a warning naming its N
    with pytest.warns(UserWarning, match="oversampled by 2"):
        native_read = load(tmp_path, psf_hdu="OVERSAMP")
    assert native_read.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)

    # the DET_SAMP (native) extension, whose DET_SAMP is its sibling's, loads at N = 1 without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path, psf_hdu="DET_SAMP")


def test__poppy_file__oversamp_factors_that_disagree_with_pixelscl_warn_and_pixelscl_decides(tmp_path):
    """poppy 1.1.2 writes OVERSAMP = DET_SAMP = 2 for a detector oversampled by 4: PIXELSCL decides, with a warning."""
    write_data(tmp_path)
    write_poppy_like(tmp_path / "psf.fits", n=4, oversamp=2, det_samp=2)
    with pytest.warns(UserWarning, match="OVERSAMP = 2 does not match its pixel scales"):
        n = aa.Convolver.convolve_over_sample_size_from_fits(
            file_path=tmp_path / "psf.fits", hdu="OVERSAMP", pixel_scales=PIXEL_SCALE
        )
    assert n == 4
    with pytest.warns(UserWarning, match="does not match"):
        dataset = load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=4, convolve_over_sample_size_pixelization=4)
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / 4,) * 2)


def test__psfex_psf_samp__gives_the_pixel_scale_and_is_checked(tmp_path):
    write_data(tmp_path)
    fine = fine_psf_from(n=N)
    hdu = fits.PrimaryHDU(fine.kernel.native.array)
    hdu.header["PSF_SAMP"] = 1.0 / N
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)

    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE
    ) == N
    dataset = load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine.kernel.native.array, rtol=1e-14)
    with pytest.raises(aa.exc.KernelException, match=r"PSF_SAMP = 0.5"):
        load(tmp_path, convolve_over_sample_size_lp=3, convolve_over_sample_size_pixelization=3)
    with pytest.warns(UserWarning, match="oversampled by 2"):
        load(tmp_path)


def test__a_recorded_pixel_scale_that_is_not_the_data_s_over_an_integer__cannot_give_n(tmp_path):
    hdu = fits.PrimaryHDU(np.ones((9, 9)))
    hdu.header["PIXELSCL"] = PIXEL_SCALE / 2.5
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)
    with pytest.raises(aa.exc.KernelException, match="not the data's .* divided by an integer"):
        aa.Convolver.convolve_over_sample_size_from_fits(file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE)
