"""Differential scenarios for ``Imaging``, its ``apply_*`` methods and ``GridsDataset``."""
from differential.registry import scenario


def _imaging(over_sample_size_lp=2, over_sample_size_pixelization=2):
    import numpy as np
    import autoarray as aa

    shape = (24, 22)
    rng = np.random.default_rng(3)
    data = aa.Array2D.no_mask(values=rng.normal(size=shape) + 3.0, pixel_scales=0.2)
    noise_map = aa.Array2D.no_mask(values=rng.uniform(0.5, 1.5, size=shape), pixel_scales=0.2)
    psf = aa.Convolver.from_gaussian(shape_native=(5, 5), pixel_scales=0.2, sigma=0.25)
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=over_sample_size_lp,
        over_sample_size_pixelization=over_sample_size_pixelization,
    )
    mask = aa.Mask2D.circular(shape_native=shape, pixel_scales=0.2, radius=1.6)
    return aa, np, dataset, mask


def _dataset_outputs(dataset, prefix=""):
    out = {
        f"{prefix}data": dataset.data,
        f"{prefix}noise_map": dataset.noise_map,
        f"{prefix}psf_kernel": dataset.psf.kernel.native,
        f"{prefix}over_sample_size_lp": dataset.over_sample_size_lp,
        f"{prefix}over_sample_size_pixelization": dataset.over_sample_size_pixelization,
        f"{prefix}mask": dataset.mask,
    }
    return out


def _grids_outputs(dataset, prefix="grids_"):
    grids = dataset.grids
    relocator = grids.border_relocator
    return {
        f"{prefix}lp": grids.lp,
        f"{prefix}lp_over_sampled": grids.lp.over_sampled,
        f"{prefix}pixelization": grids.pixelization,
        f"{prefix}pixelization_over_sampled": grids.pixelization.over_sampled,
        f"{prefix}blurring": grids.blurring,
        f"{prefix}border_slim": relocator.border_slim,
        f"{prefix}sub_border_slim": relocator.sub_border_slim,
        f"{prefix}relocated": relocator.relocated_grid_from(grid=grids.pixelization),
    }


@scenario("imaging_init_and_apply_mask")
def imaging_init_and_apply_mask():
    aa, np, dataset, mask = _imaging()
    masked = dataset.apply_mask(mask=mask)
    state = masked.psf._state
    out = {**_dataset_outputs(dataset, "unmasked_"), **_dataset_outputs(masked, "masked_")}
    out["masked_state_fft_shape"] = np.array(state.fft_shape)
    out["masked_state_blurring_mask"] = state.blurring_mask
    out["masked_psf_use_fft"] = np.array(masked.psf._use_fft is None)
    return out


@scenario("imaging_grids_dataset")
def imaging_grids_dataset():
    aa, np, dataset, mask = _imaging(over_sample_size_lp=3, over_sample_size_pixelization=2)
    masked = dataset.apply_mask(mask=mask)
    return _grids_outputs(masked)


@scenario("imaging_from_fits")
def imaging_from_fits():
    import os
    import tempfile

    aa, np, dataset, mask = _imaging()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, f"{k}.fits") for k in ("data", "noise_map", "psf")}
        aa.output_to_fits(values=dataset.data.native_for_fits, file_path=paths["data"])
        aa.output_to_fits(values=dataset.noise_map.native_for_fits, file_path=paths["noise_map"])
        aa.output_to_fits(values=dataset.psf.kernel.native_for_fits, file_path=paths["psf"])
        loaded = aa.Imaging.from_fits(
            pixel_scales=0.2,
            data_path=paths["data"],
            noise_map_path=paths["noise_map"],
            psf_path=paths["psf"],
            over_sample_size_lp=2,
            over_sample_size_pixelization=1,
        )
        loaded = loaded.apply_mask(mask=mask)
    return {**_dataset_outputs(loaded), **_grids_outputs(loaded)}


@scenario("imaging_apply_over_sampling_uniform")
def imaging_apply_over_sampling_uniform():
    aa, np, dataset, mask = _imaging()
    masked = dataset.apply_mask(mask=mask).apply_over_sampling(over_sample_size_lp=4, over_sample_size_pixelization=3)
    return {**_dataset_outputs(masked), **_grids_outputs(masked)}


@scenario("imaging_apply_over_sampling_adaptive")
def imaging_apply_over_sampling_adaptive():
    aa, np, dataset, mask = _imaging()
    masked = dataset.apply_mask(mask=mask)
    adaptive = aa.util.over_sample.over_sample_size_via_radial_bins_from(
        grid=masked.grid, sub_size_list=[6, 4, 2], radial_list=[0.4, 0.8]
    )
    resampled = masked.apply_over_sampling(over_sample_size_lp=adaptive, over_sample_size_pixelization=adaptive)
    return {**_dataset_outputs(resampled), **_grids_outputs(resampled)}


@scenario("imaging_apply_noise_scaling")
def imaging_apply_noise_scaling():
    aa, np, dataset, mask = _imaging()
    inner = aa.Mask2D.circular(shape_native=mask.shape_native, pixel_scales=0.2, radius=0.5)
    scaled = dataset.apply_noise_scaling(mask=inner, noise_value=1e6)
    scaled_snr = dataset.apply_noise_scaling(mask=inner, signal_to_noise_value=2.0, should_zero_data=False)
    masked = scaled.apply_mask(mask=mask)
    return {
        **_dataset_outputs(scaled, "value_"),
        **_dataset_outputs(scaled_snr, "snr_"),
        **_dataset_outputs(masked, "masked_"),
    }


@scenario("imaging_apply_sparse_operator")
def imaging_apply_sparse_operator():
    aa, np, dataset, mask = _imaging()
    sparse = dataset.apply_mask(mask=mask).apply_sparse_operator(batch_size=32)
    op = sparse.sparse_operator
    out = _dataset_outputs(sparse)
    for name in ("inverse_variances_native", "Khat_r", "Khat_flip_r", "col_offsets"):
        value = np.asarray(getattr(op, name))
        if np.iscomplexobj(value):
            out[f"op_{name}_real"], out[f"op_{name}_imag"] = value.real, value.imag
        else:
            out[f"op_{name}"] = value
    out["op_fft_shape"] = np.array(op.fft_shape)
    return out


@scenario("imaging_apply_sparse_operator_cpu")
def imaging_apply_sparse_operator_cpu():
    aa, np, dataset, mask = _imaging()
    sparse = dataset.apply_mask(mask=mask).apply_sparse_operator_cpu()
    op = sparse.sparse_operator
    out = _dataset_outputs(sparse)
    out["op_psf_precision_operator_sparse"] = op.psf_precision_operator_sparse
    out["op_indexes"] = op.indexes
    out["op_lengths"] = op.lengths
    return out
