"""
Modeling With JAX: An Oversampled Fit Under `jax.jit`, Timed Against numpy
==========================================================================

PyAutoLens evaluates a likelihood with numpy or, compiled, with JAX. An oversampled PSF (N =
`convolve_over_sample_size` > 1) changes nothing in how a modeller asks for JAX: the analysis is made with
`use_jax=True` and the search compiles its likelihood with `jax.jit`. This script shows the recipe and measures it on
an HST-like lens (0.05" pixels, a PSF of FWHM about two pixels held at 0.05" / N):

1. **64-bit first**: JAX in double precision, set before anything imports JAX (`__JAX In Double Precision__` says
   why it must come first);
2. simulate a strong lens with the PSF at N = 4, and fit it with the true parametric model (Sersic lens light,
   isothermal mass, Sersic source) at N = 1, 2 and 4 (`convolve_over_sample_size_lp = N`,
   `over_sample_size_lp = 2 N`);
3. for each N, time one numpy likelihood against one `jax.jit` likelihood, the same function a search compiles
   (`Fitness.call` of an `AnalysisImaging(use_jax=True)`): the compile (the first jitted call) apart, then the
   quickest of a few calls; and assert the two agree;
4. the same for a pixelized source (a Delaunay mesh from an adapt image, lens light at N = 4, pixelization at N = 2),
   where the release's numpy `log_likelihood_function` returns another quantity than its JAX one
   (`__A Pixelized Source__` says which).

__What It Writes__

 - `autolens_workspace/output/modeling_jax/`: `figures.json` (every number of the printed table) and `timing.png`
   (the numpy and `jax.jit` call times, and the compile times, against N).

Run it from anywhere (about 35 s of CPU time; 38 to 75 s of wall time on our 2-core machine while it ran other jobs,
at a load average of 6 to 9; the pixelized fit is about half of it, and `--no-pixelized` skips it):

    .venv/bin/python autolens_workspace/scripts/imaging/modeling_jax.py
"""

"""
__JAX In Double Precision: Before Any Import__

JAX computes in single precision (float32) unless 64-bit mode is on, and it reads the environment variable
`JAX_ENABLE_X64` once, when `jax` is first imported: setting the variable later changes nothing. A lens likelihood
needs double precision: it is a sum over thousands of pixels, and the light of a steep profile, the noise
normalisation and the linear algebra of an inversion lose their digits in float32.

`import autolens` (through `autoconf.jax_wrapper`) sets `os.environ["JAX_ENABLE_X64"] = "True"` when it is not
set (and sets `XLA_FLAGS` to `--xla_disable_hlo_passes=constant_folding`, for quicker compiles, replacing any flags
set before). That only works if JAX has not been imported yet: `import jax` before `import autolens` leaves
JAX in float32, which it says only in warnings ("Explicitly requested dtype float64 ... will be truncated to dtype
float32"). The jitted likelihood is then good to about 7 digits (14482.8652 for the float64 14482.8632 of N = 2
below, while two models a search must tell apart may differ by less than 0.01), or NaN, which a search's `Fitness`
reports as -inf. So set it yourself, first, before any import (or run with `JAX_ENABLE_X64=True` in the
environment; `jax.config.update("jax_enable_x64", True)` directly after `import jax`, before any JAX array exists,
works too).
"""
import os

os.environ["JAX_ENABLE_X64"] = "True"

import time

start = time.time()

import json
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import erf

import jax
import jax.numpy as jnp

import autofit as af
import autolens as al
from autofit.non_linear.fitness import Fitness

assert jax.config.jax_enable_x64 and jnp.zeros(1).dtype == jnp.float64, "JAX is not in 64-bit mode"
jax.jit(lambda x: x + 1.0)(1.0).block_until_ready()  # start JAX's backend and compiler, so no N pays for it

warnings.filterwarnings("ignore", message="No blurring_image provided")
warnings.filterwarnings("ignore", message="Mask padded from")

workspace_path = Path(__file__).resolve().parents[2]
output_path = workspace_path / "output" / "modeling_jax"
output_path.mkdir(parents=True, exist_ok=True)
run_pixelized = "--no-pixelized" not in sys.argv[1:]
figures = {"parametric": {}, "pixelized": None}
written = []

