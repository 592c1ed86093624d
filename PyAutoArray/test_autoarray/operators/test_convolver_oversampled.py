"""
Tests of the oversampled ``Convolver`` (``convolve_over_sample_size`` N > 1).

With N > 1 the kernel is the PSF at the fine pixel scale (native / N). The Convolver takes the NATIVE mask and the
values of its fine pixels, pixel-major (native pixel i in slim order, then its N x N fine pixels row-major: index
i * N**2 + a * N + b), plus the same for the blurring region (the masked native pixels within the kernel's native
footprint of an unmasked one). Each native output value is the MEAN of the N x N fine blurred values of its pixel.

Every numerical result is compared with an independent brute force built from numpy loops and
``scipy.signal.convolve2d`` on a full fine frame (``brute_force_native``), never with the library itself.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.fft
from astropy.io import fits
from scipy.signal import convolve2d

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
from autoarray.operators import convolver as convolver_module
from autoarray.operators.convolver import ConvolverState, OversampledConvolverState

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

NATIVE_PIXEL_SCALE = 0.2
RTOL_PEAK = 1.0e-12


# ----------------------------------------------------------------------------------------------------------------------
# Masks, kernels and values
# ----------------------------------------------------------------------------------------------------------------------


def native_mask_from(name: str) -> aa.Mask2D:
    """The native-resolution masks the brute-force tests run over."""
    if name == "circular":
        return aa.Mask2D.circular(shape_native=(21, 21), pixel_scales=NATIVE_PIXEL_SCALE, radius=1.05)
    if name == "annulus":
        return aa.Mask2D.elliptical_annular(
            shape_native=(26, 22),
            pixel_scales=NATIVE_PIXEL_SCALE,
            inner_major_axis_radius=0.5,
            inner_axis_ratio=0.7,
            inner_phi=20.0,
            outer_major_axis_radius=1.6,
            outer_axis_ratio=0.6,
            outer_phi=40.0,
            centre=(0.1, -0.2),
        )
    if name == "rectangle":
        mask = np.ones((14, 22), dtype=bool)
        mask[4:10, 3:18] = False  # 6 x 15 block, off-centre
        return aa.Mask2D(mask=mask, pixel_scales=NATIVE_PIXEL_SCALE)
    if name == "edge":
        # The unmasked region sits 1 native pixel below the top border and on the right border of a frame much
        # bigger than it, with a masked hole inside it: its blurring region leaves the frame.
        mask = np.ones((30, 26), dtype=bool)
        mask[1:9, 17:26] = False
        mask[5, 20] = True
        return aa.Mask2D(mask=mask, pixel_scales=NATIVE_PIXEL_SCALE)
    raise ValueError(name)


def fine_kernel_values_from(shape, N) -> np.ndarray:
    """
    An elliptical, rotated, off-centre Gaussian at the fine pixel scale plus a gradient (not normalised: its sum is
    not 1, so that a missing or spurious normalisation shows; asymmetric, so that a flipped kernel shows).
    """
    ky, kx = shape
    ps = NATIVE_PIXEL_SCALE / N
    y = (np.arange(ky) - ky // 2)[:, None] * -ps - 0.25 * ps
    x = (np.arange(kx) - kx // 2)[None, :] * ps + 0.4 * ps
    angle = np.radians(35.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    sigma = 0.12
    values = np.exp(-0.5 * ((u / sigma) ** 2 + (v / (0.6 * sigma)) ** 2))
    values += 0.05 * (np.arange(ky)[:, None] + 2.0 * np.arange(kx)[None, :]) / (ky + kx)
    return 0.7 * values


def convolver_from(shape, N, use_fft=None, kernel_values=None, state_mask=None) -> aa.Convolver:
    if kernel_values is None:
        kernel_values = fine_kernel_values_from(shape, N)
    kernel = aa.Array2D.no_mask(values=np.array(kernel_values), pixel_scales=NATIVE_PIXEL_SCALE / N)
    state = None
    if state_mask is not None:
        state = OversampledConvolverState(kernel=kernel, mask=state_mask, convolve_over_sample_size=N)
    return aa.Convolver(kernel=kernel, state=state, use_fft=use_fft, convolve_over_sample_size=N)


def footprint_half_from(kernel_shape, N):
    """ceil((k // 2) / N) per axis: the native pixels a fine kernel reaches (closed form of DESIGN.md section 3)."""
    return tuple(int(np.ceil((k // 2) / N)) for k in kernel_shape)


# ----------------------------------------------------------------------------------------------------------------------
# The independent reference
# ----------------------------------------------------------------------------------------------------------------------


def reach_reference_from(unmasked, kernel_shape):
    """Pixels within the (ky // 2, kx // 2) box of a True pixel of ``unmasked`` (an explicit loop over offsets)."""
    ky, kx = kernel_shape
    H, W = unmasked.shape
    padded = np.pad(unmasked, ((ky // 2, ky // 2), (kx // 2, kx // 2)))
    reach = np.zeros_like(unmasked)
    for dy in range(ky):
        for dx in range(kx):
            reach |= padded[dy : dy + H, dx : dx + W]
    return reach


def native_blurring_region_reference_from(native_bool, kernel_shape, N):
    """
    The masked native pixels holding a fine pixel that the fine kernel reaches from an unmasked fine pixel: built on
    the fine frame (every native pixel repeated N x N), with no use of the footprint formula. True = in the region.
    """
    fine_unmasked = np.kron(~native_bool, np.ones((N, N), dtype=bool))
    H, W = native_bool.shape
    fine_reach = reach_reference_from(fine_unmasked, kernel_shape)
    touched = fine_reach.reshape(H, N, W, N).any(axis=(1, 3))
    return touched & native_bool


def padded_frame_from(native_mask, kernel_shape, N):
    """The native mask padded (masked) by enough pixels on every side to hold the whole blurring region."""
    hy, hx = footprint_half_from(kernel_shape, N)
    return np.pad(np.asarray(native_mask, dtype=bool), ((hy + 1, hy + 1), (hx + 1, hx + 1)), constant_values=True)


def blurring_pixels_from(native_mask, kernel_shape, N):
    padded = padded_frame_from(native_mask, kernel_shape, N)
    return int(np.sum(native_blurring_region_reference_from(padded, kernel_shape, N)))


def place_pixel_major(frame, region, values, N):
    """Put pixel-major fine values (pixel i of ``region`` in row-major order, then a, b) on the fine frame."""
    for i, (y, x) in enumerate(zip(*np.nonzero(region))):
        for a in range(N):
            for b in range(N):
                frame[N * y + a, N * x + b] = values[i * N * N + a * N + b]


def brute_force_native(native_mask, N, kernel_values, fine_values, fine_blurring_values=None):
    """
    The reference: the pixel-major fine values of the mask and of its blurring region put on a full fine frame (with
    explicit loops), the whole frame convolved with ``scipy.signal.convolve2d(mode="same")``, the mean of every
    N x N block taken, and the unmasked native pixels returned in slim order. Values may have trailing columns.
    """
    padded = padded_frame_from(native_mask, kernel_values.shape, N)
    region = native_blurring_region_reference_from(padded, kernel_values.shape, N)
    H, W = padded.shape
    fine_values = np.asarray(fine_values)
    matrix = fine_values.ndim == 2
    columns = fine_values.shape[1] if matrix else 1
    fine_values = fine_values.reshape(fine_values.shape[0], columns)
    if fine_blurring_values is not None:
        fine_blurring_values = np.asarray(fine_blurring_values).reshape(-1, columns)
    outputs = []
    for c in range(columns):
        frame = np.zeros((H * N, W * N))
        place_pixel_major(frame, ~padded, fine_values[:, c], N)
        if fine_blurring_values is not None:
            place_pixel_major(frame, region, fine_blurring_values[:, c], N)
        blurred = convolve2d(frame, kernel_values, mode="same")
        outputs.append(blurred.reshape(H, N, W, N).mean(axis=(1, 3))[~padded])
    if matrix:
        return np.stack(outputs, axis=1)
    return outputs[0]


def random_values(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape) + 0.3


def assert_close_to_peak(result, reference, rtol=RTOL_PEAK):
    result = np.asarray(result)
    reference = np.asarray(reference)
    assert result.shape == reference.shape
    error = np.max(np.abs(result - reference))
    peak = np.max(np.abs(reference))
    assert peak > 0.0
    assert error <= rtol * peak, f"max |diff| / peak = {error / peak:.3e}"


# (mask, N, fine kernel shape): every mask at every N; kernel shapes vary so that each mask sees several.
CASES = [
    ("circular", 2, (7, 7)),
    ("circular", 3, (9, 5)),
    ("circular", 4, (13, 13)),
    ("annulus", 2, (9, 5)),
    ("annulus", 3, (13, 13)),
    ("annulus", 4, (7, 7)),
    ("rectangle", 2, (13, 13)),
    ("rectangle", 3, (7, 7)),
    ("rectangle", 4, (9, 5)),
    ("edge", 2, (9, 5)),
    ("edge", 3, (7, 7)),
    ("edge", 4, (13, 7)),
]
CASE_IDS = [f"{m}-N{n}-k{k[0]}x{k[1]}" for m, n, k in CASES]

# The representative subset run on the (slower to compile) JAX path: every N once, the padded edge mask included.
JAX_CASES = [CASES[4], CASES[8], CASES[9]]
JAX_CASE_IDS = [f"{m}-N{n}-k{k[0]}x{k[1]}" for m, n, k in JAX_CASES]


def setup_case(mask_name, N, kernel_shape, use_fft=None, seed=0, columns=5):
    native_mask = native_mask_from(mask_name)
    blurring_pixels = blurring_pixels_from(native_mask, kernel_shape, N)
    n2 = N * N
    return dict(
        native_mask=native_mask,
        convolver=convolver_from(kernel_shape, N, use_fft=use_fft),
        kernel_values=fine_kernel_values_from(kernel_shape, N),
        image=random_values(seed, native_mask.pixels_in_mask * n2),
        blurring=random_values(seed + 1, blurring_pixels * n2),
        mapping=random_values(seed + 2, native_mask.pixels_in_mask * n2, columns),
        blurring_mapping=random_values(seed + 3, blurring_pixels * n2, columns),
        N=N,
    )


# ----------------------------------------------------------------------------------------------------------------------
# The reference itself
# ----------------------------------------------------------------------------------------------------------------------


def library_blurring_region_on_padded_frame(native_mask, footprint, padded_shape):
    """The library's native blurring mask (allow_padding=True) placed on the reference's padded frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Mask padded from ..." for the edge mask
        blurring = np.asarray(
            native_mask.derive_mask.blurring_from(kernel_shape_native=footprint, allow_padding=True)
        )
    H, W = native_mask.shape_native
    oy, ox = (blurring.shape[0] - H) // 2, (blurring.shape[1] - W) // 2
    py, px = (padded_shape[0] - H) // 2, (padded_shape[1] - W) // 2
    region = np.zeros(padded_shape, dtype=bool)
    region[py - oy : py - oy + blurring.shape[0], px - ox : px - ox + blurring.shape[1]] = ~blurring
    return region


@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__reference_blurring_region__is_the_native_blurring_mask_of_the_footprint(mask_name, N, kernel_shape):
    """
    The native pixels a fine kernel reaches from the mask's fine pixels (built on the fine frame) are exactly the
    library's native blurring mask of `footprint_shape_native`, in the same (row-major) order.
    """
    native_mask = native_mask_from(mask_name)
    convolver = convolver_from(kernel_shape, N)
    padded = padded_frame_from(native_mask, kernel_shape, N)
    expected = native_blurring_region_reference_from(padded, kernel_shape, N)
    result = library_blurring_region_on_padded_frame(native_mask, convolver.footprint_shape_native, padded.shape)
    assert np.array_equal(result, expected)
    if mask_name == "edge":
        # the blurring region leaves the native frame (the library pads the mask for it)
        rows, cols = np.nonzero(expected)
        hy, hx = footprint_half_from(kernel_shape, N)
        assert cols.max() >= native_mask.shape_native[1] + hx + 1


def test__reference__hand_computed_example():
    """The brute force itself against a hand-worked case: N=2, a 3x3 fine kernel and one lit fine pixel."""
    native = np.ones((5, 5), dtype=bool)
    native[2, 2] = False
    fine_values = np.zeros(4)
    fine_values[0] = 1.0  # fine pixel (a, b) = (0, 0) of native pixel (2, 2): fine frame pixel (4, 4)
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    # convolve2d "same": out[4+i, 4+j] = kernel[1+i, 1+j] for i, j in {-1, 0, 1}; the native pixel (2, 2) holds
    # fine (4..5, 4..5), i.e. kernel[1:3, 1:3] = [[5, 6], [8, 9]], whose mean is 7.
    result = brute_force_native(native, 2, kernel, fine_values, None)
    assert result.shape == (1,)
    assert result[0] == pytest.approx(7.0, abs=1e-14)
    # the lit fine pixel (1, 1) instead: kernel[0:2, 0:2] = [[1, 2], [4, 5]], mean 3
    fine_values = np.zeros(4)
    fine_values[3] = 1.0
    assert brute_force_native(native, 2, kernel, fine_values, None)[0] == pytest.approx(3.0, abs=1e-14)


# ----------------------------------------------------------------------------------------------------------------------
# Brute force: numpy (every mask x every N)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_fft", [None, False], ids=["use_fft_default", "use_fft_false"])
@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__convolved_fine_image_from__numpy__matches_brute_force(mask_name, N, kernel_shape, use_fft):
    c = setup_case(mask_name, N, kernel_shape, use_fft=use_fft)

    result = c["convolver"].convolved_fine_image_from(
        fine_image=c["image"], mask=c["native_mask"], fine_blurring_image=c["blurring"], xp=np
    )

    reference = brute_force_native(c["native_mask"], N, c["kernel_values"], c["image"], c["blurring"])
    assert isinstance(result, aa.Array2D)
    assert result.shape_native == c["native_mask"].shape_native
    assert result.pixel_scales == c["native_mask"].pixel_scales
    assert np.array_equal(np.asarray(result.mask), np.asarray(c["native_mask"]))
    assert_close_to_peak(result.array, reference)

    # without the blurring image only the mask's own fine values are convolved
    alone = c["convolver"].convolved_fine_image_from(fine_image=c["image"], mask=c["native_mask"], xp=np)
    assert_close_to_peak(alone.array, brute_force_native(c["native_mask"], N, c["kernel_values"], c["image"]))


@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__convolved_fine_mapping_matrix_from__numpy__matches_brute_force(mask_name, N, kernel_shape):
    c = setup_case(mask_name, N, kernel_shape)
    conv = c["convolver"]

    without_blurring = conv.convolved_fine_mapping_matrix_from(
        fine_mapping_matrix=c["mapping"], mask=c["native_mask"], xp=np
    )
    with_blurring = conv.convolved_fine_mapping_matrix_from(
        fine_mapping_matrix=c["mapping"],
        mask=c["native_mask"],
        fine_blurring_mapping_matrix=c["blurring_mapping"],
        xp=np,
    )

    assert without_blurring.shape == (c["native_mask"].pixels_in_mask, c["mapping"].shape[1])
    assert_close_to_peak(
        without_blurring, brute_force_native(c["native_mask"], N, c["kernel_values"], c["mapping"], None)
    )
    assert_close_to_peak(
        with_blurring,
        brute_force_native(c["native_mask"], N, c["kernel_values"], c["mapping"], c["blurring_mapping"]),
    )
    # the blurring contribution is not negligible, so the two really differ
    assert np.max(np.abs(with_blurring - without_blurring)) > 1e-3 * np.max(np.abs(with_blurring))


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test__fft_frame__covers_the_mask_and_footprint_and_is_alias_free(xp):
    """
    The fine FFT frame is the mask's bounding box plus the footprint, rounded up to a fast FFT length: every unmasked
    fine pixel is at least half the kernel inside it, so the circular convolution needs no more. A kernel of random
    positive values (no small tail) makes any wrap-around of the circular convolution an O(1) error against the
    brute force.
    """
    native = np.ones((12, 14), dtype=bool)
    native[3:9, 4:11] = False  # a 6 x 7 native block
    native_mask = aa.Mask2D(mask=native, pixel_scales=NATIVE_PIXEL_SCALE)
    N, kernel_shape = 2, (13, 11)
    kernel_values = np.random.default_rng(5).uniform(0.5, 1.5, size=kernel_shape)
    conv = convolver_from(kernel_shape, N, kernel_values=kernel_values)

    state = conv.oversampled_state_from(mask=native_mask)
    hy, hx = footprint_half_from(kernel_shape, N)
    box = (6 + 2 * hy, 7 + 2 * hx)
    for axis in (0, 1):
        needed = box[axis] * N
        assert needed <= state.fft_shape[axis] <= scipy.fft.next_fast_len(needed, real=True)

    blurring_pixels = blurring_pixels_from(native_mask, kernel_shape, N)
    image = random_values(51, native_mask.pixels_in_mask * N**2)
    blurring = random_values(52, blurring_pixels * N**2)
    mapping = random_values(53, native_mask.pixels_in_mask * N**2, 3)
    blurring_mapping = random_values(54, blurring_pixels * N**2, 3)

    if xp is np:
        result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring).array
        result_mapping = conv.convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=mapping, mask=native_mask, fine_blurring_mapping_matrix=blurring_mapping
        )
    else:
        result, _, result_mapping = jax_results_from(conv, native_mask, image, blurring, mapping, blurring_mapping)
    assert_close_to_peak(result, brute_force_native(native_mask, N, kernel_values, image, blurring))
    assert_close_to_peak(
        result_mapping, brute_force_native(native_mask, N, kernel_values, mapping, blurring_mapping)
    )


def test__fft_frame__covers_the_mask_not_the_whole_image():
    """A small mask in a large image: the fine FFT frame is sized by the mask's bounding box, not by the image."""
    native_mask = aa.Mask2D.circular(shape_native=(60, 60), pixel_scales=NATIVE_PIXEL_SCALE, radius=0.6)
    N, kernel_shape = 2, (7, 7)
    conv = convolver_from(kernel_shape, N)
    ys, xs = np.nonzero(~np.asarray(native_mask))
    bbox = (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    hy, hx = footprint_half_from(kernel_shape, N)
    state = conv.oversampled_state_from(mask=native_mask)
    for axis, half in ((0, hy), (1, hx)):
        assert state.fft_shape[axis] <= 2 * ((bbox[axis] + 2 * half) * N + kernel_shape[axis] - 1)
        assert state.fft_shape[axis] < native_mask.shape_native[axis] * N / 2

    blurring_pixels = blurring_pixels_from(native_mask, kernel_shape, N)
    image = random_values(1, native_mask.pixels_in_mask * N**2)
    blurring = random_values(2, blurring_pixels * N**2)
    result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring)
    assert_close_to_peak(
        result.array, brute_force_native(native_mask, N, fine_kernel_values_from(kernel_shape, N), image, blurring)
    )


def test__convolved_fine_image_from__mixed_precision_gives_single_precision():
    c = setup_case("annulus", 3, (9, 5), seed=4)
    result = c["convolver"].convolved_fine_image_from(
        fine_image=c["image"], mask=c["native_mask"], fine_blurring_image=c["blurring"], use_mixed_precision=True
    )
    assert result.array.dtype == np.float32
    reference = brute_force_native(c["native_mask"], 3, c["kernel_values"], c["image"], c["blurring"])
    assert_close_to_peak(result.array.astype(np.float64), reference, rtol=1e-6)


@pytest.mark.parametrize("columns", [1, 4, 7, 17])
def test__convolved_fine_mapping_matrix_from__any_column_count(columns):
    c = setup_case("circular", 2, (7, 7), columns=columns, seed=11)
    result = c["convolver"].convolved_fine_mapping_matrix_from(
        fine_mapping_matrix=c["mapping"],
        mask=c["native_mask"],
        fine_blurring_mapping_matrix=c["blurring_mapping"],
        xp=np,
    )
    assert result.shape == (c["native_mask"].pixels_in_mask, columns)
    assert_close_to_peak(
        result, brute_force_native(c["native_mask"], 2, c["kernel_values"], c["mapping"], c["blurring_mapping"])
    )


# ----------------------------------------------------------------------------------------------------------------------
# Brute force: JAX (representative subset)
# ----------------------------------------------------------------------------------------------------------------------


def jax_results_from(conv, native_mask, image, blurring, mapping, blurring_mapping=None):
    """The image, the mapping matrix and (if given) the mapping matrix with its blurring rows, on JAX under jit."""

    @jax.jit
    def results(image, blurring, mapping, blurring_mapping):
        return (
            conv.convolved_fine_image_from(
                fine_image=image, mask=native_mask, fine_blurring_image=blurring, xp=jnp
            ).array,
            conv.convolved_fine_mapping_matrix_from(fine_mapping_matrix=mapping, mask=native_mask, xp=jnp),
            None
            if blurring_mapping is None
            else conv.convolved_fine_mapping_matrix_from(
                fine_mapping_matrix=mapping, mask=native_mask, fine_blurring_mapping_matrix=blurring_mapping, xp=jnp
            ),
        )

    return results(
        jnp.asarray(image),
        jnp.asarray(blurring),
        jnp.asarray(mapping),
        None if blurring_mapping is None else jnp.asarray(blurring_mapping),
    )


@pytest.mark.parametrize("mask_name, N, kernel_shape", JAX_CASES, ids=JAX_CASE_IDS)
def test__jax__image_and_mapping_matrix_match_brute_force(mask_name, N, kernel_shape):
    c = setup_case(mask_name, N, kernel_shape)
    native_mask = c["native_mask"]
    image, mapping, mapping_blurring = jax_results_from(
        c["convolver"], native_mask, c["image"], c["blurring"], c["mapping"], c["blurring_mapping"]
    )
    assert_close_to_peak(image, brute_force_native(native_mask, N, c["kernel_values"], c["image"], c["blurring"]))
    assert_close_to_peak(mapping, brute_force_native(native_mask, N, c["kernel_values"], c["mapping"]))
    assert_close_to_peak(
        mapping_blurring,
        brute_force_native(native_mask, N, c["kernel_values"], c["mapping"], c["blurring_mapping"]),
    )


def test__jax__eager__image_is_an_array2d_on_the_native_mask():
    c = setup_case("circular", 2, (7, 7))
    result = c["convolver"].convolved_fine_image_from(
        fine_image=jnp.asarray(c["image"]),
        mask=c["native_mask"],
        fine_blurring_image=jnp.asarray(c["blurring"]),
        xp=jnp,
    )
    assert isinstance(result, aa.Array2D)
    assert np.array_equal(np.asarray(result.mask), np.asarray(c["native_mask"]))
    assert_close_to_peak(
        result.array, brute_force_native(c["native_mask"], 2, c["kernel_values"], c["image"], c["blurring"])
    )


def test__jax_jit__image_and_mapping_matrix_match_brute_force():
    c = setup_case("rectangle", 3, (9, 5), seed=21)
    native_mask = c["native_mask"]
    conv = convolver_from((9, 5), 3, state_mask=native_mask)

    @jax.jit
    def image_fn(values, blurring_values):
        return conv.convolved_fine_image_from(
            fine_image=values, mask=native_mask, fine_blurring_image=blurring_values, xp=jnp
        ).array

    @jax.jit
    def mapping_fn(mapping, blurring_mapping):
        return conv.convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=mapping, mask=native_mask, fine_blurring_mapping_matrix=blurring_mapping, xp=jnp
        )

    image = image_fn(jnp.asarray(c["image"]), jnp.asarray(c["blurring"]))
    assert_close_to_peak(image, brute_force_native(native_mask, 3, c["kernel_values"], c["image"], c["blurring"]))
    # a second call with other values re-uses the compiled function and is still right
    other = 2.0 * c["image"][::-1].copy()
    image_other = image_fn(jnp.asarray(other), jnp.asarray(c["blurring"]))
    assert_close_to_peak(image_other, brute_force_native(native_mask, 3, c["kernel_values"], other, c["blurring"]))

    mapping = mapping_fn(jnp.asarray(c["mapping"]), jnp.asarray(c["blurring_mapping"]))
    assert_close_to_peak(
        mapping, brute_force_native(native_mask, 3, c["kernel_values"], c["mapping"], c["blurring_mapping"])
    )


# ----------------------------------------------------------------------------------------------------------------------
# The native entry points refuse an oversampled PSF
# ----------------------------------------------------------------------------------------------------------------------


NATIVE_ENTRY_POINTS = [
    "convolved_image_from[np]",
    "convolved_image_from[jnp]",
    "convolved_mapping_matrix_from[np]",
    "convolved_mapping_matrix_from[jnp]",
    "convolved_image_via_real_space_from[jnp]",
    "convolved_image_via_real_space_np_from",
    "convolved_mapping_matrix_via_real_space_from[jnp]",
    "convolved_mapping_matrix_via_real_space_np_from",
    "state_from",
]


@pytest.mark.parametrize("use_fft", [True, False])
@pytest.mark.parametrize("entry", NATIVE_ENTRY_POINTS)
def test__native_entry_points__kernel_exception_at_n_above_1(entry, use_fft):
    """Values at the native scale cannot be convolved by a fine kernel: every native entry point says what to use."""
    conv = convolver_from((7, 7), 2, use_fft=use_fft)
    mask = native_mask_from("circular")
    blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    image = aa.Array2D(values=random_values(0, mask.pixels_in_mask), mask=mask)
    blurring = aa.Array2D(values=random_values(1, blurring_mask.pixels_in_mask), mask=blurring_mask)
    image_j = aa.Array2D(values=jnp.asarray(image.array), mask=mask)
    blurring_j = aa.Array2D(values=jnp.asarray(blurring.array), mask=blurring_mask)
    mapping = random_values(2, mask.pixels_in_mask, 3)

    calls = {
        "convolved_image_from[np]": lambda: conv.convolved_image_from(image=image, blurring_image=blurring, xp=np),
        "convolved_image_from[jnp]": lambda: conv.convolved_image_from(
            image=image_j, blurring_image=blurring_j, xp=jnp
        ),
        "convolved_mapping_matrix_from[np]": lambda: conv.convolved_mapping_matrix_from(
            mapping_matrix=mapping, mask=mask, xp=np
        ),
        "convolved_mapping_matrix_from[jnp]": lambda: conv.convolved_mapping_matrix_from(
            mapping_matrix=jnp.asarray(mapping), mask=mask, xp=jnp
        ),
        "convolved_image_via_real_space_from[jnp]": lambda: conv.convolved_image_via_real_space_from(
            image=image_j, blurring_image=blurring_j, xp=jnp
        ),
        "convolved_image_via_real_space_np_from": lambda: conv.convolved_image_via_real_space_np_from(
            image=image, blurring_image=blurring
        ),
        "convolved_mapping_matrix_via_real_space_from[jnp]": lambda: conv.convolved_mapping_matrix_via_real_space_from(
            mapping_matrix=jnp.asarray(mapping), mask=mask, xp=jnp
        ),
        "convolved_mapping_matrix_via_real_space_np_from": lambda: conv.convolved_mapping_matrix_via_real_space_np_from(
            mapping_matrix=mapping, mask=mask
        ),
        "state_from": lambda: conv.state_from(mask=mask),
    }
    with pytest.raises(aa.exc.KernelException, match="convolve_over_sample_size=2.*use convolved_fine_image_from"):
        calls[entry]()


# ----------------------------------------------------------------------------------------------------------------------
# Delta kernel and flux
# ----------------------------------------------------------------------------------------------------------------------


def block_mean_by_hand(native_mask, N, fine_values):
    """Plain N x N mean of pixel-major fine values, written as a loop over native pixels."""
    out = []
    for i in range(native_mask.pixels_in_mask):
        total = 0.0
        for a in range(N):
            for b in range(N):
                total += fine_values[i * N * N + a * N + b]
        out.append(total / N**2)
    return np.array(out)


@pytest.mark.parametrize("N, size", [(2, 3), (3, 5), (4, 3)])
def test__delta_kernel__gives_plain_block_mean_binning(N, size):
    values = np.zeros((size, size))
    values[size // 2, size // 2] = 1.0
    conv = convolver_from((size, size), N, kernel_values=values)
    native_mask = native_mask_from("annulus")
    image = random_values(3, native_mask.pixels_in_mask * N**2)
    blurring = random_values(4, blurring_pixels_from(native_mask, (size, size), N) * N**2)

    result = conv.convolved_fine_image_from(
        fine_image=image, mask=native_mask, fine_blurring_image=blurring, xp=np
    )
    np.testing.assert_allclose(result.array, block_mean_by_hand(native_mask, N, image), rtol=1e-13, atol=1e-14)

    mapping = random_values(5, native_mask.pixels_in_mask * N**2, 3)
    result_mm = conv.convolved_fine_mapping_matrix_from(fine_mapping_matrix=mapping, mask=native_mask, xp=np)
    for col in range(3):
        np.testing.assert_allclose(
            result_mm[:, col], block_mean_by_hand(native_mask, N, mapping[:, col]), rtol=1e-13, atol=1e-14
        )


def compact_blob_on(grid, centre=(0.1, -0.15), sigma=0.12):
    grid = np.asarray(grid)
    r2 = (grid[:, 0] - centre[0]) ** 2 + (grid[:, 1] - centre[1]) ** 2
    return np.exp(-0.5 * r2 / sigma**2)


def fine_centres_from(mask, N):
    """The fine pixel centres of a mask, pixel-major, from the closed form of the pixel geometry."""
    H, W = mask.shape_native
    psy, psx = mask.pixel_scales
    oy, ox = mask.origin
    centres = []
    for y, x in zip(*np.nonzero(~np.asarray(mask))):
        for a in range(N):
            for b in range(N):
                centres.append(
                    (
                        oy + (H / 2.0 - y - (a + 0.5) / N) * psy,
                        ox + (x + (b + 0.5) / N - W / 2.0) * psx,
                    )
                )
    return np.array(centres)


@pytest.mark.parametrize("N", [2, 3, 4])
def test__flux_is_conserved_by_mean_binning(N):
    """native value x native area = sum of fine fluxes: sum(native) * N^2 == sum(fine) for a normalised kernel."""
    native_mask = aa.Mask2D.circular(shape_native=(31, 31), pixel_scales=NATIVE_PIXEL_SCALE, radius=2.6)
    conv = aa.Convolver.from_gaussian(
        shape_native=(11, 9),
        pixel_scales=NATIVE_PIXEL_SCALE / N,
        sigma=0.1,
        centre=(0.01, -0.02),
        axis_ratio=0.7,
        angle=25.0,
        normalize=True,
        convolve_over_sample_size=N,
    )
    blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=conv.footprint_shape_native)
    image = compact_blob_on(fine_centres_from(native_mask, N))
    blurring = compact_blob_on(fine_centres_from(blurring_mask, N))
    assert np.max(blurring) < 1e-30  # the source is fully inside the mask

    result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring, xp=np)
    assert np.sum(result.array) * N**2 == pytest.approx(np.sum(image), rel=1e-10)

    result_mm = conv.convolved_fine_mapping_matrix_from(
        fine_mapping_matrix=np.stack([image, 2.0 * image], axis=1), mask=native_mask, xp=np
    )
    np.testing.assert_allclose(np.sum(result_mm, axis=0) * N**2, [np.sum(image), 2.0 * np.sum(image)], rtol=1e-10)


def test__smooth_source__close_to_native_convolution_of_binned_image():
    """
    For a source smooth on the native scale, blurring at fine resolution then binning is close to binning first and
    blurring with the native-scale version of the same (wide) PSF. Loose tolerance: the two are not identical.
    """
    N = 2
    native_mask = aa.Mask2D.circular(shape_native=(31, 31), pixel_scales=NATIVE_PIXEL_SCALE, radius=2.0)
    fine_conv = aa.Convolver.from_gaussian(
        shape_native=(21, 21), pixel_scales=NATIVE_PIXEL_SCALE / N, sigma=0.3, normalize=True,
        convolve_over_sample_size=N,
    )
    native_conv = aa.Convolver.from_gaussian(
        shape_native=(11, 11), pixel_scales=NATIVE_PIXEL_SCALE, sigma=0.3, normalize=True
    )
    fine_blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=fine_conv.footprint_shape_native)
    native_blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=(11, 11))

    def source(grid):
        return compact_blob_on(grid, sigma=0.6)

    fine_image = source(fine_centres_from(native_mask, N))
    oversampled = fine_conv.convolved_fine_image_from(
        fine_image=fine_image,
        mask=native_mask,
        fine_blurring_image=source(fine_centres_from(fine_blurring_mask, N)),
    ).array

    binned = block_mean_by_hand(native_mask, N, fine_image)
    native_blurring_binned = block_mean_by_hand(
        native_blurring_mask, N, source(fine_centres_from(native_blurring_mask, N))
    )
    native = native_conv.convolved_image_from(
        image=aa.Array2D(values=binned, mask=native_mask),
        blurring_image=aa.Array2D(values=native_blurring_binned, mask=native_blurring_mask),
    ).array

    assert np.max(np.abs(oversampled - native)) < 0.02 * np.max(native)


# ----------------------------------------------------------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------------------------------------------------------


def fine_kernel(shape=(7, 7), N=2):
    return aa.Array2D.no_mask(values=fine_kernel_values_from(shape, N), pixel_scales=NATIVE_PIXEL_SCALE / N)


NON_INTEGERS = [2.0, True, False, np.float64(2.0), np.array(2), np.array([2]), "2", None]
NON_INTEGER_IDS = ["float", "True", "False", "np_float64", "array0d", "array1d", "str", "None"]


@pytest.mark.parametrize("value", NON_INTEGERS, ids=NON_INTEGER_IDS)
def test__guard__non_int_over_sample_size__type_error(value):
    with pytest.raises(TypeError, match="convolve_over_sample_size must be an integer"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver.from_gaussian(shape_native=(7, 7), pixel_scales=0.1, sigma=0.1, convolve_over_sample_size=value)
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver.no_blur(pixel_scales=0.1, convolve_over_sample_size=value)
    with pytest.raises(TypeError, match=re.escape(f"got {value!r} of type {type(value).__name__}")):
        convolver_module.convolve_over_sample_size_checked(value)


def test__guard__array2d_over_sample_size__type_error():
    value = aa.Array2D.no_mask(values=[[2.0]], pixel_scales=0.1)
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)


@pytest.mark.parametrize("value", [np.int64(2), np.int32(2), np.int8(2)])
def test__guard__numpy_integer_over_sample_size__accepted_as_python_int(value):
    conv = aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)
    assert conv.convolve_over_sample_size == 2
    assert type(conv.convolve_over_sample_size) is int
    assert type(convolver_module.convolve_over_sample_size_checked(value)) is int


@pytest.mark.parametrize("value", [0, -1, -3])
def test__guard__over_sample_size_below_one__kernel_exception(value):
    with pytest.raises(aa.exc.KernelException, match=f"must be 1 or more, got {value}"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)
    with pytest.raises(aa.exc.KernelException, match="must be 1 or more"):
        aa.Convolver.no_blur(pixel_scales=0.1, convolve_over_sample_size=value)


@pytest.mark.parametrize("delta", [-1, 1])
def test__guard__fine_image_of_the_wrong_length__kernel_exception(delta):
    c = setup_case("circular", 2, (7, 7))
    fine_pixels = c["native_mask"].pixels_in_mask * 4
    with pytest.raises(aa.exc.KernelException, match=rf"\({fine_pixels} rows\), but got {fine_pixels + delta}"):
        c["convolver"].convolved_fine_image_from(
            fine_image=random_values(0, fine_pixels + delta), mask=c["native_mask"]
        )
    with pytest.raises(aa.exc.KernelException, match="rows"):
        c["convolver"].convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=random_values(0, fine_pixels + delta, 3), mask=c["native_mask"]
        )


def test__guard__native_length_values__kernel_exception():
    """Values of the native pixels, passed where fine values are expected, are refused (never a wrong result)."""
    c = setup_case("circular", 2, (7, 7))
    pixels = c["native_mask"].pixels_in_mask
    with pytest.raises(aa.exc.KernelException, match=rf"takes the values of the N x N fine pixels.*but got {pixels}\."):
        c["convolver"].convolved_fine_image_from(fine_image=random_values(0, pixels), mask=c["native_mask"])
    with pytest.raises(aa.exc.KernelException, match=rf"but got {pixels}\."):
        c["convolver"].convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=random_values(0, pixels, 3), mask=c["native_mask"]
        )


def test__guard__blurring_values_of_the_wrong_region__kernel_exception():
    """Blurring values on the region of the fine kernel's shape (not its native footprint) are refused."""
    c = setup_case("circular", 2, (7, 7))
    wrong_region = c["native_mask"].derive_mask.blurring_from(kernel_shape_native=(7, 7))
    wrong_pixels = wrong_region.pixels_in_mask * 4
    assert wrong_pixels != c["blurring"].shape[0]
    with pytest.raises(aa.exc.KernelException, match=rf"takes the blurring values.*but got {wrong_pixels}\."):
        c["convolver"].convolved_fine_image_from(
            fine_image=c["image"], mask=c["native_mask"], fine_blurring_image=random_values(5, wrong_pixels)
        )
    with pytest.raises(aa.exc.KernelException, match="takes the blurring values"):
        c["convolver"].convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=c["mapping"],
            mask=c["native_mask"],
            fine_blurring_mapping_matrix=random_values(6, wrong_pixels, 5),
        )


def test__guard__kernel_at_the_native_pixel_scale__kernel_exception():
    N = 2
    kernel = aa.Array2D.no_mask(values=fine_kernel_values_from((7, 7), N), pixel_scales=NATIVE_PIXEL_SCALE)
    conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=N)
    native_mask = native_mask_from("rectangle")
    with pytest.raises(aa.exc.KernelException, match=r"needs the PSF at the data pixel scale / 2 = \(0.1, 0.1\)"):
        conv.convolved_fine_image_from(
            fine_image=random_values(0, native_mask.pixels_in_mask * 4), mask=native_mask
        )
    with pytest.raises(aa.exc.KernelException, match="kernel's pixel scales are"):
        OversampledConvolverState(kernel=kernel, mask=native_mask, convolve_over_sample_size=N)


