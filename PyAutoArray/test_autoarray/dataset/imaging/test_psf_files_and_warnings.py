"""
No silent wrong answer where PSFs come from: every writer records the PSF's pixel scale and N, every reader checks
it, a user's PSF object never convolves with a stale kernel, and what a user gets wrong at N = 1 is warned about
(a warning changes no number; at N = 1 a file is read as the release reads it and never refused for its header).

Headers are read back with astropy directly; files are written with astropy as poppy / STPSF and PSFEx write them;
convolutions are compared with an independent brute force (`convolve2d` on the full fine frame, block means).
"""

import re
import warnings

import numpy as np
import pytest
from astropy.io import fits
from scipy.signal import convolve2d

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
from autoarray.dataset.plot.imaging_plots import fits_imaging
from autoarray.operators import psf_fits
from autoarray.operators.convolver import OversampledConvolverState

import jax.numpy as jnp

SHAPE = (15, 15)
PIXEL_SCALE = 0.2
N = 2


def data_and_noise():
    rng = np.random.default_rng(11)
    data = aa.Array2D.no_mask(values=rng.normal(size=SHAPE) + 1.0, pixel_scales=PIXEL_SCALE)
    noise_map = aa.Array2D.full(fill_value=0.5, shape_native=SHAPE, pixel_scales=PIXEL_SCALE)
    return data, noise_map


def fine_kernel_values_from(n=N, scale=1.0):
    """An elliptical, off-centre Gaussian at the fine scale (asymmetric: a flipped kernel shows)."""
    size = 4 * n + 1
    ps = PIXEL_SCALE / n
    y = (np.arange(size) - size // 2)[:, None] * -ps - 0.3 * ps
    x = (np.arange(size) - size // 2)[None, :] * ps + 0.2 * ps
    values = np.exp(-0.5 * ((y / 0.12) ** 2 + (x / 0.18) ** 2))
    return scale * values / np.sum(values)


def fine_psf_from(n=N, use_fft=None, scale=1.0, state_mask=None):
    kernel = aa.Array2D.no_mask(values=fine_kernel_values_from(n, scale), pixel_scales=PIXEL_SCALE / n)
    state = None
    if state_mask is not None:
        state = OversampledConvolverState(kernel=kernel, mask=state_mask, convolve_over_sample_size=n)
    return aa.Convolver(kernel=kernel, state=state, use_fft=use_fft, convolve_over_sample_size=n)


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


def mask_from():
    return aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=1.0)


def fine_image_and_blurring_from(mask, footprint, n=N):
    """A smooth positive image on the fine pixels of `mask` and of its blurring region, pixel-major (closed form)."""
    values = []
    blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=footprint)
    for m in (mask, blurring_mask):
        H, W = m.shape_native
        centres = [
            ((H / 2.0 - y - (a + 0.5) / n) * PIXEL_SCALE, (x + (b + 0.5) / n - W / 2.0) * PIXEL_SCALE)
            for y, x in zip(*np.nonzero(~np.asarray(m)))
            for a in range(n)
            for b in range(n)
        ]
        centres = np.array(centres)
        values.append(np.exp(-np.sum(centres**2, axis=1) / 0.4))
    return values[0], values[1], blurring_mask


def brute_force_from(mask, blurring_mask, kernel, fine_image, fine_blurring, n=N):
    """Pixel-major fine values on the full fine frame, `convolve2d`, N x N means: the native model image."""
    frame = np.zeros((SHAPE[0] * n, SHAPE[1] * n))
    for region, values in ((~np.asarray(mask), fine_image), (~np.asarray(blurring_mask), fine_blurring)):
        for i, (y, x) in enumerate(zip(*np.nonzero(region))):
            for a in range(n):
                for b in range(n):
                    frame[n * y + a, n * x + b] = values[i * n * n + a * n + b]
    blurred = convolve2d(frame, kernel, mode="same")
    return blurred.reshape(SHAPE[0], n, SHAPE[1], n).mean(axis=(1, 3))[~np.asarray(mask)]