"""
__The Scene__

HST-like: a 100 x 100 image of 0.05" pixels and a 2" circular mask. The PSF is a Gaussian of sigma 0.04" (FWHM
0.094", under two pixels), integrated over each fine pixel of 0.05" / N, on a kernel of +-0.5" (20 N + 1 fine
pixels a side: 21, 41 and 81 at N = 1, 2 and 4). The lens has a steep Sersic bulge (index 4): the case where a native PSF
is wrong by percents at the lens's centre.
"""
pixel_scale = 0.05
shape_native = (100, 100)
mask_radius = 2.0
psf_sigma = 0.04
N_LIST = [1, 2, 4]


def psf_from(n: int) -> al.Convolver:
    """The PSF at N: the Gaussian integrated over fine pixels of 0.05" / N, +-0.5", normalised."""
    size = 20 * n + 1
    edges = (np.arange(size + 1) - size / 2.0) * pixel_scale / n
    kernel_1d = 0.5 * np.diff(erf(edges / (np.sqrt(2.0) * psf_sigma)))
    kernel = np.outer(kernel_1d, kernel_1d)
    return al.Convolver(
        kernel=al.Array2D.no_mask(values=kernel / kernel.sum(), pixel_scales=pixel_scale / n),
        convolve_over_sample_size=n,
    )


lens_bulge = dict(centre=(0.0, 0.0), ell_comps=(0.05, 0.1), intensity=0.5, effective_radius=0.6, sersic_index=4.0)
lens_mass = dict(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), einstein_radius=1.2)
source_bulge = dict(centre=(0.1, 0.05), ell_comps=(0.1, 0.0), intensity=0.3, effective_radius=0.2, sersic_index=1.5)
tracer_true = al.Tracer(
    galaxies=[
        al.Galaxy(redshift=0.5, bulge=al.lp.Sersic(**lens_bulge), mass=al.mp.Isothermal(**lens_mass)),
        al.Galaxy(redshift=1.0, bulge=al.lp.Sersic(**source_bulge)),
    ]
)

"""
__Simulate__

The data: the true lens blurred with the PSF at N = 4 (light evaluated 8 x 8 times per pixel), 2,000 s of exposure
on a sky of 0.1 counts / s, Poisson noise.
"""
simulator = al.SimulatorImaging(
    exposure_time=2000.0, psf=psf_from(4), background_sky_level=0.1, add_poisson_noise_to_data=True, noise_seed=1
)
simulated = simulator.via_tracer_from(
    tracer=tracer_true, grid=al.Grid2D.uniform(shape_native=shape_native, pixel_scales=pixel_scale, over_sample_size=8)
)
mask = al.Mask2D.circular(shape_native=shape_native, pixel_scales=pixel_scale, radius=mask_radius)
pixels = int(mask.pixels_in_mask)


def dataset_from(n_lp: int, n_pixelization: int, over_sample_size_pixelization: int) -> al.Imaging:
    return al.Imaging(
        data=simulated.data,
        noise_map=simulated.noise_map,
        psf=psf_from(max(n_lp, n_pixelization)),
        over_sample_size_lp=2 * n_lp,
        over_sample_size_pixelization=over_sample_size_pixelization,
        convolve_over_sample_size_lp=n_lp,
        convolve_over_sample_size_pixelization=n_pixelization,
    ).apply_mask(mask=mask)


"""
__The Model__

Five free parameters (the lens's effective radius and Sersic index, its Einstein radius, the source's intensity and
effective radius), the rest fixed at the truth. The likelihoods below are evaluated at the true parameters, which a
fit would converge to.
"""
lens = af.Model(al.Galaxy, redshift=0.5, bulge=al.lp.Sersic, mass=al.mp.Isothermal)
lens.bulge.centre, lens.bulge.ell_comps, lens.bulge.intensity = (0.0, 0.0), lens_bulge["ell_comps"], 0.5
lens.bulge.effective_radius = af.UniformPrior(lower_limit=0.3, upper_limit=1.0)
lens.bulge.sersic_index = af.UniformPrior(lower_limit=2.0, upper_limit=6.0)
lens.mass.centre, lens.mass.ell_comps = (0.0, 0.0), lens_mass["ell_comps"]
lens.mass.einstein_radius = af.UniformPrior(lower_limit=1.0, upper_limit=1.4)
source = af.Model(al.Galaxy, redshift=1.0, bulge=al.lp.Sersic)
source.bulge.centre, source.bulge.ell_comps, source.bulge.sersic_index = (0.1, 0.05), (0.1, 0.0), 1.5
source.bulge.intensity = af.UniformPrior(lower_limit=0.0, upper_limit=1.0)
source.bulge.effective_radius = af.UniformPrior(lower_limit=0.05, upper_limit=0.5)
model = af.Collection(galaxies=af.Collection(lens=lens, source=source))
assert model.prior_count == 5
by_path = {
    ("galaxies", "lens", "bulge", "effective_radius"): 0.6,
    ("galaxies", "lens", "bulge", "sersic_index"): 4.0,
    ("galaxies", "lens", "mass", "einstein_radius"): 1.2,
    ("galaxies", "source", "bulge", "intensity"): 0.3,
    ("galaxies", "source", "bulge", "effective_radius"): 0.2,
}
parameters_true = [by_path[tuple(path)] for path in model.paths]  # in the order of the model's parameter vector

