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
3. measure what one likelihood costs and estimate, before the search starts, how many likelihood calls Nautilus
   will make and so how long it will take;
4. fit a small lens model with a Nautilus search on 2 cores (autofit's `number_of_cores`), run until Nautilus's
   own stopping rule; the script checks that it converged: the best fit's chi-squared is within the noise of the
   chi-squared of the model that made the data;
5. plot the result with the release's plotting functions;
6. reload the dataset the search saved through the aggregator, as after a fit on a cluster: it comes back with its
   N and its fine PSF.

__What It Writes__

 - `autolens_workspace/dataset/imaging/modeling_oversampled/` (only if empty): `data.fits`, `noise_map.fits`,
   `psf.fits` (the fine PSF, recording its pixel scale and N), `tracer.json`;
 - `autolens_workspace/output/modeling/`: the search's output folder (`.../modeling_oversampled/<identifier>/`,
   with `image/dataset.fits` and the samples), `dataset.png` and `fit.png` (the release's subplots of the dataset
   and the best fit), and `figures.json` (the numbers printed below); with `--compare-serial` also the 1-core
   search's folder, `.../modeling_oversampled_serial/<identifier>/`.

Run it from anywhere (about 40 s on an idle 2-core machine, 32 s of it the search; a second run loads the finished
search instead of fitting again, about 8 s; with `--compare-serial` about 85 s):

    .venv/bin/python autolens_workspace/scripts/imaging/modeling.py
    .venv/bin/python autolens_workspace/scripts/imaging/modeling.py --compare-serial   # and the same search on 1 core

With `--compare-serial` the script also runs the same search on one core (into its own output folder), checks that
it finds the same best fit and posterior, and prints both times.
"""
import os

"""
The search evaluates likelihoods in 2 processes; each should use one thread for numpy's linear algebra, or the
processes compete for the same cores (autofit warns when these are not set). They must be set before numpy is
imported.
"""
for variable in (
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"
):
    os.environ.setdefault(variable, "1")

import sys
import time

start = time.time()
compare_serial = "--compare-serial" in sys.argv[1:]

import json
import logging
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.special import gammaln, polygamma
from scipy.stats import chi2

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
__Analysis__

The analysis evaluates the likelihood with numpy (`use_jax=False`), which for a search this short is quicker than
compiling it with JAX. After a fit autofit draws samples from the posterior to compute latent variables (derived
quantities); this model has none worth the time. The search's folder gets the release's fit subplot
(`image/fit.png`), its .fits files and a corner plot; the tracer's and galaxies' subplots, which this script does
not use, would cost more than half of each of the search's updates (autofit 2026.5.1.4's Nautilus makes two when the
search stops by its own rule), so they are off. A workspace sets these in `config/output.yaml` and
`config/visualize/plots.yaml`; this script runs without a config folder, so it sets them here.
"""
from autoconf import conf

conf.instance["output"]["latent_after_fit"] = False
conf.instance["visualize"]["plots"]["tracer"]["subplot_tracer"] = False
conf.instance["visualize"]["plots"]["galaxies"]["subplot_galaxies"] = False
analysis = al.AnalysisImaging(dataset=dataset, use_jax=False)

"""
__What One Likelihood Costs__

Before starting a search, measure one likelihood the way the search calls it: a parameter vector (here the prior
medians) made into a model instance and fitted to the oversampled dataset. The first call builds caches, so it is a
warm-up; the median of the next seven is the cost. It grows with N (the blurring region is evaluated at the fine
scale and the image convolution is an FFT of a frame N^2 times larger), with the over-sample sizes and with the
number of linear light profiles.
"""
medians = model.physical_values_from_prior_medians
analysis.log_likelihood_function(instance=model.instance_from_vector(vector=medians))
likelihood_times = []
for _ in range(7):
    t0 = time.perf_counter()
    analysis.log_likelihood_function(instance=model.instance_from_vector(vector=medians))
    likelihood_times.append(time.perf_counter() - t0)
likelihood_seconds = float(np.median(likelihood_times))