def test__guard__a_mask_at_the_fine_pixel_scale__kernel_exception():
    """A mask at the kernel's (fine) pixel scale is not a native mask: the kernel is not at its pixel scale / N."""
    N = 2
    conv = convolver_from((7, 7), N)
    fine_scale_mask = aa.Mask2D.circular(shape_native=(42, 42), pixel_scales=NATIVE_PIXEL_SCALE / N, radius=1.03)
    with pytest.raises(aa.exc.KernelException, match=r"data pixel scale / 2 = \(0.05, 0.05\)"):
        conv.convolved_fine_image_from(
            fine_image=random_values(0, fine_scale_mask.pixels_in_mask * 4), mask=fine_scale_mask
        )
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_fine_mapping_matrix_from(
            fine_mapping_matrix=random_values(0, fine_scale_mask.pixels_in_mask * 4, 2), mask=fine_scale_mask
        )


def test__guard__state_of_the_wrong_kind__kernel_exception():
    mask = native_mask_from("circular")
    native_kernel = aa.Array2D.no_mask(values=fine_kernel_values_from((7, 7), 1), pixel_scales=NATIVE_PIXEL_SCALE)
    with pytest.raises(aa.exc.KernelException, match="takes an OversampledConvolverState, but got a ConvolverState"):
        aa.Convolver(
            kernel=fine_kernel(),
            state=ConvolverState(kernel=native_kernel, mask=mask),
            convolve_over_sample_size=2,
        )
    with pytest.raises(aa.exc.KernelException, match="OversampledConvolverState is for a Convolver with"):
        aa.Convolver(
            kernel=native_kernel,
            state=OversampledConvolverState(kernel=fine_kernel(), mask=mask, convolve_over_sample_size=2),
        )


