"""
Tests of the oversampled ``Convolver`` (``convolve_over_sample_size`` N > 1).

With N > 1 the kernel is the PSF at the fine pixel scale (native / N), the values to convolve live on the fine mask
(the native mask with every pixel repeated N x N) and its fine blurring mask, and each native output value is the
MEAN of the N x N fine blurred values inside the native pixel (DESIGN.md §1).

Every numerical result is compared with an independent brute-force reference built only from numpy and
``scipy.signal.convolve2d`` on the full fine frame (see ``brute_force_native``), never with the library itself.
"""

import numpy as np
import pytest
from scipy.signal import convolve2d

import autoarray as aa  # before jax: autoarray's import switches JAX to 64 bit
from autoarray.operators.over_sampling import over_sample_util
from autoarray.operators.convolver import ConvolverState

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
        return aa.Mask2D.circular(
            shape_native=(21, 21), pixel_scales=NATIVE_PIXEL_SCALE, radius=1.05
        )
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
        # The unmasked region sits 2 native pixels below the top border and 1 native pixel left of the right
        # border of a frame much bigger than it, with a masked hole inside it.
        mask = np.ones((30, 26), dtype=bool)
        mask[2:9, 16:25] = False
        mask[5, 19] = True
        return aa.Mask2D(mask=mask, pixel_scales=NATIVE_PIXEL_SCALE)
    raise ValueError(name)


