"""
Convolution: Cross-Checks Of PSF Convolution On A Realistic Strong Lens
=======================================================================

Every model image PyAutoLens compares with data has been blurred by the PSF, and the library has several ways of
doing that blurring: a real-space sum in numpy, an FFT in JAX, and a direct (real-space) convolution in JAX. With
an oversampled PSF (`convolve_over_sample_size` N > 1) the light is evaluated on N x N fine pixels per data pixel,
convolved with the PSF held at the data pixel scale / N, and every N x N block is averaged back to a data pixel.

This script checks that they all compute the same thing, on a realistic strong lens:

 1. At N = 1 the numpy, JAX FFT and JAX direct paths agree with each other, and with a reference that uses no
    library convolution code (scipy's brute-force `convolve2d`, or its `fftconvolve` for the hundreds of columns of
    a mapping matrix), for model images and for the mapping matrix of a pixelized source.
 2. The same physical scene is computed natively and with an oversampled PSF (N = 2) plus bin-down. For a
    well-resolved PSF both are accurate, so the two images agree to about 1e-3 (absolute, in the data's units). The
    oversampled image is also checked against a brute-force reference that uses no library grid, binning or
    convolution code: the light evaluated with numpy-computed coordinates on the whole fine frame, convolved with
    `scipy.signal.convolve2d` and every 2 x 2 block averaged.
 3. At N = 2 the numpy and JAX paths agree to 1e-10, for images, mapping matrices (including the one the sparse
    operator forms from phase kernels) and the log likelihood of a fit, including one compiled with `jax.jit`.
 4. A figure of the native image, the N = 2 image and their difference is saved to a PNG.

Run it from anywhere: `python autolens_workspace_test/scripts/imaging/convolution.py`. It needs no config folder
and writes its figure to `autolens_workspace_test/output/convolution/`.
"""
import time
from pathlib import Path

start = time.time()

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.signal import convolve2d, fftconvolve

import autolens as al

"""
__JAX Precision__

The comparisons below are to 1e-10 and tighter, which needs JAX in double precision. autolens switches it on when
it is imported (unless the environment variable `JAX_ENABLE_X64` says otherwise); we set it explicitly so the script
does not depend on that.
"""
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)
assert jnp.zeros(1).dtype == jnp.float64

output_path = Path(__file__).resolve().parents[2] / "output" / "convolution"
output_path.mkdir(parents=True, exist_ok=True)

"""
__Scene__

A strong lens as a user would set it up: a de Vaucouleurs lens galaxy (steep, n = 4) with an isothermal mass,
lensing a compact exponential source (effective radius 0.2") into an arc and counter-image. The data are 90 x 90
pixels at 0.1" per pixel, inside a 3" circular mask. Intensities are chosen so that the blurred image peaks at 1-2
e- / s (depending on the PSF), so that the absolute tolerance of part 2 (1e-3) is also about 1e-3 of the peak.
"""
pixel_scale = 0.1
shape_native = (90, 90)
mask = al.Mask2D.circular(shape_native=shape_native, pixel_scales=pixel_scale, radius=3.0)


def tracer_from(einstein_radius=1.3, x_shift=0.0):
    """
    The lens and source, with the Einstein radius as an input (for the fits of part 3) and every centre moved by
    `x_shift` arc-seconds along x (for an emulated bug in part 2).
    """
    lens_centre = (0.01, -0.02 + x_shift)
    lens = al.Galaxy(
        redshift=0.5,
        bulge=al.lp.DevVaucouleurs(
            centre=lens_centre,
            ell_comps=al.convert.ell_comps_from(axis_ratio=0.8, angle=30.0),
            intensity=0.03,
            effective_radius=0.8,
        ),
        mass=al.mp.Isothermal(
            centre=lens_centre,
            ell_comps=al.convert.ell_comps_from(axis_ratio=0.85, angle=30.0),
            einstein_radius=einstein_radius,
        ),
    )
    source = al.Galaxy(
        redshift=1.0,
        bulge=al.lp.Exponential(
            centre=(0.08, 0.05 + x_shift),
            ell_comps=al.convert.ell_comps_from(axis_ratio=0.7, angle=100.0),
            intensity=0.6,
            effective_radius=0.2,
        ),
    )
    return al.Tracer(galaxies=[lens, source])


