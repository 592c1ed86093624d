"""
Scenarios of objects used the way the release lets users use them, beyond one fresh fit per fresh dataset.

Four families, each found by running the release's own test suites on the patched stack:

* **PSF-like objects other than ``Convolver``**: the library's mocks (``aa.m.MockPSF``, ``aa.m.MockMapper``,
  ``aa.m.MockLinearObjFuncList``, ``aa.m.MockInversionImaging``) in the imaging inversion.
* **Attributes replaced or mutated after a first fit**: ``dataset.psf = other``, ``dataset.noise_map = other``, a
  PSF kernel normalised in place by a second ``Imaging``, then a second fit.
* **Datasets copied and reused**: ``copy.copy``, ``copy.deepcopy`` and a pickle round trip of a masked dataset
  after a first fit, each fitted again.
* **Objects reused across datasets**: one PSF object and one tracer shared by datasets with different masks, fitted
  in turn.

Every output is compared with the pristine release bit for bit (``test_differential.py``). The datasets are the
fit scenarios' (``scenarios_fit.py``): 21x21 pixels at 0.2", a 5x5 Gaussian PSF, ``over_sample_size_lp=2``.
"""
import copy
import pickle

import numpy as np

from differential.registry import scenario

SHAPE = (21, 21)
PIXEL_SCALES = 0.2
NOISE_SIGMA = 0.02


def _psf(sigma: float = 0.25, shape=(5, 5), normalize: bool = True):
    import autoarray as aa

    return aa.Convolver.from_gaussian(
        shape_native=shape, pixel_scales=PIXEL_SCALES, sigma=sigma, normalize=normalize
    )


def _tracer(intensity: float = 1.4):
    import autolens as al

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.04, 0.01), intensity=0.45, effective_radius=0.65, sersic_index=2.8
        ),
        mass=al.mp.Isothermal(centre=(0.01, 0.0), ell_comps=(0.11, 0.04), einstein_radius=0.98),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Sersic(
            centre=(0.09, 0.06), ell_comps=(0.0, 0.12), intensity=intensity, effective_radius=0.22,
            sersic_index=1.2,
        ),
    )
    return al.Tracer(galaxies=[lens, source])


def _linear_tracer():
    import autolens as al

    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp_linear.Sersic(
            centre=(0.0, 0.0), ell_comps=(0.04, 0.01), effective_radius=0.65, sersic_index=2.8
        ),
        mass=al.mp.Isothermal(centre=(0.01, 0.0), ell_comps=(0.11, 0.04), einstein_radius=0.98),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp_linear.Sersic(
            centre=(0.09, 0.06), ell_comps=(0.0, 0.12), effective_radius=0.22, sersic_index=1.2
        ),
    )
    return al.Tracer(galaxies=[lens, source])


def _dataset(psf, seed: int = 21, radius: float = 1.8, use_normalized_psf: bool = True):
    """A masked dataset of a lens, blurred with a fixed 5x5 Gaussian and noised with ``seed``, holding ``psf``."""
    import autoarray as aa
    from scipy.signal import convolve2d

    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, over_sample_size=4)
    truth = np.asarray(_tracer(intensity=1.5).image_2d_from(grid=grid).native.array, dtype="float64")
    blurred = convolve2d(truth, np.asarray(_psf().kernel.native.array), mode="same")
    noise = np.random.default_rng(seed).normal(0.0, NOISE_SIGMA, size=SHAPE)

    dataset = aa.Imaging(
        data=aa.Array2D.no_mask(values=blurred + noise, pixel_scales=PIXEL_SCALES),
        noise_map=aa.Array2D.full(fill_value=NOISE_SIGMA, shape_native=SHAPE, pixel_scales=PIXEL_SCALES),
        psf=psf,
        over_sample_size_lp=2,
        use_normalized_psf=use_normalized_psf,
    )
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, radius=radius)
    return dataset.apply_mask(mask=mask)


def _fit(dataset, tracer=None):
    import autolens as al

    return al.FitImaging(dataset=dataset, tracer=tracer if tracer is not None else _tracer())


def _outputs(prefix: str, fit) -> dict:
    return {
        f"{prefix}_log_likelihood": np.float64(fit.log_likelihood),
        f"{prefix}_model_data": fit.model_data,
        f"{prefix}_chi_squared_map": fit.chi_squared_map,
    }


# ---------------------------------------------------------------------------------------------------------------------
# PSF-like objects other than Convolver: the library's mocks
# ---------------------------------------------------------------------------------------------------------------------