def fine_kernel_values_from(shape, N) -> np.ndarray:
    """
    An elliptical, rotated, off-centre Gaussian at the fine pixel scale (not normalised: its sum is not 1, so that a
    missing or spurious normalisation shows). Built from plain numpy, independently of the library.
    """
    ky, kx = shape
    ps = NATIVE_PIXEL_SCALE / N
    y = (np.arange(ky) - ky // 2)[:, None] * -ps  # scaled y decreases with row index
    x = (np.arange(kx) - kx // 2)[None, :] * ps
    y = y - 0.25 * ps
    x = x + 0.4 * ps
    angle = np.radians(35.0)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    sigma = 0.12
    values = np.exp(-0.5 * ((u / sigma) ** 2 + (v / (0.6 * sigma)) ** 2))
    values += 0.05 * (np.arange(ky)[:, None] + 2.0 * np.arange(kx)[None, :]) / (ky + kx)
    return 0.7 * values


def convolver_from(shape, N, use_fft=None, kernel_values=None) -> aa.Convolver:
    if kernel_values is None:
        kernel_values = fine_kernel_values_from(shape, N)
    kernel = aa.Array2D.no_mask(
        values=kernel_values, pixel_scales=NATIVE_PIXEL_SCALE / N
    )
    return aa.Convolver(kernel=kernel, use_fft=use_fft, convolve_over_sample_size=N)


def fine_masks_from(native_mask, N, kernel_shape):
    fine_mask = over_sample_util.mask_2d_upscaled_from(mask=native_mask, factor=N)
    fine_blurring_mask = fine_mask.derive_mask.blurring_from(
        kernel_shape_native=kernel_shape
    )
    return fine_mask, fine_blurring_mask


def brute_force_native(native_mask, N, kernel_values, fine_slim, fine_blurring_slim):
    """
    The reference: scatter the fine values (image and blurring region) into the full fine frame in row-major order,
    convolve the whole frame with ``scipy.signal.convolve2d(mode="same")``, take the mean of each N x N block and
    return the unmasked native pixels in row-major order. Values may have trailing columns (a mapping matrix).
    """
    native = np.asarray(native_mask, dtype=bool)
    H, W = native.shape
    fine = np.kron(native.astype(int), np.ones((N, N), dtype=int)).astype(bool)
    fine_blurring = np.asarray(
        fine_mask_blurring_reference(fine, kernel_values.shape), dtype=bool
    )

    fine_slim = np.asarray(fine_slim)
    columns = fine_slim.shape[1:] or (None,)
    outputs = []
    for c in range(fine_slim.shape[1] if fine_slim.ndim == 2 else 1):
        frame = np.zeros(fine.shape)
        frame[~fine] = fine_slim[:, c] if fine_slim.ndim == 2 else fine_slim
        if fine_blurring_slim is not None:
            b = np.asarray(fine_blurring_slim)
            frame[~fine_blurring] = b[:, c] if b.ndim == 2 else b
        blurred = convolve2d(frame, kernel_values, mode="same")
        binned = blurred.reshape(H, N, W, N).mean(axis=(1, 3))
        outputs.append(binned[~native])
    del columns
    if fine_slim.ndim == 2:
        return np.stack(outputs, axis=1)
    return outputs[0]


def fine_mask_blurring_reference(fine_mask_bool, kernel_shape):
    """
    Independent blurring region: masked fine pixels within the kernel's (ky//2, kx//2) box of an unmasked one.
    Used by the reference to place blurring values; the test also checks it equals the library's blurring mask.
    """
    ky, kx = kernel_shape
    unmasked = ~fine_mask_bool
    H, W = unmasked.shape
    padded = np.pad(unmasked, ((ky // 2, ky // 2), (kx // 2, kx // 2)))
    reach = np.zeros_like(unmasked)
    for dy in range(ky):
        for dx in range(kx):
            reach |= padded[dy : dy + H, dx : dx + W]
    blurring_region = reach & ~unmasked
    return ~blurring_region  # a mask: False = in the blurring region


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


# (mask, N, fine kernel shape): every mask at every N; kernel shapes vary so that each mask sees several, and the
# edge mask gets kernels whose blurring region fits in its frame.
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

# The representative subset run on the (slower to compile) JAX paths: every mask once and every N once.
JAX_CASES = [CASES[0], CASES[4], CASES[8], CASES[9]]
JAX_CASE_IDS = [f"{m}-N{n}-k{k[0]}x{k[1]}" for m, n, k in JAX_CASES]


def setup_case(mask_name, N, kernel_shape, use_fft=None, seed=0, columns=5):
    native_mask = native_mask_from(mask_name)
    convolver = convolver_from(kernel_shape, N, use_fft=use_fft)
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)
    image = random_values(seed, fine_mask.pixels_in_mask)
    blurring = random_values(seed + 1, fine_blurring_mask.pixels_in_mask)
    mapping = random_values(seed + 2, fine_mask.pixels_in_mask, columns)
    blurring_mapping = random_values(
        seed + 3, fine_blurring_mask.pixels_in_mask, columns
    )
    return dict(
        native_mask=native_mask,
        convolver=convolver,
        kernel_values=fine_kernel_values_from(kernel_shape, N),
        fine_mask=fine_mask,
        fine_blurring_mask=fine_blurring_mask,
        image=image,
        blurring=blurring,
        mapping=mapping,
        blurring_mapping=blurring_mapping,
        N=N,
    )


# ----------------------------------------------------------------------------------------------------------------------
# The reference itself
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__reference_blurring_region__matches_library_fine_blurring_mask(
    mask_name, N, kernel_shape
):
    native_mask = native_mask_from(mask_name)
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)
    expected = fine_mask_blurring_reference(np.asarray(fine_mask), kernel_shape)
    assert np.array_equal(np.asarray(fine_blurring_mask), expected)
    if mask_name == "edge":
        # the unmasked region is within 2 native pixels of the top and right borders
        rows, cols = np.nonzero(~np.asarray(native_mask))
        assert rows.min() <= 2 and cols.max() >= native_mask.shape_native[1] - 3
        # and the fine blurring region comes within N fine pixels of them
        rows, cols = np.nonzero(~expected)
        assert rows.min() <= N and cols.max() >= expected.shape[1] - 1 - N


def test__reference__hand_computed_example():
    """The brute force itself against a hand-worked case: N=2, a 3x3 fine kernel and one lit fine pixel."""
    native = np.ones((5, 5), dtype=bool)
    native[2, 2] = False
    fine = np.kron(native, np.ones((2, 2), dtype=bool))
    n_fine = int(np.sum(~fine))  # 4 fine pixels: (4,4), (4,5), (5,4), (5,5)
    fine_values = np.zeros(n_fine)
    fine_values[0] = 1.0  # fine pixel (4, 4)
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    # convolve2d "same": out[4+i, 4+j] = kernel[1+i, 1+j] for i, j in {-1, 0, 1}; the native pixel (2, 2) holds
    # fine (4..5, 4..5), i.e. kernel[1:3, 1:3] = [[5, 6], [8, 9]], whose mean is 7.
    result = brute_force_native(native, 2, kernel, fine_values, None)
    assert result.shape == (1,)
    assert result[0] == pytest.approx(7.0, abs=1e-14)


# ----------------------------------------------------------------------------------------------------------------------
# Brute force: numpy path (every mask x every N)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_fft", [None, False], ids=["fft", "scipy"])
@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__convolved_image_from__numpy__matches_brute_force(
    mask_name, N, kernel_shape, use_fft
):
    c = setup_case(mask_name, N, kernel_shape, use_fft=use_fft)
    image = aa.Array2D(values=c["image"], mask=c["fine_mask"])
    blurring_image = aa.Array2D(values=c["blurring"], mask=c["fine_blurring_mask"])

    result = c["convolver"].convolved_image_from(
        image=image, blurring_image=blurring_image, xp=np
    )

    reference = brute_force_native(
        c["native_mask"], N, c["kernel_values"], c["image"], c["blurring"]
    )
    assert result.shape_native == c["native_mask"].shape_native
    assert result.pixel_scales == c["native_mask"].pixel_scales
    assert np.array_equal(np.asarray(result.mask), np.asarray(c["native_mask"]))
    assert_close_to_peak(result.array, reference)


@pytest.mark.parametrize("use_fft", [None, False], ids=["fft", "scipy"])
@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__convolved_mapping_matrix_from__numpy__matches_brute_force(
    mask_name, N, kernel_shape, use_fft
):
    c = setup_case(mask_name, N, kernel_shape, use_fft=use_fft)
    conv = c["convolver"]

    without_blurring = conv.convolved_mapping_matrix_from(
        mapping_matrix=c["mapping"], mask=c["fine_mask"], xp=np
    )
    with_blurring = conv.convolved_mapping_matrix_from(
        mapping_matrix=c["mapping"],
        mask=c["fine_mask"],
        blurring_mapping_matrix=c["blurring_mapping"],
        xp=np,
    )

    n_native = c["native_mask"].pixels_in_mask
    assert without_blurring.shape == (n_native, c["mapping"].shape[1])
    assert_close_to_peak(
        without_blurring,
        brute_force_native(
            c["native_mask"], N, c["kernel_values"], c["mapping"], None
        ),
    )
    assert_close_to_peak(
        with_blurring,
        brute_force_native(
            c["native_mask"], N, c["kernel_values"], c["mapping"], c["blurring_mapping"]
        ),
    )
    # the blurring contribution is not negligible, so the two really differ
    assert np.max(np.abs(with_blurring - without_blurring)) > 1e-3 * np.max(
        np.abs(with_blurring)
    )


@pytest.mark.parametrize("xp", [np, jnp], ids=["numpy", "jax"])
def test__compact_fft_frame__unmasked_extent_plus_kernel_is_alias_free(xp):
    """
    The FFT frame of the fine convolution is the unmasked pixels' extent plus the kernel minus one, with no margin:
    here that is 24 x 24, already a fast FFT length, so no rounding up hides a frame that is too small. A kernel of
    random positive values (no small tail) makes any wrap-around of the circular convolution an O(1) error.
    """
    native = np.ones((12, 14), dtype=bool)
    native[3:9, 4:11] = False  # a 6 x 7 native block: 12 x 14 fine pixels at N = 2
    native_mask = aa.Mask2D(mask=native, pixel_scales=NATIVE_PIXEL_SCALE)
    N, kernel_shape = 2, (13, 11)
    kernel_values = np.random.default_rng(5).uniform(0.5, 1.5, size=kernel_shape)
    conv = convolver_from(kernel_shape, N, use_fft=True, kernel_values=kernel_values)
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)

    state = conv.state_from(mask=fine_mask)
    release_frame = ConvolverState(kernel=conv.kernel, mask=fine_mask).fft_shape
    assert state.fft_shape == (12 + 13 - 1, 14 + 11 - 1)
    assert state.fft_shape[0] < release_frame[0]
    assert state.fft_shape[1] < release_frame[1]

    image = random_values(51, fine_mask.pixels_in_mask)
    blurring = random_values(52, fine_blurring_mask.pixels_in_mask)
    mapping = random_values(53, fine_mask.pixels_in_mask, 3)
    blurring_mapping = random_values(54, fine_blurring_mask.pixels_in_mask, 3)

    result = conv.convolved_image_from(
        image=aa.Array2D(values=xp.asarray(image), mask=fine_mask),
        blurring_image=aa.Array2D(values=xp.asarray(blurring), mask=fine_blurring_mask),
        xp=xp,
    )
    assert_close_to_peak(
        result.array,
        brute_force_native(native_mask, N, kernel_values, image, blurring),
    )
    result_mapping = conv.convolved_mapping_matrix_from(
        mapping_matrix=xp.asarray(mapping),
        mask=fine_mask,
        blurring_mapping_matrix=xp.asarray(blurring_mapping),
        xp=xp,
    )
    assert_close_to_peak(
        result_mapping,
        brute_force_native(native_mask, N, kernel_values, mapping, blurring_mapping),
    )


@pytest.mark.parametrize("columns", [1, 4, 7, 17])
def test__convolved_mapping_matrix_from__column_counts_around_block_size(columns):
    """Column blocks (ceil(columns / N^2)) must cover every column exactly once, in order."""
    c = setup_case("circular", 2, (7, 7), columns=columns, seed=11)
    result = c["convolver"].convolved_mapping_matrix_from(
        mapping_matrix=c["mapping"],
        mask=c["fine_mask"],
        blurring_mapping_matrix=c["blurring_mapping"],
        xp=np,
    )
    reference = brute_force_native(
        c["native_mask"], 2, c["kernel_values"], c["mapping"], c["blurring_mapping"]
    )
    assert_close_to_peak(result, reference)


def test__convolved_mapping_matrix_from__column_equals_image_of_that_column():
    c = setup_case("annulus", 3, (13, 13), columns=3, seed=5)
    conv = c["convolver"]
    matrix = conv.convolved_mapping_matrix_from(
        mapping_matrix=c["mapping"],
        mask=c["fine_mask"],
        blurring_mapping_matrix=c["blurring_mapping"],
        xp=np,
    )
    for col in range(3):
        image = conv.convolved_image_from(
            image=aa.Array2D(values=c["mapping"][:, col], mask=c["fine_mask"]),
            blurring_image=aa.Array2D(
                values=c["blurring_mapping"][:, col], mask=c["fine_blurring_mask"]
            ),
            xp=np,
        )
        assert_close_to_peak(matrix[:, col], image.array)


# ----------------------------------------------------------------------------------------------------------------------
# Brute force: JAX paths (representative subset)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_fft", [True, False], ids=["jax_fft", "jax_real_space"])
@pytest.mark.parametrize("mask_name, N, kernel_shape", JAX_CASES, ids=JAX_CASE_IDS)
def test__jax_paths__image_and_mapping_matrix_match_brute_force(
    mask_name, N, kernel_shape, use_fft
):
    c = setup_case(mask_name, N, kernel_shape, use_fft=use_fft)
    conv = c["convolver"]
    image = aa.Array2D(values=jnp.asarray(c["image"]), mask=c["fine_mask"])
    blurring_image = aa.Array2D(
        values=jnp.asarray(c["blurring"]), mask=c["fine_blurring_mask"]
    )

    result_image = conv.convolved_image_from(
        image=image, blurring_image=blurring_image, xp=jnp
    )
    assert_close_to_peak(
        result_image.array,
        brute_force_native(
            c["native_mask"], N, c["kernel_values"], c["image"], c["blurring"]
        ),
    )
    assert np.array_equal(np.asarray(result_image.mask), np.asarray(c["native_mask"]))

    result_mm = conv.convolved_mapping_matrix_from(
        mapping_matrix=jnp.asarray(c["mapping"]), mask=c["fine_mask"], xp=jnp
    )
    assert_close_to_peak(
        result_mm,
        brute_force_native(c["native_mask"], N, c["kernel_values"], c["mapping"], None),
    )

    result_mm_blurring = conv.convolved_mapping_matrix_from(
        mapping_matrix=jnp.asarray(c["mapping"]),
        mask=c["fine_mask"],
        blurring_mapping_matrix=jnp.asarray(c["blurring_mapping"]),
        xp=jnp,
    )
    assert_close_to_peak(
        result_mm_blurring,
        brute_force_native(
            c["native_mask"], N, c["kernel_values"], c["mapping"], c["blurring_mapping"]
        ),
    )


@pytest.mark.parametrize("use_fft", [True, False], ids=["jax_fft", "jax_real_space"])
def test__jax_jit__image_and_mapping_matrix_match_brute_force(use_fft):
    c = setup_case("rectangle", 3, (9, 5), use_fft=use_fft, seed=21)
    conv = c["convolver"]
    fine_mask = c["fine_mask"]
    fine_blurring_mask = c["fine_blurring_mask"]

    @jax.jit
    def image_fn(values, blurring_values):
        image = aa.Array2D(values=values, mask=fine_mask)
        blurring_image = aa.Array2D(values=blurring_values, mask=fine_blurring_mask)
        return conv.convolved_image_from(
            image=image, blurring_image=blurring_image, xp=jnp
        ).array

    @jax.jit
    def mapping_fn(mapping, blurring_mapping):
        return conv.convolved_mapping_matrix_from(
            mapping_matrix=mapping,
            mask=fine_mask,
            blurring_mapping_matrix=blurring_mapping,
            xp=jnp,
        )

    image = image_fn(jnp.asarray(c["image"]), jnp.asarray(c["blurring"]))
    assert_close_to_peak(
        image,
        brute_force_native(
            c["native_mask"], 3, c["kernel_values"], c["image"], c["blurring"]
        ),
    )
    # a second call with other values re-uses the compiled function and is still right
    other = 2.0 * c["image"][::-1].copy()
    image_other = image_fn(jnp.asarray(other), jnp.asarray(c["blurring"]))
    assert_close_to_peak(
        image_other,
        brute_force_native(c["native_mask"], 3, c["kernel_values"], other, c["blurring"]),
    )

    mapping = mapping_fn(jnp.asarray(c["mapping"]), jnp.asarray(c["blurring_mapping"]))
    assert_close_to_peak(
        mapping,
        brute_force_native(
            c["native_mask"], 3, c["kernel_values"], c["mapping"], c["blurring_mapping"]
        ),
    )


# ----------------------------------------------------------------------------------------------------------------------
# Real-space siblings
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mask_name, N, kernel_shape",
    [CASES[1], CASES[11]],
    ids=[CASE_IDS[1], CASE_IDS[11]],
)
def test__real_space_siblings__numpy_and_jax_match_brute_force_and_each_other(
    mask_name, N, kernel_shape
):
    c = setup_case(mask_name, N, kernel_shape, seed=31)
    conv = c["convolver"]
    reference_image = brute_force_native(
        c["native_mask"], N, c["kernel_values"], c["image"], c["blurring"]
    )
    reference_mm = brute_force_native(
        c["native_mask"], N, c["kernel_values"], c["mapping"], c["blurring_mapping"]
    )
    reference_mm_no_blur = brute_force_native(
        c["native_mask"], N, c["kernel_values"], c["mapping"], None
    )

    def images(values, blurring, xp):
        return (
            aa.Array2D(values=values, mask=c["fine_mask"]),
            aa.Array2D(values=blurring, mask=c["fine_blurring_mask"]),
        )

    image_np, blurring_np = images(c["image"], c["blurring"], np)
    image_j, blurring_j = images(jnp.asarray(c["image"]), jnp.asarray(c["blurring"]), jnp)

    results_image = {
        "via_real_space_np_from": conv.convolved_image_via_real_space_np_from(
            image=image_np, blurring_image=blurring_np
        ),
        "via_real_space_from[np]": conv.convolved_image_via_real_space_from(
            image=image_np, blurring_image=blurring_np, xp=np
        ),
        "via_real_space_from[jnp]": conv.convolved_image_via_real_space_from(
            image=image_j, blurring_image=blurring_j, xp=jnp
        ),
    }
    for name, result in results_image.items():
        assert isinstance(result, aa.Array2D), name
        assert np.array_equal(np.asarray(result.mask), np.asarray(c["native_mask"])), name
        assert_close_to_peak(result.array, reference_image)

    results_mm = {
        "via_real_space_np_from": conv.convolved_mapping_matrix_via_real_space_np_from(
            mapping_matrix=c["mapping"],
            mask=c["fine_mask"],
            blurring_mapping_matrix=c["blurring_mapping"],
        ),
        "via_real_space_from[np]": conv.convolved_mapping_matrix_via_real_space_from(
            mapping_matrix=c["mapping"],
            mask=c["fine_mask"],
            blurring_mapping_matrix=c["blurring_mapping"],
            xp=np,
        ),
        "via_real_space_from[jnp]": conv.convolved_mapping_matrix_via_real_space_from(
            mapping_matrix=jnp.asarray(c["mapping"]),
            mask=c["fine_mask"],
            blurring_mapping_matrix=jnp.asarray(c["blurring_mapping"]),
            xp=jnp,
        ),
    }
    for name, result in results_mm.items():
        assert_close_to_peak(result, reference_mm)

    no_blur_np = conv.convolved_mapping_matrix_via_real_space_np_from(
        mapping_matrix=c["mapping"], mask=c["fine_mask"]
    )
    no_blur_jnp = conv.convolved_mapping_matrix_via_real_space_from(
        mapping_matrix=jnp.asarray(c["mapping"]), mask=c["fine_mask"], xp=jnp
    )
    assert_close_to_peak(no_blur_np, reference_mm_no_blur)
    assert_close_to_peak(no_blur_jnp, reference_mm_no_blur)

    # numpy and JAX agree with each other
    assert_close_to_peak(
        results_image["via_real_space_from[jnp]"].array,
        results_image["via_real_space_np_from"].array,
    )
    assert_close_to_peak(
        results_mm["via_real_space_from[jnp]"], results_mm["via_real_space_np_from"]
    )


def test__numpy_jax_fft_and_jax_real_space_agree_with_each_other():
    mask_name, N, kernel_shape = JAX_CASES[0]
    results = []
    for use_fft, xp in [(None, np), (True, jnp), (False, jnp)]:
        c = setup_case(mask_name, N, kernel_shape, use_fft=use_fft, seed=41)
        results.append(
            np.asarray(
                c["convolver"]
                .convolved_image_from(
                    image=aa.Array2D(values=xp.asarray(c["image"]), mask=c["fine_mask"]),
                    blurring_image=aa.Array2D(
                        values=xp.asarray(c["blurring"]), mask=c["fine_blurring_mask"]
                    ),
                    xp=xp,
                )
                .array
            )
        )
    assert_close_to_peak(results[1], results[0])
    assert_close_to_peak(results[2], results[0])


# ----------------------------------------------------------------------------------------------------------------------
# Delta kernel and flux
# ----------------------------------------------------------------------------------------------------------------------


def block_mean_by_hand(native_mask, N, fine_slim):
    """Plain N x N mean binning of fine slim values, written with explicit loops over native pixels."""
    native = np.asarray(native_mask, dtype=bool)
    fine = np.kron(native.astype(int), np.ones((N, N), dtype=int)).astype(bool)
    slim_index = -np.ones(fine.shape, dtype=int)
    slim_index[~fine] = np.arange(int(np.sum(~fine)))
    out = []
    for y, x in zip(*np.nonzero(~native)):
        total = 0.0
        for a in range(N):
            for b in range(N):
                total += fine_slim[slim_index[y * N + a, x * N + b]]
        out.append(total / N**2)
    return np.array(out)


@pytest.mark.parametrize("N, size", [(2, 3), (3, 5), (4, 3)])
def test__delta_kernel__gives_plain_block_mean_binning(N, size):
    values = np.zeros((size, size))
    values[size // 2, size // 2] = 1.0
    conv = convolver_from((size, size), N, kernel_values=values)
    native_mask = native_mask_from("annulus")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (size, size))
    image = random_values(3, fine_mask.pixels_in_mask)
    blurring = random_values(4, fine_blurring_mask.pixels_in_mask)

    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
        xp=np,
    )
    expected = block_mean_by_hand(native_mask, N, image)
    np.testing.assert_allclose(result.array, expected, rtol=1e-13, atol=1e-14)

    mapping = random_values(5, fine_mask.pixels_in_mask, 3)
    result_mm = conv.convolved_mapping_matrix_from(
        mapping_matrix=mapping, mask=fine_mask, xp=np
    )
    for col in range(3):
        np.testing.assert_allclose(
            result_mm[:, col],
            block_mean_by_hand(native_mask, N, mapping[:, col]),
            rtol=1e-13,
            atol=1e-14,
        )


