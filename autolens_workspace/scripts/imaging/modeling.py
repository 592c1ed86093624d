"""
Modeling: A Strong Lens With An Oversampled PSF
===============================================

The modeling script to copy for data whose PSF is held at a pixel scale N times finer than the data
(N = `convolve_over_sample_size`). Everything that differs from a standard PyAutoLens modeling script is in
`__Dataset__`: the PSF file's N is read from its header and passed to `Imaging.from_fits`. The rest (mask, adaptive
over-sampling, model, search, result, plots, aggregator) is the standard workflow, and every part of it follows the
dataset's N.

1. load an oversampled dataset from .fits (the script simulates one first if the folder is empty, so that it runs
   anywhere; point `dataset_path` at your own data instead);
2. mask it and over-sample the light adaptively (radial bins: many samples where the lens galaxy is steep);
3. fit a lens model with a short Nautilus search (a tiny model and few live points: a quick demonstration, not a
   converged fit);
4. plot the result with the release's plotting functions;
5. reload the dataset the search saved through the aggregator, as after a fit on a cluster: it comes back with its
   N and its fine PSF.

__What It Writes__

 - `autolens_workspace/dataset/imaging/modeling_oversampled/` (only if empty): `data.fits`, `noise_map.fits`,
   `psf.fits` (the fine PSF, recording its pixel scale and N), `tracer.json`;
 - `autolens_workspace/output/modeling/`: the search's output folder (`.../modeling_oversampled/<identifier>/`,
   with `image/dataset.fits` and the samples), `dataset.png` and `fit.png` (the release's subplots of the dataset
   and the best fit), and `figures.json` (the numbers printed below).

Run it from anywhere (about 55 s; a second run loads the finished search instead of fitting again, about 15 s):

    .venv/bin/python autolens_workspace/scripts/imaging/modeling.py
"""
import time

start = time.time()

import json
import logging
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

import autofit as af
import autolens as al
import autolens.plot as aplt
from autofit.aggregator.aggregator import Aggregator

"""
__Logging__

The library says at INFO level what it does with a dataset: every oversampled `Imaging` logs one line with its N and
the pixel scale its PSF is held at, and adaptive over-sample sizes rounded up to multiples of N are counted. So we
show INFO messages. The plots name N too: the PSF panel of the dataset subplot and the model image of the fit's.
"""
logging.basicConfig(level=logging.INFO)
logging.getLogger("autoarray").setLevel(logging.INFO)
warnings.filterwarnings("ignore", message="No blurring_image provided")

workspace_path = Path(__file__).resolve().parents[2]
dataset_path = workspace_path / "dataset" / "imaging" / "modeling_oversampled"
output_path = workspace_path / "output" / "modeling"
output_path.mkdir(parents=True, exist_ok=True)
pixel_scale = 0.1

"""
__Simulate A Dataset If There Is None__

If `dataset_path` holds no `data.fits`, simulate one: a 50 x 50 image of 0.1" pixels, a lens galaxy with a steep
Sersic bulge (index 4) and an isothermal mass, a compact exponential source, and a Gaussian PSF of sigma 0.05"
(FWHM 1.2 pixels) held at 0.05", i.e. N = 2. `aplt.fits_imaging` writes `psf.fits` with its pixel scale and N.
"""
if not (dataset_path / "data.fits").exists():
    dataset_path.mkdir(parents=True, exist_ok=True)
    psf_simulation = al.Convolver.from_gaussian(
        shape_native=(21, 21), pixel_scales=pixel_scale / 2, sigma=0.05, normalize=True, convolve_over_sample_size=2
    )
    tracer_true = al.Tracer(
        galaxies=[
            al.Galaxy(
                redshift=0.5,
                bulge=al.lp.Sersic(
                    centre=(0.0, 0.0), intensity=1.0, effective_radius=0.6, sersic_index=4.0,
                    ell_comps=al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0),
                ),
                mass=al.mp.Isothermal(centre=(0.0, 0.0), einstein_radius=1.2),
            ),
            al.Galaxy(
                redshift=1.0,
                bulge=al.lp.Exponential(centre=(0.05, 0.05), intensity=1.0, effective_radius=0.15),
            ),
        ]
    )
    simulator = al.SimulatorImaging(
        exposure_time=1000.0, psf=psf_simulation, background_sky_level=0.1, add_poisson_noise_to_data=True,
        noise_seed=1,
    )
    simulated = simulator.via_tracer_from(
        tracer=tracer_true,
        grid=al.Grid2D.uniform(shape_native=(50, 50), pixel_scales=pixel_scale, over_sample_size=8),
    )
    aplt.fits_imaging(
        simulated,
        data_path=dataset_path / "data.fits",
        psf_path=dataset_path / "psf.fits",
        noise_map_path=dataset_path / "noise_map.fits",
        overwrite=True,
    )
    al.output_to_json(obj=tracer_true, file_path=dataset_path / "tracer.json")
    print(f"Simulated a dataset into {dataset_path}")

