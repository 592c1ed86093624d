"""
Convolution: numerical cross-check of PSF blurring against a brute-force reference
===================================================================================

A masked model image (a steep Sersic evaluated with 4 x 4 over-sampling) is blurred with the `Convolver`, the way a
fit blurs it: image pixels plus the blurring region around the mask. The reference is independent of the library's
convolution machinery: the same pixel values placed in a full frame and convolved with `scipy.signal.convolve2d`.

Both the numpy path and the JAX path (FFT and real space) must agree with the reference to 1e-12 of the peak.
"""
import numpy as np
from scipy.signal import convolve2d

import autogalaxy as ag

pixel_scales = 0.1
shape = (60, 60)
mask = ag.Mask2D.circular(shape_native=shape, pixel_scales=pixel_scales, radius=2.0)
psf = ag.Convolver.from_gaussian(shape_native=(11, 11), sigma=0.12, pixel_scales=pixel_scales, normalize=True)

grid = ag.Grid2D.from_mask(mask=mask, over_sample_size=4)
blurring_grid = ag.Grid2D.from_mask(mask=mask.derive_mask.blurring_from(kernel_shape_native=psf.kernel.shape_native))

sersic = ag.lp.Sersic(
    centre=(0.03, -0.02), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.4, sersic_index=4.0
)
image = sersic.image_2d_from(grid=grid)
blurring_image = sersic.image_2d_from(grid=blurring_grid)

"""
__Reference__

Scatter the image and blurring values into the full frame and convolve with scipy (zero padding beyond them).
"""
frame = np.zeros(shape)
frame[mask.derive_indexes.native_for_slim[:, 0], mask.derive_indexes.native_for_slim[:, 1]] = image.array
blurring_mask = blurring_grid.mask
frame[
    blurring_mask.derive_indexes.native_for_slim[:, 0], blurring_mask.derive_indexes.native_for_slim[:, 1]
] = blurring_image.array
reference_native = convolve2d(frame, psf.kernel.native.array, mode="same")
reference = reference_native[mask.derive_indexes.native_for_slim[:, 0], mask.derive_indexes.native_for_slim[:, 1]]
peak = np.abs(reference).max()

"""
__Library__
"""
blurred_numpy = psf.convolved_image_from(image=image, blurring_image=blurring_image)
error_numpy = np.abs(blurred_numpy.array - reference).max() / peak
print(f"numpy path:          max |library - brute force| / peak = {error_numpy:.2e}")
assert error_numpy < 1e-12, error_numpy

import jax.numpy as jnp

for use_fft in (True, False):
    conv = ag.Convolver(kernel=psf.kernel, use_fft=use_fft)
    blurred_jax = conv.convolved_image_from(image=image, blurring_image=blurring_image, xp=jnp)
    error_jax = np.abs(np.asarray(blurred_jax.array) - reference).max() / peak
    print(f"jax path (fft={use_fft!s:5}): max |library - brute force| / peak = {error_jax:.2e}")
    assert error_jax < 1e-12, error_jax

"""
Flux is conserved when the blurring region is included and the kernel sums to one: the blurred image inside the mask
plus what the PSF spreads outside it equals the input flux. The full-frame reference shows it.
"""
assert abs(convolve2d(frame, psf.kernel.native.array, mode="full").sum() - frame.sum()) < 1e-10 * frame.sum()
print("convolution.py: all checks passed")