def compact_blob_on(grid_slim, centre=(0.1, -0.15), sigma=0.12):
    grid = np.asarray(grid_slim)
    r2 = (grid[:, 0] - centre[0]) ** 2 + (grid[:, 1] - centre[1]) ** 2
    return np.exp(-0.5 * r2 / sigma**2)


@pytest.mark.parametrize("N", [2, 3, 4])
def test__flux_is_conserved_by_mean_binning(N):
    """native value x native area = sum of fine fluxes: sum(native) * N^2 == sum(fine) for a normalised kernel."""
    native_mask = aa.Mask2D.circular(
        shape_native=(31, 31), pixel_scales=NATIVE_PIXEL_SCALE, radius=2.6
    )
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
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (11, 9))
    fine_grid = aa.Grid2D.from_mask(mask=fine_mask, over_sample_size=1)
    fine_blurring_grid = aa.Grid2D.from_mask(mask=fine_blurring_mask, over_sample_size=1)
    image = compact_blob_on(fine_grid)
    blurring = compact_blob_on(fine_blurring_grid)
    assert np.max(blurring) < 1e-30  # the source is fully inside the mask

    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
        xp=np,
    )
    assert np.sum(result.array) * N**2 == pytest.approx(np.sum(image), rel=1e-10)

    result_mm = conv.convolved_mapping_matrix_from(
        mapping_matrix=np.stack([image, 2.0 * image], axis=1), mask=fine_mask, xp=np
    )
    np.testing.assert_allclose(
        np.sum(result_mm, axis=0) * N**2, [np.sum(image), 2.0 * np.sum(image)], rtol=1e-10
    )


