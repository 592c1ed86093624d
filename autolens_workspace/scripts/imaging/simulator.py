"""
Simulator: Strong Lens Imaging With An Oversampled PSF
======================================================

This script simulates CCD imaging of a strong lens: a lens galaxy with a steep Sersic bulge, an isothermal mass and
external shear, lensing a Sersic source. It first does this the standard way, with the PSF held at the data's pixel
scale, and then shows, step by step, how to use an *oversampled* PSF: one held at a pixel scale N times finer than
the data (N = `convolve_over_sample_size`).

__Why Oversample The PSF?__

A model image is blurred by the PSF with a discrete convolution: a sum over pixels. If the PSF is only a pixel or
two wide, a sum over the data's pixels is too coarse to follow how the light and the PSF change inside a pixel, and
the blurred model is wrong by a few percent of the peak exactly where a galaxy is brightest: the centre of a steep
(high Sersic index) lens galaxy, and compact, highly magnified source images. With an oversampled PSF the model is
evaluated on a grid N times finer than the data, blurred there with the PSF at the fine pixel scale, and every
N x N block of fine pixels is averaged back into one data pixel.

It matters when the PSF is small compared to the pixels (a FWHM of one or two pixels, as for HST and JWST imaging)
and the light is steep on that scale. For a broad PSF, or smooth light, the native convolution is already accurate
and N = 1 (the default) is the right choice.

__What It Writes__

 - `autolens_workspace/dataset/imaging/simple/`: the standard simulation (`data.fits`, `noise_map.fits`,
   `psf.fits`, `tracer.json`, `data.png`).
 - `autolens_workspace/dataset/imaging/simple_oversampled/`: the simulation with an oversampled PSF (`data.fits`,
   `noise_map.fits`, `psf.fits` recording N, `tracer.json`, `data.png`, `psf.png`) and `comparison.png`: the data
   and the residuals of fits with the true lens model, with a native PSF and with the oversampled one.

Run it from anywhere, with no config folder:

    make demo        # or: .venv/bin/python autolens_workspace/scripts/imaging/simulator.py
"""
import time

start = time.time()

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits

import autolens as al

"""
__JAX Precision__

Nothing below uses JAX, but PyAutoLens can, and then it needs double precision. autolens switches it on when it is
imported unless the environment variable `JAX_ENABLE_X64` says otherwise; we make sure of it.
"""
import jax

jax.config.update("jax_enable_x64", True)

"""
The simulator pads the image by the PSF's reach before it convolves it, so it needs no separate blurring image, and
says so in a `UserWarning` at every simulation. We silence that one message.
"""
warnings.filterwarnings("ignore", message="No blurring_image provided")

workspace_path = Path(__file__).resolve().parents[2]
dataset_path = workspace_path / "dataset" / "imaging" / "simple"
dataset_oversampled_path = workspace_path / "dataset" / "imaging" / "simple_oversampled"
dataset_path.mkdir(parents=True, exist_ok=True)
dataset_oversampled_path.mkdir(parents=True, exist_ok=True)
written = []

"""
__Grid__

The image is 100 x 100 pixels at 0.1" per pixel. Each pixel's light is evaluated on a 4 x 4 sub-grid
(`over_sample_size=4`) and averaged, so a steep profile is integrated over the pixel rather than sampled at its
centre.
"""
pixel_scale = 0.1
shape_native = (100, 100)
grid = al.Grid2D.uniform(shape_native=shape_native, pixel_scales=pixel_scale, over_sample_size=4)

"""
__Galaxies__

The lens galaxy has a de Vaucouleurs-like bulge (Sersic index 4: very steep at its centre), an isothermal mass and
external shear. The source is a compact Sersic galaxy just off the optical axis, which the lens turns into an arc
and a counter-image.
"""
lens_galaxy = al.Galaxy(
    redshift=0.5,
    bulge=al.lp.Sersic(
        centre=(0.0, 0.0),
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0),
        intensity=0.5,
        effective_radius=0.8,
        sersic_index=4.0,
    ),
    mass=al.mp.Isothermal(
        centre=(0.0, 0.0),
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0),
        einstein_radius=1.6,
    ),
    shear=al.mp.ExternalShear(gamma_1=0.05, gamma_2=0.05),
)
source_galaxy = al.Galaxy(
    redshift=1.0,
    bulge=al.lp.Sersic(
        centre=(0.05, 0.02),
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=60.0),
        intensity=1.0,
        effective_radius=0.2,
        sersic_index=1.5,
    ),
)
tracer = al.Tracer(galaxies=[lens_galaxy, source_galaxy])

