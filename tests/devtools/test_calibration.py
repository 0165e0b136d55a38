"""Every graded threshold sits below the worst calibrated seed, with a margin (data/calibration.csv,
written by `course calibrate`)."""

import csv

import pytest

from devtools.calibrate import CALIBRATION_FILE, thresholds
from grader.release.build import assignments
from grader.spec import CALIBRATED_LIMITS, load_specs

MARGIN = 0.02
MIN_SEEDS = 5

# Where a task leaves a decision to the student (02's and 07's head, 05's cut and head), the thresholds must hold
# for other reasonable designs too, not only the instructor's: graded examples of kind "variant", calibrated in
# full as `<notebook>+<student>` (`course calibrate 05_horses_or_humans --design <student>`).
DESIGNS = {
    "02_flowers": ["gia_sequential_string_loss", "hugo_hidden_layer", "ivy_output_layer_alone"],
    "05_horses_or_humans": ["ike_lower_cut_sequential", "jon_whole_base_small_head"],
    "07_your_own_images": ["fin_sequential_hidden_layer", "gus_no_dropout", "hal_pooling_layer"],
}


def _designs(name: str) -> list[str]:
    return [name] + [f"{name}+{design}" for design in DESIGNS.get(name, [])]


PAIRS = [(label, metric, limit) for name in assignments() for metric, limit in thresholds(name).items()
         for label in _designs(name)]
# The grader's own limits (data/grading.toml) on what it measures itself, other than the notebooks' thresholds.
GRADER_LIMITS = [(label, f"grader_{check.check}", check.params[CALIBRATED_LIMITS[check.check]])
                 for name, spec in load_specs().items() for check in spec.checks if check.check in CALIBRATED_LIMITS
                 for label in _designs(name)]


def calibrated(name, metric):
    """(values over seeds, reasons given by runs that could not measure the metric here)."""
    with open(CALIBRATION_FILE, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == name and r["metric"] == metric]
    return [float(r["value"]) for r in rows if r["value"]], {r["note"] for r in rows if not r["value"]}


# What a lesson's text says it shows on every calibrated seed, beyond what its thresholds ask of one run:
# (notebook, metric, the claim, the value every seed must exceed).
LESSON_CLAIMS = [
    ("03_dropout", "val_loss_reduction", "dropout 0.5 lowers the lowest validation loss on every seed", 0),
    ("03_dropout", "gap_reduction", "dropout 0.5 narrows the train/validation gap on every seed", 0),
    ("03_dropout", "grader_gap_not_wider", "the grader measures the gap narrower on held-out photos, every seed", 0),
    ("03_dropout", "grader_loss_lowered", "the grader measures the dropout head's held-out loss lower, every seed", 0),
    # Calibrated over seeds 1-5: 5-10 epochs later, and 0.075-0.135 narrower at its best epoch.
    ("03_dropout", "memorising_delay", "dropout 0.5 memorises its training photos several epochs later", 2),
    ("03_dropout", "largest_gap_reduction", "while it still learns, the dropout head's gap is clearly narrower", 0.05),
    ("07_your_own_images", "transfer_gain", "transfer beats the from-scratch convnet on every seed", 0),
    ("07_your_own_images", "grader_beats_saved_model", "and on the grader's held-out photos on every seed", 0),
]


@pytest.mark.parametrize(("name", "metric", "claim", "floor"), LESSON_CLAIMS,
                         ids=[f"{n}:{m}" for n, m, _, _ in LESSON_CLAIMS])
def test_what_the_lesson_says_holds_on_every_calibrated_seed(name, metric, claim, floor):
    values, _ = calibrated(name, metric)
    assert len(values) >= MIN_SEEDS, f"{name}:{metric} calibrated with {len(values)} seeds"
    assert min(values) > floor, f"{name}: the text says {claim!r}, but data/calibration.csv has {min(values)}"


def test_every_threshold_has_a_metric_line():
    assert PAIRS, "no thresholds found: hidden tests must print METRIC lines beside _THRESHOLD"


@pytest.mark.parametrize(("name", "metric", "limit"), PAIRS + GRADER_LIMITS,
                         ids=[f"{n}:{m}" for n, m, _ in PAIRS + GRADER_LIMITS])
def test_threshold_is_below_the_worst_seed(name, metric, limit):
    values, reasons = calibrated(name, metric)
    if not values and reasons:
        pytest.skip(f"{name}:{metric} cannot be calibrated here: {sorted(reasons)[0]}")
    where = f"{name}:{metric}"
    assert len(values) >= MIN_SEEDS, f"{where} calibrated with {len(values)} seeds; run `course calibrate {name}`"
    worst = min(values)
    assert limit <= worst - MARGIN, f"{where} threshold {limit} is not {MARGIN} below the worst seed {worst}"


def test_the_graders_own_thresholds_are_the_notebooks():
    """data/grading.toml's held-out accuracy thresholds equal the solution's `_THRESHOLD` of the
    same test, so that the notebook's check and the grader's check ask for the same accuracy."""
    from grader import paths
    from grader.markers import THRESHOLD
    from grader.notebooks import grade_id, read_source
    from grader.spec import load_specs

    specs = load_specs()
    assert specs, "data/grading.toml lists no assignment"
    for assignment, spec in specs.items():
        cells = {grade_id(c): c for c in read_source(paths.SOLUTIONS_DIR / f"{assignment}.py").cells if grade_id(c)}
        for check in spec.checks:
            assert check.test in cells, f"{assignment}: data/grading.toml names {check.test}, which is no test cell"
            if "threshold" in check.params:
                found = THRESHOLD.search(cells[check.test].source)
                assert found and float(found.group(1)) == check.params["threshold"], (assignment, check.test)


def test_each_calibrated_design_is_a_graded_variant():
    """A design is calibrated from a graded example that must earn full marks: the same edits, trained in full."""
    from devtools.calibrate import design_edits

    for name, designs in DESIGNS.items():
        for design in designs:
            assert design_edits(name, design), f"{name}: {design} changes nothing of the solution"