def test__smooth_source__close_to_native_convolution_of_binned_image():
    """
    For a source smooth on the native scale, blurring at fine resolution then binning is close to binning first and
    blurring with the native-scale version of the same (wide) PSF. Loose tolerance: the two are not identical.
    """
    N = 2
    native_mask = aa.Mask2D.circular(
        shape_native=(31, 31), pixel_scales=NATIVE_PIXEL_SCALE, radius=2.0
    )
    fine_conv = aa.Convolver.from_gaussian(
        shape_native=(21, 21),
        pixel_scales=NATIVE_PIXEL_SCALE / N,
        sigma=0.3,
        normalize=True,
        convolve_over_sample_size=N,
    )
    native_conv = aa.Convolver.from_gaussian(
        shape_native=(11, 11), pixel_scales=NATIVE_PIXEL_SCALE, sigma=0.3, normalize=True
    )
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (21, 21))
    native_blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=(11, 11))

    def source(grid):
        return compact_blob_on(grid, sigma=0.6)

    fine_image = source(aa.Grid2D.from_mask(mask=fine_mask, over_sample_size=1))
    fine_blurring = source(aa.Grid2D.from_mask(mask=fine_blurring_mask, over_sample_size=1))
    oversampled = fine_conv.convolved_image_from(
        image=aa.Array2D(values=fine_image, mask=fine_mask),
        blurring_image=aa.Array2D(values=fine_blurring, mask=fine_blurring_mask),
    ).array

    binned = block_mean_by_hand(native_mask, N, fine_image)
    native_blurring = aa.Grid2D.from_mask(mask=native_blurring_mask, over_sample_size=N)
    native_blurring_binned = np.mean(
        source(native_blurring.over_sampled).reshape(-1, N * N), axis=1
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
    return aa.Array2D.no_mask(
        values=fine_kernel_values_from(shape, N), pixel_scales=NATIVE_PIXEL_SCALE / N
    )


@pytest.mark.parametrize(
    "value",
    [2.0, True, False, np.float64(2.0), np.array(2), np.array([2]), "2", None],
    ids=["float", "True", "False", "np_float64", "array0d", "array1d", "str", "None"],
)
def test__guard__non_int_over_sample_size_raises_type_error(value):
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver.from_gaussian(
            shape_native=(7, 7),
            pixel_scales=0.1,
            sigma=0.1,
            convolve_over_sample_size=value,
        )


def test__guard__array2d_over_sample_size_raises_type_error():
    value = aa.Array2D.no_mask(values=[[2.0]], pixel_scales=0.1)
    with pytest.raises(TypeError, match="must be an integer"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)


def test__guard__numpy_integer_over_sample_size_is_accepted():
    conv = aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=np.int64(2))
    assert conv.convolve_over_sample_size == 2
    assert type(conv.convolve_over_sample_size) is int