@scenario("mock_psf_inversion_imaging_mapping")
def mock_psf_inversion_imaging_mapping():
    """``InversionImagingMapping`` on a ``DatasetInterface`` whose PSF is ``aa.m.MockPSF``."""
    import autoarray as aa

    psf = aa.m.MockPSF(operated_mapping_matrix=np.array([[1.0, 0.5, 0.25], [0.5, 2.0, 1.0]] * 10))
    mapper = aa.m.MockMapper(
        mapping_matrix=np.ones((20, 3)), regularization=aa.reg.Constant(coefficient=1.0), parameters=3
    )
    linear_obj = aa.m.MockLinearObjFuncList(
        parameters=1,
        mapping_matrix=None,
        operated_mapping_matrix_override=np.linspace(1.0, 2.0, 20)[:, None],
        regularization=None,
    )
    dataset = aa.DatasetInterface(
        data=aa.Array2D(values=np.linspace(0.5, 3.0, 20).reshape(2, 10), mask=aa.Mask2D.all_false(
            shape_native=(2, 10), pixel_scales=1.0)),
        noise_map=aa.Array2D(values=np.full((2, 10), 2.0), mask=aa.Mask2D.all_false(
            shape_native=(2, 10), pixel_scales=1.0)),
        psf=psf,
    )
    inversion = aa.InversionImagingMapping(
        dataset=dataset,
        linear_obj_list=[linear_obj, mapper],
        settings=aa.Settings(no_regularization_add_to_curvature_diag_value=False),
    )
    return {
        "operated_mapping_matrix": inversion.operated_mapping_matrix,
        "curvature_matrix": inversion.curvature_matrix,
        "data_vector": inversion.data_vector,
    }


