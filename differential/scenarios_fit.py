"""
FitImaging scenarios (autogalaxy and autolens): standard, operated and linear light profiles.

Each scenario fits a small masked ``Imaging`` dataset (21x21 pixels at 0.2"/pixel, circular mask of radius 1.8",
5x5 normalised Gaussian PSF, ``over_sample_size_lp=2``) whose data is a deterministic synthetic image: a "truth"
model image, blurred with the PSF, plus Gaussian noise from a fixed ``np.random.default_rng`` seed. The model that
is fitted differs from the truth, so the residuals are not zero.

The PyAuto libraries are imported inside the functions only (see ``registry.py``).
"""
import numpy as np

from differential.registry import scenario

SHAPE = (21, 21)
PIXEL_SCALES = 0.2
MASK_RADIUS = 1.8
PSF_SHAPE = (5, 5)
PSF_SIGMA = 0.25
NOISE_SIGMA = 0.02
OVER_SAMPLE_SIZE_LP = 2


def _psf():
    import autoarray as aa

    return aa.Convolver.from_gaussian(
        shape_native=PSF_SHAPE, pixel_scales=PIXEL_SCALES, sigma=PSF_SIGMA, normalize=True
    )


def _masked_dataset(truth_image_from, seed: int):
    """
    A masked ``Imaging`` dataset whose data is ``truth_image_from(grid)`` (an unmasked image on the full 21x21
    grid), convolved with the PSF, plus Gaussian noise of sigma ``NOISE_SIGMA`` drawn with ``seed``.
    """
    import autoarray as aa
    from scipy.signal import convolve2d

    psf = _psf()
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, over_sample_size=4)
    truth = np.asarray(truth_image_from(grid).native.array, dtype="float64")
    blurred = convolve2d(truth, np.asarray(psf.kernel.native.array), mode="same")

    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, NOISE_SIGMA, size=SHAPE)

    data = aa.Array2D.no_mask(values=blurred + noise, pixel_scales=PIXEL_SCALES)
    noise_map = aa.Array2D.full(fill_value=NOISE_SIGMA, shape_native=SHAPE, pixel_scales=PIXEL_SCALES)

    dataset = aa.Imaging(
        data=data, noise_map=noise_map, psf=psf, over_sample_size_lp=OVER_SAMPLE_SIZE_LP
    )
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, radius=MASK_RADIUS)
    return dataset.apply_mask(mask=mask)


def _stack(arrays):
    return np.stack([np.asarray(getattr(a, "array", a), dtype="float64") for a in arrays])


def _fit_outputs(fit, galaxies):
    """Outputs common to every FitImaging scenario."""
    galaxy_model_image_dict = fit.galaxy_model_image_dict
    return {
        "log_likelihood": np.float64(fit.log_likelihood),
        "figure_of_merit": np.float64(fit.figure_of_merit),
        "model_data": fit.model_data,
        "blurred_image": fit.blurred_image,
        "residual_map": fit.residual_map,
        "chi_squared_map": fit.chi_squared_map,
        "galaxy_model_images": _stack([galaxy_model_image_dict[g] for g in galaxies]),
    }


# ---------------------------------------------------------------------------------------------------------------------
# autogalaxy
# ---------------------------------------------------------------------------------------------------------------------


def _ag_truth_image_from(grid):
    import autogalaxy as ag

    galaxy = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp.Sersic(
            centre=(0.05, -0.05), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.5, sersic_index=2.5
        ),
        disk=ag.lp.Exponential(
            centre=(0.05, -0.05), ell_comps=(-0.15, 0.1), intensity=0.4, effective_radius=1.0
        ),
    )
    return ag.Galaxies(galaxies=[galaxy]).image_2d_from(grid=grid)


@scenario("ag_fit_imaging_standard")
def ag_fit_imaging_standard():
    import autogalaxy as ag

    dataset = _masked_dataset(_ag_truth_image_from, seed=1)

    galaxy_0 = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.12, 0.03), intensity=0.9, effective_radius=0.55, sersic_index=3.0
        ),
        disk=ag.lp.Exponential(centre=(0.0, 0.0), ell_comps=(-0.1, 0.1), intensity=0.35, effective_radius=1.1),
    )
    galaxy_1 = ag.Galaxy(
        redshift=0.5,
        light=ag.lp.Sersic(
            centre=(0.6, 0.7), ell_comps=(0.0, 0.2), intensity=0.2, effective_radius=0.3, sersic_index=1.5
        ),
    )
    galaxies = [galaxy_0, galaxy_1]

    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)
    return _fit_outputs(fit, galaxies)


@scenario("ag_fit_imaging_operated")
def ag_fit_imaging_operated():
    import autogalaxy as ag

    dataset = _masked_dataset(_ag_truth_image_from, seed=2)

    galaxy_0 = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.12, 0.03), intensity=0.9, effective_radius=0.55, sersic_index=3.0
        ),
        psf_like=ag.lp_operated.Gaussian(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), intensity=0.5, sigma=0.25),
    )
    galaxy_1 = ag.Galaxy(
        redshift=0.5,
        point=ag.lp_operated.Gaussian(centre=(0.6, 0.7), ell_comps=(0.05, 0.0), intensity=0.3, sigma=0.2),
    )
    galaxies = [galaxy_0, galaxy_1]

    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)
    return _fit_outputs(fit, galaxies)


