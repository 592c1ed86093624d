"""
Saving and reloading an oversampled-PSF imaging dataset (`convolve_over_sample_size` N > 1).

- `Convolver.output_to_fits` always records the kernel's own pixel scales (PIXSCAY, PIXSCAX) and, for N > 1,
  CONVOS = N (a native PSF records no N other than 1). `Convolver.from_fits(..., convolve_over_sample_size=N)` with
  N > 1 raises a KernelException for a file recording another N or pixel scale; at N = 1 a file recording N > 1 is
  read as given, with a warning naming the keywords to set.
- `Imaging.from_fits(..., psf_path=...)` at the default sizes (1) warns, never raises, for a PSF file recording N > 1;
  with the file's N it loads a dataset that fits as the original; with another N it raises a KernelException.
- A search's `dataset.fits`, written by `PlotterImaging.imaging`, records in its PSF extension only (hdu 3, EXTNAME
  PSF) the PSF's fine pixel scales, CONVOS = N and the dataset's two sizes (CONVOSLP, CONVOSPX); a native dataset
  writes no CONVOS anywhere. The aggregator's `_imaging_from` restores the dataset, so it fits identically.
- `AnalysisDataset.raise_if_output_has_another_convolution` refuses to resume from the output of other sizes.

Headers are read back with astropy directly, independently of the library's readers.
"""

import warnings

import numpy as np
import pytest
from astropy.io import fits

import autoarray as aa
import autogalaxy as ag
from autogalaxy.aggregator.imaging.imaging import _imaging_from
from autogalaxy.imaging.model import plotter as plotter_module

PS = 0.1
SHAPE = (26, 26)

# Reloading normalises the saved (already normalised) PSF once more, which can change the kernel in its last bit;
# the release does the same at N = 1 (its reloaded log likelihood can differ from the original by an ulp or two).
# "Identical" therefore means equal to rounding.
RTOL_RELOAD = 1e-12


def fine_psf_from(N):
    return aa.Convolver.from_gaussian(
        shape_native=(4 * N + 1, 4 * N + 1),
        pixel_scales=PS / N,
        sigma=0.08,
        axis_ratio=0.7,
        angle=25.0,
        normalize=True,
        convolve_over_sample_size=N,
    )


def native_psf():
    return aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.08, normalize=True)


def data_and_noise():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    image = np.exp(-((yy - 12.3) ** 2 + (xx - 13.1) ** 2) / 8.0) + 0.02 * rng.standard_normal(SHAPE)
    data = aa.Array2D.no_mask(values=image, pixel_scales=PS)
    noise_map = aa.Array2D.full(fill_value=0.02, shape_native=SHAPE, pixel_scales=PS)
    return data, noise_map


def mask_from():
    return aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0)


def masked_dataset_from(N, k, n_pix=None):
    """The PSF at N, the light profiles at N and the pixelization at `n_pix` (N by default); N = 1 is native."""
    data, noise_map = data_and_noise()
    n_pix = N if n_pix is None else n_pix
    dataset = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=native_psf() if N == 1 else fine_psf_from(N),
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=n_pix,
    )
    return dataset.apply_mask(mask=mask_from())


def galaxies():
    return [
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Sersic(
                centre=(0.03, 0.05), intensity=0.8, effective_radius=0.25, sersic_index=1.5
            ),
        )
    ]


def oversampling_warnings(caught):
    return [w for w in caught if "oversampled by" in str(w.message)]


# ----------------------------------------------------------------------------------------------------------------------
# Convolver.output_to_fits / from_fits
# ----------------------------------------------------------------------------------------------------------------------


