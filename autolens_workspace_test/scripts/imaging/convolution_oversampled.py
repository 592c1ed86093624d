"""
Convolution Oversampled: A Closed-Form Ground Truth
===================================================

A circular Gaussian light profile blurred by a circular Gaussian PSF is again a circular Gaussian: its variance is
`sigma_l^2 + sigma_p^2` and its total flux is the light's. What a CCD pixel records is that blurred Gaussian averaged
over the pixel's area, and for a Gaussian this average has a closed form: it separates in y and x, and each factor is
a difference of two error functions. So for this scene we know the exact data, to rounding, and can measure the error
of the model image PyAutoLens computes, for a PSF convolution done at the data's pixel scale (N = 1) and on grids
N = 2 and 4 times finer (`convolve_over_sample_size`).

The scene is chosen so that the native convolution is visibly wrong: a compact source (sigma_l = 1 data pixel) and a
small PSF (sigma_p = 0.7 data pixel), the regime of a steep galaxy seen through a PSF of one or two pixels.

__Why Oversampling Helps, And Which Fine Kernel To Use__

Write H for the data's pixel scale and h = H / N for the fine one. The library evaluates the light on the fine
pixels, convolves that fine image with a fine kernel K (a discrete sum over a lattice of spacing h), and bins every
N x N block back to a data pixel by its mean.

Take K to be the PSF *integrated over each fine pixel* (normalised to sum 1), and evaluate the light *once* at the
centre of every fine pixel (`over_sample_size_lp = N`). The lattice sum `sum_k L(x_k) K(x_j - x_k)` is then a
Riemann sum of the integral of L times the PSF averaged over a fine pixel, so it equals the blurred image averaged
over the fine pixel around x_j. The mean of those fine averages over the N x N fine pixels of a data pixel (which
tile it exactly) is the blurred image averaged over the data pixel: the exact answer. The only approximation is the
Riemann sum itself, whose error for Gaussians is the aliasing term of the Poisson summation formula,
~exp(-2 pi^2 s^2 / h^2) with s^2 = sigma_l^2 sigma_p^2 / (sigma_l^2 + sigma_p^2). It falls very quickly with N:
about 1e-3 at N = 1, 5e-12 at N = 2 and 1e-45 at N = 4 for this scene.

With more than one light sample per fine pixel the light is averaged over the fine pixel *and* the kernel is
integrated over it, so the model is blurred by the fine pixel twice: an error of about (h^2 / 24) times the
Laplacian of the image, ~5% of the peak at N = 1 for this scene. At the same number of light samples per data pixel
a larger N shrinks the double blur to a smaller fine pixel, so the error falls as h^2 = H^2 / N^2; once there is one
sample per fine pixel it is gone.

This script computes the exact pixel-averaged image, then a fit's model image at N = 1, 2 and 4, and checks that:

 - at the same evaluation budget (4 x 4 light samples per data pixel, at the same positions for every N) the error
   falls as N grows;
 - with one evaluation per fine pixel, the fine kernel integrated over each fine pixel reproduces the exact answer to
   1e-10 of the peak (at N = 2 and at N = 4), and the errors follow the aliasing estimate above;
 - flux is conserved to 1e-12.

It then shows, for comparison, the kernel most users would build first: the Gaussian sampled at the fine pixel
centres (`Convolver.from_gaussian`). It converges to the light-sample average, not to the pixel average.

Run it from anywhere: `python autolens_workspace_test/scripts/imaging/convolution_oversampled.py`; it writes no files.
"""
import time

start = time.time()

import numpy as np
from scipy.special import erf

import autolens as al

"""
__JAX Precision__

The fits below run with numpy, but we make sure JAX is in double precision anyway (autolens does this when it is
imported, unless the environment says otherwise), so that nothing in the stack computes in float32.
"""
import jax

jax.config.update("jax_enable_x64", True)

"""
__Scenario__

Data at H = 0.1" per pixel on a 45 x 45 frame, a circular mask of radius 1.5" (12 sigma of the blurred Gaussian, so
it holds all the light to far below 1e-12) and room around it for the blurring region. The centre is off the pixel
centres, and not on a fine pixel centre at N = 2 or 4 either, so that nothing relies on symmetry.
"""
pixel_scale = 0.1
shape = (45, 45)
sigma_l = 0.10  # light: 1.0 data pixel
sigma_p = 0.07  # PSF:   0.7 data pixel
sigma_t = np.hypot(sigma_l, sigma_p)
s_squared = sigma_l**2 * sigma_p**2 / (sigma_l**2 + sigma_p**2)
centre = (0.023, -0.031)
intensity = 2.0

