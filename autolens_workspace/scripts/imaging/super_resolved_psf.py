"""
Super-Resolved PSF: Estimated From Dithered, Undersampled Stars, Used At N = 3
==============================================================================

A telescope whose PSF is undersampled by its detector (Euclid's VIS, HST, JWST's short-wavelength channels) sees
every star as a few pixels. A single star image cannot tell the PSF's shape inside a pixel, but stars that fall at
different sub-pixel positions (dithered exposures, or many stars at random positions) sample it at different phases,
and together they determine a **super-resolved** PSF: the PSF on a grid N times finer than the data. This is what
PSF-modelling codes such as SPRITE, RCA and WaveDiff deliver, at a chosen up-sampling factor; PyAutoLens can use such
a PSF directly, with `convolve_over_sample_size` = N.

This script does it end to end at N = 3:

1. take a known fine PSF (computed with poppy for a Euclid-like telescope: its pixels are 0.1" / 3);
2. simulate 27 undersampled star images: the fine PSF shifted by whole fine pixels (sub-pixel dithers of 0, 1/3
   and 2/3 of a pixel along each axis), summed over each data pixel's 3 x 3 fine pixels, plus noise;
3. estimate the fine PSF from the star images alone, with a positivity-constrained least-squares solve (the data
   term of SPRITE and RCA);
4. simulate a strong lens with the true fine PSF and fit it with the true lens model three ways: (a) the true fine
   PSF at N = 3, (b) the estimated fine PSF at N = 3, (c) a native PSF made from the same stars (the stack of the
   stars centred on a pixel) at N = 1.

__What It Writes__

 - `autolens_workspace/dataset/imaging/super_resolved_psf/`: `stars.fits` (the star images, one per extension, with
   their dither offsets), `psf_true.fits`, `psf_estimated.fits` (both at 0.1" / 3, recording N = 3),
   `psf_native.fits` (0.1"), and the lens's `data.fits`, `noise_map.fits` and `tracer.json`;
 - `autolens_workspace/output/super_resolved_psf/`: `psf.png` (true, estimated, their difference, the native PSF),
   `residuals.png` (the normalized residuals of the three fits) and `figures.json`.

Run it from anywhere (about 17 s):

    .venv/bin/python autolens_workspace/scripts/imaging/super_resolved_psf.py
"""
import time

start = time.time()

import json
import logging
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from scipy import sparse
from scipy.optimize import nnls

import poppy

import autolens as al

"""
__Setup__

(As in `simulator.py`: JAX in double precision if it is used, and the simulator's padding message and poppy's long
header comments silenced.)
"""
import jax

jax.config.update("jax_enable_x64", True)
warnings.filterwarnings("ignore", message="No blurring_image provided")
warnings.filterwarnings("ignore", message="Card is too long")
logging.getLogger("poppy").setLevel(logging.WARNING)

workspace_path = Path(__file__).resolve().parents[2]
dataset_path = workspace_path / "dataset" / "imaging" / "super_resolved_psf"
output_path = workspace_path / "output" / "super_resolved_psf"
dataset_path.mkdir(parents=True, exist_ok=True)
output_path.mkdir(parents=True, exist_ok=True)
figures = {}
written = []

"""
__The True Fine PSF__

A Euclid-like telescope: a 1.2 m primary mirror, a central obscuration of radius 0.2 m held by three spider vanes,
monochromatic light at 0.7 microns (lambda / D = 0.12") and 0.1" detector pixels. Its PSF core is 1.2 pixels wide:
undersampled. poppy computes it at N = 3 on an 11-pixel field: a 33 x 33 array of 0.0333" pixels (odd, centred on a
fine pixel), which we normalise to sum 1.

Its convention: poppy's `OVERSAMP` array is the optical PSF sampled at the fine pixel centres (see
`psf_from_file.py`): no detector pixel response. That is the convention of a fine kernel in PyAutoLens, which applies
the data pixel's response itself (each data pixel is the mean of its N x N fine pixels).
"""
N = 3
pixel_scale = 0.1
detector_pixels = 11


class EuclidLikeTelescope(poppy.Instrument):
    pixelscale = pixel_scale

    def __init__(self):
        super().__init__(name="Euclid-like")
        self.pupil = poppy.CompoundAnalyticOptic(
            opticslist=[
                poppy.CircularAperture(radius=0.6),
                poppy.SecondaryObscuration(secondary_radius=0.2, n_supports=3, support_width=0.02),
            ],
            name="Euclid-like pupil",
        )

    def _get_filter_list(self):
        return ["VIS"], {"VIS": None}