def test__module_checks__pixel_scales_to_the_stated_tolerance():
    rtol = convolver_module.PIXEL_SCALES_RTOL
    assert rtol == 1.0e-6
    assert convolver_module.is_fine_pixel_scales((0.1, 0.1), (0.2, 0.2), 2)
    assert convolver_module.is_fine_pixel_scales((0.1 * (1 + 0.5 * rtol),) * 2, (0.2, 0.2), 2)
    assert not convolver_module.is_fine_pixel_scales((0.1 * (1 + 2 * rtol),) * 2, (0.2, 0.2), 2)
    assert not convolver_module.is_fine_pixel_scales((0.1, 0.05), (0.2, 0.2), 2)
    assert convolver_module.is_fine_pixel_scales((0.1, 0.05), (0.3, 0.15), 3)
    assert not convolver_module.is_fine_pixel_scales((0.1, 0.05), (0.3, 0.15), 2)
    convolver_module.fine_pixel_scales_checked((0.1, 0.1), (0.2, 0.2), 2)
    with pytest.raises(aa.exc.KernelException, match=r"the kernel's pixel scales are \(0.2, 0.2\)"):
        convolver_module.fine_pixel_scales_checked((0.2, 0.2), (0.2, 0.2), 2)


def test__guards_do_not_fire_at_n1():
    kernel_values = fine_kernel_values_from((7, 7), 1)
    conv = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=kernel_values, pixel_scales=0.2), convolve_over_sample_size=1
    )
    assert conv.convolve_over_sample_size == 1
    mask = native_mask_from("circular")
    blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    assert conv.footprint_shape_native == (7, 7)
    image = random_values(0, mask.pixels_in_mask)
    blurring = random_values(1, blurring_mask.pixels_in_mask)
    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=mask),
        blurring_image=aa.Array2D(values=blurring, mask=blurring_mask),
        xp=np,
    )
    assert_close_to_peak(result.array, brute_force_native(mask, 1, kernel_values, image, blurring))


