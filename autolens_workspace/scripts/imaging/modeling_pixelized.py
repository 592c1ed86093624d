"""
Modeling: A Pixelized Source With Oversampled PSFs, And Which Pixelization N The Data Need
=========================================================================================

A pixelized source (here a Delaunay mesh, adapted to the source through an adapt image as the release's pipelines
and SLaM do it) next to lens light, each convolved at its own N: the lens light at `convolve_over_sample_size_lp`,
the source at `convolve_over_sample_size_pixelization` (the smaller must divide the larger). The mapping matrix of a
pixelization is the costly part of a fit, so the question a modeller asks of their own data is: **which
pixelization N do I need?** This script answers it the way you would on your data: fit the same lens model and the
same source mesh at pixelization N = 1, 2 and 4 and compare the Bayesian evidence and the cost of one likelihood.

1. simulate (once) an HST-like lens: 0.05" pixels, an HST-like PSF (the diffraction pattern of a 2.4 m telescope
   with a secondary mirror, at 0.6 microns) held at 0.0125" (N = 4), a steep lens galaxy (Sersic index 4) and a
   source with a compact, bright clump;
2. load it with `Imaging.from_fits`: the lens light at N = 4 (`convolve_over_sample_size_lp=4`), the source at
   pixelization N = 1, 2 or 4 (`convolve_over_sample_size_pixelization`);
3. build the source's image-plane mesh from an adapt image (the source's model image of an earlier fit) with
   `al.image_mesh.Hilbert`, pass it in through `al.AdaptImages`, and reconstruct the source on a `al.mesh.Delaunay`
   mesh with `al.reg.AdaptSplit` regularization;
4. fit on the fastest CPU path at each pixelization N (at N = 1 the CPU sparse operator,
   `dataset.apply_sparse_operator_cpu()`; at N > 1 the mapping path, which forms the blurred mapping matrix from the
   PSF's phase kernels with numba): the log evidence, chi-squared per pixel, and the measured time of one likelihood
   (the median of a few calls after a warm-up), checked against an independent path (at N = 1 the mapping path, at
   N > 1 the FFT sparse operator, `dataset.apply_sparse_operator()`);
5. choose the pixelization N from the evidence (below), and write a figure of the evidence and the cost against N;
6. only with `--search`: a short Nautilus search of the regularization at each N, printing the measured cost of one
   likelihood and the search's expected duration before it starts.

__How To Choose Pixelization N From The Evidence__

The log evidence ln Z of a pixelized fit already weighs how well the model fits against how complex the source
reconstruction must be to do it, so it compares pixelization N = 1, 2 and 4 directly, provided everything else is
the same: the same lens model (the true one here; on your data the best fit of your mass model), the same image-plane
mesh and adapt image, the same regularization and over-sampling. Then only the convolution differs, and:

 - the evidence rises with N as long as the coarser convolution misfits the data; it levels off once N is fine
   enough for the data's PSF and source;
 - choose **the smallest N whose evidence is within a few (here 5) of the largest**: a difference of 5 in ln Z is a
   Bayes factor of e^5 ~ 150 ("very strong" on the Kass & Raftery scale); a smaller gain does not justify a larger
   N. (Here, on the fastest CPU path, one likelihood costs about the same at all three N, see the timings; JAX pays
   more for a larger N: see the README's benchmarks.)
 - a source that is smooth on the scale of a pixel is often fine at 2 (or 1); a compact, bright clump is not: on the
   data here each step of N raises the evidence by far more than 5 (as in a user's trial on real HST data, ln Z =
   6244 / 6558 / 7217 at N = 1 / 2 / 4), and N = 4 is the choice. Do not assume it: measure it on your data;
 - keep the mesh fixed while comparing: the evidence of a pixelized source moves by tens between two meshes (here
   780 or 820 Hilbert points instead of 800 move it by 55 to 85 at N = 2 and 4, while the difference between N = 2
   and 4 stays 88 to 99), which would swamp the comparison;
 - the comparison at fixed regularization below is quick; the thorough version re-fits the regularization at each N
   (`--search`) and compares each N's best evidence (it chose N = 4 here too).

__Your Own Data__

Point `dataset_path` at your data (and set `pixel_scale`, `shape_native` and the mask), take the lens model from your
mass-model fit (e.g. `result.max_log_likelihood_instance.galaxies.lens`) instead of `tracer.json`, and the adapt
image from that result: `al.galaxy_name_image_dict_via_result_from(result, use_model_images=True)[str(("galaxies",
"source"))]`.

__What It Writes__

 - `autolens_workspace/dataset/imaging/modeling_pixelized/` (only if it has no `data.fits`): `data.fits`,
   `noise_map.fits`, `psf.fits` (the fine PSF, recording its 0.0125" pixel scale and N = 4) and `tracer.json`;
 - `autolens_workspace/output/modeling_pixelized/`: `evidence.png` (the evidence and the time of one likelihood
   against pixelization N, the source reconstructions and the normalized residuals at each N) and `figures.json`
   (every number printed below); with `--search` also the searches' folders (`search/pixelization_n<N>/...`) and
   their results in `figures.json`.

Run it from anywhere (about 25 s on an idle 2-core machine, about 20 s of it CPU time; `--search` adds three short
searches of about 600 likelihoods each, 6 to 8 minutes each when measured; a second `--search` run loads them):

    .venv/bin/python autolens_workspace/scripts/imaging/modeling_pixelized.py
    .venv/bin/python autolens_workspace/scripts/imaging/modeling_pixelized.py --search        # N = 1, 2 and 4
    .venv/bin/python autolens_workspace/scripts/imaging/modeling_pixelized.py --search=4      # only N = 4

(`MODELING_PIXELIZED_SEARCH=1,2,4` in the environment does the same as `--search=1,2,4`.)
"""
import time