psf_true = EuclidLikeTelescope().calc_psf(monochromatic=0.7e-6, fov_pixels=detector_pixels, oversample=N)
psf_true = psf_true["OVERSAMP"].data.astype(float)
psf_true /= psf_true.sum()
n_fine = psf_true.shape[0]
assert n_fine == detector_pixels * N == 33

"""
__Dithered, Undersampled Star Images__

Each star image is a stamp of 12 x 12 data pixels, i.e. 36 x 36 fine pixels. A star is the fine PSF placed in the
fine frame with its top-left corner at fine pixel (dy, dx), dy and dx in {0, 1, 2}: with (0, 0) its centre falls on
the centre of data pixel (5, 5); (1, 0) moves it down by 1/3 of a pixel, (2, 0) by 2/3. The detector integrates the
light over each data pixel: each stamp pixel is the SUM of its 3 x 3 fine values (the star's flux in e-). Three stars
of different fluxes at each of the 9 dithers make 27 images; the noise is Poisson noise of the star plus a sky of 50
e- per pixel.

In matrix form y_k = f_k D H_k x + n_k: x is the fine PSF (a vector of 33 x 33 values), H_k shifts it to the star's
fine position, D sums 3 x 3 blocks, f_k is the star's flux. This is the forward model of SPRITE and RCA.
"""
stamp = 12  # data pixels per side of a star image
sky = 50.0  # e- per data pixel


