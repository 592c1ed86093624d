"""
Saving and reloading an oversampled-PSF imaging dataset (`convolve_over_sample_size` N > 1).

- `Convolver.output_to_fits` writes the header keyword CONVOS = N; `Convolver.from_fits(...,
  convolve_over_sample_size=N)` checks it and raises a KernelException on a mismatch.
- `Imaging.from_fits(..., psf_path=...)` refuses (DatasetException) to load a PSF saved with N > 1 as a native one.
- A search's `dataset.fits`, written by `PlotterImaging.imaging`, records CONVOS, and the aggregator's
  `_imaging_from` restores the fine PSF, N and the over-sample sizes, so the reloaded dataset fits identically.

Headers are read back with astropy directly, independently of the library's readers.
"""

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


def data_and_noise():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    image = np.exp(-((yy - 12.3) ** 2 + (xx - 13.1) ** 2) / 8.0) + 0.02 * rng.standard_normal(SHAPE)
    data = aa.Array2D.no_mask(values=image, pixel_scales=PS)
    noise_map = aa.Array2D.full(fill_value=0.02, shape_native=SHAPE, pixel_scales=PS)
    return data, noise_map


def masked_dataset_from(N, k):
    data, noise_map = data_and_noise()
    dataset = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=fine_psf_from(N),
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0)
    return dataset.apply_mask(mask=mask)


def galaxies():
    return [
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Sersic(
                centre=(0.03, 0.05), intensity=0.8, effective_radius=0.25, sersic_index=1.5
            ),
        )
    ]


def test__psf_output_to_fits__writes_convos_and_from_fits_checks_it(tmp_path):
    N = 2
    psf = fine_psf_from(N)
    path = tmp_path / "psf.fits"
    psf.output_to_fits(file_path=path)

    with fits.open(path) as hdu_list:
        assert hdu_list[0].header["CONVOS"] == N
        np.testing.assert_array_equal(hdu_list[0].data, psf.kernel.native.array)

    loaded = aa.Convolver.from_fits(
        file_path=path, hdu=0, pixel_scales=PS / N, convolve_over_sample_size=N
    )
    assert loaded.convolve_over_sample_size == N
    np.testing.assert_array_equal(loaded.kernel.native.array, psf.kernel.native.array)

    for wrong in (1, 3):
        kwargs = {} if wrong == 1 else {"convolve_over_sample_size": wrong}
        with pytest.raises(aa.exc.KernelException) as e:
            aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=PS / N, **kwargs)
        assert "saved with convolve_over_sample_size=2" in str(e.value)


def test__native_psf_output_to_fits__has_no_convos(tmp_path):
    psf = aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.1, normalize=True)
    path = tmp_path / "psf.fits"
    psf.output_to_fits(file_path=path)
    with fits.open(path) as hdu_list:
        assert "CONVOS" not in hdu_list[0].header


def test__imaging_from_fits__round_trip_and_guard(tmp_path):
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

    with pytest.raises(aa.exc.KernelException) as e:
        ag.Imaging.from_fits(**paths)
    assert "was saved with convolve_over_sample_size=2" in str(e.value)
    assert "convolve_over_sample_size_pixelization to 2" in str(e.value)

    loaded = ag.Imaging.from_fits(
        **paths,
        over_sample_size_lp=k * N,
        over_sample_size_pixelization=k * N,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    assert loaded.psf.convolve_over_sample_size == N

    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0)
    loaded = loaded.apply_mask(mask=mask)
    original = masked_dataset_from(N=N, k=k)

    log_likelihood = ag.FitImaging(dataset=original, galaxies=galaxies()).log_likelihood
    assert ag.FitImaging(dataset=loaded, galaxies=galaxies()).log_likelihood == pytest.approx(
        log_likelihood, rel=RTOL_RELOAD, abs=0
    )

    # Sanity: the same fit with a native PSF gives a different likelihood (so equality above is meaningful).
    native = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.08, normalize=True),
        over_sample_size_lp=k * N,
    ).apply_mask(mask=mask)
    assert ag.FitImaging(dataset=native, galaxies=galaxies()).log_likelihood != pytest.approx(
        log_likelihood, rel=1e-6
    )


class FakeFit:
    """The part of a PyAutoFit `Fit` the aggregator reads: `children` and `value(name)` (an open .fits)."""

    def __init__(self, directory):
        self.directory = directory
        self.children = []

    def value(self, name):
        return fits.open(self.directory / f"{name}.fits")