"""
__Standard Simulation (N = 1)__

A circular Gaussian PSF of sigma 0.05" (a FWHM of 0.12", 1.2 pixels), held at the data's pixel scale on an 11 x 11
kernel, and a simulator that adds a background sky and Poisson noise for a 1000 s exposure. The fixed `noise_seed`
makes the dataset reproducible.
"""
psf_sigma = 0.05
exposure_time = 1000.0
psf = al.Convolver.from_gaussian(shape_native=(11, 11), pixel_scales=pixel_scale, sigma=psf_sigma, normalize=True)

simulator = al.SimulatorImaging(
    exposure_time=exposure_time, psf=psf, background_sky_level=0.1, add_poisson_noise_to_data=True, noise_seed=1
)
dataset = simulator.via_tracer_from(tracer=tracer, grid=grid)

"""
The dataset is written as .fits files, the lens model that made it as `tracer.json`, and the data as a PNG.
"""


def plot_data(data, title, file_path):
    half = shape_native[1] * pixel_scale / 2
    plt.figure(figsize=(6, 5))
    plt.imshow(
        np.clip(data.native.array, 0.0, None),
        origin="upper",
        extent=[-half, half, -half, half],
        cmap="inferno",
        norm=matplotlib.colors.PowerNorm(gamma=0.5),
    )
    plt.colorbar(label="e- / s")
    plt.title(title)
    plt.xlabel('x (")')
    plt.ylabel('y (")')
    plt.savefig(file_path, dpi=90, bbox_inches="tight")
    plt.close()
    written.append(file_path)


def output_dataset(dataset, path, title):
    al.output_to_fits(values=dataset.data.native_for_fits, file_path=path / "data.fits", overwrite=True)
    al.output_to_fits(values=dataset.noise_map.native_for_fits, file_path=path / "noise_map.fits", overwrite=True)
    dataset.psf.output_to_fits(file_path=path / "psf.fits", overwrite=True)
    al.output_to_json(obj=tracer, file_path=path / "tracer.json")
    written.extend(path / name for name in ("data.fits", "noise_map.fits", "psf.fits", "tracer.json"))
    plot_data(data=dataset.data, title=title, file_path=path / "data.png")


output_dataset(dataset=dataset, path=dataset_path, title="Simulated strong lens (PSF at 0.1\", N = 1)")

"""
__Oversampled PSF: Step 1, The Fine PSF__

The oversampled workflow needs the PSF at the fine pixel scale, 0.1" / N. We use N = 2: a PSF at 0.05".

In practice a fine PSF comes from a PSF model that is finer than the data: a super-resolved PSF built from dithered
stars, or a model PSF evaluated on a finer grid (e.g. an instrument PSF model's "oversampled" output). Such a file is
loaded with

    psf = al.Convolver.from_fits(file_path="psf.fits", hdu=0, pixel_scales=0.1 / 2, convolve_over_sample_size=2)

Here we build it: the same Gaussian (the same sigma in arc-seconds) sampled at 0.05", on 21 x 21 fine pixels that
cover the same +-0.5" as the native 11 x 11 kernel. A fine kernel must have an odd shape, so that it is centred on a
fine pixel.
"""
N = 2
psf_oversampled = al.Convolver.from_gaussian(
    shape_native=(21, 21),
    pixel_scales=pixel_scale / N,
    sigma=psf_sigma,
    normalize=True,
    convolve_over_sample_size=N,
)