def write_data(tmp_path):
    data, noise_map = data_and_noise()
    fits.PrimaryHDU(data.native.array).writeto(tmp_path / "data.fits", overwrite=True)
    fits.PrimaryHDU(noise_map.native.array).writeto(tmp_path / "noise_map.fits", overwrite=True)


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


def test__convolver_output_to_fits__records_the_kernel_pixel_scales_and_n(tmp_path):
    for n in (1, 2, 3):
        psf = fine_psf_from(n=n)
        psf.output_to_fits(file_path=tmp_path / f"psf_{n}.fits", overwrite=True)
        with fits.open(tmp_path / f"psf_{n}.fits") as hdu_list:
            header = hdu_list[0].header
            assert header["PIXSCAY"] == pytest.approx(PIXEL_SCALE / n, rel=1e-15)
            assert header["PIXSCAX"] == pytest.approx(PIXEL_SCALE / n, rel=1e-15)
            if n > 1:
                assert header["CONVOS"] == n
            else:
                assert "CONVOS" not in header  # DESIGN.md section 8: CONVOS for N > 1
            np.testing.assert_array_equal(hdu_list[0].data, fine_kernel_values_from(n))
    assert psf_fits.header_dict_from(kernel_pixel_scales=(0.05, 0.04), convolve_over_sample_size=4) == {
        "PIXSCAY": 0.05,
        "PIXSCAX": 0.04,
        "CONVOS": 4,
    }


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
    assert header["PIXSCAX"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
    assert header["CONVOS"] == N

    # Loaded with every N at 1 it is read as the release reads it (at the data's pixel scale), with a warning.
    with pytest.warns(UserWarning, match="records a PSF oversampled by 2.*convolve_over_sample_size_pixelization=2"):
        native = load(tmp_path)
    assert native.psf.convolve_over_sample_size == 1
    assert native.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)

    # Loaded with N, it is the in-memory dataset's PSF and blurs as the brute force of that kernel does.
    reloaded = load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    assert reloaded.psf.convolve_over_sample_size == N
    assert reloaded.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / N,) * 2, rel=1e-12)
    np.testing.assert_allclose(reloaded.psf.kernel.native.array, fine_kernel_values_from(), rtol=1e-14)
    mask = mask_from()
    image, blurring, blurring_mask = fine_image_and_blurring_from(mask, reloaded.psf.footprint_shape_native)
    expected = brute_force_from(mask, blurring_mask, fine_kernel_values_from(), image, blurring)
    result = reloaded.psf.convolved_fine_image_from(fine_image=image, mask=mask, fine_blurring_image=blurring).array
    np.testing.assert_allclose(result, expected, rtol=0.0, atol=1e-12 * np.max(expected))


def test__fits_imaging_single_file__psf_extension_records_the_fine_pixel_scale(tmp_path):
    fits_imaging(oversampled_dataset_from(), file_path=tmp_path / "dataset.fits", overwrite=True)
    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        assert hdu_list["DATA"].header["PIXSCAY"] == pytest.approx(PIXEL_SCALE, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAY"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAX"] == pytest.approx(PIXEL_SCALE / N, rel=1e-12)
        assert hdu_list["PSF"].header["CONVOS"] == N
        np.testing.assert_allclose(hdu_list["PSF"].data, fine_kernel_values_from(), rtol=1e-14)


# ----------------------------------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------------------------------


def test__native_psf_file_loaded_with_n2__kernel_exception_naming_both(tmp_path):
    write_data(tmp_path)
    native_psf = aa.Convolver.from_gaussian(shape_native=(9, 9), pixel_scales=PIXEL_SCALE, sigma=0.15, normalize=True)
    native_psf.output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    assert fits.getheader(tmp_path / "psf.fits")["PIXSCAY"] == pytest.approx(PIXEL_SCALE)

    with pytest.raises(
        aa.exc.KernelException,
        match=r"records convolve_over_sample_size=1 and pixel scales \(0.2, 0.2\), but it is read with "
        r"convolve_over_sample_size=2 and pixel_scales=\(0.1, 0.1\)",
    ):
        load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)

    # At N = 1 it loads as it always did, with no warning (it records the data's pixel scale).
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # not the release's unclosed-file ResourceWarnings
        dataset = load(tmp_path)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, native_psf.kernel.native.array, rtol=1e-14)