"""
__numpy Against `jax.jit`, The Release's Way__

A search evaluates `Fitness.call(parameters)`: the parameter vector becomes a model instance and
`analysis.log_likelihood_function(instance)` fits it. With `AnalysisImaging(use_jax=True)` the search compiles
exactly that function with `jax.jit` (`Fitness._jit`); we do the same, and call it with the true parameters. The
numpy likelihood is the same call on an `AnalysisImaging(use_jax=False)`.

Timings: the numpy `fit_from(instance)` first (its first call builds the dataset's lazily evaluated grids) and the
first jitted call (trace, compile and run); then `calls` rounds of one numpy `Fitness.call` (what a numpy search
calls per sample) and one jitted call, and the quickest of each (the least disturbed by other work on the machine, as
`timeit` advises). The first jitted call minus the quickest is the compile time (the first N's includes some one-off
tracing costs of the library). Wall times of one process; XLA uses every core it finds, numpy's FFTs one. On a busy
machine single calls vary by several times; the agreement asserted below does not.
"""


def numpy_and_jit(dataset, model, parameters, adapt_images=None, calls=3):
    analysis_np = al.AnalysisImaging(dataset=dataset, adapt_images=adapt_images, use_jax=False)
    analysis_jax = al.AnalysisImaging(dataset=dataset, adapt_images=adapt_images, use_jax=True)
    fitness_np = Fitness(model=model, analysis=analysis_np, resample_figure_of_merit=-1.0e99)
    fitness_jax = Fitness(model=model, analysis=analysis_jax, resample_figure_of_merit=-1.0e99)
    jitted = jax.jit(fitness_jax.call)  # what a search compiles (Fitness._jit)
    vector = np.array(parameters)

    fit_np = analysis_np.fit_from(instance=model.instance_from_vector(vector=parameters))
    figure_of_merit_np = float(fit_np.figure_of_merit)

    t0 = time.perf_counter()
    value_jit = float(jitted(jnp.asarray(vector)).block_until_ready())
    first_s = time.perf_counter() - t0

    # Round-robin, so that a busy machine disturbs both alike.
    numpy_times, jit_times = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        log_likelihood_function_np = float(fitness_np.call(vector))
        numpy_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        jitted(jnp.asarray(vector)).block_until_ready()
        jit_times.append(time.perf_counter() - t0)
    jit_s = float(np.min(jit_times))
    return dict(
        fit_np=fit_np,
        figure_of_merit_np=figure_of_merit_np,
        log_likelihood_function_numpy=log_likelihood_function_np,
        value_jit=value_jit,
        numpy_s=float(np.min(numpy_times)),
        jit_s=jit_s,
        jit_compile_s=first_s - jit_s,
    )


def independent_log_likelihood(fit):
    """-0.5 (chi^2 + sum ln 2 pi sigma^2) and chi^2 over the mask, from the data, the fit's model image and noise map."""
    data, model_data, noise = (np.asarray(a.array) for a in (fit.data, fit.model_data, fit.noise_map))
    chi_squared = np.sum(((data - model_data) / noise) ** 2)
    return -0.5 * (chi_squared + np.sum(np.log(2.0 * np.pi * noise**2))), chi_squared