"""
__Dataset__

The PSF file says which N it was made for: `Convolver.convolve_over_sample_size_from_fits` returns it (from the
`CONVOS` keyword our writers record, or, for files of other programs, from poppy / STPSF's `PIXELSCL` or PSFEx's
`PSF_SAMP` compared with the data's pixel scale). Loading never takes N from a header by itself: it is passed to
`Imaging.from_fits` explicitly, here for light profiles and pixelizations alike. The PSF is then loaded at the fine
pixel scale, 0.1" / N, and checked against the header.
"""
N = al.Convolver.convolve_over_sample_size_from_fits(
    file_path=dataset_path / "psf.fits", hdu=0, pixel_scales=pixel_scale
)
print(f"{dataset_path / 'psf.fits'} records N = {N} (PSF pixel scale {fits.getheader(dataset_path / 'psf.fits')['PIXSCAY']}\")")

dataset = al.Imaging.from_fits(
    data_path=dataset_path / "data.fits",
    noise_map_path=dataset_path / "noise_map.fits",
    psf_path=dataset_path / "psf.fits",
    pixel_scales=pixel_scale,
    convolve_over_sample_size_lp=N,
    convolve_over_sample_size_pixelization=N,
)
assert dataset.psf.convolve_over_sample_size == N
assert np.allclose(dataset.psf.kernel.pixel_scales, (pixel_scale / N,) * 2)

"""
__Mask And Adaptive Over-Sampling__

A 2.2" circular mask. The light is evaluated with 32 x 32 samples per pixel within 0.1" of the lens's centre,
8 x 8 out to 0.3" and 2 x 2 elsewhere (the workspace's usual radial bins). With N > 1 a data pixel of size s is
split into N x N fine pixels, each evaluated with s / N samples per axis, so every size must be a multiple of N; the
library rounds others up and logs one INFO line saying how many.
"""
mask = al.Mask2D.circular(shape_native=dataset.shape_native, pixel_scales=pixel_scale, radius=2.2)
dataset = dataset.apply_mask(mask=mask)
over_sample_size = al.util.over_sample.over_sample_size_via_radial_bins_from(
    grid=dataset.grids.lp, sub_size_list=[32, 8, 2], radial_list=[0.1, 0.3], centre_list=[(0.0, 0.0)]
)
dataset = dataset.apply_over_sampling(over_sample_size_lp=over_sample_size)
sizes = sorted(np.unique(dataset.over_sample_size_lp.array).astype(int).tolist())
print(f"adaptive over-sample sizes in use: {sizes} (all multiples of N = {N})")
assert all(size % N == 0 for size in sizes) and dataset.convolve_over_sample_size_lp == N

"""
__Model__

Kept tiny so that the search is quick: the lens's light is a linear Sersic (its intensity is solved for, not
sampled) centred on (0, 0) with free effective radius and Sersic index; its mass an isothermal centred on (0, 0)
with a free Einstein radius; the source a linear exponential with a free effective radius. Four parameters.
"""
lens = af.Model(al.Galaxy, redshift=0.5, bulge=al.lp_linear.Sersic, mass=al.mp.Isothermal)
lens.bulge.centre = (0.0, 0.0)
lens.bulge.ell_comps = al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0)
lens.bulge.effective_radius = af.UniformPrior(lower_limit=0.3, upper_limit=1.0)
lens.bulge.sersic_index = af.UniformPrior(lower_limit=2.5, upper_limit=5.0)
lens.mass.centre = (0.0, 0.0)
lens.mass.ell_comps = (0.0, 0.0)
lens.mass.einstein_radius = af.UniformPrior(lower_limit=1.0, upper_limit=1.4)
source = af.Model(al.Galaxy, redshift=1.0, bulge=al.lp_linear.Exponential)
source.bulge.centre = (0.05, 0.05)
source.bulge.ell_comps = (0.0, 0.0)
source.bulge.effective_radius = af.UniformPrior(lower_limit=0.05, upper_limit=0.3)
model = af.Collection(galaxies=af.Collection(lens=lens, source=source))
assert model.prior_count == 4
print(model.info)

"""
__Search__

Nautilus with 50 live points and at most 600 likelihood evaluations: a demonstration, well short of a converged fit.
For science use the workspace's defaults (hundreds of live points, no cap). The analysis evaluates the likelihood
with numpy (`use_jax=False`), which for a search this short is quicker than compiling it with JAX.
"""
search = af.Nautilus(
    name="modeling_oversampled",
    path_prefix=output_path,
    n_live=50,
    n_networks=1,
    n_like_max=600,
    seed=1,
    number_of_cores=1,
    iterations_per_quick_update=100000,  # visualize once, at the end
    iterations_per_full_update=100000,
)
analysis = al.AnalysisImaging(dataset=dataset, use_jax=False)