def test__psf_file_recording_only_a_fine_pixel_scale__warns_at_n1_and_loads_as_the_release(tmp_path):
    write_data(tmp_path)
    # A fine PSF (0.1" for 0.2" data) whose header records its pixel scale but no CONVOS.
    hdu = fits.PrimaryHDU(fine_kernel_values_from(scale=3.0))
    hdu.header["PIXSCAY"] = PIXEL_SCALE / 2
    hdu.header["PIXSCAX"] = PIXEL_SCALE / 2
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)

    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE
    ) == 2
    with pytest.warns(UserWarning, match="oversampled by 2.*convolve_over_sample_size_lp=2"):
        dataset = load(tmp_path)
    # read as the release reads it: the kernel's values, normalised, at the data pixel scale
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine_kernel_values_from(), rtol=1e-14)
    assert dataset.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
    assert dataset.psf.convolve_over_sample_size == 1

    with pytest.warns(UserWarning, match="oversampled by 2.*convolve_over_sample_size=2 to the Convolver"):
        aa.Convolver.from_fits(file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE)

    dataset = load(tmp_path, convolve_over_sample_size_lp=2, convolve_over_sample_size_pixelization=2)
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / 2,) * 2, rel=1e-14)

    # the same file as a Convolver writes it that was not told its N: its pixel scale says N = 2
    aa.Convolver(
        kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(scale=3.0), pixel_scales=PIXEL_SCALE / 2)
    ).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    with pytest.warns(UserWarning, match="oversampled by 2.*convolve_over_sample_size_lp=2"):
        dataset = load(tmp_path)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine_kernel_values_from(), rtol=1e-14)


def test__fine_psf_in_memory_at_n1__warns_naming_the_n_to_set():
    data, noise_map = data_and_noise()
    psf = aa.Convolver(kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(), pixel_scales=PIXEL_SCALE / 2))
    with pytest.warns(UserWarning, match="convolve_over_sample_size_lp=2"):
        aa.Imaging(data=data, noise_map=noise_map, psf=psf)


def test__fine_psf_in_memory_at_n1__is_used_unchanged():
    """Whatever it warns, the release's result: the PSF object and its N are kept at N = 1."""
    data, noise_map = data_and_noise()
    psf = aa.Convolver(kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(), pixel_scales=PIXEL_SCALE / 2))
    dataset = aa.Imaging(data=data, noise_map=noise_map, psf=psf)
    assert dataset.psf is psf
    assert dataset.psf.convolve_over_sample_size == 1
    assert dataset.psf.kernel.pixel_scales == (PIXEL_SCALE / 2, PIXEL_SCALE / 2)

    # A PSF at the data's pixel scale (or any scale that is not the data's / an integer) gets no warning.
    for pixel_scale in (PIXEL_SCALE, 1.0, PIXEL_SCALE / 2.5):
        kernel = aa.Array2D.no_mask(values=fine_kernel_values_from(), pixel_scales=pixel_scale)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # not the release's unclosed-file ResourceWarnings
            aa.Imaging(data=data, noise_map=noise_map, psf=aa.Convolver(kernel=kernel))