# ----------------------------------------------------------------------------------------------------------------------
# Even kernels: re-centred on a pixel by a half-pixel Fourier shift
# ----------------------------------------------------------------------------------------------------------------------


def gaussian_values_from(shape, sigma, centre):
    """A round Gaussian sampled at the pixel centres of ``shape``, centred at (row, column) ``centre``."""
    y = np.arange(shape[0])[:, None] - centre[0]
    x = np.arange(shape[1])[None, :] - centre[1]
    return np.exp(-0.5 * (y**2 + x**2) / sigma**2)


def even_and_odd_gaussians_from(shape, sigma=2.0):
    """
    An even-shaped Gaussian centred where poppy / STPSF centre it (between the two central pixels of every even
    axis) and the same Gaussian sampled on the odd grid of one more pixel per even axis, centred on its middle pixel,
    scaled to the same sum: what a band-limited re-centring must give.
    """
    even = gaussian_values_from(shape, sigma, ((shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0))
    odd_shape = tuple(s + 1 if s % 2 == 0 else s for s in shape)
    odd = gaussian_values_from(odd_shape, sigma, (odd_shape[0] // 2, odd_shape[1] // 2))
    return even, odd * (np.sum(even) / np.sum(odd))


def two_by_two_average_from(values):
    """The odd 2 x 2 (pixel-pair) average along every even axis: the re-centring the design does NOT use."""
    box = np.ones((2 if values.shape[0] % 2 == 0 else 1, 2 if values.shape[1] % 2 == 0 else 1))
    return convolve2d(values, box / box.size, mode="full")


EVEN_SHAPES = [(20, 20), (20, 21), (21, 20)]


@pytest.mark.parametrize("shape", EVEN_SHAPES)
def test__recentred_kernel_values_from__is_the_fourier_half_pixel_shift(shape):
    """
    A Gaussian of sigma 2 pixels: the re-centred kernel is the Gaussian sampled on the odd grid (to 1e-5 of its
    peak; DESIGN.md measures 1e-6 for a Fourier shift), far from the 2 x 2 average (which widens the PSF), with the
    same sum, symmetric about its centre pixel, and an odd axis is not touched.
    """
    even, odd = even_and_odd_gaussians_from(shape)
    result = convolver_module.recentred_kernel_values_from(kernel_values=even)

    assert result.shape == odd.shape
    assert all(size % 2 == 1 for size in result.shape)
    assert np.max(np.abs(result - odd)) < 1.0e-5 * np.max(odd)
    assert np.max(np.abs(two_by_two_average_from(even) - odd)) > 1.0e-2 * np.max(odd)
    assert np.sum(result) == pytest.approx(np.sum(even), rel=1e-13)
    np.testing.assert_allclose(result, result[::-1, ::-1], rtol=0.0, atol=1e-12 * np.max(result))

    odd_input = gaussian_values_from((21, 21), 2.0, (10.3, 9.6))
    np.testing.assert_allclose(
        convolver_module.recentred_kernel_values_from(kernel_values=odd_input), odd_input, rtol=1e-14
    )


@pytest.mark.parametrize("shape", EVEN_SHAPES)
@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test__even_fine_kernel__warns_and_convolves_as_the_odd_kernel_it_samples(shape, xp):
    """
    An oversampled Convolver of an even kernel (as STPSF writes them) says once that it re-centres it, and blurs as
    the same PSF sampled on the odd grid (the brute force of that odd Gaussian, to its accuracy). The user's kernel
    object is not modified.
    """
    N = 2
    native_mask = native_mask_from("circular")
    even, odd = even_and_odd_gaussians_from(shape)
    kernel = aa.Array2D.no_mask(values=even.copy(), pixel_scales=NATIVE_PIXEL_SCALE / N)
    with pytest.warns(UserWarning, match=r"even shape \(\d+, \d+\).*re-centred on a pixel by a half-pixel Fourier shift"):
        conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=N)

    assert conv.kernel.shape_native == odd.shape
    assert conv.kernel.pixel_scales == (NATIVE_PIXEL_SCALE / N, NATIVE_PIXEL_SCALE / N)
    np.testing.assert_array_equal(kernel.native.array, even)  # the user's kernel is untouched

    blurring_pixels = blurring_pixels_from(native_mask, odd.shape, N)
    image = random_values(11, native_mask.pixels_in_mask * N**2)
    blurring = random_values(12, blurring_pixels * N**2)
    mapping = random_values(13, native_mask.pixels_in_mask * N**2, 2)
    if xp is np:
        result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring).array
        matrix = conv.convolved_fine_mapping_matrix_from(fine_mapping_matrix=mapping, mask=native_mask)
    else:
        result, matrix, _ = jax_results_from(conv, native_mask, image, blurring, mapping)
    assert_close_to_peak(result, brute_force_native(native_mask, N, odd, image, blurring), rtol=1e-5)
    assert_close_to_peak(matrix, brute_force_native(native_mask, N, odd, mapping), rtol=1e-5)


def test__even_kernel_at_n1__keeps_the_release_behaviour():
    kernel = aa.Array2D.no_mask(values=np.ones((4, 4)), pixel_scales=0.1)
    with pytest.raises(aa.exc.KernelException, match="must be odd"):
        aa.Convolver(kernel=kernel, use_fft=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        conv = aa.Convolver(kernel=kernel, use_fft=True, convolve_over_sample_size=1)
    assert conv.kernel.shape_native == (4, 4)
    np.testing.assert_array_equal(conv.kernel.native.array, np.ones((4, 4)))
    assert conv.convolve_over_sample_size == 1


# ----------------------------------------------------------------------------------------------------------------------
# The state: built for one native mask and one kernel
# ----------------------------------------------------------------------------------------------------------------------


def run_against_brute_force(conv, native_mask, kernel_values, N, seed, xp=np):
    kernel_shape = kernel_values.shape
    blurring_pixels = blurring_pixels_from(native_mask, kernel_shape, N)
    image = random_values(seed, native_mask.pixels_in_mask * N**2)
    blurring = random_values(seed + 1, blurring_pixels * N**2)
    mapping = random_values(seed + 2, native_mask.pixels_in_mask * N**2, 3)
    if xp is np:
        result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring)
        assert np.array_equal(np.asarray(result.mask), np.asarray(native_mask))
        result_image = result.array
        result_mm = conv.convolved_fine_mapping_matrix_from(fine_mapping_matrix=mapping, mask=native_mask)
    else:
        result = None
        result_image, result_mm, _ = jax_results_from(conv, native_mask, image, blurring, mapping)
    assert_close_to_peak(result_image, brute_force_native(native_mask, N, kernel_values, image, blurring))
    assert_close_to_peak(result_mm, brute_force_native(native_mask, N, kernel_values, mapping))
    return result


def other_mask_of_the_same_shape():
    values = np.ones((21, 21), dtype=bool)
    values[3:12, 8:19] = False
    return aa.Mask2D(mask=values, pixel_scales=NATIVE_PIXEL_SCALE)


def test__state__used_only_for_its_own_mask():
    """A Convolver holding the state of mask A, used with A, then B (same shape, other pixels), then A: all right."""
    N, kernel_shape = 2, (9, 5)
    kernel_values = fine_kernel_values_from(kernel_shape, N)
    mask_a = native_mask_from("circular")
    mask_b = other_mask_of_the_same_shape()
    assert mask_a.shape_native == mask_b.shape_native
    conv = convolver_from(kernel_shape, N, state_mask=mask_a)
    state_a = conv.oversampled_state_from(mask=mask_a)

    run_against_brute_force(conv, mask_a, kernel_values, N, seed=0)
    run_against_brute_force(conv, mask_b, kernel_values, N, seed=10)
    run_against_brute_force(conv, mask_a, kernel_values, N, seed=20)

    # the state of A is kept, and never served for B
    assert conv.oversampled_state_from(mask=mask_a) is state_a
    assert conv.oversampled_state_from(mask=mask_b) is not state_a
    assert conv.oversampled_state_from(mask=mask_a) is state_a

    # the same pixels at another origin (a fitted grid offset): the result lies on the mask passed
    mask_a_shifted = aa.Mask2D(mask=np.asarray(mask_a), pixel_scales=NATIVE_PIXEL_SCALE, origin=(0.4, -0.2))
    result = run_against_brute_force(conv, mask_a_shifted, kernel_values, N, seed=30)
    assert result.mask.origin == (0.4, -0.2)

    # the same pixels at another pixel scale: not the state's mask; a new state refuses the kernel
    mask_a_other_scale = aa.Mask2D(mask=np.asarray(mask_a), pixel_scales=NATIVE_PIXEL_SCALE * 1.5)
    assert conv.oversampled_state_from(mask=mask_a) is state_a
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_fine_image_from(
            fine_image=random_values(0, mask_a.pixels_in_mask * N**2), mask=mask_a_other_scale
        )


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test__state__not_reused_once_the_kernel_changed_in_place(xp):
    """
    `Imaging` normalises its PSF's kernel in place. A state built before (with the transform of the unnormalised
    kernel) must not be reused: the result would be scaled by the kernel's old sum.
    """
    N, kernel_shape = 2, (7, 7)
    mask = native_mask_from("circular")
    kernel_values = fine_kernel_values_from(kernel_shape, N) * 85.0
    conv = convolver_from(kernel_shape, N, kernel_values=kernel_values, state_mask=mask)
    state = conv.oversampled_state_from(mask=mask)
    run_against_brute_force(conv, mask, kernel_values, N, seed=1, xp=xp)

    conv.kernel._array = np.divide(conv.kernel._array, np.sum(conv.kernel._array))  # as Imaging does it
    assert conv.oversampled_state_from(mask=mask) is not state
    run_against_brute_force(conv, mask, kernel_values / np.sum(kernel_values), N, seed=1, xp=xp)


def test__state__jax_with_two_masks():
    N, kernel_shape = 2, (7, 7)
    kernel_values = fine_kernel_values_from(kernel_shape, N)
    mask_a = native_mask_from("circular")
    mask_b = other_mask_of_the_same_shape()
    conv = convolver_from(kernel_shape, N, state_mask=mask_a)
    for native_mask, seed in [(mask_a, 0), (mask_b, 5), (mask_a, 9)]:
        run_against_brute_force(conv, native_mask, kernel_values, N, seed=seed, xp=jnp)


def test__state__is_for_checks_mask_pixels_pixel_scales_and_kernel_values():
    N = 2
    mask = native_mask_from("annulus")
    kernel = fine_kernel((9, 5), N)
    state = OversampledConvolverState(kernel=kernel, mask=mask, convolve_over_sample_size=N)
    same = aa.Mask2D(mask=np.asarray(mask).copy(), pixel_scales=NATIVE_PIXEL_SCALE, origin=(1.0, 2.0))
    assert state.is_for(mask=mask, kernel=kernel)
    assert state.is_for(mask=same, kernel=kernel)
    flipped = np.asarray(mask).copy()
    flipped[np.nonzero(~flipped)[0][0], np.nonzero(~flipped)[1][0]] = True
    assert not state.is_for(mask=aa.Mask2D(mask=flipped, pixel_scales=NATIVE_PIXEL_SCALE), kernel=kernel)
    assert not state.is_for(mask=aa.Mask2D(mask=np.asarray(mask), pixel_scales=0.3), kernel=kernel)
    other_kernel = aa.Array2D.no_mask(values=kernel.native.array * 1.0001, pixel_scales=NATIVE_PIXEL_SCALE / N)
    assert not state.is_for(mask=mask, kernel=other_kernel)


# ----------------------------------------------------------------------------------------------------------------------
# Constructors
# ----------------------------------------------------------------------------------------------------------------------


def test__from_gaussian__builds_fine_kernel_and_carries_n():
    conv = aa.Convolver.from_gaussian(
        shape_native=(9, 5), pixel_scales=NATIVE_PIXEL_SCALE / 2, sigma=0.1, normalize=True,
        convolve_over_sample_size=2,
    )
    assert conv.convolve_over_sample_size == 2
    assert conv.kernel.shape_native == (9, 5)
    assert conv.kernel.pixel_scales == pytest.approx((0.1, 0.1), rel=1e-15)
    assert np.sum(conv.kernel.native.array) == pytest.approx(1.0, rel=1e-14)
    # the Gaussian is evaluated at the fine pixel centres: centre / neighbour ratio is exp(-0.5 (0.1/0.1)^2)
    k = conv.kernel.native.array
    assert k[4, 3] / k[4, 2] == pytest.approx(np.exp(-0.5), rel=1e-12)
    assert k[3, 2] / k[4, 2] == pytest.approx(np.exp(-0.5), rel=1e-12)
    assert conv.footprint_shape_native == (5, 3)

    default = aa.Convolver.from_gaussian(shape_native=(9, 5), pixel_scales=NATIVE_PIXEL_SCALE, sigma=0.1)
    assert default.convolve_over_sample_size == 1
    assert aa.Convolver.convolve_over_sample_size == 1


def test__normalized__keeps_n_and_leaves_original_untouched():
    N = 3
    kernel_values = fine_kernel_values_from((9, 5), N)
    conv = convolver_from((9, 5), N, kernel_values=kernel_values.copy())
    assert abs(float(np.sum(conv.kernel.native.array)) - 1.0) > 0.1

    normalized = conv.normalized

    assert normalized.convolve_over_sample_size == N
    assert normalized.kernel.pixel_scales == conv.kernel.pixel_scales
    assert np.sum(normalized.kernel.native.array) == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_array_equal(conv.kernel.native.array, kernel_values)
    assert conv.convolve_over_sample_size == N
    run_against_brute_force(normalized, native_mask_from("rectangle"), kernel_values / np.sum(kernel_values), N, 0)


@pytest.mark.parametrize("N", [2, 3])
def test__no_blur__is_plain_binning(N):
    conv = aa.Convolver.no_blur(pixel_scales=NATIVE_PIXEL_SCALE / N, convolve_over_sample_size=N)
    assert conv.convolve_over_sample_size == N
    assert conv.kernel.pixel_scales == pytest.approx((NATIVE_PIXEL_SCALE / N,) * 2, rel=1e-15)
    native_mask = native_mask_from("edge")
    image = random_values(7, native_mask.pixels_in_mask * N**2)
    blurring = random_values(8, blurring_pixels_from(native_mask, conv.kernel.shape_native, N) * N**2)
    result = conv.convolved_fine_image_from(fine_image=image, mask=native_mask, fine_blurring_image=blurring, xp=np)
    np.testing.assert_allclose(result.array, block_mean_by_hand(native_mask, N, image), rtol=1e-13, atol=1e-14)


def test__output_to_fits_and_from_fits__round_trip_keeps_n(tmp_path):
    N = 2
    conv = aa.Convolver.from_gaussian(
        shape_native=(9, 7), pixel_scales=NATIVE_PIXEL_SCALE / N, sigma=0.1, centre=(0.02, 0.01),
        axis_ratio=0.7, angle=30.0, normalize=True, convolve_over_sample_size=N,
    )
    file_path = tmp_path / "psf.fits"
    conv.output_to_fits(file_path=file_path)

    # what the file records, read with astropy
    with fits.open(file_path) as hdu_list:
        header = hdu_list[0].header
        assert header["PIXSCAY"] == pytest.approx(NATIVE_PIXEL_SCALE / N, rel=1e-15)
        assert header["PIXSCAX"] == pytest.approx(NATIVE_PIXEL_SCALE / N, rel=1e-15)
        assert header["CONVOS"] == N
        np.testing.assert_array_equal(hdu_list[0].data, conv.kernel.native.array)

    loaded = aa.Convolver.from_fits(
        file_path=file_path, hdu=0, pixel_scales=NATIVE_PIXEL_SCALE / N, convolve_over_sample_size=N
    )
    assert loaded.convolve_over_sample_size == N
    assert loaded.kernel.shape_native == (9, 7)
    assert loaded.kernel.pixel_scales == pytest.approx((0.1, 0.1), rel=1e-15)
    np.testing.assert_allclose(loaded.kernel.native.array, conv.kernel.native.array, rtol=1e-15, atol=0.0)
    run_against_brute_force(loaded, native_mask_from("annulus"), np.array(conv.kernel.native.array), N, 0)

    loaded_normalized = aa.Convolver.from_fits(
        file_path=file_path, hdu=0, pixel_scales=NATIVE_PIXEL_SCALE / N, normalize=True,
        convolve_over_sample_size=N,
    )
    assert loaded_normalized.convolve_over_sample_size == N

    # at N = 1 the file is read as given, with a warning naming the N it records
    with pytest.warns(UserWarning, match="records a PSF oversampled by 2.*convolve_over_sample_size=2"):
        loaded_default = aa.Convolver.from_fits(file_path=file_path, hdu=0, pixel_scales=NATIVE_PIXEL_SCALE / N)
    assert loaded_default.convolve_over_sample_size == 1
    np.testing.assert_array_equal(loaded_default.kernel.native.array, conv.kernel.native.array)


# ----------------------------------------------------------------------------------------------------------------------
# footprint_shape_native
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel_shape, N, expected",
    [
        # 2 * ceil((kf // 2) / N) + 1, worked by hand:
        ((21, 21), 1, (21, 21)),  # N = 1: the kernel shape
        ((21, 21), 2, (11, 11)),  # 10 / 2 = 5      -> 11
        ((21, 21), 4, (7, 7)),  # 10 / 4 = 2.5 -> 3 -> 7
        ((9, 9), 3, (5, 5)),  # 4 / 3 -> 2      -> 5
        ((3, 3), 4, (3, 3)),  # 1 / 4 -> 1      -> 3
        ((5, 5), 2, (3, 3)),  # 2 / 2 = 1       -> 3
        ((9, 5), 2, (5, 3)),  # 4/2 = 2 -> 5 ; 2/2 = 1 -> 3
        ((13, 7), 4, (5, 3)),  # 6/4 -> 2 -> 5 ; 3/4 -> 1 -> 3
        ((15, 1), 2, (9, 1)),  # 7/2 -> 4 -> 9 ; 0 -> 1
    ],
)
def test__footprint_shape_native(kernel_shape, N, expected):
    kernel = aa.Array2D.no_mask(values=np.ones(kernel_shape), pixel_scales=NATIVE_PIXEL_SCALE / N)
    conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=N)
    assert tuple(conv.footprint_shape_native) == expected
    assert tuple(convolver_module.footprint_shape_native_from(kernel_shape, N)) == expected