def shift_and_bin_matrix(dy, dx):
    """The sparse matrix D H_k: fine PSF (33 x 33, flattened) -> star image (12 x 12, flattened)."""
    i, j = np.meshgrid(np.arange(n_fine), np.arange(n_fine), indexing="ij")
    rows = ((i + dy) // N) * stamp + (j + dx) // N
    return sparse.csr_matrix(
        (np.ones(n_fine * n_fine), (rows.ravel(), (i * n_fine + j).ravel())), shape=(stamp * stamp, n_fine * n_fine)
    )


rng = np.random.default_rng(3)
stars = []
for dy in range(N):
    for dx in range(N):
        operator = shift_and_bin_matrix(dy, dx)
        for flux in (2.0e4, 5.0e4, 1.0e5):
            expected = flux * (operator @ psf_true.ravel())
            noise_map = np.sqrt(sky + expected)
            image = expected + noise_map * rng.standard_normal(expected.shape)
            stars.append({"dither": (dy, dx), "operator": operator, "image": image, "noise_map": noise_map})

star_hdus = [fits.PrimaryHDU()]
for star in stars:
    hdu = fits.ImageHDU(star["image"].reshape(stamp, stamp))
    hdu.header["DITHERY"] = (star["dither"][0] / N, "sub-pixel offset of the star, in data pixels")
    hdu.header["DITHERX"] = (star["dither"][1] / N, "sub-pixel offset of the star, in data pixels")
    star_hdus.append(hdu)
fits.HDUList(star_hdus).writeto(dataset_path / "stars.fits", overwrite=True)
written.append(dataset_path / "stars.fits")

"""
__Estimate The Super-Resolved PSF__

We minimise sum_k || (y_k - f_k D H_k x) / sigma_k ||^2 over x >= 0: the data term of SPRITE and RCA with their
positivity constraint, without their sparsity and low-rank regularisation (27 bright stars are enough here). The
dither offsets are known (they are the telescope's dither pattern); each star's flux f_k is the sum of its image
(the stamp holds all of the star's light). `scipy.optimize.nnls` solves it exactly (an active-set method), 27 x 144
equations for 1089 unknowns.

Why not Piff? Piff's `PixelGrid` model (piff 1.7.0, `piff/pixelgrid.py`) also fits a PSF on a grid finer than the
pixels, but it draws the model with GalSim's `method='no_pixel'` and a Lanczos interpolant: its grid values are the
*effective* PSF (the optical PSF already convolved with the data pixel), interpolated to each pixel's centre (and
by default its centroid is held at (0, 0) while each star's position is re-fitted). Used as a fine kernel in PyAutoLens, whose N x N mean applies the data pixel again,
that PSF would count the pixel twice; removing it would mean deconvolving a 3 x 3 box from Piff's result, the same
ill-posed problem solved directly here. So the pixel-response conventions do not match cleanly, and the solve below
(whose D is exactly PyAutoLens's N x N binning) is used instead.
"""
fluxes = np.array([star["image"].sum() for star in stars])
matrix = sparse.vstack(
    [sparse.diags(flux / star["noise_map"]) @ star["operator"] for star, flux in zip(stars, fluxes)]
).toarray()
vector = np.concatenate([star["image"] / star["noise_map"] for star in stars])
solve_start = time.time()
solution, _ = nnls(matrix, vector, maxiter=50 * matrix.shape[1])
solve_time = time.time() - solve_start
psf_estimated = solution.reshape(n_fine, n_fine) / solution.sum()

"""
__How Close Is It?__

Two measures against the true PSF:

 - the relative L2 error ||x_est - x_true|| / ||x_true|| of the fine PSF;
 - the largest error of the star images it predicts, at all 9 dithers, as a fraction of their peak (what the data
   can see: the fine PSF seen through the pixels).

Three fine pixels make one data pixel, so the stars constrain some fine-scale patterns (those with a period of 3
fine pixels) only weakly, and the noise lands there: the fine PSF's error is a few percent, while what the pixels
see is accurate to a fraction of a percent.
"""
relative_l2 = np.linalg.norm(psf_estimated - psf_true) / np.linalg.norm(psf_true)
binned_errors = []
for dy in range(N):
    for dx in range(N):
        operator = shift_and_bin_matrix(dy, dx)
        predicted_true = operator @ psf_true.ravel()
        binned_errors.append(np.abs(operator @ (psf_estimated - psf_true).ravel()).max() / predicted_true.max())
binned_error = max(binned_errors)
print(
    f"Estimated fine PSF ({len(stars)} stars, nnls in {solve_time:.1f} s): relative L2 error {relative_l2:.3f}, "
    f"peak error {np.abs(psf_estimated - psf_true).max() / psf_true.max():.3f} of the peak; star images it predicts: "
    f"max error {binned_error:.4f} of their peak"
)
assert relative_l2 < 0.08, relative_l2
assert binned_error < 0.01, binned_error
figures["estimate"] = {
    "stars": len(stars),
    "relative_l2_error": float(relative_l2),
    "peak_error_over_peak": float(np.abs(psf_estimated - psf_true).max() / psf_true.max()),
    "max_star_image_error_over_peak": float(binned_error),
    "nnls_seconds": solve_time,
}

"""
__A Native PSF From The Same Stars__

What one makes without super-resolution: the three stars of dither (0, 0) (centred on a pixel), divided by their
fluxes, averaged with weights, cut to 11 x 11 pixels around the centre and normalised. Its convention: the optical
PSF integrated over data pixels (the detector's response included), at the data's pixel scale: an "effective PSF"
sampled at pixel centres, the N = 1 convention of the release.
"""
centred = [(star, flux) for star, flux in zip(stars, fluxes) if star["dither"] == (0, 0)]
psf_native = sum(star["image"] for star, flux in centred) / sum(flux for star, flux in centred)
centre = (n_fine // 2) // N  # the data pixel holding the centre at dither (0, 0)
half = detector_pixels // 2
psf_native = psf_native.reshape(stamp, stamp)[centre - half : centre + half + 1, centre - half : centre + half + 1]
psf_native /= psf_native.sum()
assert psf_native.shape == (detector_pixels, detector_pixels)

"""
__Write The PSFs__

The two fine PSFs are written with `Convolver.output_to_fits`, which records their pixel scale (0.1" / 3) and
N = 3 (keyword `CONVOS`): the handover of a super-resolved PSF at a known factor. The native one records 0.1".
"""
psf_files = {
    "true": (psf_true, N),
    "estimated": (psf_estimated, N),
    "native": (psf_native, 1),
}
for name, (values, n) in psf_files.items():
    convolver = al.Convolver(
        kernel=al.Array2D.no_mask(values=values, pixel_scales=pixel_scale / n), convolve_over_sample_size=n
    )
    convolver.output_to_fits(file_path=dataset_path / f"psf_{name}.fits", overwrite=True)
    written.append(dataset_path / f"psf_{name}.fits")

"""
__Simulate A Strong Lens With The True Fine PSF__

A 70 x 70 image of 0.1" pixels: a lens galaxy with a steep Sersic bulge, an isothermal mass and shear, and a compact
source. The simulator evaluates the light with 12 x 12 samples per pixel (4 x 4 per fine pixel), blurs it on the
fine grid with the true PSF and averages each 3 x 3 block, then adds sky and Poisson noise.
"""
shape_native = (70, 70)
tracer = al.Tracer(
    galaxies=[
        al.Galaxy(
            redshift=0.5,
            bulge=al.lp.Sersic(
                centre=(0.0, 0.0),
                ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=100.0),
                intensity=1.5,
                effective_radius=0.7,
                sersic_index=4.0,
            ),
            mass=al.mp.Isothermal(
                centre=(0.0, 0.0),
                ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=100.0),
                einstein_radius=1.3,
            ),
            shear=al.mp.ExternalShear(gamma_1=-0.03, gamma_2=0.04),
        ),
        al.Galaxy(
            redshift=1.0,
            bulge=al.lp.Sersic(
                centre=(0.06, -0.04),
                ell_comps=al.convert.ell_comps_from(axis_ratio=0.75, angle=20.0),
                intensity=2.0,
                effective_radius=0.12,
                sersic_index=1.0,
            ),
        ),
    ]
)
psf_true_convolver = al.Convolver.from_fits(
    file_path=dataset_path / "psf_true.fits",
    hdu=0,
    pixel_scales=pixel_scale / N,
    normalize=True,
    convolve_over_sample_size=N,
)
simulator = al.SimulatorImaging(
    exposure_time=1500.0, psf=psf_true_convolver, background_sky_level=0.2, add_poisson_noise_to_data=True, noise_seed=5
)
grid = al.Grid2D.uniform(shape_native=shape_native, pixel_scales=pixel_scale, over_sample_size=12)
simulated = simulator.via_tracer_from(tracer=tracer, grid=grid)
al.output_to_fits(values=simulated.data.native_for_fits, file_path=dataset_path / "data.fits", overwrite=True)
al.output_to_fits(
    values=simulated.noise_map.native_for_fits, file_path=dataset_path / "noise_map.fits", overwrite=True
)
al.output_to_json(obj=tracer, file_path=dataset_path / "tracer.json")
written.extend(dataset_path / name for name in ("data.fits", "noise_map.fits", "tracer.json"))