start = time.time()

import json
import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from scipy.special import j1

import autofit as af
import autolens as al
import autolens.plot as aplt
from autoconf import conf

"""
__Setup__

(As in `simulator.py`: JAX in double precision if it is used, which this script does not, and the simulator's
padding message silenced.)

The search flag: `--search` searches at every pixelization N, `--search=4` or `--search=2,4` at those; without it
(the default, and in `make test`) no search runs.
"""
import jax

jax.config.update("jax_enable_x64", True)
warnings.filterwarnings("ignore", message="No blurring_image provided")

pixelization_sizes = (1, 2, 4)
search_sizes = ()
for argument in sys.argv[1:]:
    if argument == "--search":
        search_sizes = pixelization_sizes
    elif argument.startswith("--search="):
        search_sizes = tuple(int(n) for n in argument.split("=", 1)[1].split(","))
    else:
        raise SystemExit(f"unknown argument {argument!r}: use --search or --search=1,2,4")
if os.environ.get("MODELING_PIXELIZED_SEARCH") and not search_sizes:
    search_sizes = tuple(int(n) for n in os.environ["MODELING_PIXELIZED_SEARCH"].split(","))
assert set(search_sizes) <= set(pixelization_sizes), search_sizes

workspace_path = Path(__file__).resolve().parents[2]
dataset_path = workspace_path / "dataset" / "imaging" / "modeling_pixelized"
output_path = workspace_path / "output" / "modeling_pixelized"
output_path.mkdir(parents=True, exist_ok=True)
figures = {}
written = []

pixel_scale = 0.05  # arc-seconds per data pixel: HST ACS/WFC
psf_n = 4  # the N the PSF is held at: 0.05" / 4 = 0.0125"
shape_native = (100, 100)
mask_radius = 1.6