"""
After a fit autofit draws samples from the posterior to compute latent variables (derived quantities); for a search
this short the posterior is not worth it. A workspace sets this in `config/output.yaml`; this script runs without a
config folder, so it sets it here.
"""
from autoconf import conf

conf.instance["output"]["latent_after_fit"] = False
search_start = time.time()
result = search.fit(model=model, analysis=analysis)
search_time = time.time() - search_start

"""
__Result__

The best fit the search found, its likelihood recomputed directly on the oversampled dataset (the search fitted the
model with N, not a native model), and the release's subplots of the dataset and of the best fit, written as PNGs.
"""
instance = result.max_log_likelihood_instance
fit = result.max_log_likelihood_fit
assert fit.dataset.psf.convolve_over_sample_size == N and fit.dataset.convolve_over_sample_size_lp == N
log_likelihood = al.FitImaging(dataset=dataset, tracer=al.Tracer(galaxies=list(instance.galaxies))).figure_of_merit
print(result.info)
print(
    f"search ({search_time:.0f} s): max log likelihood {fit.figure_of_merit:.4f}, recomputed on the N = {N} dataset "
    f"{log_likelihood:.4f}; chi-squared / pixel of the best fit {fit.chi_squared / mask.pixels_in_mask:.3f}"
)
assert np.isclose(fit.figure_of_merit, log_likelihood, rtol=1e-10)
if (dataset_path / "tracer.json").exists():  # a simulated dataset: how far the short search got
    fit_true = al.FitImaging(dataset=dataset, tracer=al.from_json(file_path=dataset_path / "tracer.json"))
    print(
        f"the model that made the data: log likelihood {fit_true.figure_of_merit:.4f}, chi-squared / pixel "
        f"{fit_true.chi_squared / mask.pixels_in_mask:.3f}"
    )

aplt.subplot_imaging_dataset(dataset, output_path=output_path, output_filename="dataset", output_format="png")
aplt.subplot_fit_imaging(fit=fit, output_path=output_path, output_format="png")
plots = sorted(output_path.glob("*.png"))
print(f"plots: {[p.name for p in plots]}")
assert (output_path / "dataset.png").is_file() and len(plots) >= 2, plots

"""
__Aggregator: Reload The Dataset__

A search writes the dataset it fitted into its output folder (`image/dataset.fits`, with the PSF's pixel scale and N
in its headers). The aggregator rebuilds it from there, with its fine PSF, its N and its adaptive over-sample sizes,
so a result reloaded later is fitted exactly as the search fitted it.
"""
search_output = Path(search.paths.output_path)
aggregator = Aggregator.from_directory(directory=search_output)
reloaded = list(al.agg.ImagingAgg(aggregator=aggregator).dataset_gen_from())[0][0]
print(
    f"reloaded from {search_output}: convolve_over_sample_size_lp = {reloaded.convolve_over_sample_size_lp}, "
    f"PSF N = {reloaded.psf.convolve_over_sample_size} at {reloaded.psf.kernel.pixel_scales}\""
)
assert reloaded.convolve_over_sample_size_lp == N and reloaded.convolve_over_sample_size_pixelization == N
assert reloaded.psf.convolve_over_sample_size == N
assert np.allclose(reloaded.psf.kernel.pixel_scales, (pixel_scale / N,) * 2)
assert np.array_equal(reloaded.over_sample_size_lp.array, dataset.over_sample_size_lp.array)
reloaded_log_likelihood = al.AnalysisImaging(dataset=reloaded, use_jax=False).log_likelihood_function(instance=instance)
print(f"log likelihood of the best fit on the reloaded dataset: {reloaded_log_likelihood:.4f}")
assert np.isclose(reloaded_log_likelihood, log_likelihood, rtol=1e-12)

figures = {
    "N": int(N),
    "over_sample_sizes": sizes,
    "pixels_in_mask": int(mask.pixels_in_mask),
    "search_seconds": search_time,
    "max_log_likelihood": float(fit.figure_of_merit),
    "best_fit_chi_squared_per_pixel": float(fit.chi_squared / mask.pixels_in_mask),
    "best_fit": {
        "einstein_radius": float(instance.galaxies.lens.mass.einstein_radius),
        "lens_effective_radius": float(instance.galaxies.lens.bulge.effective_radius),
        "lens_sersic_index": float(instance.galaxies.lens.bulge.sersic_index),
        "source_effective_radius": float(instance.galaxies.source.bulge.effective_radius),
    },
    "run_time_s": time.time() - start,
}
with open(output_path / "figures.json", "w") as f:
    json.dump(figures, f, indent=2)
print(json.dumps(figures["best_fit"]))
print(f"modeling.py finished in {time.time() - start:.1f} s")
