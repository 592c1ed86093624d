"""
Benchmark: the cost and the accuracy of oversampled PSF convolution, side by side with the native path.

    make bench                                   (or: .venv/bin/python benchmarks/oversampled_psf.py)

It prints one table, writes it to `docs/benchmarks.md` (with the machine's CPU model and core count), the raw figures
to `docs/benchmarks.json`, and the accuracy-against-cost figure to `docs/accuracy_vs_cost.png`. It is a benchmark,
not a test: it asserts nothing about speed, it only measures and reports each target as met or missed.

__The standard scene__

- A 100 x 100 image at 0.1"/px with a 3.0" circular mask (2,821 pixels).
- Sersic light: n = 4, effective radius 0.5", centred 0.023" / -0.037" off a pixel centre.
- A Gaussian PSF, sigma 0.1", integrated over each (fine) pixel and normalised, on a kernel covering +-1" at every
  N: 21 x 21 at N = 1, 41 x 41 at N = 2, 81 x 81 at N = 4.
- Pixelized case: a lens with an isothermal mass and a 32 x 32 rectangular source mesh (1,024 source pixels),
  over_sample_size_pixelization = 4 at every setting.

__Settings__

(N, over_sample_size_lp) in (1, 4), (2, 4), (4, 4), (2, 8). With over_sample_size_lp = 4 every N evaluates the same
4 x 4 samples per native pixel (at N = 2 each fine pixel gets 2 x 2, at N = 4 one), so (1, 4), (2, 4) and (4, 4) have
the same evaluation budget and differ only in the convolution; (2, 8) spends 4 times the budget.

__Figures__ (each a median over repeats after a warm-up; jax figures exclude the compile)

1. `FitImaging.log_likelihood` of the Sersic scene, numpy and `jax.jit`.
2. `Convolver.convolved_image_from` of one Sersic image, the convolver state prepared once.
3. The convolved (operated) mapping matrix of the pixelized case: time, peak memory of forming it (tracemalloc:
   numpy buffers) and the process's maximum resident set (measured in a fresh process that does nothing else).
4. The pixelized fit's `log_evidence`, numpy, at N = 1 and 2.
5. Accuracy: max |model - exact| / peak for a Gaussian light profile (sigma 0.1", off-centre) blurred by the
   standard PSF, against the closed form (a product of erf differences per native pixel).
6. `docs/accuracy_vs_cost.png`: the accuracy of 5 against the `log_likelihood` time of 1, one point per setting.

Every timing is also given as a ratio to the (1, 4) figure of the same run, because absolute times on a shared
machine drift. Each setting is measured in its own process, single-threaded (numpy, BLAS and XLA), so the settings
do not share caches.
"""
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

SETTINGS = [(1, 4), (2, 4), (4, 4), (2, 8)]
PIXELIZED_SETTINGS = [(1, 4), (2, 4)]

SHAPE = (100, 100)
PIXEL_SCALE = 0.1
MASK_RADIUS = 3.0
PSF_SIGMA = 0.1
PSF_HALF_WIDTH = 1.0  # arcsec, at every N
OVER_SAMPLE_SIZE_PIXELIZATION = 4
SERSIC = dict(centre=(0.023, -0.037), ell_comps=(0.05, 0.1), intensity=1.0, effective_radius=0.5, sersic_index=4.0)
GAUSSIAN_SIGMA = 0.1
GAUSSIAN_CENTRE = (0.023, -0.037)

SINGLE_THREAD = dict(
    OMP_NUM_THREADS="1",
    OPENBLAS_NUM_THREADS="1",
    MKL_NUM_THREADS="1",
    NUMBA_NUM_THREADS="1",
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    JAX_PLATFORMS="cpu",
    JAX_ENABLE_X64="True",
    PYAUTO_SKIP_WORKSPACE_VERSION_CHECK="1",
)