"""
__Simulate A Dataset If There Is None__

The PSF is the diffraction pattern of HST's aperture, in closed form: a 2.4 m primary mirror with a central
obstruction of a third of its radius (the secondary mirror; `psf_from_file.py` computes the same aperture, with its
spiders, in poppy), in light of 0.6 microns (F606W), where lambda / D = 0.052": the core's FWHM is about one data
pixel. It is sampled at the centres of 0.0125" pixels (N = 4, no pixel response: the N x N mean applies it) on a
49 x 49 fine array (0.61" across) and normalised.

The lens galaxy has a steep Sersic bulge (index 4), an isothermal mass and external shear; the source is a diffuse
exponential disc with a compact clump (effective radius 0.02") near its centre, which the lens stretches into thin
arcs, thinner than a data pixel across. The simulator evaluates the light with 32, 16 or 8 samples per pixel
(radial bins around the lens's centre, the sizes the fit uses for the lens light), blurs it on the 0.0125" grid and
averages each 4 x 4 block, and adds sky and Poisson noise for an exposure of 2000 s.
"""
if not (dataset_path / "data.fits").exists():
    dataset_path.mkdir(parents=True, exist_ok=True)
    half = 24
    y, x = np.mgrid[-half : half + 1, -half : half + 1] * (pixel_scale / psf_n)
    wavelength, diameter, obstruction = 0.6e-6, 2.4, 0.33
    u = np.pi * diameter * np.radians(np.hypot(y, x) / 3600.0) / wavelength
    u[u == 0.0] = 1.0e-12
    amplitude = (2.0 * j1(u) / u - obstruction**2 * 2.0 * j1(obstruction * u) / (obstruction * u)) / (
        1.0 - obstruction**2
    )
    kernel = amplitude**2 / np.sum(amplitude**2)
    psf_simulation = al.Convolver(
        kernel=al.Array2D.no_mask(values=kernel, pixel_scales=pixel_scale / psf_n), convolve_over_sample_size=psf_n
    )
    tracer_simulation = al.Tracer(
        galaxies=[
            al.Galaxy(
                redshift=0.5,
                bulge=al.lp.Sersic(
                    centre=(0.0, 0.0), ell_comps=al.convert.ell_comps_from(axis_ratio=0.85, angle=30.0),
                    intensity=0.5, effective_radius=0.8, sersic_index=4.0,
                ),
                mass=al.mp.Isothermal(
                    centre=(0.0, 0.0), ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=60.0),
                    einstein_radius=1.0,
                ),
                shear=al.mp.ExternalShear(gamma_1=0.02, gamma_2=-0.03),
            ),
            al.Galaxy(
                redshift=1.0,
                disc=al.lp.Exponential(
                    centre=(0.05, 0.03), ell_comps=al.convert.ell_comps_from(axis_ratio=0.7, angle=45.0),
                    intensity=0.3, effective_radius=0.2,
                ),
                clump=al.lp.Exponential(centre=(0.09, 0.06), intensity=10.0, effective_radius=0.02),
            ),
        ]
    )
    pixel_centres = al.Grid2D.uniform(shape_native=shape_native, pixel_scales=pixel_scale)
    grid = al.Grid2D.uniform(
        shape_native=shape_native,
        pixel_scales=pixel_scale,
        over_sample_size=al.util.over_sample.over_sample_size_via_radial_bins_from(
            grid=pixel_centres, sub_size_list=[32, 16, 8], radial_list=[0.1, 0.3], centre_list=[(0.0, 0.0)]
        ),
    )
    simulator = al.SimulatorImaging(
        exposure_time=2000.0, psf=psf_simulation, background_sky_level=0.1, add_poisson_noise_to_data=True,
        noise_seed=1,
    )
    simulated = simulator.via_tracer_from(tracer=tracer_simulation, grid=grid)
    aplt.fits_imaging(
        simulated,
        data_path=dataset_path / "data.fits",
        psf_path=dataset_path / "psf.fits",
        noise_map_path=dataset_path / "noise_map.fits",
        overwrite=True,
    )
    al.output_to_json(obj=tracer_simulation, file_path=dataset_path / "tracer.json")
    written.extend(dataset_path / name for name in ("data.fits", "noise_map.fits", "psf.fits", "tracer.json"))
    print(f"Simulated a dataset into {dataset_path} ({time.time() - start:.1f} s since the start)")

"""
__Dataset At Each Pixelization N__

The PSF file records the N it was made for (`CONVOS`); the lens light uses it, `convolve_over_sample_size_lp=4`, and
the pixelization is loaded at N = 1, 2 and 4 (each divides 4). At N = 1 and 2 the library convolves the pixelization
with the exact coarse kernel of the 0.0125" PSF at that scale (`Convolver.coarse_convolver_from`: the model held
constant over each block of the finer grid, convolved, and averaged). The over-sample sizes are the same for every
N, so that only the convolution changes: radial bins of 32, 16 and 8 samples per pixel for the lens light, and 4 x 4
sub-pixels per pixel for the pixelization (one per fine pixel at N = 4, a multiple of every N).

The mask is a 1.6" circle (the Hilbert image mesh wants a circular mask). It stays more than half the PSF kernel's
width (in data pixels) away from the image's edge: the release's CPU sparse operator at N = 1 reads the noise map up
to half a kernel beyond each masked pixel without bounds checks, and a mask closer to the edge gives it memory from
outside the image (a NaN evidence).
"""
psf_path = dataset_path / "psf.fits"
assert al.Convolver.convolve_over_sample_size_from_fits(file_path=psf_path, hdu=0, pixel_scales=pixel_scale) == psf_n
tracer_true = al.from_json(file_path=dataset_path / "tracer.json")
lens_true, source_true = tracer_true.galaxies