"""
`al.lp.Gaussian` (circular: `ell_comps=(0, 0)`) is `intensity * exp(-r^2 / (2 sigma^2))`, with no normalisation
factor, so its total flux is `intensity * 2 pi sigma^2`.
"""
total_flux = intensity * 2.0 * np.pi * sigma_l**2

mask = al.Mask2D.circular(shape_native=shape, pixel_scales=pixel_scale, radius=1.5)
inside = ~np.asarray(mask)

"""
__Closed Form__

The pixel centres of the frame (autoarray's convention: y decreases with the row index, x increases with the column
index, the origin at the frame centre), computed here with numpy so the reference does not depend on the library.
"""
y_centres = ((shape[0] - 1) / 2.0 - np.arange(shape[0])) * pixel_scale
x_centres = (np.arange(shape[1]) - (shape[1] - 1) / 2.0) * pixel_scale


def pixel_average_1d(u, c, sigma, width):
    """The normalised 1D Gaussian N(c, sigma) averaged over pixels of the given width centred at `u`."""
    upper = (u + width / 2.0 - c) / (np.sqrt(2.0) * sigma)
    lower = (u - width / 2.0 - c) / (np.sqrt(2.0) * sigma)
    return 0.5 * (erf(upper) - erf(lower)) / width


exact = total_flux * np.outer(
    pixel_average_1d(y_centres, centre[0], sigma_t, pixel_scale),
    pixel_average_1d(x_centres, centre[1], sigma_t, pixel_scale),
)
peak = exact.max()

"""
The closed form integrates to the analytic total flux (the erf differences telescope).
"""
assert abs(exact.sum() * pixel_scale**2 / total_flux - 1.0) < 1e-14, exact.sum() * pixel_scale**2 / total_flux

"""
__Fine Kernels__

The PSF integrated over each fine pixel: the same erf differences, at the fine pixel scale `H / N`. Every kernel
reaches +-0.6" (8.6 sigma_p: the tail beyond holds ~1e-16 of the PSF), so it has 12 N + 1 fine pixels on a side.

The point-sampled kernel is what `Convolver.from_gaussian` builds: the Gaussian at the fine pixel centres,
normalised.
"""
half_width = 0.6


def integrated_psf_from(n):
    h = pixel_scale / n
    m = int(round(half_width / h))
    offsets = (np.arange(2 * m + 1) - m) * h
    profile = pixel_average_1d(offsets, 0.0, sigma_p, h) * h
    kernel = al.Array2D.no_mask(values=np.outer(profile, profile), pixel_scales=h)
    return al.Convolver(kernel=kernel, normalize=True, convolve_over_sample_size=n)


def sampled_psf_from(n):
    h = pixel_scale / n
    m = int(round(half_width / h))
    return al.Convolver.from_gaussian(
        shape_native=(2 * m + 1, 2 * m + 1),
        pixel_scales=h,
        sigma=sigma_p,
        normalize=True,
        convolve_over_sample_size=n,
    )


"""
__Model Images__

The data of the dataset are the closed form, with a noise-map of ones, so a fit's residual map is the error of its
model image. The light is a single Gaussian; the fit's model image is the light evaluated on the dataset's grids,
blurred by the PSF and (for N > 1) binned. For N > 1 the light is evaluated at the sub-pixels of `grids.lp` (each
fine pixel the mean of its k x k sub-pixels) and of `grids.blurring` (one sample per fine pixel).
"""
tracer = al.Tracer(
    galaxies=[al.Galaxy(redshift=0.5, light=al.lp.Gaussian(centre=centre, intensity=intensity, sigma=sigma_l))]
)
data = al.Array2D.no_mask(values=exact, pixel_scales=pixel_scale)
noise_map = al.Array2D.full(fill_value=1.0, shape_native=shape, pixel_scales=pixel_scale)