# ---------------------------------------------------------------------------------------------------------------------
# The scene
# ---------------------------------------------------------------------------------------------------------------------


def pixel_integrated_gaussian_1d(n_pixels: int, pixel_scale: float, sigma: float, centre: float = 0.0):
    """The normalised 1D Gaussian N(centre, sigma) integrated over `n_pixels` pixels centred on the origin."""
    from scipy.special import erf

    edges = (np.arange(n_pixels + 1) - n_pixels / 2.0) * pixel_scale - centre
    return 0.5 * np.diff(erf(edges / (np.sqrt(2.0) * sigma)))


def psf_from(n: int):
    """The standard PSF at N: the Gaussian integrated over each pixel of size 0.1" / N, +-1", normalised."""
    import autoarray as aa

    size = 2 * int(round(PSF_HALF_WIDTH / PIXEL_SCALE)) * n + 1
    kernel_1d = pixel_integrated_gaussian_1d(size, PIXEL_SCALE / n, PSF_SIGMA)
    kernel = np.outer(kernel_1d, kernel_1d)
    kernel /= kernel.sum()
    return aa.Convolver(
        kernel=aa.Array2D.no_mask(values=kernel, pixel_scales=PIXEL_SCALE / n), convolve_over_sample_size=n
    )


def dataset_from(n: int, over_sample_size_lp: int, data=None):
    import autoarray as aa

    if data is None:
        data = np.random.default_rng(1).normal(size=SHAPE) + 1.0
    mask = aa.Mask2D.circular(shape_native=SHAPE, pixel_scales=PIXEL_SCALE, radius=MASK_RADIUS)
    return aa.Imaging(
        data=aa.Array2D.no_mask(values=data, pixel_scales=PIXEL_SCALE),
        noise_map=aa.Array2D.no_mask(values=np.ones(SHAPE), pixel_scales=PIXEL_SCALE),
        psf=psf_from(n),
        over_sample_size_lp=over_sample_size_lp,
        over_sample_size_pixelization=OVER_SAMPLE_SIZE_PIXELIZATION,
        convolve_over_sample_size_lp=n,
        convolve_over_sample_size_pixelization=n,
    ).apply_mask(mask=mask)


def median_time(function, repeats: int, warm_up: int = 1) -> float:
    for _ in range(warm_up):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------------------------------------------------------
# Measurements, one process per setting
# ---------------------------------------------------------------------------------------------------------------------


def measure_light(n: int, over_sample_size_lp: int) -> dict:
    """Figures 1, 2 and 5: likelihood times (numpy, jax.jit), one convolution, and the closed-form accuracy."""
    import jax
    import jax.numpy as jnp

    import autogalaxy as ag

    dataset = dataset_from(n, over_sample_size_lp)

    def log_likelihood(intensity, xp):
        galaxy = ag.Galaxy(redshift=0.5, bulge=ag.lp.Sersic(**dict(SERSIC, intensity=intensity)))
        return ag.FitImaging(dataset=dataset, galaxies=[galaxy], xp=xp).log_likelihood

    likelihood_np = median_time(lambda: log_likelihood(1.0, np), repeats=7, warm_up=2)

    jitted = jax.jit(lambda intensity: log_likelihood(intensity, jnp))
    jitted(1.0).block_until_ready()  # the compile
    likelihood_jax = median_time(lambda: jitted(1.0).block_until_ready(), repeats=20, warm_up=2)

    # Figure 2: the convolution alone, on the grids a fit uses, with the convolver state already prepared.
    sersic = ag.lp.Sersic(**SERSIC)
    grid = dataset.grids.lp_oversampled if n > 1 else dataset.grids.lp
    blurring_grid = dataset.grids.lp_blurring_oversampled if n > 1 else dataset.grids.blurring
    image = sersic.image_2d_from(grid=grid)
    blurring_image = sersic.image_2d_from(grid=blurring_grid)
    convolve = lambda: dataset.psf.convolved_image_from(image=image, blurring_image=blurring_image)
    convolve_time = median_time(convolve, repeats=20, warm_up=2)

    return dict(
        likelihood_np_s=likelihood_np,
        likelihood_jax_s=likelihood_jax,
        convolve_s=convolve_time,
        accuracy=closed_form_accuracy(n, over_sample_size_lp),
        kernel=list(dataset.psf.kernel.shape_native),
        pixels=int(dataset.mask.pixels_in_mask),
    )