mask = al.Mask2D.circular(shape_native=shape_native, pixel_scales=pixel_scale, radius=mask_radius)
pixels_in_mask = int(mask.pixels_in_mask)
rows, columns = np.nonzero(~mask.array)
edge_distance = min(rows.min(), columns.min(), shape_native[0] - 1 - rows.max(), shape_native[1] - 1 - columns.max())
kernel_native_width = int(np.ceil(fits.getdata(psf_path).shape[0] / psf_n))
print(
    f"mask: {pixels_in_mask} pixels, {edge_distance} pixels from the image's edge; the PSF kernel is "
    f"{kernel_native_width} data pixels wide"
)
assert edge_distance > kernel_native_width / 2 + 1, (edge_distance, kernel_native_width)


def dataset_from(pixelization_n):
    dataset = al.Imaging.from_fits(
        data_path=dataset_path / "data.fits",
        noise_map_path=dataset_path / "noise_map.fits",
        psf_path=psf_path,
        pixel_scales=pixel_scale,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=psf_n,
        convolve_over_sample_size_pixelization=pixelization_n,
    )
    dataset = dataset.apply_mask(mask=mask)
    over_sample_size_lp = al.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=dataset.grids.lp, sub_size_list=[32, 16, 8], radial_list=[0.1, 0.3], centre_list=[(0.0, 0.0)]
    )
    return dataset.apply_over_sampling(over_sample_size_lp=over_sample_size_lp, over_sample_size_pixelization=4)


datasets = {n: dataset_from(n) for n in pixelization_sizes}
for n, dataset in datasets.items():
    assert dataset.convolve_over_sample_size_lp == psf_n and dataset.convolve_over_sample_size_pixelization == n

"""
__The Model That Made The Data__

An independent check of the simulation and the loading: the true lens and source light profiles, fitted with the
lens light and the source at N = 4, leave only noise (chi-squared per pixel within a few sqrt(2 / n) of 1).
"""
fit_true = al.FitImaging(dataset=datasets[psf_n], tracer=tracer_true)
chi_squared_true = fit_true.chi_squared / pixels_in_mask
print(f"the true model at N = {psf_n}: chi-squared / pixel = {chi_squared_true:.3f}")
assert abs(chi_squared_true - 1.0) < 5.0 * np.sqrt(2.0 / pixels_in_mask), chi_squared_true
figures["true_model_chi_squared_per_pixel"] = float(chi_squared_true)

"""
__The Adapt Image And The Image-Plane Mesh__

This is the release's adapt-image route (the one its SLaM pipelines take for a pixelized source):

 - an adapt image of the source: the source's model image from an earlier fit, floored at 1% of its maximum
   (`adapt_minimum_percent` in the `general` config), which is what
   `al.galaxy_name_image_dict_via_result_from(result, use_model_images=True)` returns from a search's result. Here the
   true source's model image (from the fit above) stands in for the result of a parametric source fit;
 - an image-plane mesh drawn from it by `al.image_mesh.Hilbert`: 800 points along a Hilbert curve through the mask,
   denser where the adapt image is bright (`weight_power`), with a floor of weight elsewhere (`weight_floor`), plus
   30 points on a circle just outside the mask that are zeroed in the reconstruction (`zeroed_pixels`, the edge
   pixels of the Delaunay mesh). The release's `al.model_util.hilbert_pixels_from_pixel_scale` suggests 1250 points
   for 0.05" pixels; 800 keep this script quick;
 - both passed to the analysis in an `al.AdaptImages`, keyed by the source's path in the model, `('galaxies',
   'source')`. The mesh then traces to the source plane with the lens model of each likelihood, and `AdaptSplit`
   regularization reads the adapt image too (less smoothing where the source is bright).

The mesh and adapt image are made once, and the same for every N, so the evidences differ only by the convolution.
"""
adapt_minimum_percent = conf.instance["general"]["adapt"]["adapt_minimum_percent"]
source_image = fit_true.galaxy_model_image_dict[source_true]
adapt_image = al.Array2D(
    values=np.maximum(source_image.array, adapt_minimum_percent * np.max(source_image.array)), mask=mask
)
edge_pixels = 30
image_mesh = al.image_mesh.Hilbert(pixels=800, weight_power=1.0, weight_floor=0.2)
image_plane_mesh_grid = image_mesh.image_plane_mesh_grid_from(mask=mask, adapt_data=adapt_image)
image_plane_mesh_grid = al.image_mesh.append_with_circle_edge_points(
    image_plane_mesh_grid=image_plane_mesh_grid,
    centre=mask.mask_centre,
    radius=mask_radius + pixel_scale / 2.0,
    n_points=edge_pixels,
)
source_path = str(("galaxies", "source"))
adapt_images = al.AdaptImages(
    galaxy_name_image_dict={source_path: adapt_image},
    galaxy_name_image_plane_mesh_grid_dict={source_path: image_plane_mesh_grid},
)
mesh = al.mesh.Delaunay(pixels=image_plane_mesh_grid.shape[0] - edge_pixels, zeroed_pixels=edge_pixels)
print(
    f"image-plane mesh: {image_plane_mesh_grid.shape[0] - edge_pixels} Hilbert points + {edge_pixels} zeroed edge "
    f"points"
)