"""
__Search__

Nautilus with 40 live points (plenty for 4 parameters and one peak), one neural network per bound and batches of 100
likelihood calls, evaluated on 2 cores: `number_of_cores=2` makes autofit hand Nautilus `pool=2`, a
`multiprocessing.Pool` of 2 worker processes that evaluate each batch's likelihoods (and share the sampling of new
points from a bound). It runs until Nautilus's own stopping rule (`f_live` and `n_eff` below); `n_like_max` is only a
safety cap, far above what this fit needs. With the same seed a run is reproducible; a 2-core run draws its points
from its workers' own random streams, so its samples differ from a 1-core run's, not its result (`--compare-serial`
checks this).
"""
number_of_cores = 2
search_settings = dict(
    n_live=40, n_batch=100, n_networks=1, f_live=0.01, n_eff=500, n_like_max=20000, seed=1,
    iterations_per_quick_update=100000, iterations_per_full_update=100000,  # no on-the-fly output in between
)


def nautilus(name, number_of_cores):
    return af.Nautilus(name=name, path_prefix=output_path, number_of_cores=number_of_cores, **search_settings)


search = nautilus(name="modeling_oversampled", number_of_cores=number_of_cores)

"""
__How Many Likelihood Calls: An Estimate Before The Search__

Nautilus first explores: it draws a batch of `n_batch` points from the prior, and builds a new bound (a
neural-network emulator of the likelihood, bounded by ellipsoids) around the `n_live` best points found so far as
soon as `n_live` new points lie above the current bound's threshold. A bound encloses its region tightly, so nearly
all of a batch drawn inside it lies above its threshold, and with `n_batch` >= `n_live` every batch makes a new bound,
around the best `n_live` of `n_live + n_batch` points: it holds a fraction `n_live / (n_live + n_batch)` of the
volume, so each batch of `n_batch` calls shrinks the volume by `ln(1 + n_batch / n_live)` nats (1.25 for 40 and
100; the tighter the bounds, the closer to this). The exploration stops when
the live set holds less than `f_live` of the evidence. For a Gaussian posterior of covariance C that happens when the
live set is the ellipsoid of radius r (in sigma) with P(chi2_d < r^2) = f_live, of volume V_d r^d sqrt(det C) (V_d is
the unit ball's). So the exploration needs

    ln(prior volume / sqrt(det C)) - ln(V_d r^d)    nats of shrinking,   one batch per ln(1 + n_batch / n_live).

C is estimated before the search from the Fisher matrix at the prior medians, F = J^T J with J the derivative of the
model image (divided by the noise) with respect to the parameters (2d extra fits, by central differences), so
ln(prior volume / sqrt(det C)) = sum(ln prior widths) + ln(det F) / 2. Nautilus then samples until its effective
sample size reaches `n_eff`. The exploration's points give about 2 sqrt(pi) s n_batch / ln(1 + n_batch / n_live) of
it, where s = (d/2) sqrt(psi'(d/2)) is the posterior's spread in ln volume (the points are spread evenly in ln volume,
n_batch per bound); each call of the sampling phase adds at most one more. Uniform priors are assumed (a prior's
volume is the product of its widths). The estimate is printed with the expected duration, the likelihood cost times
the calls divided by the cores; after the search the actual number of calls and duration are printed next to it.
For this model and dataset it expects 2,100 calls and Nautilus makes 2,200 (with 30 or 50 live points it expected
1,900 and 2,300 and Nautilus made 1,900 to 2,100 and 2,400 to 2,500, depending on the seed and the cores).
"""
priors = model.priors_ordered_by_id
widths = np.array([prior.upper_limit - prior.lower_limit for prior in priors])


def normalized_model_image(vector):
    fit = analysis.fit_from(instance=model.instance_from_vector(vector=list(vector)))
    return np.asarray(fit.model_data.array) / np.asarray(dataset.noise_map.array)


d = model.prior_count
jacobian = np.zeros((mask.pixels_in_mask, d))
for i in range(d):
    step = np.zeros(d)
    step[i] = 1e-4 * widths[i]
    jacobian[:, i] = (
        normalized_model_image(np.array(medians) + step) - normalized_model_image(np.array(medians) - step)
    ) / (2 * step[i])