"""
__The Parametric Fit At N = 1, 2, 4__

Agreement: numpy and `jax.jit` evaluate the same float64 arithmetic in a different order (XLA fuses and reorders
the sums, and its FFT is not scipy's), so they differ by rounding: a log likelihood of about 10^4 summed over
~5,000 pixels can carry rounding of up to about 10^-13 of its value (we see 10^-16 to 10^-15). We assert a relative
1e-10, which rounding cannot reach and any real difference (a missed term, one float32 step: ~1e-7) exceeds.
"""
rows = []
for n in N_LIST:
    dataset = dataset_from(n_lp=n, n_pixelization=n, over_sample_size_pixelization=2 * n)  # unused: no pixelization
    result = numpy_and_jit(dataset, model, parameters_true, calls=5)
    fit_np = result["fit_np"]
    value_np = result["figure_of_merit_np"]
    relative = abs(result["value_jit"] - value_np) / abs(value_np)
    independent, chi_squared = independent_log_likelihood(fit_np)
    row = dict(
        N=n,
        over_sample_size_lp=2 * n,
        fine_kernel=list(dataset.psf.kernel.shape_native),
        numpy_ms=1e3 * result["numpy_s"],
        jit_ms=1e3 * result["jit_s"],
        jit_compile_s=result["jit_compile_s"],
        speed_up=result["numpy_s"] / result["jit_s"],
        log_likelihood_numpy=value_np,
        log_likelihood_jit=result["value_jit"],
        relative_difference=relative,
        chi_squared_per_pixel=float(chi_squared / pixels),
    )
    rows.append(row)
    if n == 4:
        fit_n4 = fit_np  # the true model at the data's own N: its source image is the pixelized fit's adapt image
    figures["parametric"][f"N={n}"] = row
    print(
        f"N = {n}: numpy {row['numpy_ms']:.1f} ms, jax.jit {row['jit_ms']:.1f} ms (compile {row['jit_compile_s']:.2f} s), "
        f"log likelihood {value_np:.6f} / {result['value_jit']:.6f}, relative difference {relative:.1e}",
        flush=True,
    )
    assert relative < 1e-10, (n, value_np, result["value_jit"])
    # The release's numpy log_likelihood_function is the fit's log likelihood; so is the formula written out.
    assert np.isclose(result["log_likelihood_function_numpy"], value_np, rtol=1e-12, atol=0.0)
    assert np.isclose(independent, value_np, rtol=1e-12, atol=0.0), (independent, value_np)

"""
The true model at the data's own N (4) leaves noise: chi^2 within 5 sigma of the number of pixels (the scatter of a
correct model's chi^2 is sqrt(2 n)); at N = 1 the native PSF misses the lens's core by many sigma.
"""
scatter = np.sqrt(2.0 * pixels)
chi_squared_by_n = {row["N"]: row["chi_squared_per_pixel"] * pixels for row in rows}
assert abs(chi_squared_by_n[4] - pixels) < 5.0 * scatter, chi_squared_by_n
assert chi_squared_by_n[1] - chi_squared_by_n[4] > 5.0 * scatter, chi_squared_by_n