"""
__Model And Analysis__

The lens galaxy is the true one (light, mass and shear fixed), the source a `Pixelization` with the Delaunay mesh
and `AdaptSplit` regularization. Its three parameters are fixed here at the best fit of this script's search at
pixelization N = 1 (`--search=1`, rounded to three digits): the regularization that suits N = 1 best, so if anything it
favours N = 1, and the rise of the evidence with N below is not an artefact of having tuned it at a larger N. (Each
N's own search found an evidence a few tens above the value at these parameters at N = 2 and 4.)

The analysis evaluates the likelihood with numpy (`use_jax=False`: the fastest CPU paths are numba code). On
numpy the release's `AnalysisImaging.log_likelihood_function` returns `fit.log_likelihood` (the chi-squared and
noise terms only), whereas under JAX it returns `fit.figure_of_merit`, which for a pixelized source is the log
evidence. A search of the regularization that maximises the likelihood alone drives the coefficients to their lower
limits (less smoothing always lowers the chi-squared) and fits the noise, so this script's analysis returns the
figure of merit on numpy too (and counts its calls, for the search's expected duration).
"""


class AnalysisImagingEvidence(al.AnalysisImaging):
    calls = 0

    def log_likelihood_function(self, instance):
        AnalysisImagingEvidence.calls += 1
        try:
            return self.fit_from(instance=instance).figure_of_merit - self.log_likelihood_penalty_from(
                instance=instance
            )
        except Exception as e:
            raise af.exc.FitException from e


regularization_fixed = {"inner_coefficient": 1.15e-3, "outer_coefficient": 52.9, "signal_scale": 0.0146}


def model_from(regularization):
    source = af.Model(
        al.Galaxy,
        redshift=1.0,
        pixelization=af.Model(al.Pixelization, mesh=mesh, regularization=regularization),
    )
    return af.Collection(galaxies=af.Collection(lens=lens_true, source=source))


def analysis_from(dataset):
    return AnalysisImagingEvidence(
        dataset=dataset, adapt_images=adapt_images, use_jax=False, raise_inversion_positions_likelihood_exception=False
    )


model_fixed = model_from(al.reg.AdaptSplit(**regularization_fixed))
assert model_fixed.prior_count == 0
instance = model_fixed.instance_from_prior_medians()

"""
__The Check: Evidence And Cost At Pixelization N = 1, 2, 4__

At each N: the dataset on the fastest CPU path, one warm-up likelihood (numba compiles at the first call, caches
fill), then the median of three timed calls: the cost a search pays per likelihood. At N = 1 that is the CPU sparse
operator (`apply_sparse_operator_cpu()`, the release's numba operator), checked against the mapping path (the same
dataset without a sparse operator). At N > 1 it is the mapping path, which forms the blurred mapping matrix from the
mapper's sparse mappings with the PSF's N^2 phase kernels (numba, one native footprint per mapping; the CPU sparse
operator refuses N > 1, since it would pair about N^4 times as many pixels), checked against the FFT sparse operator
(`apply_sparse_operator()`: W = H^T C^-1 H applied by FFTs on the fine grid, here on numpy).
"""


def fastest_dataset_from(n):
    return datasets[n].apply_sparse_operator_cpu() if n == 1 else datasets[n]


def check_dataset_from(n):
    return datasets[n] if n == 1 else datasets[n].apply_sparse_operator()