fisher = jacobian.T @ jacobian
sigma_fisher = np.sqrt(np.diag(np.linalg.inv(fisher)))
ln_prior_over_posterior = float(np.sum(np.log(widths)) + 0.5 * np.linalg.slogdet(fisher)[1])
r_squared = chi2.ppf(search.f_live, d)
ln_live_ellipsoid = (d / 2) * np.log(np.pi) - gammaln(d / 2 + 1) + (d / 2) * np.log(r_squared)
shrink_per_batch = np.log(1 + search.n_batch / search.n_live)
exploration_batches = int(np.ceil((ln_prior_over_posterior - ln_live_ellipsoid) / shrink_per_batch))
n_eff_exploration = 2 * np.sqrt(np.pi) * (d / 2) * np.sqrt(polygamma(1, d / 2)) * search.n_batch / shrink_per_batch
sampling_batches = int(np.ceil(max(0.0, search.n_eff - n_eff_exploration) / search.n_batch))
expected_calls = search.n_batch * (exploration_batches + sampling_batches)
expected_seconds = likelihood_seconds * expected_calls / number_of_cores
print(
    f"one likelihood costs {1e3 * likelihood_seconds:.1f} ms (median of 7 after a warm-up; N = {N}, "
    f"{mask.pixels_in_mask} pixels)\n"
    f"the Fisher matrix at the prior medians expects posterior sigmas {np.array2string(sigma_fisher, precision=5)}: "
    f"{ln_prior_over_posterior:.1f} nats from the prior's volume to the posterior's\n"
    f"expected: {exploration_batches} exploration batches of {search.n_batch} (n_live = {search.n_live}, d = {d}, "
    f"f_live = {search.f_live}) + {sampling_batches} sampling batches (n_eff = {search.n_eff}, about "
    f"{n_eff_exploration:.0f} from the exploration) = {expected_calls} likelihood calls, "
    f"{expected_seconds:.0f} s of likelihoods on {number_of_cores} cores (plus Nautilus's own work on its bounds and "
    f"autofit's output; this machine has {os.cpu_count()} cores and a load average of {os.getloadavg()[0]:.1f}: "
    f"other processes slow the search)"
)

"""
__Fit__

A search resumes from its output folder: a second run of this script loads the finished search instead of fitting.
"""


def run(search):
    search.paths.model = model
    loaded = search.paths.is_complete
    t0 = time.time()
    result = search.fit(model=model, analysis=analysis)
    return result, time.time() - t0, loaded


result, search_time, loaded = run(search)
calls = int(result.samples.samples_info["total_samples"])
print(
    f"search on {number_of_cores} cores: {calls} likelihood calls (estimated {expected_calls}, "
    f"{calls / expected_calls:.2f} x the estimate) "
    + (
        f"loaded from a finished search in {search_time:.0f} s (its run took "
        f"{float(result.samples.samples_info['time'] or 'nan'):.0f} s)"
        if loaded
        else f"in {search_time:.0f} s (estimated {expected_seconds:.0f} s for the likelihoods; the calls made cost "
        f"{likelihood_seconds * calls / number_of_cores:.0f} s at the measured cost, the rest is Nautilus's bounds "
        f"and autofit's output)"
    )
)
sigma_posterior = np.array([np.mean(e) for e in result.samples.errors_at_sigma(sigma=1.0, as_instance=False)])
print(
    f"posterior sigmas {np.array2string(sigma_posterior, precision=5)} (the Fisher matrix expected "
    f"{np.array2string(sigma_fisher, precision=5)})"
)
assert calls < search.n_like_max, "the search stopped at its safety cap, not by Nautilus's stopping rule"

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
    f"max log likelihood {fit.figure_of_merit:.4f}, recomputed on the N = {N} dataset {log_likelihood:.4f}; "
    f"chi-squared / pixel of the best fit {fit.chi_squared / mask.pixels_in_mask:.4f}"
)
assert np.isclose(fit.figure_of_merit, log_likelihood, rtol=1e-10)

"""
__Did It Converge?__

For a simulated dataset the model that made the data is the reference: its chi-squared is that of pure noise,
whose scatter is sqrt(2 n) for n pixels. A converged search's best fit has a chi-squared within a few sqrt(2 n) of it
(a little below: the fit also adapts to the noise). For your own data there is no such reference; judge the
residuals of `fit.png`.
"""
converged = None
if (dataset_path / "tracer.json").exists():
    fit_true = al.FitImaging(dataset=dataset, tracer=al.from_json(file_path=dataset_path / "tracer.json"))
    noise_scale = np.sqrt(2 * mask.pixels_in_mask)
    delta_chi_squared = float(fit.chi_squared - fit_true.chi_squared)
    converged = bool(abs(delta_chi_squared) < 3 * noise_scale)
    print(
        f"the model that made the data: log likelihood {fit_true.figure_of_merit:.4f}, chi-squared / pixel "
        f"{fit_true.chi_squared / mask.pixels_in_mask:.4f}\n"
        f"chi-squared(best fit) - chi-squared(true model) = {delta_chi_squared:.1f} = "
        f"{delta_chi_squared / noise_scale:.2f} sqrt(2 n) (the noise's scatter: {noise_scale:.1f}, "
        f"{noise_scale / mask.pixels_in_mask:.4f} per pixel): "
        + ("CONVERGED, within the noise" if converged else "NOT CONVERGED, beyond 3 sqrt(2 n)")
    )
    assert converged, "the search did not converge to the model that made the data"

