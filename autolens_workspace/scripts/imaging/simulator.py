"""
Simulator: Strong Lens Imaging
==============================

Simulates a strong lens (an isothermal lens galaxy with a Sersic bulge, lensing a Sersic source) as a CCD imaging
dataset: the image is evaluated on an over-sampled grid, blurred with a Gaussian PSF, and given sky and Poisson noise.

Run it from anywhere:

    make demo                      # or: .venv/bin/python autolens_workspace/scripts/imaging/simulator.py

The dataset (data, noise-map, PSF as .fits) and a PNG of the data are written to
`autolens_workspace/dataset/imaging/simple/`; the script prints the paths.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

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

extent = 0.5 * 100 * 0.1
plt.imshow(
    np.clip(dataset.data.native.array, 0.0, None),
    origin="upper",
    extent=[-extent, extent, -extent, extent],
    cmap="inferno",
    norm=matplotlib.colors.PowerNorm(gamma=0.5),
)
plt.colorbar(label="e- / s")
plt.title("Simulated strong lens (native PSF)")
plt.xlabel('x (")')
plt.ylabel('y (")')
plt.savefig(dataset_path / "data.png", dpi=100, bbox_inches="tight")
plt.close()

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