"""
__A Pixelized Source__

The same data, with the source reconstructed on a Delaunay mesh: the image-plane mesh is drawn from an adapt image
(the lensed source's image, here that of the true model's fit, as an earlier search would give it) with
`al.image_mesh.Hilbert`, 30 edge points are appended on a circle just outside the mask and zeroed, and the
regularization adapts to the same image (`al.reg.AdaptSplit`). The lens light is at N = 4, the pixelization at
N = 2 (the PSF is held at N = 4; the mapping matrix is convolved with its exact N = 2 kernel). Both adapt inputs
reach the analysis by galaxy name, as a search passes them (`al.AdaptImages(galaxy_name_image_dict=...,
galaxy_name_image_plane_mesh_grid_dict=...)`); one free parameter, the Einstein radius.

**What differs, and why.** The release's `AnalysisImaging.log_likelihood_function` returns
`fit.figure_of_merit` when `use_jax=True` (the log evidence, for a fit with an inversion) but `fit.log_likelihood`
when `use_jax=False` (-0.5 (chi^2 + noise normalisation), without the regularization term and the two log
determinants). For a parametric fit the two are the same number; for a pixelized fit they differ by
0.5 (s^T H s + ln det(F + H) - ln det H): 1,500 here (so a numpy search of a pixelized source samples a
likelihood without the evidence's terms). It is the release's code (autolens `imaging/model/analysis.py`), the same
at N = 1; the series leaves it, so that every N = 1 result stays the release's. Compare `fit.figure_of_merit` (or `fit.log_evidence`) of the numpy fit with the jitted value, as we do:
those agree to rounding at every N.

Tolerance: the numpy inversion solves the positive-only system with fnnls (an active-set method, exact up to
rounding), the JAX one with jaxnnls (an interior-point method that stops when its KKT residual is below
n x 5,000 x float64 eps on the Jacobi-scaled system), and the log determinants come from LAPACK and XLA Choleskys.
Their reconstructions agree to about 1e-11 of the brightest pixel; we assert the log evidences to a relative 1e-9.
"""
if run_pixelized:
    dataset = dataset_from(n_lp=4, n_pixelization=2, over_sample_size_pixelization=2)
    source_image = fit_n4.galaxy_model_image_dict[fit_n4.tracer.galaxies[1]]
    edge_points = 30
    image_mesh_grid = al.image_mesh.Hilbert(pixels=300, weight_floor=0.2, weight_power=1.0).image_plane_mesh_grid_from(
        mask=dataset.mask, adapt_data=source_image
    )
    image_mesh_grid = al.image_mesh.append_with_circle_edge_points(
        image_plane_mesh_grid=image_mesh_grid,
        centre=mask.mask_centre,
        radius=mask_radius + pixel_scale / 2.0,
        n_points=edge_points,
    )
    source_name = str(("galaxies", "source"))
    adapt_images = al.AdaptImages(
        galaxy_name_image_dict={source_name: source_image},
        galaxy_name_image_plane_mesh_grid_dict={source_name: image_mesh_grid},
    )
    lens_pixelized = af.Model(al.Galaxy, redshift=0.5, bulge=al.lp.Sersic(**lens_bulge), mass=al.mp.Isothermal)
    lens_pixelized.mass.centre, lens_pixelized.mass.ell_comps = (0.0, 0.0), lens_mass["ell_comps"]
    lens_pixelized.mass.einstein_radius = af.UniformPrior(lower_limit=1.0, upper_limit=1.4)
    source_pixelized = af.Model(
        al.Galaxy,
        redshift=1.0,
        pixelization=al.Pixelization(
            mesh=al.mesh.Delaunay(pixels=image_mesh_grid.shape[0] - edge_points, zeroed_pixels=edge_points),
            regularization=al.reg.AdaptSplit(inner_coefficient=0.01, outer_coefficient=1.0, signal_scale=1.0),
        ),
    )
    model_pixelized = af.Collection(galaxies=af.Collection(lens=lens_pixelized, source=source_pixelized))
    assert model_pixelized.prior_count == 1

    result = numpy_and_jit(dataset, model_pixelized, [1.2], adapt_images=adapt_images, calls=2)
    fit_np = result["fit_np"]
    inversion = fit_np.inversion
    log_evidence_np = float(fit_np.log_evidence)
    assert log_evidence_np == result["figure_of_merit_np"]
    relative = abs(result["value_jit"] - log_evidence_np) / abs(log_evidence_np)

    # The log evidence written out: chi^2 from the residuals, the log determinants by LU (numpy's slogdet), not by
    # the Cholesky factors the inversion uses. The source is the only linear object and is regularized, so the
    # determinants are over all its pixels (the zeroed edge pixels included, whose reconstruction is 0).
    independent_likelihood, chi_squared = independent_log_likelihood(fit_np)
    assert len(inversion.linear_obj_list) == 1
    curvature_reg = np.asarray(inversion.curvature_reg_matrix)
    regularization = np.asarray(inversion.regularization_matrix)
    reconstruction = np.asarray(inversion.reconstruction)
    sign_f, log_det_f = np.linalg.slogdet(curvature_reg)
    sign_h, log_det_h = np.linalg.slogdet(regularization)
    assert sign_f > 0 and sign_h > 0
    regularization_term = reconstruction @ regularization @ reconstruction
    independent_evidence = independent_likelihood - 0.5 * (regularization_term + log_det_f - log_det_h)
    gap = result["log_likelihood_function_numpy"] - result["value_jit"]

    figures["pixelized"] = dict(
        N_lp=4,
        N_pixelization=2,
        source_pixels=int(image_mesh_grid.shape[0]),
        numpy_ms=1e3 * result["numpy_s"],
        jit_ms=1e3 * result["jit_s"],
        jit_compile_s=result["jit_compile_s"],
        speed_up=result["numpy_s"] / result["jit_s"],
        log_evidence_numpy=log_evidence_np,
        log_evidence_jit=result["value_jit"],
        relative_difference=relative,
        numpy_log_likelihood_function=result["log_likelihood_function_numpy"],
        numpy_log_likelihood_function_minus_jit=gap,
        regularization_term=float(regularization_term),
        log_det_curvature_reg=float(log_det_f),
        log_det_regularization=float(log_det_h),
    )
    print(
        f"pixelized (lp N = 4, pixelization N = 2, {image_mesh_grid.shape[0]} source pixels): numpy "
        f"{1e3 * result['numpy_s']:.0f} ms, jax.jit {1e3 * result['jit_s']:.0f} ms (compile "
        f"{result['jit_compile_s']:.2f} s), log evidence {log_evidence_np:.6f} / {result['value_jit']:.6f}, "
        f"relative difference {relative:.1e}",
        flush=True,
    )
    print(
        f"  the release's numpy log_likelihood_function returns the log likelihood, "
        f"{result['log_likelihood_function_numpy']:.3f}: {gap:.3f} above the jitted log evidence, "
        f"= 0.5 (s^T H s + ln det(F+H) - ln det H) = 0.5 ({regularization_term:.3f} + {log_det_f:.3f} - {log_det_h:.3f})"
    )
    assert relative < 1e-9, (log_evidence_np, result["value_jit"])
    assert np.isclose(independent_evidence, log_evidence_np, rtol=1e-10, atol=0.0), (independent_evidence, log_evidence_np)
    assert np.isclose(result["log_likelihood_function_numpy"], independent_likelihood, rtol=1e-12, atol=0.0)
    assert np.isclose(gap, 0.5 * (regularization_term + log_det_f - log_det_h), rtol=1e-8, atol=0.0)

