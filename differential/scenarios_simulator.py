"""
Imaging simulator scenarios (autoarray, autogalaxy, autolens) with a fixed Poisson-noise seed.

``SimulatorImaging(noise_seed=1)`` seeds numpy's global random state (``np.random.seed``) right before it draws the
Poisson noise, so the noisy data are deterministic. The simulators use real-space convolution by default
(``use_real_space_convolution=True`` -> ``Convolver.convolved_image_via_real_space_from``); the autoarray scenario
also runs the ``use_real_space_convolution=False`` branch (``Convolver.convolved_image_from``) with ``xp=np`` (which
the release sends to the same numpy real-space code) and with ``xp=jax.numpy`` (the JAX path: FFT under the
library's default config ``general.psf.use_fft_default: true``, which is what the runner's temporary cwd sees).

Poisson-noised data are quantised to counts / exposure time, so they hide a tiny change of the convolved image. Every
scenario therefore also simulates with ``add_poisson_noise_to_data=False`` and no background sky (``no_noise_*``
outputs): their data are the PSF-convolved image itself (adding and subtracting a sky level would round away changes
smaller than an ulp of the sky), so they change with any bit of the convolution.

Quirk kept on purpose (see BASE_MAP.md section 5, item 12): the galaxy / tracer simulators return
``trimmed_after_convolution_from(...)``, a shallow copy whose ``grids`` is still the ``GridsDataset`` of the padded
(25x25) image, with over-sample size 0 in the padding ring. ``grids_lp`` therefore has 625 rows while ``data`` is
21x21; these outputs pin that behaviour.

The PyAuto libraries are imported inside the functions only (see ``registry.py``).
"""
import numpy as np

from differential.registry import scenario

SHAPE = (21, 21)
PIXEL_SCALES = 0.2
PSF_SHAPE = (5, 5)
PSF_SIGMA = 0.25
EXPOSURE_TIME = 300.0
BACKGROUND_SKY_LEVEL = 0.1
NOISE_SEED = 1


def _psf():
    import autoarray as aa

    return aa.Convolver.from_gaussian(
        shape_native=PSF_SHAPE, pixel_scales=PIXEL_SCALES, sigma=PSF_SIGMA, normalize=True
    )


def _dataset_outputs(dataset, prefix: str = ""):
    grids = dataset.grids
    return {
        f"{prefix}data": dataset.data.native,
        f"{prefix}noise_map": dataset.noise_map.native,
        f"{prefix}psf_kernel": dataset.psf.kernel.native,
        f"{prefix}grids_lp": grids.lp,
        f"{prefix}grids_lp_over_sampled": grids.lp.over_sampled,
        f"{prefix}over_sample_size_lp": dataset.over_sample_size_lp,
    }


@scenario("aa_simulator_imaging")
def aa_simulator_imaging():
    import autoarray as aa
    import jax.numpy as jnp

    y, x = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]].astype("float64")
    cy, cx = (SHAPE[0] - 1) / 2.0, (SHAPE[1] - 1) / 2.0
    values = 2.0 * np.exp(-((y - cy - 1.3) ** 2 + 0.6 * (x - cx + 0.7) ** 2) / 8.0) + 0.5 * np.exp(
        -((y - cy + 4.0) ** 2 + (x - cx - 3.0) ** 2) / 2.0
    )
    image = aa.Array2D.no_mask(values=values, pixel_scales=PIXEL_SCALES)

    def simulate(real_space=True, add_noise=True, xp=np):
        simulator = aa.SimulatorImaging(
            exposure_time=EXPOSURE_TIME,
            background_sky_level=BACKGROUND_SKY_LEVEL if add_noise else 0.0,
            psf=_psf(),
            use_real_space_convolution=real_space,
            add_poisson_noise_to_data=add_noise,
            noise_seed=NOISE_SEED,
        )
        return simulator.via_image_from(image=image, xp=xp)

    outputs = _dataset_outputs(simulate())
    for prefix, dataset in (
        ("fft_branch_", simulate(real_space=False)),
        ("jax_fft_", simulate(real_space=False, xp=jnp)),
        ("no_noise_", simulate(add_noise=False)),
        ("no_noise_fft_branch_", simulate(real_space=False, add_noise=False)),
        ("no_noise_jax_fft_", simulate(real_space=False, add_noise=False, xp=jnp)),
    ):
        outputs[f"{prefix}data"] = dataset.data.native
        outputs[f"{prefix}noise_map"] = dataset.noise_map.native
    return outputs


@scenario("ag_simulator_imaging")
def ag_simulator_imaging():
    import autogalaxy as ag

    grid = ag.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, over_sample_size=2)

    galaxy_0 = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp.Sersic(
            centre=(0.05, -0.05), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.5, sersic_index=2.5
        ),
        disk=ag.lp.Exponential(centre=(0.05, -0.05), ell_comps=(-0.15, 0.1), intensity=0.4, effective_radius=1.0),
    )
    galaxy_1 = ag.Galaxy(
        redshift=0.5,
        light=ag.lp_snr.Sersic(
            signal_to_noise_ratio=20.0, centre=(0.8, 0.9), ell_comps=(0.0, 0.1), effective_radius=0.3, sersic_index=1.5
        ),
    )

    def simulate(add_noise):
        simulator = ag.SimulatorImaging(
            exposure_time=EXPOSURE_TIME,
            background_sky_level=BACKGROUND_SKY_LEVEL if add_noise else 0.0,
            psf=_psf(),
            add_poisson_noise_to_data=add_noise,
            noise_seed=NOISE_SEED,
        )
        return simulator.via_galaxies_from(galaxies=[galaxy_0, galaxy_1], grid=grid)

    outputs = _dataset_outputs(simulate(add_noise=True))
    outputs["snr_intensity"] = np.float64(galaxy_1.light.intensity)
    no_noise = simulate(add_noise=False)
    outputs["no_noise_data"] = no_noise.data.native
    outputs["no_noise_noise_map"] = no_noise.noise_map.native
    return outputs


@scenario("al_simulator_imaging")
def al_simulator_imaging():
    import autolens as al

    grid = al.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, over_sample_size=2)

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.05, 0.0), intensity=0.5, effective_radius=0.6, sersic_index=3.0
        ),
        mass=al.mp.Isothermal(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), einstein_radius=1.0),
        shear=al.mp.ExternalShear(gamma_1=0.02, gamma_2=-0.01),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Sersic(
            centre=(0.1, 0.05), ell_comps=(0.0, 0.15), intensity=1.5, effective_radius=0.2, sersic_index=1.0
        ),
        extra=al.lp_snr.Exponential(
            signal_to_noise_ratio=15.0, centre=(-0.1, 0.0), ell_comps=(0.05, 0.0), effective_radius=0.15
        ),
    )
    tracer = al.Tracer(galaxies=[lens, source])

    def simulate(add_noise):
        simulator = al.SimulatorImaging(
            exposure_time=EXPOSURE_TIME,
            background_sky_level=BACKGROUND_SKY_LEVEL if add_noise else 0.0,
            psf=_psf(),
            add_poisson_noise_to_data=add_noise,
            noise_seed=NOISE_SEED,
        )
        return simulator.via_tracer_from(tracer=tracer, grid=grid)

    outputs = _dataset_outputs(simulate(add_noise=True))
    outputs["snr_intensity"] = np.float64(source.extra.intensity)
    no_noise = simulate(add_noise=False)
    outputs["no_noise_data"] = no_noise.data.native
    outputs["no_noise_noise_map"] = no_noise.noise_map.native
    return outputs