@scenario("ag_fit_imaging_linear")
def ag_fit_imaging_linear():
    import autogalaxy as ag

    dataset = _masked_dataset(_ag_truth_image_from, seed=3)

    galaxy_0 = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp_linear.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.12, 0.03), effective_radius=0.55, sersic_index=3.0
        ),
        disk=ag.lp_linear.Gaussian(centre=(0.0, 0.0), ell_comps=(-0.1, 0.1), sigma=0.8),
    )
    galaxy_1 = ag.Galaxy(
        redshift=0.5,
        light=ag.lp.Sersic(
            centre=(0.6, 0.7), ell_comps=(0.0, 0.2), intensity=0.2, effective_radius=0.3, sersic_index=1.5
        ),
    )
    galaxies = [galaxy_0, galaxy_1]

    fit = ag.FitImaging(dataset=dataset, galaxies=galaxies)
    outputs = _fit_outputs(fit, galaxies)
    outputs["reconstruction"] = fit.inversion.reconstruction
    outputs["mapped_reconstructed_data"] = fit.inversion.mapped_reconstructed_data
    outputs["mapped_reconstructed_operated_data"] = fit.inversion.mapped_reconstructed_operated_data
    return outputs


# ---------------------------------------------------------------------------------------------------------------------
# autolens
# ---------------------------------------------------------------------------------------------------------------------


def _al_truth_image_from(grid):
    import autolens as al

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.05, 0.0), intensity=0.5, effective_radius=0.6, sersic_index=3.0
        ),
        mass=al.mp.Isothermal(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), einstein_radius=1.0),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Sersic(
            centre=(0.1, 0.05), ell_comps=(0.0, 0.15), intensity=1.5, effective_radius=0.2, sersic_index=1.0
        ),
    )
    return al.Tracer(galaxies=[lens, source]).image_2d_from(grid=grid)


def _al_outputs(fit, tracer):
    outputs = _fit_outputs(fit, list(tracer.galaxies))
    outputs["model_images_of_planes"] = _stack(fit.model_images_of_planes_list)
    return outputs


@scenario("al_fit_imaging_standard")
def al_fit_imaging_standard():
    import autolens as al

    dataset = _masked_dataset(_al_truth_image_from, seed=11)

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.04, 0.01), intensity=0.45, effective_radius=0.65, sersic_index=2.8
        ),
        disk=al.lp.Exponential(centre=(0.0, 0.0), ell_comps=(0.0, 0.1), intensity=0.05, effective_radius=1.2),
        mass=al.mp.Isothermal(centre=(0.01, 0.0), ell_comps=(0.11, 0.04), einstein_radius=0.98),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Sersic(
            centre=(0.09, 0.06), ell_comps=(0.0, 0.12), intensity=1.4, effective_radius=0.22, sersic_index=1.2
        ),
    )
    tracer = al.Tracer(galaxies=[lens, source])

    fit = al.FitImaging(dataset=dataset, tracer=tracer)
    return _al_outputs(fit, tracer)


@scenario("al_fit_imaging_operated")
def al_fit_imaging_operated():
    import autolens as al

    dataset = _masked_dataset(_al_truth_image_from, seed=12)

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.04, 0.01), intensity=0.45, effective_radius=0.65, sersic_index=2.8
        ),
        agn=al.lp_operated.Gaussian(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), intensity=0.8, sigma=0.15),
        mass=al.mp.Isothermal(centre=(0.01, 0.0), ell_comps=(0.11, 0.04), einstein_radius=0.98),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Exponential(centre=(0.09, 0.06), ell_comps=(0.0, 0.12), intensity=1.2, effective_radius=0.25),
    )
    tracer = al.Tracer(galaxies=[lens, source])

    fit = al.FitImaging(dataset=dataset, tracer=tracer)
    return _al_outputs(fit, tracer)


@scenario("al_fit_imaging_linear")
def al_fit_imaging_linear():
    import autolens as al

    dataset = _masked_dataset(_al_truth_image_from, seed=13)

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp_linear.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.04, 0.01), effective_radius=0.65, sersic_index=2.8
        ),
        disk=al.lp.Exponential(centre=(0.0, 0.0), ell_comps=(0.0, 0.1), intensity=0.05, effective_radius=1.2),
        mass=al.mp.Isothermal(centre=(0.01, 0.0), ell_comps=(0.11, 0.04), einstein_radius=0.98),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp_linear.Sersic(
            centre=(0.09, 0.06), ell_comps=(0.0, 0.12), effective_radius=0.22, sersic_index=1.2
        ),
        extra=al.lp_linear.Gaussian(centre=(0.1, 0.0), ell_comps=(0.0, 0.0), sigma=0.3),
    )
    tracer = al.Tracer(galaxies=[lens, source])

    fit = al.FitImaging(dataset=dataset, tracer=tracer)
    outputs = _al_outputs(fit, tracer)
    outputs["reconstruction"] = fit.inversion.reconstruction
    outputs["mapped_reconstructed_data"] = fit.inversion.mapped_reconstructed_data
    outputs["mapped_reconstructed_operated_data"] = fit.inversion.mapped_reconstructed_operated_data
    return outputs