@pytest.mark.parametrize("value", [0, -1, -3])
def test__guard__over_sample_size_below_one_raises_kernel_exception(value):
    with pytest.raises(aa.exc.KernelException, match=r">= 1"):
        aa.Convolver(kernel=fine_kernel(), convolve_over_sample_size=value)
    with pytest.raises(aa.exc.KernelException, match=r">= 1"):
        aa.Convolver.no_blur(pixel_scales=0.1, convolve_over_sample_size=value)


def odd_average_reference_from(even_values):
    """The odd 2 x 2 average of a kernel (2-pixel average along each even axis), built with scipy only."""
    box = np.ones((2 if even_values.shape[0] % 2 == 0 else 1, 2 if even_values.shape[1] % 2 == 0 else 1))
    return convolve2d(even_values, box / box.size, mode="full")


@pytest.mark.parametrize("shape", [(8, 8), (10, 9), (9, 10)])
@pytest.mark.parametrize("xp, use_fft", [(np, True), (np, False), (jnp, True), (jnp, False)])
def test__even_fine_kernel__is_convolved_as_its_odd_2x2_average(shape, xp, use_fft):
    """
    STPSF writes even oversampled PSFs centred on the corner between four fine pixels. An oversampled Convolver uses
    the odd average: its results are the brute-force fine convolution of that average (built independently), on
    numpy and JAX, FFT and direct, for images and mapping matrices. The user's kernel object is not modified.
    """
    N = 2
    native_mask = native_mask_from("circular")
    even_values = np.random.default_rng(9).uniform(0.5, 1.5, size=shape)
    kernel = aa.Array2D.no_mask(values=even_values.copy(), pixel_scales=NATIVE_PIXEL_SCALE / N)
    conv = aa.Convolver(kernel=kernel, use_fft=use_fft, convolve_over_sample_size=N)

    odd_values = odd_average_reference_from(even_values)
    assert conv.kernel.shape_native == odd_values.shape
    assert all(size % 2 == 1 for size in conv.kernel.shape_native)
    np.testing.assert_allclose(conv.kernel.native.array, odd_values, rtol=1e-14)
    assert np.sum(odd_values) == pytest.approx(np.sum(even_values), rel=1e-14)
    np.testing.assert_array_equal(kernel.native.array, even_values)  # the user's kernel is untouched

    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, odd_values.shape)
    image = random_values(11, fine_mask.pixels_in_mask)
    blurring = random_values(12, fine_blurring_mask.pixels_in_mask)
    result = conv.convolved_image_from(
        image=aa.Array2D(values=xp.asarray(image), mask=fine_mask),
        blurring_image=aa.Array2D(values=xp.asarray(blurring), mask=fine_blurring_mask),
        xp=xp,
    )
    assert_close_to_peak(result.array, brute_force_native(native_mask, N, odd_values, image, blurring))

    mapping = random_values(13, fine_mask.pixels_in_mask, 3)
    matrix = conv.convolved_mapping_matrix_from(mapping_matrix=xp.asarray(mapping), mask=fine_mask, xp=xp)
    assert_close_to_peak(matrix, brute_force_native(native_mask, N, odd_values, mapping, None))


def test__even_kernel_at_n1__keeps_the_release_behaviour():
    kernel = aa.Array2D.no_mask(values=np.ones((4, 4)), pixel_scales=0.1)
    with pytest.raises(aa.exc.KernelException, match="must be odd"):
        aa.Convolver(kernel=kernel, use_fft=False)
    assert aa.Convolver(kernel=kernel, use_fft=True).kernel.shape_native == (4, 4)


def test__guard__even_kernel_with_fft_at_n1_does_not_raise():
    kernel = aa.Array2D.no_mask(values=np.ones((4, 4)), pixel_scales=0.1)
    conv = aa.Convolver(kernel=kernel, use_fft=True, convolve_over_sample_size=1)
    assert conv.convolve_over_sample_size == 1


def test__guard__native_mask_values_raise_pixel_scale_exception():
    N = 2
    conv = convolver_from((7, 7), N)
    native_mask = native_mask_from("circular")
    native_blurring_mask = native_mask.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    image = aa.Array2D(values=random_values(0, native_mask.pixels_in_mask), mask=native_mask)
    blurring = aa.Array2D(
        values=random_values(1, native_blurring_mask.pixels_in_mask), mask=native_blurring_mask
    )
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_image_from(image=image, blurring_image=blurring, xp=np)
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_image_via_real_space_np_from(image=image, blurring_image=blurring)
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_mapping_matrix_from(
            mapping_matrix=random_values(2, native_mask.pixels_in_mask, 3),
            mask=native_mask,
            xp=np,
        )


def test__guard__kernel_at_native_scale_with_fine_mask_raises_pixel_scale_exception():
    N = 2
    kernel = aa.Array2D.no_mask(
        values=fine_kernel_values_from((7, 7), N), pixel_scales=NATIVE_PIXEL_SCALE
    )
    conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=N)
    native_mask = native_mask_from("rectangle")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (7, 7))
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_image_from(
            image=aa.Array2D(values=random_values(0, fine_mask.pixels_in_mask), mask=fine_mask),
            blurring_image=aa.Array2D(
                values=random_values(1, fine_blurring_mask.pixels_in_mask),
                mask=fine_blurring_mask,
            ),
            xp=np,
        )


def test__guard__fine_mask_that_is_not_an_upscaled_native_mask_raises():
    N = 2
    conv = convolver_from((7, 7), N)
    # A circular mask built directly at the fine scale: its pixels do not come in 2x2 blocks.
    not_blocky = aa.Mask2D.circular(
        shape_native=(42, 42), pixel_scales=NATIVE_PIXEL_SCALE / N, radius=1.03
    )
    assert not np.array_equal(
        np.kron(np.asarray(not_blocky)[::2, ::2], np.ones((2, 2), dtype=bool)),
        np.asarray(not_blocky),
    )
    blurring_mask = not_blocky.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    image = aa.Array2D(values=random_values(0, not_blocky.pixels_in_mask), mask=not_blocky)
    blurring = aa.Array2D(values=random_values(1, blurring_mask.pixels_in_mask), mask=blurring_mask)
    with pytest.raises(aa.exc.KernelException, match=r"\(42, 42\)"):
        conv.convolved_image_from(image=image, blurring_image=blurring, xp=np)
    with pytest.raises(aa.exc.KernelException, match=r"\(42, 42\)"):
        conv.convolved_mapping_matrix_from(
            mapping_matrix=random_values(2, not_blocky.pixels_in_mask, 2),
            mask=not_blocky,
            xp=np,
        )

    # A shape that is not a multiple of N.
    odd_shape = aa.Mask2D.circular(
        shape_native=(41, 42), pixel_scales=NATIVE_PIXEL_SCALE / N, radius=1.03
    )
    odd_blurring = odd_shape.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    with pytest.raises(aa.exc.KernelException, match=r"\(41, 42\)"):
        conv.convolved_image_from(
            image=aa.Array2D(values=random_values(0, odd_shape.pixels_in_mask), mask=odd_shape),
            blurring_image=aa.Array2D(
                values=random_values(1, odd_blurring.pixels_in_mask), mask=odd_blurring
            ),
            xp=np,
        )