def test__one_pixel_fine_kernel__is_zero_padded_to_3x3_with_a_3x3_footprint():
    """A 1 x 1 kernel reaches no neighbour; at N > 1 it is padded to 3 x 3 (its value in the centre)."""
    assert tuple(convolver_module.footprint_shape_native_from((1, 1), 3)) == (1, 1)
    kernel = aa.Array2D.no_mask(values=[[2.0]], pixel_scales=NATIVE_PIXEL_SCALE / 3)
    conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=3)
    expected = np.zeros((3, 3))
    expected[1, 1] = 2.0
    np.testing.assert_array_equal(conv.kernel.native.array, expected)
    assert tuple(conv.footprint_shape_native) == (3, 3)


def test__binned_image_keeps_the_origin_of_its_mask_and_the_native_pixel_scale():
    """The result carries the native mask passed (possibly offset origin) and its exact pixel scale."""
    N = 5
    native = aa.Mask2D.circular(shape_native=(15, 15), pixel_scales=0.11, radius=0.5)
    shifted = aa.Mask2D(mask=np.asarray(native), pixel_scales=0.11, origin=(0.3, -0.2))
    conv = aa.Convolver.from_gaussian(
        shape_native=(11, 11), pixel_scales=0.11 / N, sigma=0.05, normalize=True, convolve_over_sample_size=N
    )
    blurring_pixels = shifted.derive_mask.blurring_from(kernel_shape_native=conv.footprint_shape_native).pixels_in_mask
    result = conv.convolved_fine_image_from(
        fine_image=np.ones(shifted.pixels_in_mask * N**2),
        mask=shifted,
        fine_blurring_image=np.ones(blurring_pixels * N**2),
    )
    assert result.mask.origin == (0.3, -0.2)
    assert result.mask.pixel_scales == (0.11, 0.11)
    assert np.array_equal(np.asarray(result.mask), np.asarray(native))
    # a uniform image (inside and around the mask) blurred by a normalised kernel stays uniform
    np.testing.assert_allclose(result.array, 1.0, rtol=1e-12)


