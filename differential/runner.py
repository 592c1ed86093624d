"""
Run the differential scenarios in this process and save their outputs.

    python -m differential.runner --out outputs.npz [--only NAME ...] [--inject-ulp]

Run it once with the pristine release first on ``PYTHONPATH`` and once without; ``test_differential.py`` does both
and compares the files. ``--inject-ulp`` is the harness self-test: it wraps ``Convolver.convolved_image_from`` so that
the first value of every image it returns moves by one unit in the last place, a change the suite must catch.
"""
import argparse
import json
import sys
import traceback
import warnings

import numpy as np

SEP = "::"


def to_numpy(value):
    """Turn a scenario output (autoarray structure, jax array, scalar or nested list) into a numpy array."""
    if isinstance(value, np.ndarray):
        return value
    array = getattr(value, "array", None)
    if array is not None and not callable(array):
        return np.asarray(array)
    return np.asarray(value)


def inject_ulp():
    """Nudge the first value returned by ``Convolver.convolved_image_from`` by one ulp (harness self-test)."""
    from autoarray.operators import convolver as convolver_module

    original = convolver_module.Convolver.convolved_image_from

    def nudged(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        values = np.array(result.array, copy=True)
        values[0] = np.nextafter(values[0], np.inf)
        return type(result)(values=values, mask=result.mask)

    convolver_module.Convolver.convolved_image_from = nudged


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--inject-ulp", action="store_true")
    args = parser.parse_args(argv)

    from differential.registry import load_all

    scenarios = load_all()
    names = args.only if args.only else sorted(scenarios)

    import autoarray
    import autogalaxy
    import autolens

    if args.inject_ulp:
        inject_ulp()

    arrays = {}
    errors = {}
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outputs = scenarios[name]()
            if not outputs:
                raise RuntimeError("scenario returned no outputs")
            for key, value in outputs.items():
                arrays[f"{name}{SEP}{key}"] = to_numpy(value)
        except Exception:
            errors[name] = traceback.format_exc()
        print(f"  {name}: {'ERROR' if name in errors else 'ok'}", file=sys.stderr, flush=True)

    np.savez(args.out, **arrays)
    meta = {
        "errors": errors,
        "origins": {m.__name__: m.__file__ for m in (autoarray, autogalaxy, autolens)},
        "versions": {
            m.__name__: getattr(m, "__version__", "?") for m in (autoarray, autogalaxy, autolens)
        },
        "scenarios": names,
    }
    with open(args.out + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