tracer = tracer_from()
lens = tracer.galaxies[0]

"""
A dataset of zeros with a noise-map of ones: only model images are compared here, never data. `over_sample_size_lp=4`
evaluates the light 4 x 4 times in every pixel.
"""
data = al.Array2D.no_mask(values=np.zeros(shape_native), pixel_scales=pixel_scale)
noise_map = al.Array2D.full(fill_value=1.0, shape_native=shape_native, pixel_scales=pixel_scale)


def imaging_from(psf, n=1):
    return al.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=4,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=mask)


"""
__Brute-Force Reference__

The reference scatters values into the full frame (zero everywhere else), convolves the frame with the kernel by
`scipy.signal.convolve2d` and reads the result back at the mask. For an oversampled PSF the frame is the fine frame,
and every N x N block of the convolved frame is averaged before it is read at the native mask. A mapping matrix is a
stack of images, one per column; its reference convolves every column at once with scipy's `fftconvolve` (a
brute-force `convolve2d` of hundreds of columns would take minutes). No library convolution or binning code is
involved; the library is only asked where its native pixels are (N = 1, the release's own indexing).

At N > 1 the fine frame is filled without any library grid either (`fine_frame_light_from`): the fine pixel centres
and their k x k sub-pixel positions are computed here with numpy, the light is evaluated there (a `Grid2DIrregular`,
so no over-sampling happens in the library), and each fine pixel inside the mask gets the mean of its k x k samples.
Outside the mask every fine pixel of the whole frame gets one sample at its centre, which is what the dataset's
blurring grid evaluates (one sample per fine pixel) wherever the PSF can carry light into the mask: a blurring region
that is too small, or misplaced, shows up against this reference.

Fine values the library holds for one mask are pixel-major: native pixel i's fine pixel (a, b) is row
i * N^2 + a * N + b. `pixel_major_frame_from` scatters such rows into the fine frame with indexes computed here.
"""


def frame_from(values_and_masks, shape):
    frame = np.zeros(shape + np.shape(values_and_masks[0][0])[1:])
    for values, values_mask in values_and_masks:
        index = values_mask.derive_indexes.native_for_slim
        frame[index[:, 0], index[:, 1]] = np.asarray(values)
    return frame


def block_mean(frame, n):
    ny, nx = frame.shape[0] // n, frame.shape[1] // n
    return frame.reshape((ny, n, nx, n) + frame.shape[2:]).mean(axis=(1, 3))


native_index = mask.derive_indexes.native_for_slim


def blurred_reference_from(frame, kernel, n=1):
    if frame.ndim == 2:
        blurred = convolve2d(frame, kernel, mode="same")
    else:
        blurred = fftconvolve(frame, kernel[:, :, None], mode="same", axes=(0, 1))
    return block_mean(blurred, n)[native_index[:, 0], native_index[:, 1]]


def reference_from(values_and_masks, kernel, n=1):
    fine_shape = (shape_native[0] * n, shape_native[1] * n)
    return blurred_reference_from(frame_from(values_and_masks, fine_shape), kernel, n)


def fine_frame_light_from(light, n, k):
    """
    The light on the whole fine frame (shape_native * n, pixels of pixel_scale / n), from coordinates computed here:
    inside the mask the mean of the k x k sub-pixel samples of every fine pixel, outside one sample at its centre.
    Rows run from +y to -y and columns from -x to +x, the origin at the frame centre (autoarray's convention).
    """
    h = pixel_scale / n
    fy, fx = shape_native[0] * n, shape_native[1] * n
    y_centres = ((fy - 1) / 2.0 - np.arange(fy)) * h
    x_centres = (np.arange(fx) - (fx - 1) / 2.0) * h
    offsets = ((np.arange(k) + 0.5) / k - 0.5) * h

    y = y_centres[:, None, None, None] - offsets[None, None, :, None]
    x = x_centres[None, :, None, None] + offsets[None, None, None, :]
    y, x = np.broadcast_arrays(y, x)
    points = al.Grid2DIrregular(values=np.stack([y.ravel(), x.ravel()], axis=-1))
    sub_sampled = np.asarray(light.image_2d_from(grid=points).array).reshape(fy, fx, k * k).mean(axis=-1)

    centres = np.stack(np.broadcast_arrays(y_centres[:, None], x_centres[None, :]), axis=-1).reshape(-1, 2)
    centred = np.asarray(light.image_2d_from(grid=al.Grid2DIrregular(values=centres)).array).reshape(fy, fx)

    inside = np.repeat(np.repeat(~np.asarray(mask), n, axis=0), n, axis=1)
    return np.where(inside, sub_sampled, centred)