@pytest.mark.parametrize("rows_delta", [-1, 1])
def test__guard__mapping_matrix_with_wrong_number_of_rows_raises(rows_delta):
    c = setup_case("circular", 2, (7, 7))
    wrong = random_values(0, c["fine_mask"].pixels_in_mask + rows_delta, 3)
    with pytest.raises(aa.exc.KernelException, match="rows"):
        c["convolver"].convolved_mapping_matrix_from(
            mapping_matrix=wrong, mask=c["fine_mask"], xp=np
        )
    with pytest.raises(aa.exc.KernelException, match="rows"):
        c["convolver"].convolved_mapping_matrix_via_real_space_np_from(
            mapping_matrix=wrong, mask=c["fine_mask"]
        )


def test__guard__native_length_mapping_matrix_on_fine_mask_raises():
    c = setup_case("circular", 2, (7, 7))
    native_rows = random_values(0, c["native_mask"].pixels_in_mask, 3)
    with pytest.raises(aa.exc.KernelException, match="rows"):
        c["convolver"].convolved_mapping_matrix_from(
            mapping_matrix=native_rows, mask=c["fine_mask"], xp=np
        )


def test__guard__blurring_values_on_the_wrong_blurring_region_raise():
    """Values on the native blurring mask upscaled (a larger region) are refused with a clear exception."""
    c = setup_case("circular", 2, (7, 7))
    upscaled_native_blurring = over_sample_util.mask_2d_upscaled_from(
        c["native_mask"].derive_mask.blurring_from(
            kernel_shape_native=c["convolver"].footprint_shape_native
        ),
        2,
    )
    assert upscaled_native_blurring.pixels_in_mask != c["fine_blurring_mask"].pixels_in_mask
    wrong = aa.Array2D(
        values=random_values(5, upscaled_native_blurring.pixels_in_mask),
        mask=upscaled_native_blurring,
    )
    image = aa.Array2D(values=c["image"], mask=c["fine_mask"])
    with pytest.raises(aa.exc.KernelException, match="fine blurring region"):
        c["convolver"].convolved_image_from(image=image, blurring_image=wrong)
    with pytest.raises(aa.exc.KernelException, match="fine blurring region"):
        c["convolver"].convolved_mapping_matrix_from(
            mapping_matrix=c["mapping"],
            mask=c["fine_mask"],
            blurring_mapping_matrix=random_values(6, upscaled_native_blurring.pixels_in_mask, 5),
        )


def test__fine_frame_covers_the_mask_and_kernel_not_the_whole_image():
    """A small mask in a large image: the fine FFT frame is sized by the mask's bounding box and the kernel."""
    native_mask = aa.Mask2D.circular(shape_native=(60, 60), pixel_scales=0.2, radius=0.6)
    N, kernel_shape = 2, (7, 7)
    conv = convolver_from(kernel_shape, N)
    fine_mask = over_sample_util.mask_2d_upscaled_from(native_mask, N)
    ys, xs = np.where(~np.asarray(fine_mask))
    bbox = (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    state = conv.state_from(mask=fine_mask)
    # bounding box + kernel reach on both sides + the linear-convolution padding, rounded up to a fast FFT size
    for axis in (0, 1):
        assert state.fft_shape[axis] <= 2 * (bbox[axis] + 2 * (kernel_shape[axis] - 1))
        assert state.fft_shape[axis] < fine_mask.shape_native[axis] / 2
    # and the result is still the brute force
    fine_blurring_mask = fine_mask.derive_mask.blurring_from(kernel_shape_native=kernel_shape)
    image = random_values(1, fine_mask.pixels_in_mask)
    blurring = random_values(2, fine_blurring_mask.pixels_in_mask)
    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
    )
    expected = brute_force_native(
        native_mask, N, fine_kernel_values_from(kernel_shape, N), image, blurring
    )
    assert np.max(np.abs(result.array - expected)) <= RTOL_PEAK * np.max(np.abs(expected))


def test__guards_do_not_fire_at_n1():
    conv = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=fine_kernel_values_from((7, 7), 1), pixel_scales=0.2),
        convolve_over_sample_size=1,
    )
    mask = native_mask_from("circular")
    blurring_mask = mask.derive_mask.blurring_from(kernel_shape_native=(7, 7))
    image = random_values(0, mask.pixels_in_mask)
    blurring = random_values(1, blurring_mask.pixels_in_mask)
    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=mask),
        blurring_image=aa.Array2D(values=blurring, mask=blurring_mask),
        xp=np,
    )
    assert_close_to_peak(
        result.array,
        brute_force_native(mask, 1, fine_kernel_values_from((7, 7), 1), image, blurring),
    )


# ----------------------------------------------------------------------------------------------------------------------
# Cached state hygiene
# ----------------------------------------------------------------------------------------------------------------------


def test__cached_state__is_used_only_for_its_own_mask():
    """The same Convolver with mask A, then B (same shape, other pixels), then A again: each answer is right."""
    N = 2
    kernel_shape = (9, 5)
    conv = convolver_from(kernel_shape, N)
    kernel_values = fine_kernel_values_from(kernel_shape, N)

    mask_a = native_mask_from("circular")
    mask_b_values = np.ones((21, 21), dtype=bool)
    mask_b_values[3:12, 8:19] = False
    mask_b = aa.Mask2D(mask=mask_b_values, pixel_scales=NATIVE_PIXEL_SCALE)
    assert mask_a.shape_native == mask_b.shape_native

    def run(native_mask, seed):
        fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)
        image = random_values(seed, fine_mask.pixels_in_mask)
        blurring = random_values(seed + 1, fine_blurring_mask.pixels_in_mask)
        mapping = random_values(seed + 2, fine_mask.pixels_in_mask, 3)
        result = conv.convolved_image_from(
            image=aa.Array2D(values=image, mask=fine_mask),
            blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
            xp=np,
        )
        assert np.array_equal(np.asarray(result.mask), np.asarray(native_mask))
        assert_close_to_peak(
            result.array, brute_force_native(native_mask, N, kernel_values, image, blurring)
        )
        result_mm = conv.convolved_mapping_matrix_from(
            mapping_matrix=mapping, mask=fine_mask, xp=np
        )
        assert_close_to_peak(
            result_mm, brute_force_native(native_mask, N, kernel_values, mapping, None)
        )

    run(mask_a, 0)
    run(mask_b, 10)
    run(mask_a, 20)

    # the same boolean values at another origin: the result must be on the new mask, not the cached one
    mask_a_shifted = aa.Mask2D(
        mask=np.asarray(mask_a), pixel_scales=NATIVE_PIXEL_SCALE, origin=(0.4, -0.2)
    )
    run(mask_a_shifted, 30)
    fine_shifted, _ = fine_masks_from(mask_a_shifted, N, kernel_shape)
    result = conv.convolved_mapping_matrix_from(
        mapping_matrix=random_values(40, fine_shifted.pixels_in_mask, 1), mask=fine_shifted, xp=np
    )
    assert result.shape == (mask_a.pixels_in_mask, 1)
    with pytest.warns(UserWarning, match="No blurring_image"):
        image = conv.convolved_image_from(
            image=aa.Array2D(values=random_values(41, fine_shifted.pixels_in_mask), mask=fine_shifted),
            blurring_image=None,
            xp=np,
        )
    assert image.mask.origin == (0.4, -0.2)