repeats = 3
results = {}
fits_by_n = {}
for n in pixelization_sizes:
    setup_start = time.perf_counter()
    dataset_fast = fastest_dataset_from(n)
    setup_seconds = time.perf_counter() - setup_start
    analysis = analysis_from(dataset_fast)
    warm_start = time.perf_counter()
    fit = analysis.fit_from(instance=instance)  # the warm-up: the fit kept for the numbers and the figure
    log_evidence = fit.log_evidence
    warm_seconds = time.perf_counter() - warm_start
    fits_by_n[n] = fit
    times = []
    for _ in range(repeats):
        call_start = time.perf_counter()
        value = analysis.log_likelihood_function(instance=instance)
        times.append(time.perf_counter() - call_start)
    assert abs(value - log_evidence) <= 1.0e-12 * abs(log_evidence), (value, log_evidence)

    analysis_check = analysis_from(check_dataset_from(n))
    check_start = time.perf_counter()
    fit_check = analysis_check.fit_from(instance=instance)
    log_evidence_check = fit_check.log_evidence
    check_seconds = time.perf_counter() - check_start

    path, check_path = type(fit.inversion).__name__, type(fit_check.inversion).__name__
    assert (path, check_path) == (
        ("InversionImagingSparseNumba", "InversionImagingMapping")
        if n == 1
        else ("InversionImagingMapping", "InversionImagingSparse")
    ), (path, check_path)
    results[n] = {
        "log_evidence": float(fit.log_evidence),
        "log_evidence_check_path": float(log_evidence_check),
        "chi_squared_per_pixel": float(fit.chi_squared / pixels_in_mask),
        "seconds_per_likelihood": float(np.median(times)),
        "seconds_per_likelihood_calls": [float(t) for t in times],
        "seconds_first_call": float(warm_seconds),
        "seconds_dataset_setup": float(setup_seconds),
        "seconds_check_path_one_call": float(check_seconds),
        "inversion": path,
        "check_inversion": check_path,
    }
    print(
        f"pixelization N = {n}: log evidence {fit.log_evidence:.2f} ({check_path} {log_evidence_check:.2f}), "
        f"chi-squared / pixel {fit.chi_squared / pixels_in_mask:.3f}, one likelihood {np.median(times):.2f} s "
        f"(median of {repeats}; first call {warm_seconds:.2f} s; {path}); {check_path} {check_seconds:.2f} s"
    )
    assert np.isfinite(fit.log_evidence)
    assert abs(fit.log_evidence - log_evidence_check) <= 1.0e-9 * abs(log_evidence_check), (
        n, fit.log_evidence, log_evidence_check
    )

"""
__Choose Pixelization N__

The smallest N whose evidence is within `tolerance` = 5 of the largest (see the docstring at the top). The data were
made with the PSF at N = 4 and a clump thinner than a pixel, so the evidence must rise from N = 1 through 2 to 4, and
by more than the tolerance at each step: N = 4 is chosen.
"""
tolerance = 5.0
evidence = {n: results[n]["log_evidence"] for n in pixelization_sizes}
best = max(evidence.values())
chosen_n = min(n for n in pixelization_sizes if evidence[n] >= best - tolerance)
print(
    "log evidence - the largest: "
    + ", ".join(f"N = {n}: {evidence[n] - best:+.1f}" for n in pixelization_sizes)
    + f"  ->  pixelization N = {chosen_n}"
)
assert evidence[1] < evidence[2] < evidence[psf_n], evidence
assert evidence[2] - evidence[1] > tolerance and evidence[psf_n] - evidence[2] > tolerance, evidence
assert chosen_n == psf_n, chosen_n
figures.update(
    {
        "pixels_in_mask": pixels_in_mask,
        "source_pixels": int(image_plane_mesh_grid.shape[0] - edge_pixels),
        "regularization": regularization_fixed,
        "psf_convolve_over_sample_size": psf_n,
        "convolve_over_sample_size_lp": psf_n,
        "pixelization": {str(n): results[n] for n in pixelization_sizes},
        "evidence_tolerance": tolerance,
        "chosen_pixelization_n": int(chosen_n),
    }
)

"""
__Figure__

Top: the log evidence against pixelization N (the band is `tolerance` below the largest), the measured time of one
likelihood (the fastest CPU path, median of three; and one call of the check path), and the source reconstruction
at the chosen N. Bottom: the normalized residuals at each N, on one colour scale: where N = 1 and 2 misfit the clump's
arcs.
"""
sizes = np.array(pixelization_sizes)
figure, axes = plt.subplots(2, 3, figsize=(16, 10))
ax = axes[0, 0]
ax.plot(sizes, [evidence[n] for n in sizes], "o-", color="C0")
ax.axhspan(best - tolerance, best, color="C2", alpha=0.3, label=f"within {tolerance:g} of the largest")
for n in sizes:
    ax.annotate(f"{evidence[n]:.1f}", (n, evidence[n]), textcoords="offset points", xytext=(6, -12))
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.set_xlabel("pixelization N (convolve_over_sample_size_pixelization)")
ax.set_ylabel("log evidence")
ax.set_title(f"log evidence (lens light at N = {psf_n}); chosen: N = {chosen_n}")
ax.legend(loc="lower right")