def pixel_major_frame_from(values, n):
    """Scatter pixel-major fine rows (pixels * n^2, ...) of the native mask into the fine frame."""
    values = np.asarray(values)
    a, b = np.divmod(np.arange(n * n), n)
    fine_y = (n * native_index[:, 0, None] + a[None, :]).ravel()
    fine_x = (n * native_index[:, 1, None] + b[None, :]).ravel()
    frame = np.zeros((shape_native[0] * n, shape_native[1] * n) + values.shape[1:])
    frame[fine_y, fine_x] = values
    return frame


def read_pixel_major_from(frame, n):
    """The inverse of `pixel_major_frame_from`: the fine frame's values at the mask's fine pixels, pixel-major."""
    a, b = np.divmod(np.arange(n * n), n)
    fine_y = (n * native_index[:, 0, None] + a[None, :]).ravel()
    fine_x = (n * native_index[:, 1, None] + b[None, :]).ravel()
    return frame[fine_y, fine_x]


def fine_footprint_from(kernel_shape, n):
    """The native reach of a fine kernel of odd size kf: 2 * ceil((kf // 2) / n) + 1 native pixels."""
    return tuple(2 * int(np.ceil((size // 2) / n)) + 1 for size in kernel_shape)


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


"""
__Part 1: N = 1, Every Path Against The Reference__

A PSF of sigma 0.1" (FWHM 0.24", about 2.4 pixels) held at the data's pixel scale. The model image is evaluated on
the masked grid and on the blurring grid (the pixels just outside the mask whose light the PSF spreads into it).
"""
psf_small = al.Convolver.from_gaussian(shape_native=(11, 11), pixel_scales=pixel_scale, sigma=0.1, normalize=True)
dataset_1 = imaging_from(psf=psf_small)

image_1 = tracer.image_2d_from(grid=dataset_1.grids.lp)
blurring_image_1 = tracer.image_2d_from(grid=dataset_1.grids.blurring)
reference_1 = reference_from(
    [(image_1.array, dataset_1.grids.lp.mask), (blurring_image_1.array, dataset_1.grids.blurring.mask)],
    kernel=psf_small.kernel.native.array,
)
peak_1 = np.abs(reference_1).max()

"""
The paths: numpy (a real-space sum; at N = 1 numpy never uses an FFT), JAX with its padded FFT, JAX's direct
`jax.scipy.signal.convolve`, and that same JAX function asked for its FFT method. Finally the fit itself, whose
model image is the blurred image (this scene has no linear light profiles or pixelization).
"""
psf_fft = al.Convolver(kernel=psf_small.kernel, use_fft=True)
psf_direct = al.Convolver(kernel=psf_small.kernel, use_fft=False)
paths_1 = {
    "numpy (real space)": psf_small.convolved_image_from(image=image_1, blurring_image=blurring_image_1).array,
    "jax FFT": psf_fft.convolved_image_from(image=image_1, blurring_image=blurring_image_1, xp=jnp).array,
    "jax direct": psf_direct.convolved_image_from(image=image_1, blurring_image=blurring_image_1, xp=jnp).array,
    "jax direct, method='fft'": psf_direct.convolved_image_via_real_space_from(
        image=image_1, blurring_image=blurring_image_1, jax_method="fft", xp=jnp
    ).array,
    "FitImaging.model_data": al.FitImaging(dataset=dataset_1, tracer=tracer).model_data.array,
}

print(f"Part 1: N = 1, model image ({mask.pixels_in_mask} pixels, peak {peak_1:.4f})")
print(f"  {'path':28s} max|path - convolve2d| / peak")
for name, values in paths_1.items():
    error = max_abs(values, reference_1) / peak_1
    print(f"  {name:28s} {error:.2e}")
    assert error < 1e-12, (name, error)

"""
The JAX paths also agree with the numpy path directly: the FFT and real-space results differ only by rounding.
"""
for name, values in paths_1.items():
    assert max_abs(values, paths_1["numpy (real space)"]) < 1e-12 * peak_1, name

"""
__Part 1: Mapping Matrices__

A pixelized source (a 16 x 16 rectangular mesh) turns the source into one unknown per mesh pixel; its mapping matrix
has one column per mesh pixel, the image of that pixel through the lens. An inversion blurs every column with the
PSF. We take the mapping matrix the inversion built and blur it by every path.
"""
pixelization = al.Pixelization(
    mesh=al.mesh.RectangularUniform(shape=(16, 16)), regularization=al.reg.Constant(coefficient=1.0)
)
tracer_pix = al.Tracer(galaxies=[lens, al.Galaxy(redshift=1.0, pixelization=pixelization)])
fit_pix_1 = al.FitImaging(dataset=dataset_1, tracer=tracer_pix)
mapper_1 = fit_pix_1.inversion.linear_obj_list[0]
mapping_matrix_1 = mapper_1.mapping_matrix
assert mapping_matrix_1.shape == (mask.pixels_in_mask, 256)

reference_mm_1 = reference_from([(mapping_matrix_1, mask)], kernel=psf_small.kernel.native.array)
peak_mm_1 = np.abs(reference_mm_1).max()
paths_mm_1 = {
    "numpy (real space)": psf_small.convolved_mapping_matrix_from(mapping_matrix=mapping_matrix_1, mask=mask),
    "jax FFT": psf_fft.convolved_mapping_matrix_from(mapping_matrix=mapping_matrix_1, mask=mask, xp=jnp),
    "jax direct": psf_direct.convolved_mapping_matrix_from(mapping_matrix=mapping_matrix_1, mask=mask, xp=jnp),
    "inversion (operated)": fit_pix_1.inversion.operated_mapping_matrix,
}
print(f"Part 1: N = 1, mapping matrix {mapping_matrix_1.shape} (peak {peak_mm_1:.4f})")
print(f"  {'path':28s} max|path - fftconvolve| / peak")
for name, values in paths_mm_1.items():
    error = max_abs(values, reference_mm_1) / peak_mm_1
    print(f"  {name:28s} {error:.2e}")
    assert error < 1e-12, (name, error)

"""
__Part 2: The Same Scene, Natively And Oversampled (N = 2)__

One physical scene blurred two ways, with a PSF well resolved by the data's pixels (sigma 0.3", a FWHM of 0.7" = 7
pixels), so that both ways are accurate and must agree:

 - N = 1: the Gaussian sampled at the data's 0.1" pixels (25 x 25, out to +-1.2" = 4 sigma); light on the native
   grid, 4 x 4 samples per pixel.
 - N = 2: the same Gaussian (same sigma in arcsec) sampled at 0.05" (49 x 49, the same +-1.2"), with
   `convolve_over_sample_size=2`. The dataset is given `convolve_over_sample_size_lp=2` and
   `convolve_over_sample_size_pixelization=2`. Its grids are the usual ones: `grids.lp` is over-sampled at 4 (2 x 2
   sub-pixels for each of the 2 x 2 fine pixels of a data pixel, so a data pixel keeps its 4 x 4 budget, at the same
   positions), `grids.blurring` covers the fine kernel's reach in data pixels, over-sampled at 2 (one sample per fine
   pixel). The light is blurred at 0.05" and binned back to the data's pixels by the mean of each 2 x 2 block.

Both over-sample sizes (4) are multiples of N, as they must be.
"""
n = 2
psf_sigma = 0.3
psf_native = al.Convolver.from_gaussian(
    shape_native=(25, 25), pixel_scales=pixel_scale, sigma=psf_sigma, normalize=True
)
psf_fine = al.Convolver.from_gaussian(
    shape_native=(49, 49),
    pixel_scales=pixel_scale / n,
    sigma=psf_sigma,
    normalize=True,
    convolve_over_sample_size=n,
)
dataset_native = imaging_from(psf=psf_native)
dataset_fine = imaging_from(psf=psf_fine, n=n)

"""
The dataset's grids at N = 2, against what the conventions say they are: the light grid on the native mask at 4 x 4
sub-pixels per pixel, and the blurring grid on the native pixels within the fine kernel's native reach
(2 * ceil(24 / 2) + 1 = 25 data pixels) of the mask, one sample per fine pixel.
"""
grid_fine = dataset_fine.grids.lp
blurring_grid_fine = dataset_fine.grids.blurring
footprint_fine = fine_footprint_from(psf_fine.kernel.shape_native, n)
assert dataset_fine.psf.footprint_shape_native == footprint_fine == (25, 25), footprint_fine
assert np.array_equal(np.asarray(grid_fine.mask), np.asarray(mask))
assert np.all(np.asarray(grid_fine.over_sample_size) == 4)
assert grid_fine.over_sampled.shape[0] == 16 * mask.pixels_in_mask
expected_blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=footprint_fine, allow_padding=True)
assert np.array_equal(np.asarray(blurring_grid_fine.mask), np.asarray(expected_blurring_mask))
assert blurring_grid_fine.over_sampled.shape[0] == n**2 * expected_blurring_mask.pixels_in_mask

fit_native = al.FitImaging(dataset=dataset_native, tracer=tracer)
fit_fine = al.FitImaging(dataset=dataset_fine, tracer=tracer)
model_native = fit_native.model_data.array
model_fine = fit_fine.model_data.array
assert model_fine.shape == model_native.shape == (mask.pixels_in_mask,)
peak_2 = model_native.max()

"""
The user-facing call gives the fit's model image at any N: the tracer blurred on the dataset's own grids.
"""
blurred_fine = tracer.blurred_image_2d_from(
    grid=dataset_fine.grids.lp, blurring_grid=dataset_fine.grids.blurring, psf=dataset_fine.psf
)
assert np.array_equal(np.asarray(blurred_fine.array), model_fine)

"""
The oversampled image against its brute-force reference: the light on the whole 180 x 180 fine frame (2 x 2 samples
per fine pixel inside the mask, one outside), convolved with the fine kernel by scipy, every 2 x 2 block averaged.
"""
fine_frame_2 = fine_frame_light_from(tracer, n=n, k=2)
fine_blurred_frame = convolve2d(fine_frame_2, psf_fine.kernel.native.array, mode="same")
reference_fine = block_mean(fine_blurred_frame, n)[native_index[:, 0], native_index[:, 1]]
error_fine = max_abs(model_fine, reference_fine) / peak_2
print(f"Part 2: N = 2 model image vs convolve2d on the fine frame + 2 x 2 mean: max|diff| / peak = {error_fine:.2e}")
assert error_fine < 1e-12, error_fine

"""
Native against oversampled. The differences sit where the light changes fastest across a pixel: the lens's cusp and
the ridge of the arc. With a sharper PSF they grow, because the native convolution of this cuspy scene is then no
longer accurate, which is what oversampling is for (the simulator demo shows it in a fit).
"""
tolerance_2 = 1e-3
difference = model_fine - model_native
max_difference = np.abs(difference).max()
print(
    f"Part 2: native (N = 1) vs oversampled (N = 2), same scene: max|diff| = {max_difference:.2e} e-/s "
    f"(tolerance {tolerance_2:.0e}; image peak {peak_2:.3f}, total {model_native.sum():.2f})"
)
assert max_difference < tolerance_2, (max_difference, tolerance_2)

"""
The tolerance is tight enough that the plausible bugs of an oversampled convolution break it by a wide margin. Each
is emulated below, and must miss the native image by more than 10 times the tolerance:

 - binning by the sum of the N x N fine values instead of their mean (the image N^2 = 4 times too bright);
 - binning blocks misaligned by one fine pixel (half a data pixel);
 - a fine grid offset by half a fine pixel (a quarter of a data pixel), emulated by moving every centre of the scene
   by the opposite amount, which evaluates the light at the same offset positions;
 - the pixel-major fine values taken as row-major over the fine mask (the order of the fine frame), emulated by
   handing the library's convolution the fine values in that order.
"""
fine_image_2 = grid_fine.over_sampler.fine_binned_from(
    np.asarray(tracer.image_2d_from(grid=grid_fine.over_sampled).array), n
)
fine_blurring_image_2 = blurring_grid_fine.over_sampler.fine_binned_from(
    np.asarray(tracer.image_2d_from(grid=blurring_grid_fine.over_sampled).array), n
)
fine_mask_2 = np.repeat(np.repeat(np.asarray(mask), n, axis=0), n, axis=1)
row_major_frame = pixel_major_frame_from(fine_image_2, n)
row_major_values = row_major_frame[~fine_mask_2]  # the same values, row-major over the fine mask
shift = pixel_scale / (2 * n)
bugs = {
    "sum instead of mean binning": n**2 * model_fine,
    "blocks misaligned by one fine pixel": block_mean(np.roll(fine_blurred_frame, 1, axis=1), n)[
        native_index[:, 0], native_index[:, 1]
    ],
    "fine grid offset by half a fine pixel": al.FitImaging(
        dataset=dataset_fine, tracer=tracer_from(x_shift=-shift)
    ).model_data.array,
    "row-major fine values read as pixel-major": dataset_fine.psf.convolved_fine_image_from(
        fine_image=row_major_values, mask=mask, fine_blurring_image=fine_blurring_image_2
    ).array,
}
for name, values in bugs.items():
    miss = max_abs(values, model_native)
    print(f"  emulated bug '{name}': max|diff| = {miss:.2e} ({miss / tolerance_2:.0f} x the tolerance)")
    assert miss > 10 * tolerance_2, (name, miss)

"""
__Part 3: N = 2, numpy Against JAX__

The oversampled convolution of every path (numpy, and JAX from Convolvers made with `use_fft=True` and
`use_fft=False`) bins the same fine convolution, so all agree to rounding. (At N > 1 a Convolver always convolves with
an FFT on its compact fine frame, whatever `use_fft`, so both JAX Convolvers run the same JAX code; they are kept
apart so that a Convolver that took another route for either setting would be checked too.) Here they agree to 1e-10
absolute, for the image, the mapping matrix of the pixelized source, and the log
likelihood of a fit. This part uses the sharper PSF of part 1 (sigma 0.1"), now sampled at 0.05" (21 x 21): the
case oversampling is for, and a small fine kernel keeps the JAX convolutions of 256 mapping-matrix columns quick.

The fine values are what a fit convolves: the light at the sub-pixels of the dataset's grids
(`grids.lp.over_sampled`, `grids.blurring.over_sampled`), binned to fine pixels by `fine_binned_from` (pixel-major,
the mean of the k x k sub-pixels of each fine pixel). They are first checked against the independent fine frame:
read at the mask's fine pixels in pixel-major order, the frame must hold the same values.
"""
tolerance_3 = 1e-10
psf_small_fine = al.Convolver.from_gaussian(
    shape_native=(21, 21), pixel_scales=pixel_scale / n, sigma=0.1, normalize=True, convolve_over_sample_size=n
)
dataset_3 = imaging_from(psf=psf_small_fine, n=n)
grid_3, blurring_grid_3 = dataset_3.grids.lp, dataset_3.grids.blurring
image_3 = grid_3.over_sampler.fine_binned_from(np.asarray(tracer.image_2d_from(grid=grid_3.over_sampled).array), n)
blurring_image_3 = blurring_grid_3.over_sampler.fine_binned_from(
    np.asarray(tracer.image_2d_from(grid=blurring_grid_3.over_sampled).array), n
)
assert image_3.shape == (n**2 * mask.pixels_in_mask,)
assert blurring_image_3.shape == (n**2 * blurring_grid_3.mask.pixels_in_mask,)

fine_frame_3 = fine_frame_2  # the same light, budget and fine frame as part 2
diff = max_abs(image_3, read_pixel_major_from(fine_frame_3, n)) / np.abs(image_3).max()
print(f"Part 3: fine values of grids.lp (fine_binned_from) vs the fine frame at numpy coordinates: {diff:.2e} / peak")
assert diff < 1e-12, diff

psf_fine_fft = al.Convolver(kernel=psf_small_fine.kernel, use_fft=True, convolve_over_sample_size=n)
psf_fine_direct = al.Convolver(kernel=psf_small_fine.kernel, use_fft=False, convolve_over_sample_size=n)
blurred_numpy = dataset_3.psf.convolved_fine_image_from(
    fine_image=image_3, mask=mask, fine_blurring_image=blurring_image_3
).array
reference_3 = blurred_reference_from(fine_frame_3, kernel=psf_small_fine.kernel.native.array, n=n)
print(f"Part 3: N = 2, numpy vs jax (max|diff|, absolute; image peak {blurred_numpy.max():.3f})")
diff = max_abs(blurred_numpy, reference_3)
print(f"  image,          numpy vs convolve2d + 2 x 2 mean: {diff:.2e}")
assert diff < tolerance_3, diff
diff = max_abs(al.FitImaging(dataset=dataset_3, tracer=tracer).model_data.array, reference_3)
print(f"  image,          FitImaging.model_data vs convolve2d + 2 x 2 mean: {diff:.2e}")
assert diff < tolerance_3, diff
for name, psf in (("jax FFT", psf_fine_fft), ("jax direct", psf_fine_direct)):
    blurred_jax = psf.convolved_fine_image_from(
        fine_image=jnp.asarray(image_3), mask=mask, fine_blurring_image=jnp.asarray(blurring_image_3), xp=jnp
    ).array
    diff = max_abs(blurred_jax, blurred_numpy)
    print(f"  image,          {name:10s} vs numpy: {diff:.2e}")
    assert diff < tolerance_3, (name, diff)

"""
The mapping matrix. `Mapper.fine_mapping_matrix_from` gives one pixel-major row per fine pixel, each the mean of the
mappings of its k x k sub-pixels; the N x N mean of its rows is the native mapping matrix, built by the release's own
code. Its convolution is checked against `fftconvolve` on the fine frame plus the 2 x 2 mean, and so are the
inversion's operated mapping matrix, which on numpy with numba is formed from the mapper's sparse mappings with the
PSF's N^2 phase kernels, with no fine frame at all.
"""
fit_pix_2 = al.FitImaging(dataset=dataset_3, tracer=tracer_pix)
mapper_2 = fit_pix_2.inversion.linear_obj_list[0]
fine_mapping_matrix = np.asarray(mapper_2.fine_mapping_matrix_from(convolve_over_sample_size=n))
assert fine_mapping_matrix.shape == (n**2 * mask.pixels_in_mask, 256)
diff = max_abs(fine_mapping_matrix.reshape(mask.pixels_in_mask, n**2, 256).mean(axis=1), mapper_2.mapping_matrix)
print(f"  fine mapping matrix: N x N mean of its rows vs the native mapping matrix: {diff:.2e}")
assert diff < 1e-14, diff
operated_numpy = dataset_3.psf.convolved_fine_mapping_matrix_from(fine_mapping_matrix=fine_mapping_matrix, mask=mask)
reference_mm_2 = blurred_reference_from(
    pixel_major_frame_from(fine_mapping_matrix, n), kernel=psf_small_fine.kernel.native.array, n=n
)
diff = max_abs(operated_numpy, reference_mm_2)
print(f"  mapping matrix, numpy vs fftconvolve + 2 x 2 mean: {diff:.2e}")
assert diff < tolerance_3, diff
diff = max_abs(fit_pix_2.inversion.operated_mapping_matrix, operated_numpy)
print(f"  mapping matrix, inversion  vs numpy: {diff:.2e}")
assert diff < tolerance_3, diff
diff = max_abs(fit_pix_2.inversion.operated_mapping_matrix_via_phase_kernels_from(mapper=mapper_2), reference_mm_2)
print(f"  mapping matrix, phase kernels vs fftconvolve + 2 x 2 mean: {diff:.2e}")
assert diff < tolerance_3, diff
for name, psf in (("jax FFT", psf_fine_fft), ("jax direct", psf_fine_direct)):
    operated_jax = psf.convolved_fine_mapping_matrix_from(
        fine_mapping_matrix=jnp.asarray(fine_mapping_matrix), mask=mask, xp=jnp
    )
    diff = max_abs(operated_jax, operated_numpy)
    print(f"  mapping matrix, {name:10s} vs numpy: {diff:.2e}")
    assert diff < tolerance_3, (name, diff)

"""
The log likelihood of a fit, on data that are the oversampled model plus Gaussian noise (sigma 0.05 e- / s),
evaluated with numpy and with JAX, the JAX one compiled with `jax.jit` with the Einstein radius as its
input (compiled once, then called with any Einstein radius). The model images agree to 1e-10 absolute; the log
likelihood, a sum of thousands of terms of order one, to 1e-10 of its value.
"""
rng = np.random.default_rng(1)
model_3 = al.FitImaging(dataset=dataset_3, tracer=tracer).model_data.array
data_3 = al.Array2D(values=model_3 + 0.05 * rng.normal(size=model_3.shape), mask=mask)
dataset_fit = al.Imaging(
    data=data_3.native,
    noise_map=al.Array2D.full(fill_value=0.05, shape_native=shape_native, pixel_scales=pixel_scale),
    psf=psf_small_fine,
    over_sample_size_lp=4,
    over_sample_size_pixelization=4,
    convolve_over_sample_size_lp=n,
    convolve_over_sample_size_pixelization=n,
).apply_mask(mask=mask)


def fit_jax(einstein_radius):
    fit = al.FitImaging(dataset=dataset_fit, tracer=tracer_from(einstein_radius), xp=jnp)
    return fit.log_likelihood, fit.model_data.array


fit_jit = jax.jit(fit_jax)
for einstein_radius in (1.3, 1.32):
    fit_numpy = al.FitImaging(dataset=dataset_fit, tracer=tracer_from(einstein_radius))
    log_likelihood_jitted, model_jitted = fit_jit(einstein_radius)
    diff_model = max_abs(model_jitted, fit_numpy.model_data.array)
    diff = abs(float(log_likelihood_jitted) - fit_numpy.log_likelihood)
    print(
        f"  fit, Einstein radius {einstein_radius}: model data jax.jit vs numpy {diff_model:.2e}; log likelihood numpy "
        f"{fit_numpy.log_likelihood:.10f}, jax.jit {float(log_likelihood_jitted):.10f}, |diff| = {diff:.1e}"
    )
    assert diff_model < tolerance_3, (einstein_radius, diff_model)
    assert diff < tolerance_3 * abs(fit_numpy.log_likelihood), (einstein_radius, diff)

"""
__Figure__

The native image, the oversampled image and their difference, on the data's pixels.
"""
extent = [-shape_native[1] * pixel_scale / 2, shape_native[1] * pixel_scale / 2] * 2
native_2d = al.Array2D(values=model_native, mask=mask).native.array
fine_2d = al.Array2D(values=model_fine, mask=mask).native.array
difference_2d = al.Array2D(values=difference, mask=mask).native.array

figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
norm = matplotlib.colors.PowerNorm(gamma=0.4, vmin=0.0, vmax=peak_2)
for ax, values, title in (
    (axes[0], native_2d, "N = 1 (PSF at 0.1\")"),
    (axes[1], fine_2d, "N = 2 (PSF at 0.05\", binned)"),
):
    shown = ax.imshow(np.clip(values, 0.0, None), origin="upper", extent=extent, cmap="inferno", norm=norm)
    ax.set_title(title)
    figure.colorbar(shown, ax=ax, label="e- / s")
limit = np.abs(difference_2d).max()
shown = axes[2].imshow(difference_2d, origin="upper", extent=extent, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[2].set_title(f"N = 2 - N = 1 (max |diff| {max_difference:.1e})")
figure.colorbar(shown, ax=axes[2], label="e- / s")
for ax in axes:
    ax.set_xlabel('x (")')
axes[0].set_ylabel('y (")')
figure.tight_layout()
figure_path = output_path / "convolution_residual.png"
figure.savefig(figure_path, dpi=80)
plt.close(figure)
assert figure_path.stat().st_size > 0

print(f"Figure written to {figure_path}")
print(f"convolution.py: all checks passed in {time.time() - start:.1f} s")
