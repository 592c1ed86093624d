"""
Convolution: numerical cross-check of PSF blurring against a brute-force reference
===================================================================================

A masked model image (a steep Sersic evaluated with 4 x 4 over-sampling) is blurred with the `Convolver`, the way a
fit blurs it: image pixels plus the blurring region around the mask. The reference is independent of the library's
convolution machinery: the same pixel values placed in a full frame and convolved with `scipy.signal.convolve2d`.

Both the numpy path and the JAX path (FFT and real space) must agree with the reference to 1e-12 of the peak.

The second part does the same for an oversampled convolution (`convolve_over_sample_size` N = 2: light evaluated on a
grid twice as fine, blurred with the PSF held at half the pixel scale, binned back to the data's pixels by the mean of
each 2 x 2 block), and compares it with the native convolution of the same physical scene.
"""
import numpy as np
from scipy.signal import convolve2d

import autoarray as aa
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

"""
__Oversampled Convolution: Native vs N = 2__

One physical scene blurred two ways. The light is a smooth, extended Sersic (n = 1, effective radius 0.5") and the PSF
a well-resolved Gaussian (sigma = 0.2" = 2 native pixels), so the native convolution is already accurate and the
oversampled one must agree with it.

 - N = 1: the PSF sampled at the data's 0.1" pixels (21 x 21, +-1"), light on the native grids (`grids.lp`, 4 x 4
   over-sampling, and `grids.blurring`).
 - N = 2: the same Gaussian (same sigma in arcsec) sampled at 0.05" (41 x 41, +-1"), light on the fine grids
   (`grids.lp_oversampled`, each fine pixel sampled 2 x 2 so a native pixel keeps its 4 x 4 budget, and
   `grids.lp_blurring_oversampled`). The `Convolver` returns values on the native mask: the mean of the 2 x 2 fine
   blurred values inside each native pixel.

The frame (80 x 80) leaves room for the blurring region of the 2" mask.
"""
n = 2
shape_os = (80, 80)
mask_os = ag.Mask2D.circular(shape_native=shape_os, pixel_scales=pixel_scales, radius=2.0)
sersic_os = ag.lp.Sersic(
    centre=(0.03, -0.02), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.5, sersic_index=1.0
)
psf_sigma = 0.2
psf_native = ag.Convolver.from_gaussian(
    shape_native=(21, 21), sigma=psf_sigma, pixel_scales=pixel_scales, normalize=True
)
psf_fine = ag.Convolver.from_gaussian(
    shape_native=(41, 41),
    sigma=psf_sigma,
    pixel_scales=pixel_scales / n,
    normalize=True,
    convolve_over_sample_size=n,
)

data_os = ag.Array2D.no_mask(values=np.zeros(shape_os), pixel_scales=pixel_scales)
noise_map_os = ag.Array2D.full(fill_value=1.0, shape_native=shape_os, pixel_scales=pixel_scales)
dataset_native = ag.Imaging(data=data_os, noise_map=noise_map_os, psf=psf_native, over_sample_size_lp=4).apply_mask(
    mask=mask_os
)
dataset_fine = ag.Imaging(
    data=data_os,
    noise_map=noise_map_os,
    psf=psf_fine,
    over_sample_size_lp=4,
    over_sample_size_pixelization=4,
    convolve_over_sample_size_lp=n,
    convolve_over_sample_size_pixelization=n,
).apply_mask(mask=mask_os)

"""
The fine grid lives on the native mask upscaled by N (every pixel repeated N x N, pixel scale 0.1" / N).
"""
fine_mask = aa.util.over_sample.mask_2d_upscaled_from(mask_os, n)
fine_grid = dataset_fine.grids.lp_oversampled
fine_blurring_grid = dataset_fine.grids.lp_blurring_oversampled
assert np.array_equal(np.asarray(fine_grid.mask), np.asarray(fine_mask))
assert fine_grid.mask.pixel_scales == (pixel_scales / n, pixel_scales / n)

image_native = sersic_os.image_2d_from(grid=dataset_native.grids.lp)
blurring_image_native = sersic_os.image_2d_from(grid=dataset_native.grids.blurring)
image_fine = sersic_os.image_2d_from(grid=fine_grid)
blurring_image_fine = sersic_os.image_2d_from(grid=fine_blurring_grid)

