"""
Simulator: Strong Lens Imaging
==============================

Simulates a strong lens (an isothermal lens galaxy with a Sersic bulge, lensing a Sersic source) as a CCD imaging
dataset: the image is evaluated on an over-sampled grid, blurred with a Gaussian PSF, and given sky and Poisson noise.

Run it from anywhere:

    make demo                      # or: .venv/bin/python autolens_workspace/scripts/imaging/simulator.py

The dataset (data, noise-map, PSF as .fits) and a PNG of the data are written to
`autolens_workspace/dataset/imaging/simple/`; the script prints the paths.

The second part simulates the same lens with an oversampled PSF (`convolve_over_sample_size` N = 2): the image is
evaluated on a grid twice as fine as the data, blurred with the PSF held at half the pixel scale, and binned back to
the data's pixels. That dataset goes to `autolens_workspace/dataset/imaging/simple_oversampled/`; it is reloaded,
fitted with the true lens model, and compared with the native simulation.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits

import autolens as al

workspace = Path(__file__).resolve().parents[2]
dataset_path = workspace / "dataset" / "imaging" / "simple"
dataset_path.mkdir(parents=True, exist_ok=True)

"""
__Grid__

The image is evaluated on a 100 x 100 grid at 0.1" per pixel. Each pixel is over-sampled 4 x 4 times so that the
light inside a pixel is integrated accurately.
"""
grid = al.Grid2D.uniform(shape_native=(100, 100), pixel_scales=0.1, over_sample_size=4)

"""
__PSF__

A circular Gaussian PSF with a FWHM of about 0.24", held at the image's pixel scale.
"""
psf = al.Convolver.from_gaussian(shape_native=(11, 11), sigma=0.1, pixel_scales=grid.pixel_scales, normalize=True)

"""
__Simulator__

Exposure time, sky and noise. The fixed `noise_seed` makes the dataset reproducible.
"""
simulator = al.SimulatorImaging(
    exposure_time=300.0,
    psf=psf,
    background_sky_level=0.1,
    add_poisson_noise_to_data=True,
    noise_seed=1,
)

"""
__Galaxies__
"""
lens_galaxy = al.Galaxy(
    redshift=0.5,
    bulge=al.lp.Sersic(
        centre=(0.0, 0.0),
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0),
        intensity=2.0,
        effective_radius=0.6,
        sersic_index=3.0,
    ),
    mass=al.mp.Isothermal(
        centre=(0.0, 0.0),
        einstein_radius=1.6,
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.9, angle=45.0),
    ),
    shear=al.mp.ExternalShear(gamma_1=0.05, gamma_2=0.05),
)
source_galaxy = al.Galaxy(
    redshift=1.0,
    bulge=al.lp.SersicCore(
        centre=(0.0, 0.0),
        ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=60.0),
        intensity=4.0,
        effective_radius=0.1,
        sersic_index=1.0,
    ),
)
tracer = al.Tracer(galaxies=[lens_galaxy, source_galaxy])

dataset = simulator.via_tracer_from(tracer=tracer, grid=grid)

"""
__Output__
"""
al.output_to_fits(values=dataset.data.native_for_fits, file_path=dataset_path / "data.fits", overwrite=True)
al.output_to_fits(values=dataset.noise_map.native_for_fits, file_path=dataset_path / "noise_map.fits", overwrite=True)
al.output_to_fits(values=dataset.psf.kernel.native_for_fits, file_path=dataset_path / "psf.fits", overwrite=True)


def plot_data(data, title, file_path):
    extent = 0.5 * 100 * 0.1
    plt.imshow(
        np.clip(data.native.array, 0.0, None),
        origin="upper",
        extent=[-extent, extent, -extent, extent],
        cmap="inferno",
        norm=matplotlib.colors.PowerNorm(gamma=0.5),
    )
    plt.colorbar(label="e- / s")
    plt.title(title)
    plt.xlabel('x (")')
    plt.ylabel('y (")')
    plt.savefig(file_path, dpi=100, bbox_inches="tight")
    plt.close()


plot_data(data=dataset.data, title="Simulated strong lens (native PSF)", file_path=dataset_path / "data.png")

"""
__Check__

Reload the dataset and check it round-trips, and that the data have the expected signal.
"""
reloaded = al.Imaging.from_fits(
    data_path=dataset_path / "data.fits",
    noise_map_path=dataset_path / "noise_map.fits",
    psf_path=dataset_path / "psf.fits",
    pixel_scales=0.1,
)
assert np.allclose(reloaded.data.native.array, dataset.data.native.array)
assert dataset.data.native.array.max() > 1.0

print(f"Simulated dataset written to {dataset_path}:")
for name in ("data.fits", "noise_map.fits", "psf.fits", "data.png"):
    print(f"  {dataset_path / name}")

"""
__Oversampled PSF__