@pytest.mark.parametrize("N, k", [(2, 2), (3, 1)])
def test__dataset_fits__records_convos_and_aggregator_restores_identical_fit(tmp_path, monkeypatch, N, k):
    # Only the .fits output is needed, not the PNG subplot.
    monkeypatch.setattr(
        plotter_module, "plot_setting", lambda section, name: name == "fits_dataset"
    )
    dataset = masked_dataset_from(N=N, k=k)
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)

    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        assert hdu_list[0].header["CONVOS"] == N
        assert hdu_list["PSF"].data.shape == dataset.psf.kernel.shape_native
        # the PSF extension says what its kernel is: the fine pixel scale, not the data's
        assert hdu_list["DATA"].header["PIXSCAY"] == pytest.approx(PS, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAY"] == pytest.approx(PS / N, rel=1e-12)
        assert hdu_list["PSF"].header["PIXSCAX"] == pytest.approx(PS / N, rel=1e-12)
        assert hdu_list["PSF"].header["CONVOS"] == N

    (reloaded,) = _imaging_from(FakeFit(tmp_path))

    assert reloaded.psf.convolve_over_sample_size == N
    assert reloaded.convolve_over_sample_size_lp == N
    assert reloaded.convolve_over_sample_size_pixelization == N
    assert reloaded.psf.kernel.pixel_scales == pytest.approx((PS / N, PS / N), rel=1e-12)
    assert np.all(np.asarray(reloaded.over_sample_size_lp.array) == k * N)
    assert np.all(np.asarray(reloaded.over_sample_size_pixelization.array) == k * N)
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


def test__dataset_fits__native_dataset_has_no_convos(tmp_path, monkeypatch):
    monkeypatch.setattr(
        plotter_module, "plot_setting", lambda section, name: name == "fits_dataset"
    )
    data, noise_map = data_and_noise()
    dataset = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.08, normalize=True),
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0))
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)

    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        assert "CONVOS" not in hdu_list[0].header

    (reloaded,) = _imaging_from(FakeFit(tmp_path))
    assert reloaded.psf.convolve_over_sample_size == 1
    assert reloaded.grids.lp_oversampled is None


# ----------------------------------------------------------------------------------------------------------------------
# A search never resumes from the output of another convolution over sample size
# ----------------------------------------------------------------------------------------------------------------------


class FakePaths:
    """The two attributes of a search's paths the check reads: its output folder and image suffix."""

    def __init__(self, output_path):
        self.output_path = output_path
        self.image_path_suffix = ""


def native_masked_dataset():
    data, noise_map = data_and_noise()
    return ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=PS, sigma=0.08, normalize=True),
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0))


def write_previous_run(tmp_path, monkeypatch, dataset):
    """The image/dataset.fits a previous run of the search wrote, by the search's own plotter."""
    monkeypatch.setattr(plotter_module, "plot_setting", lambda section, name: name == "fits_dataset")
    (tmp_path / "image").mkdir(exist_ok=True)
    plotter_module.PlotterImaging(image_path=tmp_path / "image").imaging(dataset=dataset)


@pytest.mark.parametrize("saved_n, current_n", [(1, 2), (2, 1), (2, 3)])
def test__resuming_from_output_of_another_n__raises(tmp_path, monkeypatch, saved_n, current_n):
    saved = native_masked_dataset() if saved_n == 1 else masked_dataset_from(N=saved_n, k=1)
    current = native_masked_dataset() if current_n == 1 else masked_dataset_from(N=current_n, k=1)
    write_previous_run(tmp_path, monkeypatch, saved)

    analysis = ag.AnalysisImaging(dataset=current, use_jax=False)
    with pytest.raises(
        ag.exc.AnalysisException,
        match=rf"convolve_over_sample_size={saved_n} .* this dataset has convolve_over_sample_size={current_n}.*unique_tag",
    ):
        analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))


@pytest.mark.parametrize("n", [1, 2])
def test__resuming_from_output_of_the_same_n__is_allowed(tmp_path, monkeypatch, n):
    dataset = native_masked_dataset() if n == 1 else masked_dataset_from(N=n, k=1)
    analysis = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))  # no output yet
    write_previous_run(tmp_path, monkeypatch, dataset)
    analysis.raise_if_output_has_another_convolution(paths=FakePaths(tmp_path))


def test__dataset_fits__mixed_n_and_adaptive_sizes__aggregator_restores_identical_fit(tmp_path, monkeypatch):
    """Light profiles at N = 4, the pixelization at 2, radial-bin sizes: all of it survives dataset.fits."""
    monkeypatch.setattr(plotter_module, "plot_setting", lambda section, name: name == "fits_dataset")
    data, noise_map = data_and_noise()
    sizes = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PS), sub_size_list=[8, 4], radial_list=[0.4]
    )
    dataset = ag.Imaging(
        data=data,
        noise_map=noise_map,
        psf=fine_psf_from(N=4),
        over_sample_size_lp=sizes,
        over_sample_size_pixelization=sizes,
        convolve_over_sample_size_lp=4,
        convolve_over_sample_size_pixelization=2,
    ).apply_mask(mask=aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PS, radius=1.0))
    plotter_module.PlotterImaging(image_path=tmp_path).imaging(dataset=dataset)
    with fits.open(tmp_path / "dataset.fits") as hdu_list:
        assert (hdu_list[0].header["CONVOS"], hdu_list[0].header["CONVOSLP"], hdu_list[0].header["CONVOSPX"]) == (4, 4, 2)

    (reloaded,) = _imaging_from(FakeFit(tmp_path))
    assert reloaded.convolve_over_sample_size_lp == 4
    assert reloaded.convolve_over_sample_size_pixelization == 2
    assert reloaded.psf_pixelization.convolve_over_sample_size == 2
    np.testing.assert_array_equal(
        np.asarray(reloaded.over_sample_size_lp.array), np.asarray(dataset.over_sample_size_lp.array)
    )
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies())
    fit_reloaded = ag.FitImaging(dataset=reloaded, galaxies=galaxies())
    assert fit_reloaded.log_likelihood == pytest.approx(fit.log_likelihood, rel=RTOL_RELOAD, abs=0)