"""
__Fit It Three Ways__

Each dataset loads the same data with one of the PSF files. The fine PSFs are loaded at N = 3 (`from_fits` checks the
file's `CONVOS` and pixel scale), with 6 x 6 samples of the light per data pixel (2 x 2 per fine pixel: half the
simulator's budget per axis); the native PSF at N = 1, with the same 6 x 6 samples.

Why the estimated PSF fits as well as the true one: the lens model of a data pixel is the mean over its 3 x 3 fine
pixels of the fine light convolved with the fine PSF, i.e. a sum over fine pixels of (light there) x (the image a
star at that fine position would make), and a star at any fine position is one of the 9 dithers, shifted by whole
data pixels. So the lens model sees the PSF through exactly the operators D H_k the stars measured it with: the
fine-scale patterns the stars could not pin down are the ones the lens model cannot see either.

Why the native PSF does worse: it already includes the data pixel's response, and at N = 1 the light is first
averaged over each pixel (the 6 x 6 samples) and then convolved with it, so the pixel's response is applied twice;
and the convolution is a sum over 0.1" pixels, too coarse for a PSF core 1.2 pixels wide and a steep bulge.
"""
mask = al.Mask2D.circular(shape_native=shape_native, pixel_scales=pixel_scale, radius=2.6)
pixels = mask.pixels_in_mask
scatter = np.sqrt(2.0 * pixels)


def fit_with(psf_name, n):
    dataset = al.Imaging.from_fits(
        data_path=dataset_path / "data.fits",
        noise_map_path=dataset_path / "noise_map.fits",
        psf_path=dataset_path / f"psf_{psf_name}.fits",
        pixel_scales=pixel_scale,
        over_sample_size_lp=6,
        over_sample_size_pixelization=6,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    )
    assert dataset.psf.convolve_over_sample_size == n
    return al.FitImaging(dataset=dataset.apply_mask(mask=mask), tracer=tracer)


fits_by_name = {
    "(a) true fine PSF, N = 3": fit_with("true", N),
    "(b) estimated fine PSF, N = 3": fit_with("estimated", N),
    "(c) native PSF from the stars, N = 1": fit_with("native", 1),
}
print(f"Fits of {dataset_path / 'data.fits'} with the true lens model ({pixels} pixels in the mask):")
figures["pixels_in_mask"] = int(pixels)
figures["fits"] = {}
for name, fit in fits_by_name.items():
    print(f"  {name}: chi-squared / pixel = {fit.chi_squared / pixels:.3f}, log likelihood = {fit.log_likelihood:.1f}")
    figures["fits"][name] = {
        "chi_squared_per_pixel": float(fit.chi_squared / pixels),
        "log_likelihood": float(fit.log_likelihood),
    }