def test__convos_that_is_not_an_integer__refused_at_n_above_1_and_ignored_with_a_warning_at_n1(tmp_path):
    write_data(tmp_path)
    for value in (2.5, True):
        hdu = fits.PrimaryHDU(fine_kernel_values_from())
        hdu.header["CONVOS"] = value
        hdu.writeto(tmp_path / "psf.fits", overwrite=True)
        message = rf"records CONVOS = {re.escape(repr(value))}, which is not an integer.*Correct or remove the CONVOS"
        with pytest.raises(aa.exc.KernelException, match=message):
            aa.Convolver.convolve_over_sample_size_from_fits(file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE)
        with pytest.raises(aa.exc.KernelException, match=message):
            load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
        with pytest.warns(UserWarning, match=rf"records CONVOS = {re.escape(repr(value))}.*it is ignored"):
            dataset = load(tmp_path)
        assert dataset.psf.convolve_over_sample_size == 1


def test__recorded_pixel_scale__checked_to_the_stated_relative_tolerance(tmp_path):
    write_data(tmp_path)
    for relative, accepted in ((1.0e-7, True), (1.0e-5, False)):
        hdu = fits.PrimaryHDU(fine_kernel_values_from())
        hdu.header["PIXSCAY"] = PIXEL_SCALE / N * (1.0 + relative)
        hdu.header["PIXSCAX"] = PIXEL_SCALE / N * (1.0 + relative)
        hdu.writeto(tmp_path / "psf.fits", overwrite=True)
        if accepted:
            dataset = load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
            assert dataset.psf.convolve_over_sample_size == N
        else:
            with pytest.raises(aa.exc.KernelException, match=r"records convolve_over_sample_size=None and pixel scales"):
                load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)


def test__even_psf_file_recording_n_read_at_n1__convolver_from_fits_names_the_n(tmp_path):
    hdu = fits.PrimaryHDU(np.ones((8, 8)))
    hdu.header["CONVOS"] = 2
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)
    with pytest.warns(UserWarning, match="oversampled by 2"):
        with pytest.raises(
            aa.exc.KernelException, match=r"even shape \(8, 8\) and records a PSF oversampled by 2: read it with "
            r"convolve_over_sample_size=2"
        ):
            aa.Convolver.from_fits(file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE)
    # read with its N, the even kernel is re-centred
    with pytest.warns(UserWarning, match=r"even shape \(8, 8\)"):
        psf = aa.Convolver.from_fits(
            file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE / 2, convolve_over_sample_size=2
        )
    assert psf.kernel.shape_native == (9, 9)


# ----------------------------------------------------------------------------------------------------------------------
# The user's PSF object and numpy integers
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_fft", [True, False])
def test__users_psf_never_convolves_with_a_stale_kernel(use_fft):
    """
    A user's N = 2 PSF holding the state of a mask, with an unnormalised kernel: pass it to Imaging (which normalises
    the kernel in place, as the release does) and convolve again. The result is the brute force of its current
    (normalised) kernel, on numpy and JAX, not that of the kernel its state was built from.
    """
    mask = mask_from()
    psf = fine_psf_from(use_fft=use_fft, scale=98.0, state_mask=mask)
    image, blurring, blurring_mask = fine_image_and_blurring_from(mask, psf.footprint_shape_native)
    before = psf.convolved_fine_image_from(fine_image=jnp.asarray(image), mask=mask, fine_blurring_image=jnp.asarray(blurring), xp=jnp)
    expected_before = brute_force_from(mask, blurring_mask, fine_kernel_values_from(scale=98.0), image, blurring)
    np.testing.assert_allclose(np.asarray(before.array), expected_before, rtol=0.0, atol=1e-12 * np.max(expected_before))

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

    expected = brute_force_from(mask, blurring_mask, fine_kernel_values_from(), image, blurring)
    for xp in (np, jnp):
        after = psf.convolved_fine_image_from(
            fine_image=xp.asarray(image), mask=mask, fine_blurring_image=xp.asarray(blurring), xp=xp
        )
        np.testing.assert_allclose(np.asarray(after.array), expected, rtol=0.0, atol=1e-12 * np.max(expected))