def row_from(kind, n, over_sample_size):
    psf = integrated_psf_from(n) if kind == "integrated" else sampled_psf_from(n)
    dataset = al.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=over_sample_size,
        over_sample_size_pixelization=over_sample_size,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=mask)
    fit = al.FitImaging(dataset=dataset, tracer=tracer)
    model = fit.model_data.native.array

    error = (model - exact)[inside]
    assert np.allclose(-fit.residual_map.native.array[inside], error, rtol=0.0, atol=1e-14 * peak)

    # The dataset holds the PSF at the fine pixel scale with its N, and its grids are the usual ones: the light
    # grid over-sampled at `over_sample_size` (k x k sub-pixels for each of the N x N fine pixels of a data pixel,
    # k = over_sample_size / N) and the blurring grid at N (one sample per fine pixel).
    assert dataset.psf.convolve_over_sample_size == n
    assert np.allclose(dataset.psf.kernel.pixel_scales, (pixel_scale / n, pixel_scale / n), rtol=1e-12, atol=0.0)
    assert np.all(np.asarray(dataset.grids.lp.over_sample_size) == over_sample_size)
    assert dataset.grids.lp.over_sampled.shape[0] == over_sample_size**2 * mask.pixels_in_mask
    assert dataset.grids.blurring.over_sampled.shape[0] == n**2 * dataset.grids.blurring.mask.pixels_in_mask

    # The fit's model image is the light on those grids, blurred with the fine PSF and binned: what a user gets
    # from the tracer with the dataset's grids and PSF.
    blurred = tracer.blurred_image_2d_from(
        grid=dataset.grids.lp, psf=dataset.psf, blurring_grid=dataset.grids.blurring
    )
    assert np.array_equal(blurred.array, fit.model_data.array)

    # The flux of the light that went in: the unblurred image on the native grid, with the same samples.
    light_flux = tracer.image_2d_from(grid=dataset.grids.lp).array.sum() * pixel_scale**2

    return dict(
        kind=kind,
        n=n,
        over_sample_size=over_sample_size,
        kernel=dataset.psf.kernel.shape_native,
        model=model,
        max=np.abs(error).max() / peak,
        rms=np.sqrt(np.mean(error**2)) / peak,
        flux=model[inside].sum() * pixel_scale**2 / total_flux - 1.0,
        flux_vs_light=model[inside].sum() * pixel_scale**2 / light_flux - 1.0,
    )


def aliasing_estimate(n):
    """The Poisson-summation estimate exp(-2 pi^2 s^2 / h^2) of a fine lattice sum's relative error."""
    return np.exp(-2.0 * np.pi**2 * s_squared / (pixel_scale / n) ** 2)


"""
__The Table__

 - The main rows: the integrated fine kernel at the same evaluation budget, `over_sample_size_lp = 4` (4 x 4 light
   samples per data pixel: 4 x 4 per fine pixel at N = 1, 2 x 2 at N = 2, one at N = 4).
 - One evaluation per fine pixel (`over_sample_size_lp = N`) with the integrated kernel, at N = 1 and 2 (N = 4 is
   the main row): the error is the aliasing estimate.
 - The point-sampled kernel at the same budget, for comparison.
"""
rows = [row_from("integrated", n, 4) for n in (1, 2, 4)]
rows += [row_from("integrated", n, n) for n in (1, 2)]
rows += [row_from("sampled", n, 4) for n in (1, 2, 4)]

print(
    f'Gaussian light (sigma {sigma_l}") * Gaussian PSF (sigma {sigma_p}"), data at {pixel_scale}" per pixel, '
    f"peak {peak:.6f}, total flux {total_flux:.6f}"
)
print(
    f"  {'kernel':10s}  N  over_sample_size_lp  samples/fine px  kernel shape  max|err|/peak  RMS err/peak  "
    f"aliasing est.  flux/analytic - 1"
)
for row in rows:
    k = row["over_sample_size"] // row["n"]
    estimate = f"{aliasing_estimate(row['n']):.1e}" if k == 1 and row["kind"] == "integrated" else "-"
    print(
        f"  {row['kind']:10s}  {row['n']}  {row['over_sample_size']:19d}  {k:>9d} x {k:<3d}  "
        f"{row['kernel'][0]:5d} x {row['kernel'][1]:<4d}  {row['max']:13.3e}  {row['rms']:12.3e}  "
        f"{estimate:>13s}  {row['flux']:+17.1e}"
    )


def row(kind, n, over_sample_size):
    return next(
        r for r in rows if r["kind"] == kind and r["n"] == n and r["over_sample_size"] == over_sample_size
    )


"""
__Checks__

(a) At the same evaluation budget the error falls as N grows, by clear factors: the double blur shrinks from a data
pixel to a fine pixel (a factor ~N^2 = 4 from N = 1 to 2), and at N = 4 (one sample per fine pixel) it is gone.
"""
integrated_1, integrated_2, integrated_4 = (row("integrated", n, 4) for n in (1, 2, 4))
assert integrated_2["max"] < integrated_1["max"] / 3.0, (integrated_1["max"], integrated_2["max"])
assert integrated_2["rms"] < integrated_1["rms"] / 3.0, (integrated_1["rms"], integrated_2["rms"])
assert integrated_4["max"] < 1e-6 * integrated_2["max"], (integrated_2["max"], integrated_4["max"])
assert integrated_4["rms"] < 1e-6 * integrated_2["rms"], (integrated_2["rms"], integrated_4["rms"])