ax = axes[0, 1]
ax.plot(sizes, [results[n]["seconds_per_likelihood"] for n in sizes], "o-", label="fastest CPU path (median)")
for n in sizes:
    calls = results[n]["seconds_per_likelihood_calls"]
    ax.plot([n] * len(calls), calls, ".", color="C0", alpha=0.4, label="each timed call" if n == sizes[0] else None)
ax.plot(sizes, [results[n]["seconds_check_path_one_call"] for n in sizes], "s--", label="check path (one call)")
ax.set_xscale("log", base=2)
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.set_ylim(bottom=0.0)
ax.set_xlabel("pixelization N")
ax.set_ylabel("seconds")
ax.set_title("time of one likelihood")
ax.legend(loc="best", fontsize="small")

ax = axes[0, 2]
fit_chosen = fits_by_n[chosen_n]
mapper = fit_chosen.inversion.cls_list_from(cls=al.Mapper)[0]
mesh_grid = np.array(mapper.source_plane_mesh_grid)
reconstruction = np.array(fit_chosen.inversion.reconstruction)
assert reconstruction.shape == (mesh_grid.shape[0],), (reconstruction.shape, mesh_grid.shape)
shown = ax.tripcolor(
    mesh_grid[:, 1], mesh_grid[:, 0], reconstruction, shading="gouraud", cmap="magma",
    norm=matplotlib.colors.PowerNorm(gamma=0.5, vmin=0.0, vmax=reconstruction.max()),
)
ax.triplot(mesh_grid[:, 1], mesh_grid[:, 0], color="white", linewidth=0.1, alpha=0.5)
ax.set_aspect("equal")
ax.set_xlim(-0.25, 0.35)
ax.set_ylim(-0.25, 0.35)
ax.set_xlabel('source-plane x (")')
ax.set_title(f"source reconstruction at N = {chosen_n} (sqrt scale)")
figure.colorbar(shown, ax=ax)

half_image = shape_native[0] * pixel_scale / 2.0
for ax, n in zip(axes[1], pixelization_sizes):
    shown = ax.imshow(
        fits_by_n[n].normalized_residual_map.native.array,
        origin="upper",
        extent=[-half_image, half_image, -half_image, half_image],
        cmap="RdBu_r",
        vmin=-5.0,
        vmax=5.0,
    )
    ax.set_xlim(-mask_radius, mask_radius)
    ax.set_ylim(-mask_radius, mask_radius)
    ax.set_xlabel('x (")')
    ax.set_title(f"N = {n}: ln Z = {evidence[n]:.1f}, chi^2 / pixel = {results[n]['chi_squared_per_pixel']:.3f}")
    figure.colorbar(shown, ax=ax, label="(data - model) / noise")
figure.tight_layout()
figure.savefig(output_path / "evidence.png", dpi=80)
plt.close(figure)
written.append(output_path / "evidence.png")