def test__cached_state__same_values_different_origin_or_pixel_scale_is_rebuilt():
    """A cached state must not survive a change of mask that keeps the boolean values (pixel scale mismatch)."""
    N = 2
    conv = convolver_from((7, 7), N)
    native_mask = native_mask_from("rectangle")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (7, 7))
    image = aa.Array2D(values=random_values(0, fine_mask.pixels_in_mask), mask=fine_mask)
    blurring = aa.Array2D(
        values=random_values(1, fine_blurring_mask.pixels_in_mask), mask=fine_blurring_mask
    )
    conv.convolved_image_from(image=image, blurring_image=blurring, xp=np)

    # The same boolean fine values but at the native pixel scale: must be rejected, not served from the cache.
    wrong_scale = aa.Mask2D(mask=np.asarray(fine_mask), pixel_scales=NATIVE_PIXEL_SCALE)
    wrong_blurring = aa.Mask2D(mask=np.asarray(fine_blurring_mask), pixel_scales=NATIVE_PIXEL_SCALE)
    with pytest.raises(aa.exc.KernelException, match="pixel scale"):
        conv.convolved_image_from(
            image=aa.Array2D(values=image.array, mask=wrong_scale),
            blurring_image=aa.Array2D(values=blurring.array, mask=wrong_blurring),
            xp=np,
        )


def test__cached_state__jax_fft_with_two_masks():
    N = 2
    kernel_shape = (7, 7)
    conv = convolver_from(kernel_shape, N, use_fft=True)
    kernel_values = fine_kernel_values_from(kernel_shape, N)
    mask_a = native_mask_from("circular")
    mask_b_values = np.ones((21, 21), dtype=bool)
    mask_b_values[6:16, 2:9] = False
    mask_b = aa.Mask2D(mask=mask_b_values, pixel_scales=NATIVE_PIXEL_SCALE)

    for native_mask, seed in [(mask_a, 0), (mask_b, 5), (mask_a, 9)]:
        fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)
        image = random_values(seed, fine_mask.pixels_in_mask)
        blurring = random_values(seed + 1, fine_blurring_mask.pixels_in_mask)
        result = conv.convolved_image_from(
            image=aa.Array2D(values=jnp.asarray(image), mask=fine_mask),
            blurring_image=aa.Array2D(values=jnp.asarray(blurring), mask=fine_blurring_mask),
            xp=jnp,
        )
        assert_close_to_peak(
            result.array, brute_force_native(native_mask, N, kernel_values, image, blurring)
        )


# ----------------------------------------------------------------------------------------------------------------------
# Constructors
# ----------------------------------------------------------------------------------------------------------------------


def test__from_gaussian__builds_fine_kernel_and_carries_n():
    conv = aa.Convolver.from_gaussian(
        shape_native=(9, 5),
        pixel_scales=NATIVE_PIXEL_SCALE / 2,
        sigma=0.1,
        normalize=True,
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

    default = aa.Convolver.from_gaussian(
        shape_native=(9, 5), pixel_scales=NATIVE_PIXEL_SCALE, sigma=0.1
    )
    assert default.convolve_over_sample_size == 1


def test__normalized__keeps_n_and_leaves_original_untouched():
    N = 3
    kernel_values = fine_kernel_values_from((9, 5), N)
    conv = convolver_from((9, 5), N, kernel_values=kernel_values.copy())
    original_sum = float(np.sum(conv.kernel.native.array))
    assert abs(original_sum - 1.0) > 0.1

    normalized = conv.normalized

    assert normalized.convolve_over_sample_size == N
    assert normalized.kernel.pixel_scales == conv.kernel.pixel_scales
    assert np.sum(normalized.kernel.native.array) == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_array_equal(conv.kernel.native.array, kernel_values)
    assert conv.convolve_over_sample_size == N

    native_mask = native_mask_from("rectangle")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (9, 5))
    image = random_values(0, fine_mask.pixels_in_mask)
    blurring = random_values(1, fine_blurring_mask.pixels_in_mask)
    result = normalized.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
        xp=np,
    )
    assert_close_to_peak(
        result.array,
        brute_force_native(native_mask, N, kernel_values / np.sum(kernel_values), image, blurring),
    )


@pytest.mark.parametrize("N", [2, 3])
def test__no_blur__is_plain_binning(N):
    conv = aa.Convolver.no_blur(
        pixel_scales=NATIVE_PIXEL_SCALE / N, convolve_over_sample_size=N
    )
    assert conv.convolve_over_sample_size == N
    assert conv.kernel.pixel_scales == pytest.approx(
        (NATIVE_PIXEL_SCALE / N, NATIVE_PIXEL_SCALE / N), rel=1e-15
    )
    native_mask = native_mask_from("edge")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, conv.kernel.shape_native)
    image = random_values(7, fine_mask.pixels_in_mask)
    blurring = random_values(8, fine_blurring_mask.pixels_in_mask)
    result = conv.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
        xp=np,
    )
    np.testing.assert_allclose(
        result.array, block_mean_by_hand(native_mask, N, image), rtol=1e-13, atol=1e-14
    )


def test__from_fits__round_trip_keeps_n(tmp_path):
    N = 2
    conv = aa.Convolver.from_gaussian(
        shape_native=(9, 7),
        pixel_scales=NATIVE_PIXEL_SCALE / N,
        sigma=0.1,
        centre=(0.02, 0.01),
        axis_ratio=0.7,
        angle=30.0,
        normalize=True,
        convolve_over_sample_size=N,
    )
    file_path = tmp_path / "psf.fits"
    try:
        values_for_fits = conv.kernel.native_for_fits
    except KeyError:
        # autoarray's own config has no visualize/plots/fits_are_zoomed (nor does the pristine release); it comes
        # with autogalaxy's config. native_for_fits is then plain .native (fits_are_zoomed is false there).
        values_for_fits = conv.kernel.native
    aa.output_to_fits(values=values_for_fits, file_path=file_path)

    loaded = aa.Convolver.from_fits(
        file_path=file_path,
        hdu=0,
        pixel_scales=NATIVE_PIXEL_SCALE / N,
        convolve_over_sample_size=N,
    )
    assert loaded.convolve_over_sample_size == N
    assert loaded.kernel.shape_native == (9, 7)
    assert loaded.kernel.pixel_scales == pytest.approx((0.1, 0.1), rel=1e-15)
    np.testing.assert_allclose(
        loaded.kernel.native.array, conv.kernel.native.array, rtol=1e-15, atol=0.0
    )

    loaded_normalized = aa.Convolver.from_fits(
        file_path=file_path,
        hdu=0,
        pixel_scales=NATIVE_PIXEL_SCALE / N,
        normalize=True,
        convolve_over_sample_size=N,
    )
    assert loaded_normalized.convolve_over_sample_size == N

    loaded_default = aa.Convolver.from_fits(
        file_path=file_path, hdu=0, pixel_scales=NATIVE_PIXEL_SCALE / N
    )
    assert loaded_default.convolve_over_sample_size == 1

    native_mask = native_mask_from("annulus")
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, (9, 7))
    image = random_values(0, fine_mask.pixels_in_mask)
    blurring = random_values(1, fine_blurring_mask.pixels_in_mask)
    result = loaded.convolved_image_from(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
        xp=np,
    )
    assert_close_to_peak(
        result.array,
        brute_force_native(native_mask, N, conv.kernel.native.array, image, blurring),
    )


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
        ((1, 1), 3, (1, 1)),
    ],
)
def test__footprint_shape_native(kernel_shape, N, expected):
    kernel = aa.Array2D.no_mask(
        values=np.ones(kernel_shape), pixel_scales=NATIVE_PIXEL_SCALE / N
    )
    conv = aa.Convolver(kernel=kernel, convolve_over_sample_size=N)
    assert tuple(conv.footprint_shape_native) == expected