The same lens, simulated with the PSF convolution done on a grid twice as fine as the data (N = 2). The fine PSF is
the same physical Gaussian (sigma = 0.1") sampled at 0.05" per pixel; 21 x 21 fine pixels cover the same +-0.5" as the
native 11 x 11 kernel.
"""
psf_oversampled = al.Convolver.from_gaussian(
    shape_native=(21, 21),
    sigma=0.1,
    pixel_scales=grid.pixel_scales[0] / 2,
    normalize=True,
    convolve_over_sample_size=2,
)

"""
The grid is the data's 100 x 100 grid at 0.1". Its over-sample size (4) is the evaluation budget per data pixel and
must be a multiple of N: each of the 2 x 2 fine pixels of a data pixel is evaluated 2 x 2 times, so a data pixel still
gets 4 x 4 samples. The grid above already qualifies.

The simulator sees that the PSF is oversampled: it evaluates the image on the fine frame, convolves it at 0.05", bins
every 2 x 2 block to its 0.1" pixel (by the mean, so flux is conserved) and then adds sky and noise exactly as before,
with the same noise seed.
"""
simulator_oversampled = al.SimulatorImaging(
    exposure_time=300.0,
    psf=psf_oversampled,
    background_sky_level=0.1,
    add_poisson_noise_to_data=True,
    noise_seed=1,
)
dataset_oversampled = simulator_oversampled.via_tracer_from(tracer=tracer, grid=grid)
assert dataset_oversampled.data.shape_native == (100, 100)
assert dataset_oversampled.psf.convolve_over_sample_size == 2

"""
__Output (Oversampled)__

`psf.output_to_fits` writes the fine kernel with a header that records its pixel scale and N (keyword `CONVOS`), so
the PSF can never be loaded back as a native one by mistake.
"""
dataset_oversampled_path = workspace / "dataset" / "imaging" / "simple_oversampled"
dataset_oversampled_path.mkdir(parents=True, exist_ok=True)

al.output_to_fits(
    values=dataset_oversampled.data.native_for_fits,
    file_path=dataset_oversampled_path / "data.fits",
    overwrite=True,
)
al.output_to_fits(
    values=dataset_oversampled.noise_map.native_for_fits,
    file_path=dataset_oversampled_path / "noise_map.fits",
    overwrite=True,
)
dataset_oversampled.psf.output_to_fits(file_path=dataset_oversampled_path / "psf.fits", overwrite=True)
assert fits.getheader(dataset_oversampled_path / "psf.fits")["CONVOS"] == 2
plot_data(
    data=dataset_oversampled.data,
    title="Simulated strong lens (oversampled PSF, N = 2)",
    file_path=dataset_oversampled_path / "data.png",
)

"""
__Reload And Fit (Oversampled)__

`Imaging.from_fits` is given the data's pixel scale and N: it loads the PSF at 0.1" / 2 and checks it against the
header. The default over-sample size (4) is a multiple of N, so light is evaluated on the fine grids with the same
budget as in the simulation.
"""
reloaded_oversampled = al.Imaging.from_fits(
    data_path=dataset_oversampled_path / "data.fits",
    noise_map_path=dataset_oversampled_path / "noise_map.fits",
    psf_path=dataset_oversampled_path / "psf.fits",
    pixel_scales=0.1,
    convolve_over_sample_size_lp=2,
    convolve_over_sample_size_pixelization=2,
)
assert reloaded_oversampled.psf.convolve_over_sample_size == 2
assert reloaded_oversampled.psf.kernel.pixel_scales == (0.05, 0.05)
assert np.allclose(reloaded_oversampled.psf.kernel.native.array, dataset_oversampled.psf.kernel.native.array)
assert np.allclose(reloaded_oversampled.data.native.array, dataset_oversampled.data.native.array)

mask_radius = 3.0
mask = al.Mask2D.circular(shape_native=(100, 100), pixel_scales=0.1, radius=mask_radius)
masked_oversampled = reloaded_oversampled.apply_mask(mask=mask)

"""
Fitting the data with the lens model that made it leaves only noise, so the chi-squared per unmasked pixel is ~1. The
model image of this fit is the noise-free simulated image inside the mask.
"""
fit_oversampled = al.FitImaging(dataset=masked_oversampled, tracer=tracer)
chi_squared_per_pixel = fit_oversampled.chi_squared / mask.pixels_in_mask
assert 0.9 < chi_squared_per_pixel < 1.1, chi_squared_per_pixel

"""
__Native vs Oversampled__

The native simulation fitted the same way gives its noise-free image inside the same mask. The difference between
the two noise-free images is what the finer convolution changes (~1% of the peak, at the lens galaxy's steep centre,
where a PSF of one native pixel is poorly sampled); the difference between the two noisy datasets also includes the
(seeded) noise responding to it.
"""
fit_native = al.FitImaging(dataset=dataset.apply_mask(mask=mask), tracer=tracer)
chi_squared_per_pixel_native = fit_native.chi_squared / mask.pixels_in_mask
assert 0.9 < chi_squared_per_pixel_native < 1.1, chi_squared_per_pixel_native

peak = fit_native.model_data.array.max()
model_difference = np.abs(fit_oversampled.model_data.array - fit_native.model_data.array).max() / peak
data_difference = np.abs(dataset_oversampled.data.array - dataset.data.array).max() / peak
assert 1e-3 < model_difference < 0.05, model_difference  # different, as the finer convolution must be, but close

print(f"Oversampled-PSF dataset (N = 2) written to {dataset_oversampled_path}:")
for name in ("data.fits", "noise_map.fits", "psf.fits", "data.png"):
    print(f"  {dataset_oversampled_path / name}")
print(
    f"Fit with the true lens model, {mask.pixels_in_mask} pixels in a {mask_radius}\" mask: chi-squared / pixel = "
    f"{chi_squared_per_pixel:.3f} (oversampled), {chi_squared_per_pixel_native:.3f} (native)"
)
print(
    f"Native vs oversampled PSF: max |difference| / peak = {model_difference:.2e} (noise-free, in the mask), "
    f"{data_difference:.2e} (noisy data, full frame); peak = {peak:.2f} e-/s"
)