# ----------------------------------------------------------------------------------------------------------------------
# The exact coarse kernel of a path at a smaller N
# ----------------------------------------------------------------------------------------------------------------------


def coarse_kernel_by_the_formula(kernel, m):
    """K_m(D) = (1/m^2) sum_u T_m(u) K(m D + u), T_m(u) = (m - |u_y|)(m - |u_x|), by explicit loops."""
    ky, kx = kernel.shape
    cy, cx = ky // 2, kx // 2
    hy, hx = (cy + m - 1) // m, (cx + m - 1) // m
    out = np.zeros((2 * hy + 1, 2 * hx + 1))
    for dy in range(-hy, hy + 1):
        for dx in range(-hx, hx + 1):
            total = 0.0
            for uy in range(-(m - 1), m):
                for ux in range(-(m - 1), m):
                    y, x = cy + m * dy + uy, cx + m * dx + ux
                    if 0 <= y < ky and 0 <= x < kx:
                        total += (m - abs(uy)) * (m - abs(ux)) * kernel[y, x]
            out[dy + hy, dx + hx] = total / m**2
    return out


@pytest.mark.parametrize("N, n, shape", [(4, 2, (17, 13)), (4, 1, (17, 13)), (2, 1, (9, 11)), (6, 3, (13, 13)), (6, 2, (13, 7))])
def test__coarse_convolver_from__is_the_exact_coarse_kernel(N, n, shape):
    values = fine_kernel_values_from(shape, N)
    conv = convolver_from(shape, N, kernel_values=values)
    coarse = conv.coarse_convolver_from(convolve_over_sample_size=n)
    m = N // n

    expected = coarse_kernel_by_the_formula(values, m)
    assert coarse.convolve_over_sample_size == n
    assert coarse.kernel.shape_native == expected.shape
    assert coarse.kernel.pixel_scales == pytest.approx((NATIVE_PIXEL_SCALE / n,) * 2, rel=1e-14)
    np.testing.assert_allclose(coarse.kernel.native.array, expected, rtol=1e-13, atol=1e-15)
    assert np.sum(coarse.kernel.native.array) == pytest.approx(np.sum(values), rel=1e-13)
    np.testing.assert_array_equal(conv.kernel.native.array, values)  # the held kernel is not changed