def test__numpy_integers_are_accepted_wherever_an_n_is():
    n = np.int64(2)
    psf = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=fine_kernel_values_from(), pixel_scales=PIXEL_SCALE / 2),
        convolve_over_sample_size=n,
    )
    assert psf.convolve_over_sample_size == 2 and type(psf.convolve_over_sample_size) is int
    data, noise_map = data_and_noise()
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=4,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=np.int32(2),
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=mask_from())
    assert dataset.convolve_over_sample_size_lp == 2
    mask = dataset.mask
    image, blurring, blurring_mask = fine_image_and_blurring_from(mask, dataset.psf.footprint_shape_native)
    expected = brute_force_from(mask, blurring_mask, fine_kernel_values_from(), image, blurring)
    result = dataset.psf.convolved_fine_image_from(fine_image=image, mask=mask, fine_blurring_image=blurring).array
    np.testing.assert_allclose(result, expected, rtol=0.0, atol=1e-12 * np.max(expected))
    assert aa.Convolver.from_gaussian(
        shape_native=(9, 9), pixel_scales=0.1, sigma=0.15, convolve_over_sample_size=np.int16(2)
    ).convolve_over_sample_size == 2


# ----------------------------------------------------------------------------------------------------------------------
# Other writers' header spellings: poppy / STPSF (PIXELSCL, OVERSAMP, DET_SAMP, EXTNAME) and PSFEx (PSF_SAMP)
# ----------------------------------------------------------------------------------------------------------------------


def write_poppy_like(path, n, oversamp=None, det_samp=None):
    """
    A file laid out as poppy 1.1.2's `Instrument.calc_psf` writes it: the OVERSAMP HDU (PIXELSCL, OVERSAMP,
    DET_SAMP) first, then the DET_SAMP extension, binned to the detector, which records OVERSAMP = 1 for itself and
    keeps DET_SAMP = n and CALCSAMP = n.
    """
    native = aa.Convolver.from_gaussian(shape_native=(9, 9), pixel_scales=PIXEL_SCALE, sigma=0.15, normalize=True)
    fine_values = fine_kernel_values_from(n=n)
    primary = fits.PrimaryHDU(fine_values)
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
    return native, fine_values


def test__poppy_file__oversamp_extension_by_extname_loads_with_the_n_its_pixelscl_gives(tmp_path):
    write_data(tmp_path)
    native, fine_values = write_poppy_like(tmp_path / "psf.fits", n=N)

    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu="OVERSAMP", pixel_scales=PIXEL_SCALE
    ) == N
    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu="DET_SAMP", pixel_scales=PIXEL_SCALE
    ) == 1

    dataset = load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine_values, rtol=1e-14)
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / N,) * 2, rel=1e-14)

    # the wrong N for its PIXELSCL is an error naming both
    with pytest.raises(
        aa.exc.KernelException,
        match=r"records convolve_over_sample_size=2 and pixel scales \(0.1, 0.1\), but it is read with "
        r"convolve_over_sample_size=4 and pixel_scales=\(0.05, 0.05\)",
    ):
        load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=4, convolve_over_sample_size_pixelization=4)

    # at N = 1 it loads as the release loads it, with a warning naming its N
    with pytest.warns(UserWarning, match="oversampled by 2"):
        native_read = load(tmp_path, psf_hdu="OVERSAMP")
    assert native_read.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)

    # the DET_SAMP (native) extension, whose DET_SAMP is its sibling's, loads at N = 1 without a word
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # not the release's unclosed-file ResourceWarnings
        det_samp = load(tmp_path, psf_hdu="DET_SAMP")
    np.testing.assert_allclose(det_samp.psf.kernel.native.array, native.kernel.native.array, rtol=1e-14)