def test__psf_output_to_fits__records_pixel_scales_and_convos__from_fits_checks_them(tmp_path):
    N = 2
    psf = fine_psf_from(N)
    path = tmp_path / "psf.fits"
    psf.output_to_fits(file_path=path)

    with fits.open(path) as hdu_list:
        header = hdu_list[0].header
        assert header["CONVOS"] == N
        assert header["PIXSCAY"] == pytest.approx(PS / N, rel=1e-12)
        assert header["PIXSCAX"] == pytest.approx(PS / N, rel=1e-12)
        np.testing.assert_array_equal(hdu_list[0].data, psf.kernel.native.array)

    loaded = aa.Convolver.from_fits(
        file_path=path, hdu=0, pixel_scales=PS / N, convolve_over_sample_size=N
    )
    assert loaded.convolve_over_sample_size == N
    np.testing.assert_array_equal(loaded.kernel.native.array, psf.kernel.native.array)

    # Another N.
    with pytest.raises(aa.exc.KernelException, match="records convolve_over_sample_size=2"):
        aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=PS / 3, convolve_over_sample_size=3)
    # The same N at another pixel scale (data at 0.08"): the file records 0.05".
    with pytest.raises(aa.exc.KernelException, match="pixel scales"):
        aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=0.04, convolve_over_sample_size=N)

    # N = 1: read as given (a native PSF of the same values), with a warning naming the N to set; never an error.
    with pytest.warns(UserWarning, match="convolve_over_sample_size=2 to the Convolver"):
        native = aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=PS / N)
    assert native.convolve_over_sample_size == 1
    np.testing.assert_array_equal(native.kernel.native.array, psf.kernel.native.array)


def test__native_psf_output_to_fits__records_its_pixel_scales_and_reads_back_without_a_warning(tmp_path):
    """
    A native PSF's file records its pixel scales and no N other than 1 (CONVOS = 1, or no CONVOS: DESIGN.md section
    8 asks for CONVOS only at N > 1), is read back as native without a warning, and is refused as an oversampled PSF.
    """
    psf = native_psf()
    path = tmp_path / "psf.fits"
    psf.output_to_fits(file_path=path)
    with fits.open(path) as hdu_list:
        header = hdu_list[0].header
        assert header.get("CONVOS", 1) == 1
        assert header["PIXSCAY"] == pytest.approx(PS, rel=1e-12)
        assert header["PIXSCAX"] == pytest.approx(PS, rel=1e-12)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=PS)
    assert oversampling_warnings(caught) == []
    assert loaded.convolve_over_sample_size == 1

    # Read as an oversampled PSF it is refused: it records N = 1.
    with pytest.raises(aa.exc.KernelException, match="records convolve_over_sample_size=1"):
        aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=PS / 2, convolve_over_sample_size=2)


def test__imaging_from_fits__round_trip__warns_at_n_1__raises_at_another_n(tmp_path):
    N, k = 2, 2
    data, noise_map = data_and_noise()
    fits.PrimaryHDU(data.native.array).writeto(tmp_path / "data.fits")
    fits.PrimaryHDU(noise_map.native.array).writeto(tmp_path / "noise_map.fits")
    fine_psf_from(N).output_to_fits(file_path=tmp_path / "psf.fits")

    paths = dict(
        data_path=tmp_path / "data.fits",
        noise_map_path=tmp_path / "noise_map.fits",
        psf_path=tmp_path / "psf.fits",
        pixel_scales=PS,
    )
    mask = mask_from()
    original = masked_dataset_from(N=N, k=k)
    log_likelihood = ag.FitImaging(dataset=original, galaxies=galaxies()).log_likelihood

    # The defaults: read as a native PSF, with a warning naming the keywords to set; never an error.
    with pytest.warns(
        UserWarning, match="convolve_over_sample_size_lp=2 and convolve_over_sample_size_pixelization=2"
    ):
        as_native = ag.Imaging.from_fits(**paths, over_sample_size_lp=k * N, over_sample_size_pixelization=k * N)
    assert as_native.psf.convolve_over_sample_size == 1
    assert as_native.convolve_over_sample_size_lp == 1
    # ... which fits differently (the warning is about a real difference).
    native_log_likelihood = ag.FitImaging(dataset=as_native.apply_mask(mask=mask), galaxies=galaxies()).log_likelihood
    assert native_log_likelihood != pytest.approx(log_likelihood, rel=1e-6)

    loaded = ag.Imaging.from_fits(
        **paths,
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    assert loaded.psf.convolve_over_sample_size == N
    assert loaded.psf.kernel.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)

    loaded = loaded.apply_mask(mask=mask)
    assert ag.FitImaging(dataset=loaded, galaxies=galaxies()).log_likelihood == pytest.approx(
        log_likelihood, rel=RTOL_RELOAD, abs=0
    )

    with pytest.raises(aa.exc.KernelException, match="records convolve_over_sample_size=2"):
        ag.Imaging.from_fits(
            **paths,
            over_sample_size_lp=3,
            over_sample_size_pixelization=3,
            convolve_over_sample_size_lp=3,
            convolve_over_sample_size_pixelization=3,
        )