def closed_form_accuracy(n: int, over_sample_size_lp: int) -> float:
    """
    Figure 5: a circular Gaussian light profile (sigma 0.1", off-centre) blurred by the standard PSF is a Gaussian of
    variance sigma_l^2 + sigma_p^2; its average over a native pixel is a product of two erf differences. Returns
    max |model - exact| / peak over the mask, the model being the fit's model image at this setting.
    """
    import autogalaxy as ag

    sigma_t = np.hypot(GAUSSIAN_SIGMA, PSF_SIGMA)
    intensity = 1.0
    flux = intensity * 2.0 * np.pi * GAUSSIAN_SIGMA**2  # ag.lp.Gaussian is intensity * exp(-r^2 / 2 sigma^2)
    # Rows run from +y to -y, columns from -x to +x (autoarray's convention).
    exact = (
        flux
        * np.outer(
            pixel_integrated_gaussian_1d(SHAPE[0], PIXEL_SCALE, sigma_t, -GAUSSIAN_CENTRE[0]),
            pixel_integrated_gaussian_1d(SHAPE[1], PIXEL_SCALE, sigma_t, GAUSSIAN_CENTRE[1]),
        )
        / PIXEL_SCALE**2
    )
    dataset = dataset_from(n, over_sample_size_lp, data=exact)
    galaxy = ag.Galaxy(
        redshift=0.5,
        light=ag.lp.Gaussian(centre=GAUSSIAN_CENTRE, intensity=intensity, sigma=GAUSSIAN_SIGMA),
    )
    fit = ag.FitImaging(dataset=dataset, galaxies=[galaxy])
    inside = ~np.asarray(dataset.mask)
    model = fit.model_data.native.array
    return float(np.abs(model - exact)[inside].max() / exact.max())


def measure_mapping(n: int, over_sample_size_lp: int) -> dict:
    """Figure 3: the operated mapping matrix, in a fresh process that does nothing else first."""
    import autolens as al

    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    dataset = dataset_from(n, over_sample_size_lp)
    tracer = pixelized_tracer()

    def operated_mapping_matrix():
        inversion = al.TracerToInversion(dataset=dataset, tracer=tracer).inversion
        mapper = inversion.linear_obj_list[0]
        mapper.mapping_matrix  # the native mapping matrix exists at every N; it is not the convolution's cost
        return inversion

    inversion = operated_mapping_matrix()
    rss_setup_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    tracemalloc.start()
    blurred = inversion.operated_mapping_matrix
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    del blurred, inversion

    times = []
    for _ in range(3):
        inversion = operated_mapping_matrix()
        start = time.perf_counter()
        inversion.operated_mapping_matrix
        times.append(time.perf_counter() - start)
    return dict(
        mapping_s=float(np.median(times)),
        mapping_tracemalloc_mb=peak / 1e6,
        mapping_max_rss_mb=rss_after_mb,
        mapping_rss_growth_mb=rss_after_mb - rss_setup_mb,
        rss_at_import_mb=rss_before_mb,
    )


def pixelized_tracer():
    import autolens as al

    lens = al.Galaxy(
        redshift=0.5, mass=al.mp.Isothermal(centre=(0.0, 0.0), einstein_radius=1.2, ell_comps=(0.1, 0.05))
    )
    source = al.Galaxy(
        redshift=1.0,
        pixelization=al.Pixelization(
            mesh=al.mesh.RectangularUniform(shape=(32, 32)), regularization=al.reg.Constant(coefficient=1.0)
        ),
    )
    return al.Tracer(galaxies=[lens, source])


