"""The differential suite must be able to fail: these tests feed it changes it has to catch."""
import numpy as np

from differential.compare import difference, real_values_problem
from differential.conftest import finish_side, start_side
from differential.runner import SEP


def test_identical_arrays_pass():
    a = np.array([1.0, np.nan, -2.5, 0.0])
    assert difference(a, a.copy()) is None


def test_one_ulp_is_caught():
    a = np.linspace(0.1, 1.0, 7)
    b = a.copy()
    b[3] = np.nextafter(b[3], np.inf)
    message = difference(a, b)
    assert message is not None and "1 ulp" in message


def test_nan_position_dtype_shape_and_signed_zero_are_caught():
    a = np.array([1.0, np.nan, 3.0])
    assert "NaN" in difference(a, np.array([1.0, 2.0, np.nan]))
    assert "dtype" in difference(a, a.astype(np.float32))
    assert "shape" in difference(a, a[:2])
    assert "bits" in difference(np.array([0.0]), np.array([-0.0]))


def test_empty_and_nonfinite_outputs_are_flagged():
    assert real_values_problem(np.array([])) == "empty array"
    assert real_values_problem(np.array([np.nan, np.inf])) == "no finite value"
    assert real_values_problem(np.array([1.0])) is None


def test_suite_catches_a_one_ulp_change_in_the_patched_library(differential_outputs, tmp_path):
    """Nudge ``Convolver.convolved_image_from`` by one ulp on the patched side: the comparison must flag it."""
    names = ["convolver_image_numpy", "ag_fit_imaging_standard"]
    injected = finish_side(*start_side(tmp_path, pristine=False, only=names, inject_ulp=True))
    assert not injected["meta"]["errors"], injected["meta"]["errors"]
    pristine = differential_outputs["pristine"]["arrays"]
    for name in names:
        keys = [k for k in injected["arrays"] if k.startswith(name + SEP)]
        caught = [k for k in keys if difference(pristine[k], injected["arrays"][k])]
        assert caught, f"a one-ulp change in convolved_image_from went unnoticed in scenario {name}"
