"""Differential scenarios for ``autoarray.Convolver``: every convolution entry point and every constructor."""
from differential.registry import scenario


def _setup(kernel_shape=(7, 7), sigma=1.1):
    import numpy as np
    import autoarray as aa

    mask = aa.Mask2D.circular(shape_native=(23, 27), pixel_scales=0.2, radius=1.5, centre=(0.1, -0.15))
    kernel = aa.Convolver.from_gaussian(
        shape_native=kernel_shape, pixel_scales=0.2, sigma=sigma * 0.2, axis_ratio=0.8, angle=30.0, normalize=True
    ).kernel
    rng = np.random.default_rng(7)
    image = aa.Array2D(values=rng.normal(size=mask.pixels_in_mask) + 2.0, mask=mask)
    blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=kernel.shape_native)
    blurring_image = aa.Array2D(values=rng.normal(size=blurring_mask.pixels_in_mask), mask=blurring_mask)
    mapping_matrix = rng.uniform(size=(mask.pixels_in_mask, 6)) * (rng.uniform(size=(mask.pixels_in_mask, 6)) > 0.6)
    blurring_mapping_matrix = rng.uniform(size=(blurring_mask.pixels_in_mask, 6))
    return aa, np, mask, kernel, image, blurring_mask, blurring_image, mapping_matrix, blurring_mapping_matrix


@scenario("convolver_image_numpy")
def convolver_image_numpy():
    aa, np, mask, kernel, image, _, blurring_image, _, _ = _setup()
    conv = aa.Convolver(kernel=kernel)
    with_blur = conv.convolved_image_from(image=image, blurring_image=blurring_image)
    without_blur = conv.convolved_image_from(image=image, blurring_image=None)
    return {"with_blurring": with_blur, "without_blurring": without_blur, "native": with_blur.native}


@scenario("convolver_image_numpy_real_space_siblings")
def convolver_image_numpy_real_space_siblings():
    aa, np, mask, kernel, image, blurring_mask, blurring_image, mm, bmm = _setup(kernel_shape=(5, 9))
    conv = aa.Convolver(kernel=kernel, use_fft=False)
    return {
        "image_np": conv.convolved_image_via_real_space_np_from(image=image, blurring_image=blurring_image),
        "image_rs": conv.convolved_image_via_real_space_from(image=image, blurring_image=blurring_image),
        "mapping_np": conv.convolved_mapping_matrix_via_real_space_np_from(
            mapping_matrix=mm, mask=mask, blurring_mapping_matrix=bmm, blurring_mask=blurring_mask
        ),
        "mapping_rs": conv.convolved_mapping_matrix_via_real_space_from(mapping_matrix=mm, mask=mask),
    }


@scenario("convolver_mapping_matrix_numpy")
def convolver_mapping_matrix_numpy():
    aa, np, mask, kernel, image, blurring_mask, _, mm, bmm = _setup()
    conv = aa.Convolver(kernel=kernel)
    return {
        "no_blurring": conv.convolved_mapping_matrix_from(mapping_matrix=mm, mask=mask),
        "with_blurring": conv.convolved_mapping_matrix_from(
            mapping_matrix=mm, mask=mask, blurring_mapping_matrix=bmm, blurring_mask=blurring_mask
        ),
    }


def _jax_outputs(use_fft):
    import jax
    import jax.numpy as jnp

    aa, np, mask, kernel, image, blurring_mask, blurring_image, mm, bmm = _setup()
    conv = aa.Convolver(kernel=kernel, use_fft=use_fft)
    out = {
        "image": conv.convolved_image_from(image=image, blurring_image=blurring_image, xp=jnp),
        "image_mixed_precision": conv.convolved_image_from(
            image=image, blurring_image=blurring_image, use_mixed_precision=True, xp=jnp
        ),
        "mapping_matrix": conv.convolved_mapping_matrix_from(mapping_matrix=mm, mask=mask, xp=jnp),
        "mapping_matrix_blurring": conv.convolved_mapping_matrix_from(
            mapping_matrix=mm, mask=mask, blurring_mapping_matrix=bmm, blurring_mask=blurring_mask, xp=jnp
        ),
    }

    @jax.jit
    def jitted(values, blurring_values):
        img = aa.Array2D(values=values, mask=mask)
        blur = aa.Array2D(values=blurring_values, mask=blurring_mask)
        return conv.convolved_image_from(image=img, blurring_image=blur, xp=jnp).array

    out["image_jit"] = jitted(jnp.asarray(image.array), jnp.asarray(blurring_image.array))
    return out


@scenario("convolver_jax_fft")
def convolver_jax_fft():
    return _jax_outputs(use_fft=True)


@scenario("convolver_jax_real_space")
def convolver_jax_real_space():
    return _jax_outputs(use_fft=False)


@scenario("convolver_constructors")
def convolver_constructors():
    import os
    import tempfile

    import autoarray as aa

    gaussian = aa.Convolver.from_gaussian(
        shape_native=(9, 7), pixel_scales=(0.1, 0.12), sigma=0.2, centre=(0.01, -0.02), axis_ratio=0.7, angle=45.0
    )
    gaussian_normalized = aa.Convolver.from_gaussian(
        shape_native=(5, 5), pixel_scales=0.1, sigma=0.15, normalize=True
    )
    normalized = gaussian.normalized
    no_blur = aa.Convolver.no_blur(pixel_scales=0.1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "psf.fits")
        aa.output_to_fits(values=gaussian.kernel.native_for_fits, file_path=path, overwrite=True)
        from_fits = aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=0.1)
        from_fits_normalized = aa.Convolver.from_fits(file_path=path, hdu=0, pixel_scales=0.1, normalize=True)
    return {
        "from_gaussian": gaussian.kernel.native,
        "from_gaussian_pixel_scales": gaussian.kernel.pixel_scales,
        "from_gaussian_normalized": gaussian_normalized.kernel.native,
        "normalized": normalized.kernel.native,
        "normalized_leaves_original": gaussian.kernel.native,
        "no_blur": no_blur.kernel.native,
        "from_fits": from_fits.kernel.native,
        "from_fits_normalized": from_fits_normalized.kernel.native,
        "from_fits_pixel_scales": from_fits.kernel.pixel_scales,
    }


@scenario("convolver_state")
def convolver_state():
    aa, np, mask, kernel, *_ = _setup()
    from autoarray.operators.convolver import ConvolverState

    state = ConvolverState(kernel=kernel, mask=mask)
    return {
        "fft_shape": np.array(state.fft_shape),
        "mask": state.mask,
        "blurring_mask": state.blurring_mask,
        "fft_kernel_real": state.fft_kernel.real,
        "fft_kernel_imag": state.fft_kernel.imag,
    }
