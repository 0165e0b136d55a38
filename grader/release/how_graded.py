"""What each graded test checks, in plain words: the "How this notebook is graded" cell of every release.

The sentences come from data/grading.toml, the same file that drives the grader's own checks, so the
notebook cannot promise a check the grader does not run.
"""

from __future__ import annotations

from collections.abc import Callable

import nbformat

from grader.spec import CheckSpec, spec_for

_IN_A_FRESH_PROCESS = "the grader loads the model file your notebook saved, in a fresh process, and checks that"


_HEADS = ("the grader puts the two heads your notebook saved on its own MobileNetV2 features, in a fresh "
          "process, and checks that")


def _model(what: str) -> Callable[[dict], str]:
    return lambda params: f"{_IN_A_FRESH_PROCESS} {what.format(**params)}"


def _shape(params: dict) -> str:
    return "(None, " + ", ".join(str(n) for n in params.get("shape", [])) + ")"


def _imagenet(params: dict) -> str:
    which = "the layers you kept frozen" if params.get("frozen_only") else "every layer of the pretrained base"
    return f"{_IN_A_FRESH_PROCESS} {which} still hold the published ImageNet weights"


def _head(params: dict) -> str:
    needs = ", ".join(params.get("needs", []))
    return (f"{_IN_A_FRESH_PROCESS} the head ends in a {params['activation']} output of shape {_shape(params)}"
            + (f" and has {needs} layers" if needs else ""))


def _rate(params: dict) -> str:
    return (f"{_IN_A_FRESH_PROCESS} the saved optimizer's learning rate is {params['lowest']} to "
            f"{params['highest']} times lower than {params['reference']:g}")


def _accuracy(params: dict) -> str:
    return (f"the grader measures the accuracy of the model file your notebook saved, in a fresh process, on "
            f"{params['held_out_about']}: it must reach {params['threshold']}")


SENTENCES: dict[str, Callable[[dict], str]] = {
    "base_frozen": _model("no layer of the pretrained base can train"),
    "output_shape": lambda params: f"{_IN_A_FRESH_PROCESS} the model's output has shape {_shape(params)}",
    "head_layers": _head,
    "base_ends_at": _model("the base ends at layer `{layer}` ({channels} channels)"),
    "base_matches_imagenet": _imagenet,
    "loss_matches_activation": _model("the loss it was compiled with fits the output layer's activation"),
    "held_out_accuracy": _accuracy,
    "trainable_from": _model("exactly the base's layers from `{layer}` on can train (batch normalization excepted)"),
    "batchnorm_frozen": _model("every batch normalization layer of the base stays frozen"),
    "learning_rate_lowered": _rate,
    "callback_stops_at_target": lambda params: (
        f"the grader runs your `{params['class']}` cell in a fresh process on made-up training logs and checks "
        "that it stops training exactly when the accuracy reaches the target"),
    "activations_match_layers": lambda params: (
        "the grader runs your `get_activations` in a fresh process on MobileNetV2 and a photo, and compares "
        "each array with the layer's real output"),
    "grad_cam_map": lambda params: (
        "the grader runs your `grad_cam` in a fresh process and checks that it returns a finite 7x7 map in [0, 1]"),
    "grad_cam_localises": lambda params: (
        "the grader runs your `grad_cam` in a fresh process for each dog's breed and checks that each map "
        "peaks on its own dog"),
    "head_fits_sparse_labels": lambda params: (
        f"the grader calls your `{params['function']}` in a fresh process and checks the head it returns: a "
        f"softmax over {params['classes']} classes, compiled with a loss for integer labels on probabilities"),
    "cell_builds_frozen_base": lambda params: (
        f"the grader runs your `{params['cell']}` cell in a fresh process (random weights, no download) and "
        f"checks that `{params['variable']}` is a frozen {params['name']} with {params['features']} features"),
    "features_in_order": lambda params: (
        f"the grader runs your `{params['function']}` in a fresh process on made-up photos in batches, through a "
        "stand-in extractor, and checks every row of features and every label, in the dataset's order"),
    "head_with_dropout": lambda params: (
        f"the grader calls your `{params['function']}` in a fresh process for rate 0 and two other rates and checks "
        f"each model: Flatten, Dropout at that rate, Dense({params['units']}, relu), Dropout at that rate again (no "
        f"Dropout at 0), then a softmax over {params['classes']} classes"),
    "beats_saved_model": lambda params: (
        f"the grader measures the model file your notebook saved and `{params['other']}` ({params['against']}), in "
        f"a fresh process, on {params['held_out_about']}: the first must be at least {params['min_gain']} more "
        f"accurate, and the second at least {params['other_at_least']} accurate (trained, not spoiled)"),
    "tflite_matches": lambda params: (
        f"the grader runs `{params['tflite']}` with TensorFlow Lite's interpreter, in a fresh process, on "
        f"{params.get('photos', 32)} of the {params['held_out_about']} and checks that it gives the saved model's "
        "probabilities (within "
        f"{params['tolerance']:g})"),
    # 03: the two heads the notebook saves, on the grader's own MobileNetV2 features (head_checks.py).
    "heads_trained": lambda params: (
        f"{_HEADS} each gets at least {params['train_accuracy']} of your training photos right"),
    "head_overfits": lambda params: (
        f"{_HEADS} the head without dropout overfits: training accuracy at least {params['train_accuracy']}, "
        f"and at least {params['min_gap']} more than on {params['held_out_about']}"),
    "gap_not_wider": lambda params: (
        f"{_HEADS} the dropout head's gap between your training photos and {params['held_out_about']} is no "
        f"wider than the other head's (tolerance {params['tolerance']})"),
    "loss_lowered": lambda params: (
        f"{_HEADS} the dropout head's loss on {params['held_out_about']} is lower than the other's by at least "
        f"{params['min_reduction']}"),
    "heads_accuracy": lambda params: (
        f"{_HEADS} the dropout head reaches an accuracy of {params['min_accuracy']} on {params['held_out_about']}, "
        f"and neither head is below {params['every_head']}"),
    "held_out_head_accuracy": lambda params: (
        f"the grader puts the head your notebook saved (`{params['file']}`) on its own {params['application']} "
        f"and measures the accuracy, in a fresh process, on {params['held_out_about']}: it must reach "
        f"{params['threshold']} (not measured where the grader has no {params['application']} ImageNet weights)"),
}


