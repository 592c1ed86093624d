"""
The primary correctness gate: with every new keyword at its default, the patched stack reproduces the pristine
2026.5.1.4 release bit for bit on every scenario of the corpus (``scenarios_*.py``).
"""
import numpy as np
import pytest

from differential.compare import difference, real_values_problem
from differential.registry import load_all
from differential.runner import SEP

NAMES = sorted(load_all())


def outputs_of(side: dict, name: str) -> dict:
    prefix = name + SEP
    return {k[len(prefix):]: v for k, v in side["arrays"].items() if k.startswith(prefix)}


@pytest.mark.parametrize("name", NAMES)
def test_patched_equals_pristine(differential_outputs, name):
    pristine, patched = differential_outputs["pristine"], differential_outputs["patched"]
    for side_name, side in (("pristine", pristine), ("patched", patched)):
        error = side["meta"]["errors"].get(name)
        assert error is None, f"scenario {name} failed on the {side_name} side:\n{error}"

    a, b = outputs_of(pristine, name), outputs_of(patched, name)
    assert a, f"scenario {name} produced no outputs"
    assert sorted(a) == sorted(b), f"outputs differ in name: pristine {sorted(a)}, patched {sorted(b)}"

    problems = {k: real_values_problem(v) for k, v in a.items()}
    problems = {k: p for k, p in problems.items() if p}
    assert not problems, f"scenario {name} did not produce real values: {problems}"
    assert any(
        v.dtype.kind in "fcib" and np.any(np.isfinite(v) & (v != 0)) for v in a.values()
    ), f"scenario {name}: every output is zero"

    diffs = {k: difference(a[k], b[k]) for k in a}
    diffs = {k: d for k, d in diffs.items() if d}
    assert not diffs, f"scenario {name}: patched differs from pristine:\n" + "\n".join(
        f"  {k}: {d}" for k, d in diffs.items()
    )
