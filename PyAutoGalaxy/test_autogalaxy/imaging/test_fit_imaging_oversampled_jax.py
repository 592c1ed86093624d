"""An oversampled fit under jax.jit, with a fitted (traced) grid offset."""
import numpy as np

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
import autogalaxy as ag
from autoarray.operators.convolver import OversampledConvolverState

import jax
import jax.numpy as jnp


def _dataset(N=2, n_lp=None, n_pixelization=None, kernel_size=11):
    """A masked dataset with its PSF at N, the light profiles at `n_lp` and the pixelization at `n_pixelization`
    (both N by default)."""
    shape, pixel_scale = (30, 30), 0.1
    rng = np.random.default_rng(0)
    psf = ag.Convolver.from_gaussian(
        shape_native=(kernel_size, kernel_size),
        pixel_scales=pixel_scale / N,
        sigma=0.08,
        normalize=True,
        convolve_over_sample_size=N,
    )
    return ag.Imaging(
        data=ag.Array2D.no_mask(values=rng.normal(size=shape), pixel_scales=pixel_scale),
        noise_map=ag.Array2D.no_mask(values=np.ones(shape), pixel_scales=pixel_scale),
        psf=psf,
        over_sample_size_lp=4,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=N if n_lp is None else n_lp,
        convolve_over_sample_size_pixelization=N if n_pixelization is None else n_pixelization,
    ).apply_mask(mask=ag.Mask2D.circular(shape_native=shape, pixel_scales=pixel_scale, radius=1.2))


def _log_likelihood(dataset, offset_y, xp):
    galaxy = ag.Galaxy(
        redshift=0.5,
        bulge=ag.lp.Sersic(intensity=1.0, effective_radius=0.3, sersic_index=4.0),
        disk=ag.lp_linear.Exponential(effective_radius=0.5),
    )
    return ag.FitImaging(
        dataset=dataset,
        galaxies=[galaxy],
        dataset_model=aa.DatasetModel(grid_offset=(offset_y, 0.02)),
        xp=xp,
    ).log_likelihood


def _counting_state_builds(monkeypatch):
    """Count every `OversampledConvolverState` built from now on."""
    builds = []
    original = OversampledConvolverState.__init__

    def counting(self, *args, **kwargs):
        builds.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(OversampledConvolverState, "__init__", counting)
    return builds


def test__jit_with_a_traced_grid_offset_matches_numpy_and_keeps_the_cached_state(monkeypatch):
    dataset = _dataset()
    state = dataset.psf._state
    assert isinstance(state, OversampledConvolverState)
    builds = _counting_state_builds(monkeypatch)

    jitted = jax.jit(lambda offset_y: _log_likelihood(dataset, offset_y, jnp))
    for offset_y in (0.0, 0.05):
        expected = _log_likelihood(dataset, offset_y, np)
        assert np.isclose(float(jitted(offset_y)), expected, rtol=1e-10)
    # the offsets move the grids, not the mask the PSF's fine state was built for: no state is rebuilt
    assert dataset.psf._state is state
    assert builds == []
    # and the offset does change the fit (the test would not notice an ignored offset otherwise)
    assert not np.isclose(_log_likelihood(dataset, 0.05, np), _log_likelihood(dataset, 0.0, np), rtol=1e-6)
    # the counter works: a state for another mask is built
    dataset.psf.oversampled_state_from(
        mask=ag.Mask2D.circular(shape_native=(30, 30), pixel_scales=0.1, radius=0.8)
    )
    assert builds == [1]


def test__jit_with_light_profiles_at_a_smaller_n_than_the_psf_matches_numpy():
    """Light profiles at N = 2 through the coarse kernel of a PSF held at N = 4, and at N = 1 beside N = 2."""
    for n_lp, n_pix in ((2, 4), (1, 2)):
        n = max(n_lp, n_pix)
        dataset = _dataset(N=n, n_lp=n_lp, n_pixelization=n_pix, kernel_size=4 * n + 1)
        jitted = jax.jit(lambda offset_y: _log_likelihood(dataset, offset_y, jnp))
        for offset_y in (0.0, 0.05):
            assert np.isclose(float(jitted(offset_y)), _log_likelihood(dataset, offset_y, np), rtol=1e-10)