"""
__1 Core Against 2 Cores (`--compare-serial`)__

The same search on one core, into its own output folder. Both runs stop by Nautilus's rule; they draw different
points (a pool's workers have their own random streams), so they agree to within the sampling: the same best fit
(a maximum log likelihood within 0.5, a fraction of the posterior's own spread in log likelihood, about sqrt(d / 2))
and posterior medians within one sigma of each other. Measured on an idle 2-core machine: 32 s on 2 cores, 44 s on 1
(a speed-up of 1.4: the likelihoods, half of the search's time, run in parallel; Nautilus's bounds and autofit's
output do not); with another CPU-bound process running, both took about 45 s.
"""
serial = None
if compare_serial:
    search_serial = nautilus(name="modeling_oversampled_serial", number_of_cores=1)
    result_serial, serial_time, serial_loaded = run(search_serial)
    calls_serial = int(result_serial.samples.samples_info["total_samples"])
    median, median_serial = (np.array(r.samples.median_pdf(as_instance=False)) for r in (result, result_serial))
    sigma, sigma_serial = (
        np.array([np.mean(e) for e in r.samples.errors_at_sigma(sigma=1.0, as_instance=False)])
        for r in (result, result_serial)
    )
    max_ll, max_ll_serial = (float(r.samples.max_log_likelihood_sample.log_likelihood) for r in (result, result_serial))
    pulls = np.abs(median - median_serial) / np.hypot(sigma, sigma_serial)
    print(
        f"1 core: {calls_serial} calls in {serial_time:.0f} s{' (loaded)' if serial_loaded else ''}; "
        f"{number_of_cores} cores: {calls} calls in {search_time:.0f} s{' (loaded)' if loaded else ''}: "
        f"speed-up {serial_time / search_time:.2f}\n"
        f"max log likelihood: 1 core {max_ll_serial:.4f}, {number_of_cores} cores {max_ll:.4f} "
        f"(difference {max_ll - max_ll_serial:+.4f}); posterior medians differ by "
        f"{np.array2string(pulls, precision=2)} combined sigma"
    )
    assert abs(max_ll - max_ll_serial) < 0.5 and np.all(pulls < 1.0)
    serial = {
        "calls": calls_serial, "search_seconds": serial_time, "max_log_likelihood": max_ll_serial,
        "median_difference_in_sigma": pulls.tolist(),
    }

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
    "likelihood_ms": 1e3 * likelihood_seconds,
    "number_of_cores": number_of_cores,
    "expected_calls": expected_calls,
    "expected_likelihood_seconds": expected_seconds,
    "calls": calls,
    "search_seconds": search_time,
    "search_loaded": loaded,
    "max_log_likelihood": float(fit.figure_of_merit),
    "best_fit_chi_squared_per_pixel": float(fit.chi_squared / mask.pixels_in_mask),
    "best_fit": {
        "einstein_radius": float(instance.galaxies.lens.mass.einstein_radius),
        "lens_effective_radius": float(instance.galaxies.lens.bulge.effective_radius),
        "lens_sersic_index": float(instance.galaxies.lens.bulge.sersic_index),
        "source_effective_radius": float(instance.galaxies.source.bulge.effective_radius),
    },
    "converged": converged,
    "chi_squared_minus_true_model": delta_chi_squared if converged is not None else None,
    "serial": serial,
    "run_time_s": time.time() - start,
}
with open(output_path / "figures.json", "w") as f:
    json.dump(figures, f, indent=2)
print(json.dumps(figures["best_fit"]))
print(f"modeling.py finished in {time.time() - start:.1f} s")