"""
__Search__ (only with `--search`)

A short Nautilus search of the three `AdaptSplit` parameters at each requested N, with the lens model and the mesh
fixed as above: inner and outer coefficients log-uniform in [1e-4, 1e2] and [1e-2, 1e3], the signal scale uniform
in [0, 1]. Its analysis is `AnalysisImagingEvidence` (above), so it maximises the log evidence; the release's
`AnalysisImaging` on numpy would maximise the log likelihood (printed first, for comparison).

Before it starts it prints the measured cost of one likelihood (from the check above) and the expected duration.
The estimate: Nautilus evaluates the likelihood in batches of `n_batch` points (first from the prior, then from its
neural-network bounds) and stops when the evidence in its live set is below `f_live` and its posterior has `n_eff`
effective samples, or at `n_like_max` calls, checked between batches. With 50 live points, batches of 100 and a cap
of 600 calls, a three-parameter problem reaches the cap first, so the expected number of calls is
`n_batch * ceil(n_like_max / n_batch)` = 600, plus one when autofit re-evaluates the best fit to time it after the
search: 601. The expected duration is that times the cost of one likelihood (plus a few seconds of output). After the
search it prints the calls counted and the time taken (measured on a shared machine: 601 calls at each N, in 6 to 8
minutes against 8.6 to 12 expected, as other work on it eased during the searches).
"""
if search_sizes:
    conf.instance["output"]["latent_after_fit"] = False
    n_live, n_batch, n_like_max = 50, 100, 600
    expected_calls = n_batch * int(np.ceil(n_like_max / n_batch)) + 1
    """
    The release's own numpy likelihood (see __Model And Analysis__) on the fixed instance: the log likelihood, not the
    log evidence this search maximises.
    """
    release_value = al.AnalysisImaging(
        dataset=fastest_dataset_from(search_sizes[0]),
        adapt_images=adapt_images,
        use_jax=False,
        raise_inversion_positions_likelihood_exception=False,
    ).log_likelihood_function(instance=instance)
    print(
        f"al.AnalysisImaging(use_jax=False).log_likelihood_function at pixelization N = {search_sizes[0]}: "
        f"{release_value:.2f}; the fit's log likelihood {fits_by_n[search_sizes[0]].log_likelihood:.2f}, its log "
        f"evidence {fits_by_n[search_sizes[0]].log_evidence:.2f} (what AnalysisImagingEvidence returns)"
    )
    figures["release_numpy_log_likelihood_function"] = float(release_value)
    figures["search"] = {}
    for n in search_sizes:
        regularization = af.Model(al.reg.AdaptSplit)
        regularization.inner_coefficient = af.LogUniformPrior(lower_limit=1.0e-4, upper_limit=1.0e2)
        regularization.outer_coefficient = af.LogUniformPrior(lower_limit=1.0e-2, upper_limit=1.0e3)
        regularization.signal_scale = af.UniformPrior(lower_limit=0.0, upper_limit=1.0)
        model = model_from(regularization)
        assert model.prior_count == 3
        search = af.Nautilus(
            name=f"pixelization_n{n}",
            path_prefix=output_path / "search",
            n_live=n_live,
            n_batch=n_batch,
            n_networks=1,
            n_like_max=n_like_max,
            seed=1,
            number_of_cores=1,
            iterations_per_quick_update=100000,
            iterations_per_full_update=100000,
        )
        analysis = analysis_from(fastest_dataset_from(n))
        seconds = results[n]["seconds_per_likelihood"]
        print(
            f"\nsearch at pixelization N = {n}: one likelihood costs {seconds:.2f} s (measured above); Nautilus with "
            f"{n_live} live points, batches of {n_batch} and at most {n_like_max} calls: about {expected_calls} "
            f"likelihood calls, so expect about {expected_calls * seconds / 60.0:.1f} minutes "
            f"({expected_calls} x {seconds:.2f} s) unless its output is already there"
        )
        AnalysisImagingEvidence.calls = 0
        search_start = time.time()
        result = search.fit(model=model, analysis=analysis)
        search_seconds = time.time() - search_start
        best_instance = result.max_log_likelihood_instance
        best_regularization = best_instance.galaxies.source.pixelization.regularization
        best_fit = analysis.fit_from(instance=best_instance)
        done = (
            f"done in {search_seconds / 60.0:.1f} minutes ({AnalysisImagingEvidence.calls} likelihood calls)"
            if AnalysisImagingEvidence.calls
            else "loaded from its finished output"
        )
        print(
            f"search at pixelization N = {n} {done}: best log evidence {best_fit.log_evidence:.2f} "
            f"(fixed regularization above: {evidence[n]:.2f}) at inner {best_regularization.inner_coefficient:.3g}, "
            f"outer {best_regularization.outer_coefficient:.3g}, signal scale {best_regularization.signal_scale:.3g}"
        )
        figures["search"][str(n)] = {
            "expected_calls": expected_calls,
            "expected_seconds": expected_calls * seconds,
            "calls": AnalysisImagingEvidence.calls,
            "seconds": search_seconds,
            "best_log_evidence": float(best_fit.log_evidence),
            "best_chi_squared_per_pixel": float(best_fit.chi_squared / pixels_in_mask),
            "best_regularization": {
                "inner_coefficient": float(best_regularization.inner_coefficient),
                "outer_coefficient": float(best_regularization.outer_coefficient),
                "signal_scale": float(best_regularization.signal_scale),
            },
        }
    searched = figures["search"]
    if len(searched) > 1:
        best_searched = max(entry["best_log_evidence"] for entry in searched.values())
        chosen_searched = min(
            int(n) for n, entry in searched.items() if entry["best_log_evidence"] >= best_searched - tolerance
        )
        print(
            "each N's best log evidence - the largest: "
            + ", ".join(f"N = {n}: {entry['best_log_evidence'] - best_searched:+.1f}" for n, entry in searched.items())
            + f"  ->  pixelization N = {chosen_searched}"
        )
        figures["search_chosen_pixelization_n"] = chosen_searched

figures["run_time_s"] = time.time() - start
with open(output_path / "figures.json", "w") as f:
    json.dump(figures, f, indent=2)
written.append(output_path / "figures.json")

for path in written:
    assert path.is_file() and path.stat().st_size > 0, path
print("Written:")
for path in written:
    print(f"  {path}")
print(f"modeling_pixelized.py finished in {time.time() - start:.1f} s")
