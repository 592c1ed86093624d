"""
Modeling: a lens model fitted to an oversampled-PSF dataset, saved and reloaded
=================================================================================

A standard PyAutoLens modeling script that opts into oversampled PSF convolution with two dataset keywords and a
fine PSF, and changes nothing else:

1. simulate a strong lens through a PSF held at half the image's pixel scale (N = 2), and over-sample it adaptively
   (radial bins);
2. fit it with a non-linear search (a very short Dynesty run: this checks the plumbing of a search, not a sampler);
3. reload the dataset the search saved (`dataset.fits`) through the aggregator, as a user does after a fit.

It checks that the search fitted the oversampled model (the likelihood of the best fit, recomputed directly with
the oversampled dataset, is the search's), and that the reloaded dataset is oversampled too, with the fine PSF, and
gives the same likelihood. A reloaded oversampled dataset must never silently become a native one.
"""
import tempfile
from pathlib import Path

import numpy as np

import autofit as af
import autolens as al
from autofit.aggregator.aggregator import Aggregator

"""
__Dataset__

A fine Gaussian PSF at 0.05" for 0.1" data (N = 2), and over-sampling of 4 x 4 per pixel (2 x 2 per fine pixel), on a
small 40 x 40 image so that the whole search, with its visualization, is quick.
"""
N = 2
pixel_scales = 0.1
grid = al.Grid2D.uniform(shape_native=(40, 40), pixel_scales=pixel_scales, over_sample_size=4)
psf = al.Convolver.from_gaussian(
    shape_native=(21, 21), pixel_scales=pixel_scales / N, sigma=0.08, normalize=True, convolve_over_sample_size=N
)
simulator = al.SimulatorImaging(
    exposure_time=300.0, psf=psf, background_sky_level=0.1, add_poisson_noise_to_data=True, noise_seed=1
)
tracer_true = al.Tracer(
    galaxies=[
        al.Galaxy(
            redshift=0.5,
            light=al.lp.Sersic(intensity=1.0, effective_radius=0.5, sersic_index=4.0),
            mass=al.mp.Isothermal(einstein_radius=1.0),
        ),
        al.Galaxy(redshift=1.0, light=al.lp.Exponential(intensity=0.5, effective_radius=0.2)),
    ]
)
dataset = simulator.via_tracer_from(tracer=tracer_true, grid=grid)
assert dataset.psf.convolve_over_sample_size == N and dataset.convolve_over_sample_size_lp == N

mask = al.Mask2D.circular(shape_native=(40, 40), pixel_scales=pixel_scales, radius=1.8)
dataset = dataset.apply_mask(mask=mask)

"""
__Over sampling__

Adaptive over-sampling, as real modeling scripts use: many samples where the lens's Sersic is steep, few elsewhere.
With N = 2 each fine pixel of a data pixel of size s is evaluated with s / 2 sub-samples per axis (sizes that are
not multiples of N would be rounded up, with one INFO log line).
"""
over_sample_size = al.util.over_sample.over_sample_size_via_radial_bins_from(
    grid=dataset.grids.lp, sub_size_list=[8, 4, 2], radial_list=[0.3, 0.8], centre_list=[(0.0, 0.0)]
)
dataset = dataset.apply_over_sampling(over_sample_size_lp=over_sample_size)
assert sorted(np.unique(dataset.over_sample_size_lp.array).astype(int).tolist()) == [2, 4, 8]

"""
__Model and search__

Linear light profiles for both galaxies (their intensities are solved for), an isothermal mass.
"""
model = af.Collection(
    galaxies=af.Collection(
        lens=af.Model(al.Galaxy, redshift=0.5, mass=al.mp.Isothermal, light=al.lp_linear.Sersic),
        source=af.Model(al.Galaxy, redshift=1.0, light=al.lp_linear.Exponential),
    )
)

output = Path(tempfile.mkdtemp())
search = af.DynestyStatic(
    name="modeling_oversampled",
    path_prefix=output,
    nlive=20,
    maxcall=60,
    number_of_cores=1,
    iterations_per_quick_update=100000,  # visualize once, at the end, to keep the check quick
    iterations_per_full_update=100000,
)
analysis = al.AnalysisImaging(dataset=dataset)
result = search.fit(model=model, analysis=analysis)

"""
__Checks__

The search's best likelihood is the oversampled dataset's likelihood of its best-fit instance.
"""
instance = result.max_log_likelihood_instance
log_likelihood = al.FitImaging(dataset=dataset, tracer=al.Tracer(galaxies=list(instance.galaxies))).figure_of_merit
print(f"search max log likelihood {result.max_log_likelihood_fit.figure_of_merit:.6f}, recomputed {log_likelihood:.6f}")
assert np.isclose(result.max_log_likelihood_fit.figure_of_merit, log_likelihood, rtol=1e-10)
assert result.max_log_likelihood_fit.dataset.psf.convolve_over_sample_size == N

"""
__Reload__

The aggregator rebuilds the dataset from the `dataset.fits` the search wrote: the fine PSF, at 0.05", with N = 2.
"""
saved = sorted(output.rglob("dataset.fits"))
assert saved, "the search did not write dataset.fits"
aggregator = Aggregator.from_directory(directory=output)
reloaded = list(al.agg.ImagingAgg(aggregator=aggregator).dataset_gen_from())[0][0]
print(
    f"reloaded dataset: convolve_over_sample_size_lp={reloaded.convolve_over_sample_size_lp}, "
    f"PSF N={reloaded.psf.convolve_over_sample_size} at {reloaded.psf.kernel.pixel_scales}"
)
assert reloaded.convolve_over_sample_size_lp == N and reloaded.convolve_over_sample_size_pixelization == N
assert reloaded.psf.convolve_over_sample_size == N
assert np.allclose(reloaded.psf.kernel.pixel_scales, (pixel_scales / N, pixel_scales / N))
assert np.array_equal(reloaded.over_sample_size_lp.array, dataset.over_sample_size_lp.array)  # adaptive, as saved

reloaded_log_likelihood = al.AnalysisImaging(dataset=reloaded).log_likelihood_function(instance=instance)
print(f"log likelihood of the best fit: saved dataset {log_likelihood:.10f}, reloaded {reloaded_log_likelihood:.10f}")
assert np.isclose(reloaded_log_likelihood, log_likelihood, rtol=1e-12)
print("modeling_oversampled.py: all checks passed")