# ----------------------------------------------------------------------------------------------------------------------
# A search's dataset.fits and the aggregator
# ----------------------------------------------------------------------------------------------------------------------


class FakeFit:
    """The part of a PyAutoFit `Fit` the aggregator reads: `children` and `value(name)` (an open .fits)."""

    def __init__(self, directory):
        self.directory = directory
        self.children = []

    def value(self, name):
        return fits.open(self.directory / f"{name}.fits")


def fits_dataset_only(monkeypatch):
    """Only the .fits output is needed, not the PNG subplot."""
    monkeypatch.setattr(
        plotter_module, "plot_setting", lambda section, name: name == "fits_dataset"
    )


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__dataset_fits__psf_extension_records_n__aggregator_restores_identical_fit(tmp_path, monkeypatch, N, k):
    fits_dataset_only(monkeypatch)
    dataset = masked_dataset_from(N=N, k=k)
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)

    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        psf_header = hdu_list[3].header
        assert psf_header["EXTNAME"] == "PSF"
        assert hdu_list[3].data.shape == dataset.psf.kernel.shape_native
        # the PSF extension says what its kernel is: the fine pixel scale, not the data's
        assert hdu_list["DATA"].header["PIXSCAY"] == pytest.approx(PS, rel=1e-12)
        assert psf_header["PIXSCAY"] == pytest.approx(PS / N, rel=1e-12)
        assert psf_header["PIXSCAX"] == pytest.approx(PS / N, rel=1e-12)
        assert (psf_header["CONVOS"], psf_header["CONVOSLP"], psf_header["CONVOSPX"]) == (N, N, N)
        # and only the PSF extension records N
        for index, hdu in enumerate(hdu_list):
            if index != 3:
                assert "CONVOS" not in hdu.header, hdu.name
                assert "CONVOSLP" not in hdu.header, hdu.name

    (reloaded,) = _imaging_from(FakeFit(tmp_path))

    assert reloaded.psf.convolve_over_sample_size == N
    assert reloaded.convolve_over_sample_size_lp == N
    assert reloaded.convolve_over_sample_size_pixelization == N
    assert reloaded.psf.kernel.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert np.all(np.asarray(reloaded.over_sample_size_lp.array) == k * N)
    assert np.all(np.asarray(reloaded.over_sample_size_pixelization.array) == k * N)
    assert np.all(np.asarray(reloaded.grids.blurring.over_sample_size.array) == N)
    np.testing.assert_array_equal(np.asarray(reloaded.mask), np.asarray(dataset.mask))
    np.testing.assert_array_equal(reloaded.data.array, dataset.data.array)

    np.testing.assert_allclose(
        reloaded.psf.kernel.native.array, dataset.psf.kernel.native.array, rtol=1e-15, atol=0
    )

    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies())
    fit_reloaded = ag.FitImaging(dataset=reloaded, galaxies=galaxies())
    assert fit_reloaded.log_likelihood == pytest.approx(fit.log_likelihood, rel=RTOL_RELOAD, abs=0)
    np.testing.assert_allclose(
        fit_reloaded.model_data.array,
        fit.model_data.array,
        rtol=0,
        atol=RTOL_RELOAD * np.max(fit.model_data.array),
    )
    # Sanity: the same data fitted with a native PSF gives another likelihood (so the equality is meaningful).
    native_fit = ag.FitImaging(dataset=masked_dataset_from(N=1, k=k * N), galaxies=galaxies())
    assert native_fit.log_likelihood != pytest.approx(fit.log_likelihood, rel=1e-6)


def test__dataset_fits__native_dataset_has_no_convos(tmp_path, monkeypatch):
    fits_dataset_only(monkeypatch)
    dataset = masked_dataset_from(N=1, k=4)
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)

    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        for hdu in hdu_list:
            for key in ("CONVOS", "CONVOSLP", "CONVOSPX"):
                assert key not in hdu.header, (hdu.name, key)

    (reloaded,) = _imaging_from(FakeFit(tmp_path))
    assert reloaded.psf.convolve_over_sample_size == 1
    assert reloaded.convolve_over_sample_size_lp == 1
    assert reloaded.convolve_over_sample_size_pixelization == 1
    assert np.all(np.asarray(reloaded.grids.blurring.over_sample_size.array) == 1)
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies())
    assert ag.FitImaging(dataset=reloaded, galaxies=galaxies()).log_likelihood == pytest.approx(
        fit.log_likelihood, rel=RTOL_RELOAD, abs=0
    )