"""
__Step 2: Simulate With It__

The simulator sees that the PSF is oversampled. It evaluates the lens on the fine frame (0.05" pixels), blurs it
with the fine PSF, averages every 2 x 2 block back to a 0.1" pixel (by the mean, so that flux is conserved) and then
adds sky and Poisson noise exactly as before, with the same noise seed.

The grid is the same 0.1" grid with `over_sample_size=4`. That is the evaluation budget per data pixel, and it must
be a multiple of N: each of the 2 x 2 fine pixels of a data pixel is evaluated 2 x 2 times, so a data pixel still
gets 4 x 4 samples, at the same positions as before.
"""
simulator_oversampled = al.SimulatorImaging(
    exposure_time=exposure_time,
    psf=psf_oversampled,
    background_sky_level=0.1,
    add_poisson_noise_to_data=True,
    noise_seed=1,
)
dataset_oversampled = simulator_oversampled.via_tracer_from(tracer=tracer, grid=grid)
assert dataset_oversampled.data.shape_native == shape_native
assert dataset_oversampled.psf.convolve_over_sample_size == N

"""
__Step 3: Write It__

`data.fits` and `noise_map.fits` are at the data's pixel scale as always. `psf.output_to_fits` writes the fine
kernel with a header that records its pixel scale and N (keyword `CONVOS`), so that the PSF can never be loaded back
as a native one by mistake. `tracer.json` holds the lens model, and two PNGs show the data and the fine PSF next to
the native one.
"""
output_dataset(
    dataset=dataset_oversampled,
    path=dataset_oversampled_path,
    title=f"Simulated strong lens (PSF at {pixel_scale / N}\", N = {N})",
)
header = fits.getheader(dataset_oversampled_path / "psf.fits")
assert header["CONVOS"] == N, dict(header)
assert "CONVOS" not in fits.getheader(dataset_path / "psf.fits")

figure, axes = plt.subplots(1, 2, figsize=(11, 4.8))
for ax, kernel, title in (
    (axes[0], psf.kernel, f'native: 11 x 11 pixels of {pixel_scale}"'),
    (axes[1], psf_oversampled.kernel, f'fine (N = {N}): 21 x 21 pixels of {pixel_scale / N}"'),
):
    shown = ax.imshow(kernel.native.array, origin="upper", extent=[-0.5, 0.5, -0.5, 0.5], cmap="viridis")
    ax.set_title(title)
    ax.set_xlabel('x (")')
    ax.set_xlim(-0.25, 0.25)
    ax.set_ylim(-0.25, 0.25)
    figure.colorbar(shown, ax=ax, label="fraction of the light")
figure.suptitle(f'The same Gaussian PSF (sigma {psf_sigma}") at two pixel scales (central 0.5" shown)')
figure.savefig(dataset_oversampled_path / "psf.png", dpi=90, bbox_inches="tight")
plt.close(figure)
written.append(dataset_oversampled_path / "psf.png")

"""
__Step 4: Load It__

`Imaging.from_fits` is given the data's pixel scale and N. It loads the PSF at 0.1" / N, checks N against the
header, and sets up the fine grids on which light is evaluated before it is blurred. `convolve_over_sample_size_lp`
applies to light profiles and `convolve_over_sample_size_pixelization` to pixelized sources (the smaller must divide
the larger).
The over-sample sizes (default 4) must be multiples of N.
"""
dataset_loaded = al.Imaging.from_fits(
    data_path=dataset_oversampled_path / "data.fits",
    noise_map_path=dataset_oversampled_path / "noise_map.fits",
    psf_path=dataset_oversampled_path / "psf.fits",
    pixel_scales=pixel_scale,
    over_sample_size_lp=4,
    over_sample_size_pixelization=4,
    convolve_over_sample_size_lp=N,
    convolve_over_sample_size_pixelization=N,
)
assert dataset_loaded.psf.convolve_over_sample_size == N
assert dataset_loaded.psf.kernel.pixel_scales == (pixel_scale / N, pixel_scale / N)
assert np.array_equal(dataset_loaded.data.native.array, dataset_oversampled.data.native.array)

