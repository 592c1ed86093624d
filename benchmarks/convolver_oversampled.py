"""
Benchmark: oversampled PSF convolution, time and peak memory at N = 1, 2 and 4.

The scene of the acceptance criterion: a 100 x 100 image at 0.1" per pixel, a 3.0" circular mask, a Gaussian PSF
reaching 10 native pixels from its centre at every N (a (20N + 1)^2 fine kernel: 21x21, 41x41, 81x81), and a 32 x 32
rectangular mesh (1024 source pixels) with over_sample_size_pixelization = 4.

For each N, in a fresh process, it measures on the numpy path:

- the operated (blurred) mapping matrix of the inversion (`inversion.operated_mapping_matrix`): wall time (best of
  3) and peak memory allocated while forming it (tracemalloc: numpy buffers; untracked C scratch space excluded);
- one blurred light-profile image (`Convolver.convolved_image_from` on the fine grids): wall time (best of 5);
- the log likelihood of an autogalaxy `FitImaging` of a Sersic bulge and exponential disk (over_sample_size_lp = 4,
  so every N evaluates the same 16 samples per native pixel): numpy wall time (best of 3) and `jax.jit` wall time
  (best of 10 after compilation).

It prints a table with ratios to N = 1. It is a benchmark, not a test: it asserts nothing.

    .venv/bin/python benchmarks/convolver_oversampled.py          (or: make bench)
"""
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np


def measure(n: int) -> dict:
    import autoarray as aa

    shape, pixel_scale = (100, 100), 0.1
    rng = np.random.default_rng(1)
    data = aa.Array2D.no_mask(values=rng.normal(size=shape) + 1.0, pixel_scales=pixel_scale)
    noise_map = aa.Array2D.no_mask(values=np.ones(shape), pixel_scales=pixel_scale)
    psf = aa.Convolver.from_gaussian(
        shape_native=(20 * n + 1, 20 * n + 1),
        pixel_scales=pixel_scale / n,
        sigma=0.2,
        normalize=True,
        convolve_over_sample_size=n,
    )
    mask = aa.Mask2D.circular(shape_native=shape, pixel_scales=pixel_scale, radius=3.0)
    dataset = aa.Imaging(
        data=data,
        noise_map=noise_map,
        psf=psf,
        over_sample_size_lp=4,
        over_sample_size_pixelization=4,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=mask)

    mesh = aa.mesh.RectangularUniform(shape=(32, 32))

    def operated_mapping_matrix():
        interpolator = mesh.interpolator_from(
            border_relocator=dataset.grids.border_relocator,
            source_plane_data_grid=dataset.grids.pixelization,
            source_plane_mesh_grid=None,
        )
        mapper = aa.Mapper(interpolator=interpolator, regularization=aa.reg.Constant(coefficient=1.0))
        mapper.mapping_matrix  # the native matrix exists at every N; it is not part of the convolution cost
        inversion = aa.Inversion(dataset=dataset, linear_obj_list=[mapper])
        return inversion, lambda: inversion.operated_mapping_matrix

    operated_mapping_matrix()[1]()  # warm up (imports, caches)
    times = []
    for _ in range(3):
        _, run = operated_mapping_matrix()
        start = time.perf_counter()
        blurred = run()
        times.append(time.perf_counter() - start)

    _, run = operated_mapping_matrix()
    tracemalloc.start()
    blurred = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    grid = dataset.grids.lp_oversampled if n > 1 else dataset.grids.lp
    blurring_grid = dataset.grids.lp_blurring_oversampled if n > 1 else dataset.grids.blurring
    image = aa.Array2D(values=np.exp(-np.sum(grid.array**2, axis=1)), mask=grid.mask)
    blurring_image = aa.Array2D(values=np.exp(-np.sum(blurring_grid.array**2, axis=1)), mask=blurring_grid.mask)
    image_times = []
    for _ in range(5):
        start = time.perf_counter()
        dataset.psf.convolved_image_from(image=image, blurring_image=blurring_image)
        image_times.append(time.perf_counter() - start)

    likelihood_np, likelihood_jax = likelihood_times(dataset)

    return {
        "likelihood_np_s": likelihood_np,
        "likelihood_jax_s": likelihood_jax,
        "n": n,
        "mapping_time_s": min(times),
        "mapping_peak_mb": peak / 1e6,
        "blurred_shape": list(blurred.shape),
        "image_time_s": min(image_times),
        "native_pixels": int(mask.pixels_in_mask),
        "kernel": list(psf.kernel.shape_native),
    }


def likelihood_times(dataset):
    import jax
    import jax.numpy as jnp

    import autogalaxy as ag

    def log_likelihood(intensity, xp):
        galaxy = ag.Galaxy(
            redshift=0.5,
            bulge=ag.lp.Sersic(
                centre=(0.01, 0.02), ell_comps=(0.1, 0.05), intensity=intensity, effective_radius=0.6, sersic_index=4.0
            ),
            disk=ag.lp.Exponential(centre=(0.01, 0.02), ell_comps=(-0.1, 0.1), intensity=0.3, effective_radius=1.2),
        )
        return ag.FitImaging(dataset=dataset, galaxies=[galaxy], xp=xp).log_likelihood

    times = []
    for _ in range(4):
        start = time.perf_counter()
        log_likelihood(1.0, np)
        times.append(time.perf_counter() - start)
    numpy_time = min(times[1:])

    jitted = jax.jit(lambda intensity: log_likelihood(intensity, jnp))
    jitted(1.0).block_until_ready()
    times = []
    for _ in range(10):
        start = time.perf_counter()
        jitted(1.0).block_until_ready()
        times.append(time.perf_counter() - start)
    return numpy_time, min(times)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]))))
        return
    results = []
    for n in (1, 2, 4):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)],
            capture_output=True,
            text=True,
            env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"),
        )
        if out.returncode != 0:
            print(out.stderr[-3000:])
            raise SystemExit(f"benchmark at N={n} failed")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = results[0]
    print(f"\nScene: 100x100 at 0.1\"/px, 3.0\" circular mask ({base['native_pixels']} pixels), "
          f"32x32 rectangular mesh (1024 source pixels), over_sample_size_pixelization=4, numpy path.\n")
    print("| N | fine kernel | operated mapping matrix: time | ratio | peak memory | ratio | blurred image: time | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']} | {r['kernel'][0]}x{r['kernel'][1]} | {r['mapping_time_s'] * 1e3:.0f} ms "
            f"| {r['mapping_time_s'] / base['mapping_time_s']:.2f} | {r['mapping_peak_mb']:.0f} MB "
            f"| {r['mapping_peak_mb'] / base['mapping_peak_mb']:.2f} | {r['image_time_s'] * 1e3:.1f} ms "
            f"| {r['image_time_s'] / base['image_time_s']:.2f} |"
        )
    print("\n| N | log likelihood, numpy | ratio | log likelihood, jax.jit | ratio |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['n']} | {r['likelihood_np_s'] * 1e3:.1f} ms | {r['likelihood_np_s'] / base['likelihood_np_s']:.2f} "
            f"| {r['likelihood_jax_s'] * 1e3:.2f} ms | {r['likelihood_jax_s'] / base['likelihood_jax_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