def test__poppy_file__oversamp_and_det_samp_are_not_read__pixelscl_decides_without_a_warning(tmp_path):
    """poppy 1.1.2 writes OVERSAMP = DET_SAMP = 2 for a detector oversampled by 4: PIXELSCL decides, silently."""
    write_data(tmp_path)
    write_poppy_like(tmp_path / "psf.fits", n=4, oversamp=2, det_samp=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # not the release's unclosed-file ResourceWarnings
        n = aa.Convolver.convolve_over_sample_size_from_fits(
            file_path=tmp_path / "psf.fits", hdu="OVERSAMP", pixel_scales=PIXEL_SCALE
        )
        dataset = load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=4, convolve_over_sample_size_pixelization=4)
    assert n == 4
    assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / 4,) * 2)
    # and N = 2 (what OVERSAMP says) is refused by the pixel scale
    with pytest.raises(aa.exc.KernelException, match=r"records convolve_over_sample_size=4 and pixel scales \(0.05, 0.05\)"):
        load(tmp_path, psf_hdu="OVERSAMP", convolve_over_sample_size_lp=2, convolve_over_sample_size_pixelization=2)


def test__psfex_psf_samp__gives_the_pixel_scale_and_is_checked(tmp_path):
    write_data(tmp_path)
    hdu = fits.PrimaryHDU(fine_kernel_values_from())
    hdu.header["PSF_SAMP"] = 1.0 / N
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)

    assert aa.Convolver.convolve_over_sample_size_from_fits(
        file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE
    ) == N
    dataset = load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)
    np.testing.assert_allclose(dataset.psf.kernel.native.array, fine_kernel_values_from(), rtol=1e-14)
    with pytest.raises(aa.exc.KernelException, match=r"records convolve_over_sample_size=2 and pixel scales \(0.1, 0.1\)"):
        load(tmp_path, convolve_over_sample_size_lp=3, convolve_over_sample_size_pixelization=3)
    with pytest.warns(UserWarning, match="oversampled by 2"):
        load(tmp_path)


def test__recorded_pixel_scales_from__reads_every_writers_keywords():
    assert psf_fits.recorded_pixel_scales_from(header=fits.Header({"PIXSCAY": 0.05, "PIXSCAX": 0.04}), data_pixel_scales=(0.2, 0.2)) == (0.05, 0.04)
    assert psf_fits.recorded_pixel_scales_from(header=fits.Header({"PIXELSCL": 0.025}), data_pixel_scales=(0.1, 0.1)) == (0.025, 0.025)
    assert psf_fits.recorded_pixel_scales_from(header=fits.Header({"PSF_SAMP": 0.25}), data_pixel_scales=(0.2, 0.1)) == pytest.approx((0.05, 0.025))
    assert psf_fits.recorded_pixel_scales_from(header=fits.Header({"OVERSAMP": 4, "DET_SAMP": 4}), data_pixel_scales=(0.1, 0.1)) is None


def test__a_recorded_pixel_scale_that_is_not_the_data_s_over_an_integer__refused_at_n_above_1(tmp_path):
    write_data(tmp_path)
    hdu = fits.PrimaryHDU(fine_kernel_values_from())
    hdu.header["PIXELSCL"] = PIXEL_SCALE / 2.5
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)
    with pytest.raises(aa.exc.KernelException, match=r"records convolve_over_sample_size=None and pixel scales \(0.08, 0.08\)"):
        load(tmp_path, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N)


def test__a_recorded_pixel_scale_that_is_not_the_data_s_over_an_integer__cannot_give_n(tmp_path):
    hdu = fits.PrimaryHDU(np.ones((9, 9)))
    hdu.header["PIXELSCL"] = PIXEL_SCALE / 2.5
    hdu.writeto(tmp_path / "psf.fits", overwrite=True)
    with pytest.raises(aa.exc.KernelException, match=r"0.08"):
        aa.Convolver.convolve_over_sample_size_from_fits(file_path=tmp_path / "psf.fits", hdu=0, pixel_scales=PIXEL_SCALE)


# ----------------------------------------------------------------------------------------------------------------------
# Imaging.from_fits(convolve_over_sample_size_from_psf=True): N from the PSF file in one call
# ----------------------------------------------------------------------------------------------------------------------