"""
__The Table__
"""
header = "| N | os_lp | fine PSF | numpy | jax.jit | speed-up | jit compile | log likelihood | jit - numpy (relative) | chi^2 / pixel |"
lines = [header, "|---" * (header.count("|") - 1) + "|"]
for row in rows:
    lines.append(
        f"| {row['N']} | {row['over_sample_size_lp']} | {row['fine_kernel'][0]}x{row['fine_kernel'][1]} "
        f"| {row['numpy_ms']:.1f} ms | {row['jit_ms']:.1f} ms | {row['speed_up']:.1f}x | {row['jit_compile_s']:.2f} s "
        f"| {row['log_likelihood_numpy']:.4f} | {row['relative_difference']:.1e} | {row['chi_squared_per_pixel']:.3f} |"
    )
if figures["pixelized"] is not None:
    p = figures["pixelized"]
    lines.append(
        f"| pixelized, lp 4 / pix 2 | 8 / 2 | 81x81 | {p['numpy_ms']:.0f} ms | {p['jit_ms']:.0f} ms "
        f"| {p['speed_up']:.1f}x | {p['jit_compile_s']:.2f} s | {p['log_evidence_numpy']:.4f} (log evidence) "
        f"| {p['relative_difference']:.1e} | - |"
    )
print(f"\nHST-like lens, {shape_native[0]} x {shape_native[1]} at {pixel_scale}\" ({pixels:,} pixels in the mask), "
      f"PSF sigma {psf_sigma}\", {os.cpu_count()} cores:\n")
print("\n".join(lines))

"""
__Figures__
"""
figure, (axis_call, axis_compile) = plt.subplots(1, 2, figsize=(10, 4))
ns = [row["N"] for row in rows]
axis_call.plot(ns, [row["numpy_ms"] for row in rows], "o-", label="numpy")
axis_call.plot(ns, [row["jit_ms"] for row in rows], "s-", label="jax.jit")
axis_call.set_xlabel("N (convolve_over_sample_size_lp), over_sample_size_lp = 2 N")
axis_call.set_ylabel("log likelihood, one call (ms)")
axis_call.set_xticks(ns)
axis_call.legend()
axis_compile.plot(ns, [row["jit_compile_s"] for row in rows], "s-", color="C1")
axis_compile.set_xlabel("N")
axis_compile.set_ylabel("jax.jit compile (s)")
axis_compile.set_xticks(ns)
axis_call.set_ylim(bottom=0.0)
axis_compile.set_ylim(bottom=0.0)
figure.suptitle(f"Parametric lens fit, {pixels:,} pixels of {pixel_scale}\"")
figure.tight_layout()
figure.savefig(output_path / "timing.png", dpi=80)
plt.close(figure)
written.append(output_path / "timing.png")

figures["pixels_in_mask"] = pixels
figures["cores"] = os.cpu_count()
figures["table"] = lines
figures["run_time_s"] = time.time() - start
with open(output_path / "figures.json", "w") as f:
    json.dump(figures, f, indent=2)
written.append(output_path / "figures.json")

for path in written:
    assert path.is_file() and path.stat().st_size > 0, path
print("\nWritten:")
for path in written:
    print(f"  {path}")
print(f"modeling_jax.py finished in {time.time() - start:.1f} s")
