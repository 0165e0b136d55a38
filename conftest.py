"""Test-session set-up shared by the unit tests and nbval: notebook kernels inherit os.environ,
so the offline asset settings (KERAS_HOME, TFDS_DATA_DIR, TFHUB_CACHE_DIR) are put there once."""

import os

import pytest

from grader.markers import not_measured_reason


def pytest_configure(config):
    from grader.assets.environment import notebook_environment

    os.environ.update(notebook_environment())  # asset settings, op determinism
    os.environ.pop("MPLBACKEND", None)  # kernels use the inline backend; Agg would drop the plots
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The notebooks pick the CPU profile on CPU-only machines by themselves; CI says it outright.
    os.environ.setdefault("COURSE_PROFILE", "cpu")


# A notebook check that cannot run here (no offline copy of some weights, no GPU) prints
# "NOT MEASURED: <reason>" and raises. nbval would report that as a failure; the report shows it
# as skipped with the reason instead. The marker without a reason stays a failure.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)
    if call.when != "call" or not outputs:
        return
    reason = not_measured_reason(outputs)
    if reason is None:
        return
    if not reason:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a check was skipped without a reason"
        return
    report.outcome = "skipped"
    report.longrepr = (str(item.path), 0, f"Skipped: {reason}")