def test__from_fits_n_from_psf__each_writers_file_gives_its_n_and_the_explicit_call_s_fit(tmp_path):
    write_data(tmp_path)
    fine_psf_from(n=3).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)  # CONVOS = 3
    write_poppy_like(tmp_path / "poppy.fits", n=N)  # PIXELSCL only
    mask = mask_from()

    for psf_path, psf_hdu, n in ((tmp_path / "psf.fits", 0, 3), (tmp_path / "poppy.fits", "OVERSAMP", N)):
        kwargs = dict(
            data_path=tmp_path / "data.fits",
            noise_map_path=tmp_path / "noise_map.fits",
            psf_path=psf_path,
            psf_hdu=psf_hdu,
            pixel_scales=PIXEL_SCALE,
            over_sample_size_lp=2 * n,
            over_sample_size_pixelization=2 * n,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # the file is used at its own N: nothing to warn about
            dataset = aa.Imaging.from_fits(convolve_over_sample_size_from_psf=True, **kwargs)
        explicit = aa.Imaging.from_fits(
            convolve_over_sample_size_lp=n, convolve_over_sample_size_pixelization=n, **kwargs
        )
        assert (dataset.convolve_over_sample_size_lp, dataset.convolve_over_sample_size_pixelization) == (n, n)
        assert dataset.psf.convolve_over_sample_size == n
        assert dataset.psf.kernel.pixel_scales == pytest.approx((PIXEL_SCALE / n,) * 2, rel=1e-14)

        # Blurred alike: the same fine image through both datasets' PSFs.
        masked, masked_explicit = dataset.apply_mask(mask=mask), explicit.apply_mask(mask=mask)
        fine_image, fine_blurring, _ = fine_image_and_blurring_from(mask, masked.psf.footprint_shape_native, n=n)
        np.testing.assert_array_equal(
            masked.psf.convolved_fine_image_from(fine_image=fine_image, mask=mask, fine_blurring_image=fine_blurring).array,
            masked_explicit.psf.convolved_fine_image_from(
                fine_image=fine_image, mask=mask, fine_blurring_image=fine_blurring
            ).array,
        )


def test__from_fits_n_from_psf__a_size_given_is_kept_and_a_native_file_gives_n1(tmp_path):
    write_data(tmp_path)
    fine_psf_from(n=4).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    dataset = load(
        tmp_path,
        convolve_over_sample_size_from_psf=True,
        convolve_over_sample_size_pixelization=2,
        over_sample_size_lp=8,
        over_sample_size_pixelization=4,
    )
    assert (dataset.convolve_over_sample_size_lp, dataset.convolve_over_sample_size_pixelization) == (4, 2)

    aa.Convolver.from_gaussian(shape_native=(9, 9), pixel_scales=PIXEL_SCALE, sigma=0.15).output_to_fits(
        file_path=tmp_path / "psf.fits", overwrite=True
    )
    native = load(tmp_path, convolve_over_sample_size_from_psf=True)
    assert (native.convolve_over_sample_size_lp, native.convolve_over_sample_size_pixelization) == (1, 1)
    assert native.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)


def test__from_fits_n_from_psf__without_a_psf_path__dataset_exception(tmp_path):
    write_data(tmp_path)
    with pytest.raises(aa.exc.DatasetException, match="no psf_path"):
        aa.Imaging.from_fits(
            data_path=tmp_path / "data.fits",
            noise_map_path=tmp_path / "noise_map.fits",
            pixel_scales=PIXEL_SCALE,
            convolve_over_sample_size_from_psf=True,
        )


def test__from_fits_n_from_psf__off_by_default__an_oversampled_file_is_read_at_n1_with_the_warning(tmp_path):
    write_data(tmp_path)
    fine_psf_from(n=N).output_to_fits(file_path=tmp_path / "psf.fits", overwrite=True)
    with pytest.warns(UserWarning, match="oversampled by 2"):
        dataset = load(tmp_path)
    assert dataset.convolve_over_sample_size_lp == 1
    assert dataset.psf.kernel.pixel_scales == (PIXEL_SCALE, PIXEL_SCALE)