@pytest.mark.parametrize("N, n", [(4, 2), (2, 1), (3, 1)])
def test__coarse_convolver_from__convolving_at_n_is_repeating_onto_n_and_convolving_there(N, n):
    """
    Light at n repeated over its m x m blocks of the held PSF's grid (m = N / n), convolved there with K and
    binned to native pixels (the brute force at N) is one convolution at n with the coarse kernel: at n > 1 the
    coarse Convolver's fine convolution, at n = 1 the release's native convolution.
    """
    shape = (4 * N + 1, 4 * N - 1)
    values = fine_kernel_values_from(shape, N)
    conv = convolver_from(shape, N, kernel_values=values)
    coarse = conv.coarse_convolver_from(convolve_over_sample_size=n)
    m = N // n
    native_mask = native_mask_from("annulus")
    footprint = coarse.footprint_shape_native
    blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=footprint)

    image_n = random_values(3, native_mask.pixels_in_mask * n * n)
    blurring_n = random_values(4, blurring_mask.pixels_in_mask * n * n)

    def repeated(values_n, pixels):
        """Each value at n repeated over its m x m block at N, pixel-major at N."""
        out = np.zeros(pixels * N * N)
        for i in range(pixels):
            for a in range(N):
                for b in range(N):
                    out[i * N * N + a * N + b] = values_n[i * n * n + (a // m) * n + (b // m)]
        return out

    image_at_N = repeated(image_n, native_mask.pixels_in_mask)
    blurring_at_N = repeated(blurring_n, blurring_mask.pixels_in_mask)
    # the region at n (the coarse footprint) is the region the held kernel reaches
    assert footprint == conv.footprint_shape_native
    expected = brute_force_native(native_mask, N, values, image_at_N, blurring_at_N)

    if n > 1:
        result = coarse.convolved_fine_image_from(
            fine_image=image_n, mask=native_mask, fine_blurring_image=blurring_n
        ).array
    else:
        result = coarse.convolved_image_from(
            image=aa.Array2D(values=image_n, mask=native_mask),
            blurring_image=aa.Array2D(values=blurring_n, mask=blurring_mask),
            xp=np,
        ).array
    assert_close_to_peak(result, expected)