def check_sentence(check: CheckSpec) -> str:
    """One check of data/grading.toml in plain words."""
    sentence = SENTENCES[check.check](check.params)
    if check.params.get("fine_tuned"):
        sentence += " (and the saved base must have layers that train: the model was fine-tuned)"
    return sentence


def graded_tests(assignment: str) -> dict[str, list[str]]:
    """test name -> the sentences of the grader's own checks on it (none: the test cell alone decides)."""
    spec = spec_for(assignment)
    tests: dict[str, list[str]] = {}
    for check in spec.checks if spec else []:
        check = CheckSpec(check.test, check.check, {**check.params, "held_out_about": spec.held_out_about})
        tests.setdefault(check.test, []).append(check_sentence(check))
    return tests


def graded_cell_points(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Each graded test cell's grade_id and points, in notebook order."""
    return {cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"].get("points", 0))
            for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell.cell_type == "code"}


def add_how_graded(nb: nbformat.NotebookNode, assignment: str) -> None:
    """Put the "How this notebook is graded" cell after the notebook's first cell (its title)."""
    cell = nbformat.v4.new_markdown_cell(how_graded_markdown(assignment, graded_cell_points(nb)))
    cell.id = "how-graded"  # a fixed id: the release is reproducible byte for byte
    cell.metadata["tags"] = ["how-graded"]
    nb.cells.insert(1, cell)


def how_graded_markdown(assignment: str, points: dict[str, float]) -> str:
    """The "How this notebook is graded" cell of a release; `points` maps each test cell to its points."""
    checked = graded_tests(assignment)
    lines = [
        "## How this notebook is graded",
        "",
        "When you hand it in, the grader runs your notebook from the top in a fresh kernel, in a sandbox with no "
        "network, and adds hidden tests to the test cells. A test cell earns its points if it runs without error. "
        "Code that changes how the notebook reports errors (patched built-ins, exception hooks, rewritten "
        "asserts) earns no points. Your feedback page shows each test's points and the grader's message, and "
        "what your cells showed up to the first test cell with hidden tests; from there on the grader keeps "
        "the outputs but leaves them off the page, so that no code in the kernel can copy a hidden test into "
        "it. Run the notebook yourself to see them.",
        "",
    ]
    for test, value in points.items():
        extra = checked.get(test)
        how = ("; and " + "; and ".join(extra) + ". The test earns its points only if both pass."
               if extra else ".")
        lines.append(f"- `{test}` ({value:g} point{'' if value == 1 else 's'}): the test cell passes{how}")
    if not checked:
        lines += ["", "For this notebook the test cells alone decide the points; the grader does not re-check "
                      "them outside your kernel yet."]
    return "\n".join(lines)