tracer_loaded = al.from_json(file_path=dataset_oversampled_path / "tracer.json")
assert np.array_equal(tracer_loaded.image_2d_from(grid=grid).array, tracer.image_2d_from(grid=grid).array)

"""
Two mistakes the library catches, each with a message that says what to do instead:

 - an over-sample size that is not a multiple of N (3 with N = 2: the 3 x 3 samples of a data pixel cannot be shared
   out among its 2 x 2 fine pixels) is refused;
 - loading the oversampled `psf.fits` as a native PSF (forgetting N) reads it as given, as the library always has,
   with a warning that names the keywords to set.
"""
paths = dict(
    data_path=dataset_oversampled_path / "data.fits",
    noise_map_path=dataset_oversampled_path / "noise_map.fits",
    psf_path=dataset_oversampled_path / "psf.fits",
    pixel_scales=pixel_scale,
)
try:
    al.Imaging.from_fits(
        **paths, over_sample_size_lp=3, convolve_over_sample_size_lp=N, convolve_over_sample_size_pixelization=N
    )
except al.exc.DatasetException as error:
    print(f"Refused, over_sample_size_lp=3 with N = {N}:\n  {error}")
else:
    raise AssertionError(f"over_sample_size_lp=3 with N = {N} was not refused")

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    al.Imaging.from_fits(**paths)
messages = [str(warning.message) for warning in caught if "oversampled by" in str(warning.message)]
assert len(messages) == 1 and f"convolve_over_sample_size_lp={N}" in messages[0], messages
print(f"Warned, the oversampled psf.fits loaded with N = 1:\n  {messages[0]}")

"""
__Step 5: Fit It, At N And At N = 1__

A 3" circular mask, and the true lens model (the one reloaded from `tracer.json`). Fitting with the model that made
the data leaves only noise: the chi-squared per pixel is about 1.

The same data fitted with a native PSF (the same Gaussian at 0.1", the `psf.fits` of the standard simulation) and
the same model are not fitted as well: the native convolution is up to ~8% wrong along the thin arc and ~2% at the
lens's centre, which at this signal-to-noise is several times the noise. The chi-squared of a correct model scatters
by about sqrt(2 n) for n pixels, so the difference is also given in those units.
"""
mask = al.Mask2D.circular(shape_native=shape_native, pixel_scales=pixel_scale, radius=3.0)
dataset_n = dataset_loaded.apply_mask(mask=mask)
dataset_1 = al.Imaging.from_fits(
    data_path=dataset_oversampled_path / "data.fits",
    noise_map_path=dataset_oversampled_path / "noise_map.fits",
    psf_path=dataset_path / "psf.fits",
    pixel_scales=pixel_scale,
    over_sample_size_lp=4,
    over_sample_size_pixelization=4,
).apply_mask(mask=mask)
assert dataset_1.psf.convolve_over_sample_size == 1

fit_n = al.FitImaging(dataset=dataset_n, tracer=tracer_loaded)
fit_1 = al.FitImaging(dataset=dataset_1, tracer=tracer_loaded)

pixels = mask.pixels_in_mask
delta_chi_squared = fit_1.chi_squared - fit_n.chi_squared
model_n = fit_n.model_data.array
model_1 = fit_1.model_data.array
relative = np.abs(model_1 - model_n) / model_n
radius = np.hypot(*dataset_n.grids.lp.array.T)
centre_pixel = np.argmax(model_n * (radius < 0.1))
worst_pixel = np.argmax(relative)
print(f"Fits of {dataset_oversampled_path / 'data.fits'} with the true lens model ({pixels} pixels in a 3\" mask):")
print(
    f"  the N = 1 model differs from the N = {N} model by up to {relative[worst_pixel]:.1%} (at "
    f"{radius[worst_pixel]:.2f}\" from the lens's centre: the arc) and by {relative[centre_pixel]:.1%} at its centre"
)
print(f"  N = {N}: log likelihood = {fit_n.log_likelihood:.2f}, chi-squared / pixel = {fit_n.chi_squared / pixels:.3f}")
print(f"  N = 1: log likelihood = {fit_1.log_likelihood:.2f}, chi-squared / pixel = {fit_1.chi_squared / pixels:.3f}")
print(
    f"  chi-squared(N = 1) - chi-squared(N = {N}) = {delta_chi_squared:.1f} "
    f"({delta_chi_squared / np.sqrt(2 * pixels):.0f} x sqrt(2 n), the scatter of a correct model's chi-squared)"
)
assert 0.95 < fit_n.chi_squared / pixels < 1.05, fit_n.chi_squared / pixels
assert delta_chi_squared > 500.0, delta_chi_squared
# Same data, noise-map and mask: the log likelihoods differ by half the chi-squared difference.
assert np.isclose(fit_n.log_likelihood - fit_1.log_likelihood, delta_chi_squared / 2.0, rtol=1e-9)