chi2_true, chi2_estimated, chi2_native = (fit.chi_squared for fit in fits_by_name.values())
print(
    f"  chi-squared differences from (a), in units of sqrt(2 n) = {scatter:.0f} (the scatter of a correct model's "
    f"chi-squared): (b) {(chi2_estimated - chi2_true) / scatter:+.2f}, (c) {(chi2_native - chi2_true) / scatter:+.1f}"
)
figures["delta_chi_squared_in_sqrt_2n"] = {
    "estimated_minus_true": float((chi2_estimated - chi2_true) / scatter),
    "native_minus_true": float((chi2_native - chi2_true) / scatter),
}
assert abs(chi2_true / pixels - 1.0) < 4.0 * scatter / pixels, chi2_true / pixels
assert abs(chi2_estimated - chi2_true) < 0.5 * scatter, (chi2_estimated - chi2_true) / scatter
assert chi2_native - chi2_true > 10.0 * scatter, (chi2_native - chi2_true) / scatter

"""
__Figures__
"""
figure, axes = plt.subplots(1, 4, figsize=(20, 4.6))
fine_half = n_fine * pixel_scale / N / 2.0
for ax, values, title, norm in (
    (axes[0], psf_true, "true fine PSF (0.0333\" pixels)", matplotlib.colors.LogNorm(1e-5, 0.1)),
    (axes[1], psf_estimated, "estimated fine PSF", matplotlib.colors.LogNorm(1e-5, 0.1)),
    (axes[2], psf_estimated - psf_true, "estimated - true", matplotlib.colors.Normalize(-2e-3, 2e-3)),
    (axes[3], psf_native, "native PSF from the stars (0.1\" pixels)", matplotlib.colors.LogNorm(1e-4, 0.5)),
):
    shown = ax.imshow(
        np.clip(values, 1e-7, None) if isinstance(norm, matplotlib.colors.LogNorm) else values,
        origin="upper",
        extent=[-fine_half, fine_half, -fine_half, fine_half],
        cmap="RdBu_r" if not isinstance(norm, matplotlib.colors.LogNorm) else "magma",
        norm=norm,
    )
    ax.set_title(title)
    ax.set_xlabel('x (")')
    figure.colorbar(shown, ax=ax, label="fraction of the light per pixel")
figure.tight_layout()
figure.savefig(output_path / "psf.png", dpi=80)
plt.close(figure)
written.append(output_path / "psf.png")

half_image = shape_native[0] * pixel_scale / 2.0
figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
for ax, (name, fit) in zip(axes, fits_by_name.items()):
    residuals = fit.normalized_residual_map.native.array
    shown = ax.imshow(
        residuals,
        origin="upper",
        extent=[-half_image, half_image, -half_image, half_image],
        cmap="RdBu_r",
        vmin=-5.0,
        vmax=5.0,
    )
    # One colour scale for every panel; a panel whose residuals exceed it says so (and its colour bar has arrows).
    peak = np.max(np.abs(residuals))
    clipped = f"\ncolours clipped at +-5 (max {peak:.1f})" if peak > 5.0 else ""
    ax.set_title(f"{name}\nchi-squared / pixel = {fit.chi_squared / pixels:.3f}{clipped}")
    ax.set_xlim(-2.8, 2.8)
    ax.set_ylim(-2.8, 2.8)
    ax.set_xlabel('x (")')
    figure.colorbar(shown, ax=ax, label="(data - model) / noise", extend="both" if peak > 5.0 else "neither")
figure.tight_layout()
figure.savefig(output_path / "residuals.png", dpi=80)
plt.close(figure)
written.append(output_path / "residuals.png")

figures["run_time_s"] = time.time() - start
with open(output_path / "figures.json", "w") as f:
    json.dump(figures, f, indent=2)
written.append(output_path / "figures.json")

for path in written:
    assert path.is_file() and path.stat().st_size > 0, path
print("Written:")
for path in written:
    print(f"  {path}")
print(f"super_resolved_psf.py finished in {time.time() - start:.1f} s")