blurred_native = dataset_native.psf.convolved_image_from(image=image_native, blurring_image=blurring_image_native)
blurred_fine = dataset_fine.psf.convolved_image_from(image=image_fine, blurring_image=blurring_image_fine)
assert blurred_fine.shape == blurred_native.shape == (mask_os.pixels_in_mask,)
assert np.array_equal(np.asarray(blurred_fine.mask), np.asarray(mask_os))
peak_os = np.abs(blurred_native.array).max()

"""
__Reference (N = 2)__

The fine image and fine blurring image scattered into the full fine frame (160 x 160), convolved with the fine
kernel by scipy, then every 2 x 2 block averaged: no library convolution or binning code involved.
"""
fine_frame = np.zeros(fine_mask.shape_native)
for values, grid_mask in ((image_fine, fine_grid.mask), (blurring_image_fine, fine_blurring_grid.mask)):
    index = grid_mask.derive_indexes.native_for_slim
    fine_frame[index[:, 0], index[:, 1]] = values.array
fine_blurred_frame = convolve2d(fine_frame, psf_fine.kernel.native.array, mode="same")


def block_mean(frame_fine):
    return frame_fine.reshape(shape_os[0], n, shape_os[1], n).mean(axis=(1, 3))


native_index = mask_os.derive_indexes.native_for_slim
reference_os = block_mean(fine_blurred_frame)[native_index[:, 0], native_index[:, 1]]

error_numpy = np.abs(blurred_fine.array - reference_os).max() / peak_os
print(f"N = 2 numpy path:          max |library - convolve2d + 2x2 mean| / peak = {error_numpy:.2e}")
assert error_numpy < 1e-12, error_numpy

for use_fft in (True, False):
    conv = ag.Convolver(kernel=psf_fine.kernel, use_fft=use_fft, convolve_over_sample_size=n)
    blurred_jax = conv.convolved_image_from(image=image_fine, blurring_image=blurring_image_fine, xp=jnp)
    error_jax = np.abs(np.asarray(blurred_jax.array) - reference_os).max() / peak_os
    print(f"N = 2 jax path (fft={use_fft!s:5}): max |library - convolve2d + 2x2 mean| / peak = {error_jax:.2e}")
    assert error_jax < 1e-12, error_jax

"""
__Native vs Oversampled__

For this smooth scene both convolutions are accurate, so they agree closely: the largest difference (~1e-4 of the
peak, near the centre where the n = 1 Sersic has its cusp) is well inside the 1e-3 tolerance. The tolerance is tight
enough that the plausible bugs of an oversampled convolution break it by a wide margin; each is emulated below and
misses by (measured):

 - binning by the sum of the N x N fine values instead of their mean: the image is N^2 = 4 times too bright, off by
   3 x the peak, ~3000 x the tolerance;
 - binning blocks misaligned by one fine pixel (a half native pixel shift): ~7% of the peak, ~70 x the tolerance;
 - a fine grid offset by half a fine pixel (a quarter native pixel shift): ~4% of the peak, ~35 x the tolerance.
"""
tolerance_os = 1e-3
difference = np.abs(blurred_fine.array - blurred_native.array).max() / peak_os
print(
    f"native (N = 1) vs oversampled (N = 2): max |difference| / peak = {difference:.2e} (tolerance {tolerance_os:.0e})"
)
assert difference < tolerance_os, difference

sersic_offset = ag.lp.Sersic(
    centre=(0.03, -0.02 - pixel_scales / (2 * n)),
    ell_comps=(0.1, 0.05),
    intensity=1.0,
    effective_radius=0.5,
    sersic_index=1.0,
)
bugs = {
    "sum instead of mean binning": n**2 * blurred_fine.array,
    "blocks misaligned by one fine pixel": block_mean(np.roll(fine_blurred_frame, 1, axis=1))[
        native_index[:, 0], native_index[:, 1]
    ],
    "fine grid offset by half a fine pixel": dataset_fine.psf.convolved_image_from(
        image=sersic_offset.image_2d_from(grid=fine_grid),
        blurring_image=sersic_offset.image_2d_from(grid=fine_blurring_grid),
    ).array,
}
for name, blurred_bug in bugs.items():
    miss = np.abs(blurred_bug - blurred_native.array).max() / peak_os
    print(f"  bug '{name}': max |difference| / peak = {miss:.2e} ({miss / tolerance_os:.0f} x the tolerance)")
    assert miss > 20 * tolerance_os, (name, miss)

print("convolution.py: all checks passed")
