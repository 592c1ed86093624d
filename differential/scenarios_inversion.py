"""
Pixelized-source inversion scenarios (autolens FitImaging with a lens and a pixelized source).

Every scenario fits the same kind of strong lens: a lens galaxy with an ``Isothermal`` mass and a *linear* Sersic
light profile, and a source galaxy with a ``Pixelization`` (rectangular or Delaunay mesh, constant regularization).
The inversion therefore solves for one linear light profile (``LightProfileLinearObjFuncList``) and one mapper at
the same time.

The lens light is linear on purpose. A standard (non-linear) lens light profile would be subtracted from the data
before the inversion, but the JAX sparse operator of the release builds its ``psf_weighted_data`` from the
``weight_map`` precomputed at ``apply_sparse_operator()`` time from the unsubtracted data, so that path gives a
different (wrong) answer from the mapping path when profile light is present. With a linear lens light the mapping,
JAX-sparse and numba-sparse paths agree to ~1e-13.

The inversion path is picked by the factory (``aa/inversion/inversion/factory.py``):

* ``*_mapping``: the dataset has no sparse operator -> ``InversionImagingMapping``.
* ``*_sparse``: ``dataset.apply_sparse_operator()`` (JAX ``ImagingSparseOperator``) -> ``InversionImagingSparse``.
* ``*_sparse_cpu``: ``dataset.apply_sparse_operator_cpu()`` (numba) -> ``InversionImagingSparseNumba``.

Each scenario checks the class of the inversion it got, so that a change of path is an error, not a silent pass.
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
OVER_SAMPLE_SIZE_PIXELIZATION = 2


def _masked_dataset(seed: int, sparse: str = None):
    """
    A masked 21x21 ``Imaging`` of a lensed source (plus lens light), PSF-blurred and with Gaussian noise from a
    fixed seed. ``sparse`` is ``None`` (no sparse operator), ``"jax"`` or ``"cpu"``.
    """
    import autoarray as aa
    import autolens as al
    from scipy.signal import convolve2d

    psf = aa.Convolver.from_gaussian(
        shape_native=PSF_SHAPE, pixel_scales=PIXEL_SCALES, sigma=PSF_SIGMA, normalize=True
    )

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
    grid = aa.Grid2D.uniform(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, over_sample_size=4)
    truth = np.asarray(al.Tracer(galaxies=[lens, source]).image_2d_from(grid=grid).native.array, dtype="float64")
    blurred = convolve2d(truth, np.asarray(psf.kernel.native.array), mode="same")

    rng = np.random.default_rng(seed)
    data = aa.Array2D.no_mask(values=blurred + rng.normal(0.0, NOISE_SIGMA, size=SHAPE), pixel_scales=PIXEL_SCALES)
    noise_map = aa.Array2D.full(fill_value=NOISE_SIGMA, shape_native=SHAPE, pixel_scales=PIXEL_SCALES)

    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=OVER_SAMPLE_SIZE_LP,
        over_sample_size_pixelization=OVER_SAMPLE_SIZE_PIXELIZATION,
    )
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALES, radius=MASK_RADIUS)
    dataset = dataset.apply_mask(mask=mask)

    if sparse == "jax":
        dataset = dataset.apply_sparse_operator()
    elif sparse == "cpu":
        dataset = dataset.apply_sparse_operator_cpu()
    return dataset


def _lens():
    import autolens as al

    return al.Galaxy(
        redshift=0.5,
        bulge=al.lp_linear.Sersic(centre=(0.0, 0.0), ell_comps=(0.05, 0.0), effective_radius=0.6, sersic_index=3.0),
        mass=al.mp.Isothermal(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), einstein_radius=1.0),
    )


def _fit_rectangular(dataset):
    import autolens as al

    source = al.Galaxy(
        redshift=1.0,
        pixelization=al.Pixelization(
            mesh=al.mesh.RectangularUniform(shape=(8, 8)),
            regularization=al.reg.Constant(coefficient=1.0),
        ),
    )
    tracer = al.Tracer(galaxies=[_lens(), source])
    return al.FitImaging(dataset=dataset, tracer=tracer), tracer


def _fit_delaunay(dataset):
    """
    Delaunay source: the image-plane mesh grid is an ``Overlay`` of the mask plus a ring of edge points, passed in
    through ``AdaptImages(galaxy_image_plane_mesh_grid_dict=...)``; the edge points are zeroed pixels.
    """
    import autolens as al

    edge_points = 12
    image_plane_mesh_grid = al.image_mesh.Overlay(shape=(8, 8)).image_plane_mesh_grid_from(mask=dataset.mask)
    image_plane_mesh_grid = al.image_mesh.append_with_circle_edge_points(
        image_plane_mesh_grid=image_plane_mesh_grid,
        centre=dataset.mask.mask_centre,
        radius=MASK_RADIUS + PIXEL_SCALES / 2.0,
        n_points=edge_points,
    )

    source = al.Galaxy(
        redshift=1.0,
        pixelization=al.Pixelization(
            mesh=al.mesh.Delaunay(
                pixels=image_plane_mesh_grid.shape[0] - edge_points, zeroed_pixels=edge_points
            ),
            regularization=al.reg.Constant(coefficient=1.0),
        ),
    )
    adapt_images = al.AdaptImages(galaxy_image_plane_mesh_grid_dict={source: image_plane_mesh_grid})
    tracer = al.Tracer(galaxies=[_lens(), source])
    return al.FitImaging(dataset=dataset, tracer=tracer, adapt_images=adapt_images), tracer


def _outputs(fit, tracer, expected_inversion_cls: str):
    inversion = fit.inversion
    if type(inversion).__name__ != expected_inversion_cls:
        raise RuntimeError(f"expected an {expected_inversion_cls}, the factory made a {type(inversion).__name__}")

    galaxy_model_image_dict = fit.galaxy_model_image_dict
    return {
        "log_evidence": np.float64(fit.log_evidence),
        "log_likelihood": np.float64(fit.log_likelihood),
        "figure_of_merit": np.float64(fit.figure_of_merit),
        "regularization_term": np.float64(inversion.regularization_term),
        "log_det_curvature_reg_matrix_term": np.float64(inversion.log_det_curvature_reg_matrix_term),
        "reconstruction": inversion.reconstruction,
        "mapped_reconstructed_image": inversion.mapped_reconstructed_data,
        "mapped_reconstructed_operated_data": inversion.mapped_reconstructed_operated_data,
        "model_data": fit.model_data,
        "galaxy_model_images": np.stack(
            [np.asarray(galaxy_model_image_dict[g].array, dtype="float64") for g in tracer.galaxies]
        ),
    }


@scenario("inversion_rectangular_mapping")
def inversion_rectangular_mapping():
    fit, tracer = _fit_rectangular(_masked_dataset(seed=21))
    return _outputs(fit, tracer, "InversionImagingMapping")


@scenario("inversion_rectangular_sparse")
def inversion_rectangular_sparse():
    fit, tracer = _fit_rectangular(_masked_dataset(seed=21, sparse="jax"))
    return _outputs(fit, tracer, "InversionImagingSparse")


@scenario("inversion_rectangular_sparse_cpu")
def inversion_rectangular_sparse_cpu():
    fit, tracer = _fit_rectangular(_masked_dataset(seed=21, sparse="cpu"))
    return _outputs(fit, tracer, "InversionImagingSparseNumba")


@scenario("inversion_delaunay_mapping")
def inversion_delaunay_mapping():
    fit, tracer = _fit_delaunay(_masked_dataset(seed=22))
    return _outputs(fit, tracer, "InversionImagingMapping")


@scenario("inversion_delaunay_sparse")
def inversion_delaunay_sparse():
    fit, tracer = _fit_delaunay(_masked_dataset(seed=22, sparse="jax"))
    return _outputs(fit, tracer, "InversionImagingSparse")


@scenario("inversion_delaunay_sparse_cpu")
def inversion_delaunay_sparse_cpu():
    fit, tracer = _fit_delaunay(_masked_dataset(seed=22, sparse="cpu"))
    return _outputs(fit, tracer, "InversionImagingSparseNumba")