@scenario("mock_psf_mock_inversion_imaging")
def mock_psf_mock_inversion_imaging():
    """``aa.m.MockInversionImaging`` with ``aa.m.MockPSF`` and two mock mappers."""
    import autoarray as aa

    psf = aa.m.MockPSF(operated_mapping_matrix=np.array([[1.0, 3.0], [2.0, 4.0]]))
    mask = aa.Mask2D(
        [[True, True, True, True], [True, False, False, True], [True, True, True, True]], pixel_scales=1.0
    )
    mappers = [aa.m.MockMapper(mapping_matrix=np.ones((2, 2))) for _ in range(2)]
    inversion = aa.m.MockInversionImaging(mask=mask, psf=psf, linear_obj_list=mappers)
    return {
        "operated_mapping_matrix_0": inversion.operated_mapping_matrix_list[0],
        "operated_mapping_matrix": inversion.operated_mapping_matrix,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Attributes replaced or mutated after a first fit
# ---------------------------------------------------------------------------------------------------------------------


@scenario("replaced_psf_same_shape")
def replaced_psf_same_shape():
    """``dataset.psf = other`` (same shape, another width) after a first fit; the second fit uses ``other``."""
    dataset = _dataset(psf=_psf())
    outputs = _outputs("first", _fit(dataset))
    dataset.psf = _psf(sigma=0.45)
    outputs.update(_outputs("second", _fit(dataset)))
    return outputs


@scenario("replaced_psf_linear_light")
def replaced_psf_linear_light():
    """``dataset.psf = other`` between two fits with linear light profiles (the inversion's PSF)."""
    dataset = _dataset(psf=_psf())
    fit = _fit(dataset, tracer=_linear_tracer())
    outputs = _outputs("first", fit)
    outputs["first_reconstruction"] = fit.inversion.reconstruction
    dataset.psf = _psf(sigma=0.45)
    fit = _fit(dataset, tracer=_linear_tracer())
    outputs.update(_outputs("second", fit))
    outputs["second_reconstruction"] = fit.inversion.reconstruction
    return outputs


@scenario("replaced_noise_map")
def replaced_noise_map():
    """``dataset.noise_map = other`` after a first fit."""
    import autoarray as aa

    dataset = _dataset(psf=_psf())
    outputs = _outputs("first", _fit(dataset))
    dataset.noise_map = aa.Array2D(values=np.asarray(dataset.noise_map.array) * 1.7, mask=dataset.mask)
    outputs.update(_outputs("second", _fit(dataset)))
    return outputs


@scenario("kernel_normalised_in_place")
def kernel_normalised_in_place():
    """
    A PSF with an unnormalised kernel held by a dataset that does not normalise it is fitted; a second ``Imaging``
    built from the same PSF normalises its kernel in place; the first dataset is fitted again.
    """
    psf = _psf(normalize=False)
    psf.kernel._array *= 3.0
    dataset = _dataset(psf=psf, use_normalized_psf=False)
    outputs = _outputs("first", _fit(dataset))
    _dataset(psf=psf, seed=22, use_normalized_psf=True)
    outputs.update(_outputs("second", _fit(dataset)))
    outputs["kernel"] = psf.kernel
    return outputs


# ---------------------------------------------------------------------------------------------------------------------
# Datasets copied and reused
# ---------------------------------------------------------------------------------------------------------------------


@scenario("dataset_copied_after_fit")
def dataset_copied_after_fit():
    """A masked dataset fitted, then copied three ways (``copy``, ``deepcopy``, pickle), each copy fitted."""
    dataset = _dataset(psf=_psf())
    outputs = _outputs("original", _fit(dataset))
    outputs.update(_outputs("copy", _fit(copy.copy(dataset))))
    outputs.update(_outputs("deepcopy", _fit(copy.deepcopy(dataset))))
    outputs.update(_outputs("pickle", _fit(pickle.loads(pickle.dumps(dataset)))))
    return outputs


@scenario("dataset_copied_then_psf_replaced")
def dataset_copied_then_psf_replaced():
    """A shallow copy of a fitted dataset gets another PSF; the copy and the original are fitted again."""
    dataset = _dataset(psf=_psf())
    _fit(dataset)
    copied = copy.copy(dataset)
    copied.psf = _psf(sigma=0.45)
    outputs = _outputs("copy", _fit(copied))
    outputs.update(_outputs("original", _fit(dataset)))
    return outputs


@scenario("dataset_copied_linear_light")
def dataset_copied_linear_light():
    """Deep and pickled copies of a dataset fitted with linear light profiles."""
    dataset = _dataset(psf=_psf())
    outputs = {"original_reconstruction": _fit(dataset, tracer=_linear_tracer()).inversion.reconstruction}
    for name, other in (("deepcopy", copy.deepcopy(dataset)), ("pickle", pickle.loads(pickle.dumps(dataset)))):
        fit = _fit(other, tracer=_linear_tracer())
        outputs.update(_outputs(name, fit))
        outputs[f"{name}_reconstruction"] = fit.inversion.reconstruction
    return outputs


# ---------------------------------------------------------------------------------------------------------------------
# Objects reused across datasets
# ---------------------------------------------------------------------------------------------------------------------


@scenario("psf_shared_by_two_masks")
def psf_shared_by_two_masks():
    """One PSF object held by two datasets with different masks, fitted in turn (A, B, A)."""
    psf = _psf()
    dataset_a = _dataset(psf=psf, radius=1.8)
    dataset_b = _dataset(psf=psf, seed=23, radius=1.2)
    outputs = _outputs("a_first", _fit(dataset_a))
    outputs.update(_outputs("b", _fit(dataset_b)))
    outputs.update(_outputs("a_second", _fit(dataset_a)))
    return outputs


@scenario("tracer_shared_by_two_datasets")
def tracer_shared_by_two_datasets():
    """One tracer fitted to two datasets (different masks and PSFs) in turn, with linear light profiles."""
    tracer = _linear_tracer()
    dataset_a = _dataset(psf=_psf(), radius=1.8)
    dataset_b = _dataset(psf=_psf(sigma=0.4), seed=24, radius=1.4)
    outputs = {}
    for name, dataset in (("a_first", dataset_a), ("b", dataset_b), ("a_second", dataset_a)):
        fit = _fit(dataset, tracer=tracer)
        outputs.update(_outputs(name, fit))
        outputs[f"{name}_reconstruction"] = fit.inversion.reconstruction
    return outputs


@scenario("masked_twice_from_one_dataset")
def masked_twice_from_one_dataset():
    """One unmasked dataset masked twice with different masks; both masked datasets fitted in turn."""
    import autoarray as aa

    dataset = _dataset(psf=_psf())
    unmasked = aa.Imaging(
        data=aa.Array2D.no_mask(values=dataset.data.native.array, pixel_scales=PIXEL_SCALES),
        noise_map=aa.Array2D.full(fill_value=NOISE_SIGMA, shape_native=SHAPE, pixel_scales=PIXEL_SCALES),
        psf=_psf(),
        over_sample_size_lp=2,
    )
    a = unmasked.apply_mask(aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, radius=1.8))
    b = unmasked.apply_mask(aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, radius=1.0))
    outputs = _outputs("a_first", _fit(a))
    outputs.update(_outputs("b", _fit(b)))
    outputs.update(_outputs("a_second", _fit(a)))
    return outputs
