"""
Scenarios for the entry points the series touches beyond fits: unmasked blurred images (used by plots), the
list and dict blurring variants, `dataset.fits` written by a search's plotter and reloaded by the aggregator, and
the PSF's .fits round trip.

They reuse the small masked datasets of ``scenarios_fit.py``.
"""
import numpy as np

from differential.registry import scenario
from differential.scenarios_fit import _ag_truth_image_from, _masked_dataset, _stack


def _galaxies():
    import autogalaxy as ag

    return [
        ag.Galaxy(
            redshift=0.5,
            bulge=ag.lp.Sersic(
                centre=(0.0, 0.0), ell_comps=(0.12, 0.03), intensity=0.9, effective_radius=0.55, sersic_index=3.0
            ),
            point=ag.lp_operated.Gaussian(centre=(0.1, 0.0), ell_comps=(0.0, 0.0), intensity=0.3, sigma=0.2),
        ),
        ag.Galaxy(
            redshift=0.5,
            light=ag.lp.Exponential(centre=(0.6, 0.7), ell_comps=(0.0, 0.2), intensity=0.2, effective_radius=0.4),
        ),
    ]


@scenario("ag_unmasked_and_list_blurred_images")
def ag_unmasked_and_list_blurred_images():
    import autogalaxy as ag

    dataset = _masked_dataset(_ag_truth_image_from, seed=5)
    galaxies = _galaxies()
    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)
    galaxies_obj = ag.Galaxies(galaxies=galaxies)
    blurred_list = galaxies[0].blurred_image_2d_list_from(
        grid=dataset.grids.lp, blurring_grid=dataset.grids.blurring, psf=dataset.psf
    )
    return {
        "unmasked_blurred_image": fit.unmasked_blurred_image.native,
        "unmasked_blurred_image_of_galaxies": _stack(
            [image.native for image in fit.unmasked_blurred_image_of_galaxies_list]
        ),
        "galaxy_0_blurred_image_list": _stack(blurred_list),
        "padded_image": galaxies_obj.padded_image_2d_from(
            grid=dataset.grids.lp, psf_shape_2d=dataset.psf.kernel.shape_native
        ).native,
    }


@scenario("al_unmasked_blurred_images")
def al_unmasked_blurred_images():
    import autolens as al

    dataset = _masked_dataset(_ag_truth_image_from, seed=6)
    lens = al.Galaxy(
        redshift=0.5,
        light=al.lp.Sersic(centre=(0.0, 0.0), intensity=0.5, effective_radius=0.4, sersic_index=3.0),
        mass=al.mp.Isothermal(centre=(0.0, 0.0), einstein_radius=0.9),
    )
    source = al.Galaxy(redshift=1.0, light=al.lp.Exponential(centre=(0.05, 0.0), intensity=0.8, effective_radius=0.2))
    fit = al.FitImaging(dataset=dataset, tracer=al.Tracer(galaxies=[lens, source]))
    return {
        "unmasked_blurred_image": fit.unmasked_blurred_image.native,
        "unmasked_blurred_image_of_planes": _stack(
            [image.native for image in fit.unmasked_blurred_image_of_planes_list]
        ),
    }


@scenario("ag_dataset_fits_and_aggregator_reload")
def ag_dataset_fits_and_aggregator_reload():
    """A search's plotter writes dataset.fits; the aggregator rebuilds the dataset from it."""
    import tempfile
    from pathlib import Path

    from astropy.io import fits

    import autogalaxy as ag
    from autogalaxy.aggregator.imaging.imaging import _imaging_from
    from autogalaxy.imaging.model.plotter import PlotterImaging

    dataset = _masked_dataset(_ag_truth_image_from, seed=7)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        PlotterImaging(image_path=Path(tmp)).imaging(dataset=dataset)
        with fits.open(Path(tmp) / "dataset.fits") as hdu_list:
            for i, hdu in enumerate(hdu_list):
                out[f"hdu_{i}_data"] = np.asarray(hdu.data, dtype="float64")
                out[f"hdu_{i}_header"] = np.array(
                    [f"{key}={hdu.header[key]!r}" for key in hdu.header if key != "COMMENT"]
                )

        class Fit:
            children = []

            def value(self, name):
                return fits.open(Path(tmp) / "dataset.fits")

        reloaded = _imaging_from(Fit())[0]
        fit = ag.FitImaging(dataset=reloaded, galaxies=_galaxies())
        out.update(
            {
                "reloaded_data": reloaded.data,
                "reloaded_psf": reloaded.psf.kernel.native,
                "reloaded_psf_pixel_scales": np.array(reloaded.psf.kernel.pixel_scales),
                "reloaded_over_sample_size_lp": reloaded.over_sample_size_lp,
                "reloaded_log_likelihood": np.float64(fit.log_likelihood),
            }
        )
    return out
