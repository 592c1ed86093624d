"""
The scenario registry of the differential suite.

A scenario is a function with no arguments that builds something with the PyAuto libraries, using only the
release's public API (so it runs unchanged on the pristine release and on the patched stack), and returns a dict
mapping an output name to a value: a numpy or jax array, an autoarray structure (``Array2D``, ``Grid2D``, ...), a
Python scalar or a nested list of numbers. The runner turns each value into a numpy array; the test compares them
bit for bit.

Scenario modules are the ``scenarios_*.py`` files beside this one. They must not import the PyAuto libraries at module
level, so that the test can list the scenarios without importing either side.
"""
from typing import Callable, Dict

SCENARIOS: Dict[str, Callable[[], dict]] = {}


def scenario(name: str):
    """Register ``func`` under ``name`` (unique across all scenario modules)."""

    def wrap(func):
        if name in SCENARIOS:
            raise ValueError(f"duplicate scenario name {name!r}")
        SCENARIOS[name] = func
        return func

    return wrap


def load_all() -> Dict[str, Callable[[], dict]]:
    """Import every ``scenarios_*.py`` module so its scenarios register, and return the registry."""
    import importlib
    import pkgutil
    from pathlib import Path

    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if info.name.startswith("scenarios_"):
            importlib.import_module(f"differential.{info.name}")
    return SCENARIOS
