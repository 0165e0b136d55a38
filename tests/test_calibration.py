"""Every graded threshold sits below the worst calibrated seed, with a margin (data/calibration.csv,
written by `course calibrate`)."""

import csv

import pytest

from grader.calibrate import CALIBRATION_FILE, thresholds
from grader.release.build import assignments

MARGIN = 0.02
MIN_SEEDS = 5

PAIRS = [(name, metric, limit) for name in assignments() for metric, limit in thresholds(name).items()]


def calibrated(name, metric):
    """(values over seeds, reasons given by runs that could not measure the metric here)."""
    with open(CALIBRATION_FILE, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == name and r["metric"] == metric]
    return [float(r["value"]) for r in rows if r["value"]], {r["note"] for r in rows if not r["value"]}


def test_every_threshold_has_a_metric_line():
    assert PAIRS, "no thresholds found: hidden tests must print METRIC lines beside _THRESHOLD"


@pytest.mark.parametrize(("name", "metric", "limit"), PAIRS, ids=[f"{n}:{m}" for n, m, _ in PAIRS])
def test_threshold_is_below_the_worst_seed(name, metric, limit):
    values, reasons = calibrated(name, metric)
    if not values and reasons:
        pytest.skip(f"{name}:{metric} cannot be calibrated here: {sorted(reasons)[0]}")
    where = f"{name}:{metric}"
    assert len(values) >= MIN_SEEDS, f"{where} calibrated with {len(values)} seeds; run `course calibrate {name}`"
    worst = min(values)
    assert limit <= worst - MARGIN, f"{where} threshold {limit} is not {MARGIN} below the worst seed {worst}"