@pytest.mark.parametrize("mask_name, N, kernel_shape", CASES, ids=CASE_IDS)
def test__footprint_shape_native__native_blurring_mask_covers_fine_blurring_region(
    mask_name, N, kernel_shape
):
    """
    The native pixels that contain a fine blurring pixel are exactly the native blurring region of a kernel of
    the footprint shape.
    """
    native_mask = native_mask_from(mask_name)
    conv = convolver_from(kernel_shape, N)
    _, fine_blurring_mask = fine_masks_from(native_mask, N, kernel_shape)
    H, W = native_mask.shape_native
    touched = (~np.asarray(fine_blurring_mask)).reshape(H, N, W, N).any(axis=(1, 3))
    native_blurring = native_mask.derive_mask.blurring_from(
        kernel_shape_native=conv.footprint_shape_native
    )
    assert np.array_equal(touched, ~np.asarray(native_blurring))


def test__cached_state__another_mask_does_not_displace_the_state_built_for_the_dataset():
    """A plot's padded frame gets its own state; the dataset's state, built at set-up, stays cached and reused."""
    a = setup_case("circular", 2, (7, 7))
    b = setup_case("rectangle", 2, (7, 7))
    conv = a["convolver"]
    state_a = conv.state_from(mask=a["fine_mask"])
    state_b = conv.state_from(mask=b["fine_mask"])
    assert state_b is not state_a
    assert conv.state_from(mask=a["fine_mask"]) is state_a
    assert conv.state_from(mask=b["fine_mask"]) is state_b


def test__dataset_normalising_the_kernel_never_reuses_a_state_built_before():
    """
    Imaging normalises its PSF's kernel in place. A fine state the PSF cached before (with the FFT of the
    unnormalised kernel) must not be reused: the JAX FFT path would return a blur scaled by the kernel's old sum.
    """
    native_mask = native_mask_from("circular")
    N, shape = 2, (7, 7)
    kernel_values = fine_kernel_values_from(shape, N) * 85.0
    psf = aa.Convolver(
        kernel=aa.Array2D.no_mask(values=kernel_values, pixel_scales=NATIVE_PIXEL_SCALE / N),
        use_fft=True,
        convolve_over_sample_size=N,
    )
    fine_mask, fine_blurring_mask = fine_masks_from(native_mask, N, shape)
    image = random_values(1, fine_mask.pixels_in_mask)
    blurring = random_values(2, fine_blurring_mask.pixels_in_mask)
    arrays = dict(
        image=aa.Array2D(values=image, mask=fine_mask),
        blurring_image=aa.Array2D(values=blurring, mask=fine_blurring_mask),
    )
    psf.convolved_image_from(**arrays, xp=jnp)  # caches a state with the unnormalised kernel

    dataset = aa.Imaging(
        data=aa.Array2D.no_mask(values=np.ones(native_mask.shape_native), pixel_scales=NATIVE_PIXEL_SCALE),
        noise_map=aa.Array2D.no_mask(values=np.ones(native_mask.shape_native), pixel_scales=NATIVE_PIXEL_SCALE),
        psf=psf,
        over_sample_size_lp=2,
        over_sample_size_pixelization=2,
        convolve_over_sample_size_lp=N,
        convolve_over_sample_size_pixelization=N,
    )
    result = dataset.psf.convolved_image_from(**arrays, xp=jnp)
    expected = brute_force_native(native_mask, N, kernel_values / kernel_values.sum(), image, blurring)
    assert np.max(np.abs(np.asarray(result.array) - expected)) <= RTOL_PEAK * np.max(np.abs(expected))


def test__binned_image_keeps_the_origin_of_its_input_and_the_native_pixel_scale():
    """The native mask of a result carries the input's (possibly offset) origin and the exact native pixel scale."""
    native_mask = aa.Mask2D.circular(shape_native=(15, 15), pixel_scales=0.11, radius=0.5)
    N = 5
    conv = aa.Convolver.from_gaussian(
        shape_native=(11, 11), pixel_scales=0.11 / N, sigma=0.05, normalize=True, convolve_over_sample_size=N
    )
    fine_mask = over_sample_util.mask_2d_upscaled_from(native_mask, N)
    shifted = aa.Mask2D(mask=np.asarray(fine_mask), pixel_scales=fine_mask.pixel_scales, origin=(0.3, -0.2))
    blurring_mask = shifted.derive_mask.blurring_from(kernel_shape_native=(11, 11))
    result = conv.convolved_image_from(
        image=aa.Array2D(values=np.ones(shifted.pixels_in_mask), mask=shifted),
        blurring_image=aa.Array2D(values=np.ones(blurring_mask.pixels_in_mask), mask=blurring_mask),
    )
    assert result.mask.origin == (0.3, -0.2)
    assert result.mask.pixel_scales == (0.11, 0.11)
    assert np.array_equal(np.asarray(result.mask), np.asarray(native_mask))


# ----------------------------------------------------------------------------------------------------------------------
# Phase kernels (the polyphase form of a fine kernel)
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("kernel_shape", [(9, 9), (7, 11), (3, 3)])
def test__phase_kernel_values__are_the_binned_blur_of_a_unit_value_at_each_phase(n, kernel_shape):
    """
    A unit value in the fine pixel of phase (a, b) of a native pixel, convolved on a full fine frame with
    `convolve2d` and block-meaned: its native image around that pixel is the phase kernel, and nothing lies outside
    the phase kernel's footprint.
    """
    kernel = np.random.default_rng(1).random(kernel_shape)
    phase_kernels = aa.Convolver.phase_kernel_values_from(values=kernel, factor=n)
    footprint = tuple(2 * int(np.ceil((size // 2) / n)) + 1 for size in kernel_shape)
    assert phase_kernels.shape == (n * n,) + footprint

    reach = 6
    size = 2 * reach + 1
    ry, rx = footprint[0] // 2, footprint[1] // 2
    for a in range(n):
        for b in range(n):
            frame = np.zeros((size * n, size * n))
            frame[reach * n + a, reach * n + b] = 1.0
            binned = convolve2d(frame, kernel, mode="same").reshape(size, n, size, n).mean(axis=(1, 3))
            around = binned[reach - ry : reach + ry + 1, reach - rx : reach + rx + 1]
            np.testing.assert_allclose(phase_kernels[a * n + b], around, rtol=0.0, atol=1e-15)
            assert abs(binned.sum() - around.sum()) < 1e-14


def test__phase_and_coarse_kernels_of_an_even_kernel__kernel_exception():
    for function in (aa.Convolver.phase_kernel_values_from, aa.Convolver.coarse_kernel_values_from):
        with pytest.raises(aa.exc.KernelException, match="has no centre pixel"):
            function(values=np.ones((4, 5)), factor=2)