"""
(b) One evaluation per fine pixel with the integrated fine kernel reproduces the exact pixel averages to 1e-10 of the
peak, at N = 4 and already at N = 2. The errors follow the aliasing estimate, which predicts the native error too
(within a factor 5 either way; at N = 4 the estimate is far below rounding).
"""
for n in (2, 4):
    assert row("integrated", n, n)["max"] < 1e-10, (n, row("integrated", n, n)["max"])
for n in (1, 2):
    ratio = row("integrated", n, n)["max"] / aliasing_estimate(n)
    assert 0.2 < ratio < 5.0, (n, row("integrated", n, n)["max"], aliasing_estimate(n))
assert row("integrated", 1, 1)["max"] > 1e-4, row("integrated", 1, 1)["max"]  # N = 1 is not exact

"""
(c) Flux is conserved. The convolution moves light without creating or losing any: every model image holds the flux
of the light that went into it to 1e-12. And the model holds the analytic total flux to 1e-12 whenever the light is
sampled at least 2 x 2 per data pixel; with one sample per data pixel (N = 1, `over_sample_size_lp = 1`) the light
itself, a sum over a one-pixel lattice, is short by ~1e-9 before it is convolved. A binning by the sum of the N x N
fine values instead of their mean would make the flux N^2 times too large.
"""
for r in rows:
    assert abs(r["flux_vs_light"]) < 1e-12, (r["kind"], r["n"], r["over_sample_size"], r["flux_vs_light"])
    if r["over_sample_size"] >= 2:
        assert abs(r["flux"]) < 1e-12, (r["kind"], r["n"], r["over_sample_size"], r["flux"])

"""
(d) The point-sampled kernel, for comparison. Its lattice sum converges to the blurred image at the light samples'
positions, so with a budget of 4 x 4 samples per data pixel it converges to the mean of the blurred Gaussian at
those 16 points: a midpoint rule, whose error against the pixel average is ~(h^2 / 24) times the curvature, with
h = H / 4. N = 2 improves on N = 1, but N = 4 is no better than N = 2: both are on that floor, which only a larger
budget lowers. The integrated kernel does not need it. The 16-point mean of the closed form is computed here, and
the sampled kernel at N = 4 reproduces it to 1e-12.

The comparison also says how to choose: the integrated kernel is right together with one light sample per fine
pixel (`over_sample_size_lp = N`). With many samples per fine pixel at N = 1 it blurs by the pixel twice, and there
the point-sampled kernel is the better of the two.
"""


def sub_sample_average_1d(u, c, sigma, sub_size):
    offsets = ((np.arange(sub_size) + 0.5) / sub_size - 0.5) * pixel_scale
    points = u[:, None] + offsets[None, :] - c
    return np.mean(np.exp(-0.5 * (points / sigma) ** 2) / (np.sqrt(2.0 * np.pi) * sigma), axis=1)


sample_mean = total_flux * np.outer(
    sub_sample_average_1d(y_centres, centre[0], sigma_t, 4), sub_sample_average_1d(x_centres, centre[1], sigma_t, 4)
)
sampled_1, sampled_2, sampled_4 = (row("sampled", n, 4) for n in (1, 2, 4))
floor = np.abs(sample_mean - exact)[inside].max() / peak
sampled_4_vs_sample_mean = np.abs(sampled_4["model"] - sample_mean)[inside].max() / peak
print(
    f"(d) point-sampled kernel: the 4 x 4 sample mean of the closed form is {floor:.3e} of the peak from the pixel "
    f"average; N = 4 reproduces that sample mean to {sampled_4_vs_sample_mean:.1e}"
)
assert sampled_2["max"] < sampled_1["max"] / 2.0, (sampled_1["max"], sampled_2["max"])
assert abs(sampled_4["max"] / floor - 1.0) < 0.01, (sampled_4["max"], floor)
assert sampled_4_vs_sample_mean < 1e-12, sampled_4_vs_sample_mean
assert integrated_4["max"] < 1e-10 * sampled_4["max"], (integrated_4["max"], sampled_4["max"])

print(f"convolution_oversampled.py: all checks passed in {time.time() - start:.1f} s")