"""
__What N Costs__

The light is evaluated on the fine grid with the same number of samples per data pixel (4 x 4 here), so inside the
mask an oversampled fit evaluates the light no more often than a native one, as long as the over-sample size is kept
fixed; raising it with N (e.g. to 4 N) costs N^2 more evaluations. The blurring region around the mask is evaluated
once per fine pixel, N^2 times as often as natively. The convolution grows too: it is an FFT (numpy and JAX) of a
frame with N^2 times as many pixels, cropped to the mask plus the PSF's reach, so it costs a little more than N^2
times the FFT of a native frame. For a pixelized source the mapping matrix is convolved at fine resolution too, a
block of source pixels at a time, so memory does not grow with N. `make bench` measures all of this on a standard
scene (`benchmarks/results/benchmarks.md`): at N = 2 a likelihood costs about the same as at N = 1. For this scene,
here is the time of one likelihood evaluation (numpy) at N = 1 and at N:
"""


def seconds_per_fit(dataset, repeats=3):
    al.FitImaging(dataset=dataset, tracer=tracer_loaded).log_likelihood
    begin = time.perf_counter()
    for _ in range(repeats):
        al.FitImaging(dataset=dataset, tracer=tracer_loaded).log_likelihood
    return (time.perf_counter() - begin) / repeats


print(
    f"  one log likelihood evaluation (numpy): N = 1 {1e3 * seconds_per_fit(dataset_1):.0f} ms, "
    f"N = {N} {1e3 * seconds_per_fit(dataset_n):.0f} ms"
)

"""
__Comparison Figure__

The data, and the normalized residuals ((data - model) / noise) of the two fits on one colour scale. The native fit
leaves a pattern along the arc; the oversampled fit leaves noise.
"""
half = shape_native[1] * pixel_scale / 2
extent = [-half, half, -half, half]
residuals_1 = fit_1.normalized_residual_map.native.array
residuals_n = fit_n.normalized_residual_map.native.array
limit = max(5.0, np.abs(residuals_1).max())

figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
shown = axes[0].imshow(
    np.clip(dataset_loaded.data.native.array, 0.0, None),
    origin="upper",
    extent=extent,
    cmap="inferno",
    norm=matplotlib.colors.PowerNorm(gamma=0.5),
)
axes[0].set_title(f"data (simulated with N = {N})")
figure.colorbar(shown, ax=axes[0], label="e- / s")
for ax, residuals, fit, title in (
    (axes[1], residuals_1, fit_1, "fit with N = 1"),
    (axes[2], residuals_n, fit_n, f"fit with N = {N}"),
):
    shown = ax.imshow(residuals, origin="upper", extent=extent, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"{title}: normalized residuals\nchi-squared / pixel = {fit.chi_squared / pixels:.3f}")
    figure.colorbar(shown, ax=ax, label="(data - model) / noise")
for ax in axes:
    ax.set_xlabel('x (")')
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
axes[0].set_ylabel('y (")')
figure.tight_layout()
comparison_path = dataset_oversampled_path / "comparison.png"
figure.savefig(comparison_path, dpi=90)
plt.close(figure)
written.append(comparison_path)

"""
__Output__
"""
for path in written:
    assert path.is_file() and path.stat().st_size > 0, path
print("Written:")
for path in written:
    print(f"  {path}")
print(f"simulator.py finished in {time.time() - start:.1f} s")