def measure_evidence(n: int, over_sample_size_lp: int) -> dict:
    """Figure 4: a pixelized fit's log evidence, numpy, a fresh fit per call as in a search."""
    import autolens as al

    dataset = dataset_from(n, over_sample_size_lp)
    tracer = pixelized_tracer()
    evidence = lambda: al.FitImaging(dataset=dataset, tracer=tracer).log_evidence
    return dict(log_evidence_s=median_time(evidence, repeats=5, warm_up=1), log_evidence=float(evidence()))


MEASUREMENTS = {"light": measure_light, "mapping": measure_mapping, "evidence": measure_evidence}


def run_child(kind: str, n: int, over_sample_size_lp: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(over_sample_size_lp)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, **SINGLE_THREAD),
    )
    if out.returncode != 0:
        print(out.stderr[-4000:])
        raise SystemExit(f"benchmark '{kind}' at (N, over_sample_size_lp) = ({n}, {over_sample_size_lp}) failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------------

TARGETS = [
    ("`log_likelihood`, numpy, N = 2 (os 4)", "likelihood_np_s", (2, 4), 1.1),
    ("`log_likelihood`, numpy, N = 4 (os 4)", "likelihood_np_s", (4, 4), 2.5),
    ("`log_likelihood`, jax jit, N = 2 (os 4)", "likelihood_jax_s", (2, 4), 2.0),
    ("mapping-matrix peak memory (tracemalloc), N = 2", "mapping_tracemalloc_mb", (2, 4), 1.5),
    ("mapping-matrix peak memory (tracemalloc), N = 4", "mapping_tracemalloc_mb", (4, 4), 2.5),
    ("mapping-matrix maximum resident set, N = 2", "mapping_max_rss_mb", (2, 4), 1.5),
    ("mapping-matrix maximum resident set, N = 4", "mapping_max_rss_mb", (4, 4), 2.5),
    ("pixelized `log_evidence`, N = 2 (os 4)", "log_evidence_s", (2, 4), 2.5),
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(results: dict, elapsed_s: float) -> str:
    base = results[(1, 4)]

    def ratio(key, setting):
        return results[setting][key] / base[key]

    def ms(seconds):
        return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.2f} s"

    lines = [
        "# Benchmarks: oversampled PSF convolution against the native path",
        "",
        f"Written by `make bench` (`benchmarks/oversampled_psf.py`) on {time.strftime('%Y-%m-%d')}, in "
        f"{elapsed_s / 60:.1f} min. Machine: {cpu_model()}, {os.cpu_count()} cores; every figure single-threaded, "
        f"Python {platform.python_version()}, numpy {np.__version__}. Raw figures: `docs/benchmarks.json`.",
        "",
        'Scene: 100 x 100 at 0.1"/px, 3.0" circular mask '
        f"({base['pixels']} pixels); Sersic n = 4, R_eff 0.5\", off a pixel centre; Gaussian PSF sigma 0.1\" "
        "integrated over each fine pixel, kernel +-1\" at every N; pixelized case: isothermal lens, 32 x 32 "
        "rectangular source mesh (1,024 source pixels), over_sample_size_pixelization = 4. Times are medians "
        "after a warm-up (jax: after the compile); ratios are to (N, os) = (1, 4) of the same run.",
        "",
        "| N | os_lp | fine kernel | log_likelihood numpy | ratio | log_likelihood jax.jit | ratio "
        "| convolved_image_from | ratio | max\\|model - exact\\| / peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, r in results.items():
        lines.append(
            f"| {setting[0]} | {setting[1]} | {r['kernel'][0]}x{r['kernel'][1]} "
            f"| {ms(r['likelihood_np_s'])} | {ratio('likelihood_np_s', setting):.2f} "
            f"| {ms(r['likelihood_jax_s'])} | {ratio('likelihood_jax_s', setting):.2f} "
            f"| {ms(r['convolve_s'])} | {ratio('convolve_s', setting):.2f} | {r['accuracy']:.2e} |"
        )
    lines += [
        "",
        "| N | os_lp | operated mapping matrix | ratio | tracemalloc peak | ratio | max resident set | ratio "
        "| pixelized log_evidence | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, r in results.items():
        evidence = (
            f"{ms(r['log_evidence_s'])} | {ratio('log_evidence_s', setting):.2f}"
            if "log_evidence_s" in r
            else "- | -"
        )
        lines.append(
            f"| {setting[0]} | {setting[1]} | {ms(r['mapping_s'])} | {ratio('mapping_s', setting):.2f} "
            f"| {r['mapping_tracemalloc_mb']:.0f} MB | {ratio('mapping_tracemalloc_mb', setting):.2f} "
            f"| {r['mapping_max_rss_mb']:.0f} MB | {ratio('mapping_max_rss_mb', setting):.2f} | {evidence} |"
        )
    lines += ["", "| target | ratio | limit | |", "|---|---|---|---|"]
    for name, key, setting, limit in TARGETS:
        value = ratio(key, setting)
        lines.append(f"| {name} | {value:.2f} | <= {limit} | {'met' if value <= limit else 'MISSED'} |")
    lines += [
        "",
        "The maximum resident set is the whole process's (Python, numpy, the libraries and the dataset, "
        f"{base['rss_at_import_mb']:.0f} MB of it at import), measured in a process that only builds the dataset "
        "and forms the mapping matrix. The tracemalloc peak counts the numpy buffers allocated while forming it.",
        "",
        "![accuracy against cost](accuracy_vs_cost.png)",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for key, marker, label in (("likelihood_np_s", "o", "numpy"), ("likelihood_jax_s", "s", "jax.jit")):
        times = [r[key] * 1e3 for r in results.values()]
        errors = [r["accuracy"] for r in results.values()]
        axis.scatter(times, errors, marker=marker, label=f"log_likelihood, {label}")
        for (n, over_sample_size_lp), t, e in zip(results, times, errors):
            axis.annotate(f"N={n}, os={over_sample_size_lp}", (t, e), textcoords="offset points", xytext=(5, 4),
                          fontsize=8)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("log_likelihood time per call (ms, single thread)")
    axis.set_ylabel("max |model - exact| / peak")
    axis.set_title("Gaussian light * Gaussian PSF (sigma 0.1\"), 0.1\" pixels")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(DOCS / "accuracy_vs_cost.png", dpi=110)
    plt.close(figure)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(json.dumps(MEASUREMENTS[sys.argv[2]](int(sys.argv[3]), int(sys.argv[4]))))
        return
    start = time.perf_counter()
    results = {}
    for setting in SETTINGS:
        results[setting] = {}
        kinds = ["mapping", "light"] + (["evidence"] if setting in PIXELIZED_SETTINGS else [])
        for kind in kinds:
            print(f"measuring {kind:8s} at (N, os_lp) = {setting} ...", flush=True)
            results[setting].update(run_child(kind, *setting))
    elapsed = time.perf_counter() - start
    text = report(results, elapsed)
    print("\n" + text)
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.md").write_text(text)
    (DOCS / "benchmarks.json").write_text(
        json.dumps(
            {
                "cpu": cpu_model(),
                "cores": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d"),
                "elapsed_s": elapsed,
                "results": {f"N={n},os_lp={o}": r for (n, o), r in results.items()},
            },
            indent=2,
        )
        + "\n"
    )
    plot(results)
    print(f"\nwrote {DOCS / 'benchmarks.md'}, {DOCS / 'benchmarks.json'}, {DOCS / 'accuracy_vs_cost.png'}")


if __name__ == "__main__":
    main()