@pytest.mark.parametrize("n_lp, n_pix", [(4, 2), (1, 2)])
def test__dataset_fits__mixed_n_and_adaptive_sizes__aggregator_restores_identical_fit(
    tmp_path, monkeypatch, n_lp, n_pix
):
    """Light profiles and pixelization at their own N, radial-bin sizes: all of it survives dataset.fits."""
    fits_dataset_only(monkeypatch)
    data, noise_map = data_and_noise()
    n = max(n_lp, n_pix)
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS), sub_size_list=[2 * n, n], radial_list=[0.4]
    )
    dataset = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=fine_psf_from(N=n),
        over_sample_size_lp=sizes,
        over_sample_size_pixelization=sizes,
        convolve_over_sample_size_lp=n_lp,
        convolve_over_sample_size_pixelization=n_pix,
    ).apply_mask(mask=mask_from())
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)
    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        header = hdu_list[3].header
        assert (header["CONVOS"], header["CONVOSLP"], header["CONVOSPX"]) == (n, n_lp, n_pix)
        assert header["PIXSCAY"] == pytest.approx(PS / n, rel=1e-12)

    (reloaded,) = _imaging_from(FakeFit(tmp_path))
    assert reloaded.convolve_over_sample_size_lp == n_lp
    assert reloaded.convolve_over_sample_size_pixelization == n_pix
    assert reloaded.psf.convolve_over_sample_size == n
    assert reloaded.psf_lp.convolve_over_sample_size == n_lp
    assert reloaded.psf_pixelization.convolve_over_sample_size == n_pix
    np.testing.assert_array_equal(
        np.asarray(reloaded.over_sample_size_lp.array), np.asarray(dataset.over_sample_size_lp.array)
    )
    np.testing.assert_array_equal(
        np.asarray(reloaded.over_sample_size_pixelization.array),
        np.asarray(dataset.over_sample_size_pixelization.array),
    )
    assert len(np.unique(np.asarray(reloaded.over_sample_size_lp.array))) == 2
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies())
    fit_reloaded = ag.FitImaging(dataset=reloaded, galaxies=galaxies())
    assert fit_reloaded.log_likelihood == pytest.approx(fit.log_likelihood, rel=RTOL_RELOAD, abs=0)


# ----------------------------------------------------------------------------------------------------------------------
# A search never resumes from the output of another convolution over sample size
# ----------------------------------------------------------------------------------------------------------------------


class FakePaths:
    """The two attributes of a search's paths the check reads: its output folder and image suffix."""

    def __init__(self, output_path):
        self.output_path = output_path
        self.image_path_suffix = ""


def write_previous_run(tmp_path, monkeypatch, dataset):
    """The image/dataset.fits a previous run of the search wrote, by the search's own plotter."""
    fits_dataset_only(monkeypatch)
    (tmp_path / "image").mkdir(exist_ok=True)
    plotter_module.PlotterImaging(image_path=tmp_path / "image").imaging(dataset=dataset)


@pytest.mark.parametrize(
    "saved, current", [((1, 1), (2, 2)), ((2, 2), (1, 1)), ((2, 2), (3, 3)), ((4, 2), (4, 4))]
)
def test__resuming_from_output_of_other_sizes__raises(tmp_path, monkeypatch, saved, current):
    write_previous_run(tmp_path, monkeypatch, masked_dataset_from(N=saved[0], k=1, n_pix=saved[1]))

    analysis = ag.AnalysisImaging(
        dataset=masked_dataset_from(N=current[0], k=1, n_pix=current[1]), use_jax=False
    )
    with pytest.raises(ag.exc.AnalysisException) as e:
        analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))
    message = str(e.value)
    assert (
        f"(convolve_over_sample_size_lp, convolve_over_sample_size_pixelization) = {saved}, "
        f"but this dataset has {current}"
    ) in message
    assert "unique_tag" in message


@pytest.mark.parametrize("sizes", [(1, 1), (2, 2), (4, 2)])
def test__resuming_from_output_of_the_same_sizes__is_allowed(tmp_path, monkeypatch, sizes):
    dataset = masked_dataset_from(N=sizes[0], k=1, n_pix=sizes[1])
    analysis = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))  # no output yet
    write_previous_run(tmp_path, monkeypatch, dataset)
    assert (tmp_path / "image" / "dataset.fits").exists()
    analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))
