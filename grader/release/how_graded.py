"""What each graded test asks of the student, in plain words: the "How this notebook is graded" cell of every
release.

The lines come from data/grading.toml, the same file that drives the grader's own checks, so the notebook
cannot promise a check the grader does not run, nor name a threshold other than the one it applies.
"""

from __future__ import annotations

from collections.abc import Callable

import nbformat

from grader.spec import CheckSpec, spec_for


def _n(value: float) -> str:
    """A threshold as the lessons write it: 0.90, not 0.9."""
    return f"{value:.2f}" if isinstance(value, float) and value < 1 and round(value, 2) == value else f"{value:g}"


def _shape(params: dict) -> str:
    return "(None, " + ", ".join(str(n) for n in params.get("shape", [])) + ")"


def _model(params: dict) -> str:
    # `fine_tuned`: the grader also wants base layers that train, so an untouched phase-1 model earns nothing.
    return "your fine-tuned model" if params.get("fine_tuned") else "your saved model"


def _imagenet(params: dict) -> str:
    if params.get("frozen_only"):
        return f"the base layers {_model(params)} keeps frozen still hold the published ImageNet weights"
    return f"every layer of the pretrained base in {_model(params)} still holds the published ImageNet weights"


def _head(params: dict) -> str:
    needs = " and ".join(params.get("needs", []))
    return (f"{_model(params)} ends in a {params['activation']} output of shape {_shape(params)}"
            + (f", after {needs} layers" if needs else ""))


SENTENCES: dict[str, Callable[[dict], str]] = {
    "base_frozen": lambda params: f"no layer of the pretrained base in {_model(params)} can train",
    "output_shape": lambda params: f"{_model(params)} gives an output of shape {_shape(params)}",
    "head_layers": _head,
    "base_ends_where_declared": lambda params: (
        f"the base in {_model(params)} is {params['application']} cut at the layer your `{params['variable']}` "
        f"names (set as a name in quotes), with that layer's output, and every frozen "
        "layer it keeps still holds the published ImageNet weights"),
    "base_matches_imagenet": _imagenet,
    "loss_matches_activation": lambda params: (
        f"{_model(params)} is compiled with a loss that fits its output layer's activation"),
    "held_out_accuracy": lambda params: (
        f"{_model(params)} reaches {_n(params['threshold'])} accuracy on {params['held_out_about']}"),
    "trainable_from": lambda params: (
        f"in {_model(params)}, exactly the base's layers from `{params['layer']}` on can train (batch "
        "normalization excepted)"),
    "batchnorm_frozen": lambda params: f"{_model(params)} keeps every batch normalization layer of its base frozen",
    "learning_rate_lowered": lambda params: (
        f"{_model(params)} was compiled with a learning rate {params['lowest']} to {params['highest']} times "
        f"lower than {params['reference']:g}"),
    "callback_stops_at_target": lambda params: (
        f"your `{params['class']}` stops training exactly when the accuracy reaches its target, and not before"),
    "activations_match_layers": lambda params: (
        "your `get_activations` returns each named layer's real output, in order, without the batch axis"),
    "grad_cam_map": lambda params: "your `grad_cam` returns a finite 7x7 map with values in [0, 1]",
    "grad_cam_localises": lambda params: (
        "your `grad_cam` map for each dog's breed peaks on that dog (left of the middle column for the left "
        "dog, right of it for the right dog), on the photo and on the photo flipped left to right, where the "
        "dogs swap sides; and on two crops of the photo, your map for a class among the crop's top three shows "
        "what the grader's own Grad-CAM shows"),
    "head_fits_sparse_labels": lambda params: (
        f"your `{params['function']}` returns a head that ends in a softmax over {params['classes']} classes, "
        "compiled with a loss for integer labels on probabilities"),
    "cell_builds_frozen_base": lambda params: (
        f"your `{params['cell']}` cell makes `{params['variable']}` a frozen base with {params['features']} "
        "features per photo"),
    "features_in_order": lambda params: (
        f"your `{params['function']}` returns every photo's features and label, in the dataset's order"),
    "head_with_dropout": lambda params: (
        f"your `{params['function']}(rate)` builds Flatten, Dropout(rate), Dense({params['units']}, relu), "
        f"Dropout(rate), softmax over {params['classes']} classes, with no Dropout at rate 0"),
    "beats_saved_model": lambda params: (
        f"on {params['held_out_about']}, {_model(params)} `{params['model_file']}` is at least "
        f"{_n(params['min_gain'])} more accurate than `{params['other']}` ({params['against']}), which must itself "
        f"reach {_n(params['other_at_least'])}, so that only a comparison with a really trained model counts"),
    "tflite_matches": lambda params: (
        f"`{params['tflite']}` gives {_model(params)}'s probabilities, within {params['tolerance']:g}, on "
        f"{params.get('photos', 32)} of the {params['held_out_about']}"),
    # 03: the two heads the notebook saves, measured on the grader's own MobileNetV2 features.
    "heads_trained": lambda params: (
        f"each of your two saved heads gets at least {_n(params['train_accuracy'])} of your training photos right"),
    "head_overfits": lambda params: (
        f"your saved head without dropout overfits: training accuracy at least {_n(params['train_accuracy'])}, "
        f"and at least {_n(params['min_gap'])} above its accuracy on {params['held_out_about']}"),
    "gap_not_wider": lambda params: (
        f"the gap of your saved head at your chosen rate, between training photos and {params['held_out_about']}, "
        f"is no wider than the other head's (give or take {_n(params['tolerance'])})"),
    "loss_lowered": lambda params: (
        f"the loss of your saved head at your chosen rate on {params['held_out_about']} is at least "
        f"{_n(params['min_reduction'])} lower than the other head's"),
    "heads_accuracy": lambda params: (
        f"your saved head at your chosen rate reaches {_n(params['min_accuracy'])} accuracy on "
        f"{params['held_out_about']}, and neither head is below {_n(params['every_head'])}"),
    "held_out_head_accuracy": lambda params: (
        f"your saved head `{params['file']}`, on {params['application']}'s features, reaches "
        f"{_n(params['threshold'])} accuracy on {params['held_out_about']}; these points can only be earned where "
        f"the grader has {params['application']}'s ImageNet weights, which it downloads online: a grader without "
        "them (offline) reports this test as not measured, with no points"),
}

INTRO = (
    "When you hand it in, your notebook is run from the top in a fresh kernel without internet, and hidden "
    "tests are added to its test cells. A test earns its points when its test cell passes and the grader's "
    "own check, run outside your notebook on the files it saved or the code you wrote, confirms its line "
    "below: that way a result counts only if it is real. The lines below are the grader's checks. Your "
    "notebook's own test cells are described in the text above each of them: where they measure accuracy, "
    "it is on your validation photos, and their thresholds can differ from the grader's; where a line below "
    "names held-back photos, the grader measures your saved files on those photos. A test needs both to pass."
)
TAMPERING = (
    "Code that tampers with the tests (such as replacing a function they call) is flagged for your instructor "
    "to review, and the tests' points then rest on the grader's own checks alone; ordinary code, such as any import, "
    "`%%time` or `!pip`, is never flagged."
)
FEEDBACK = (
    "Your feedback page shows your cells' outputs only up to the first test cell with hidden tests; run the "
    "notebook yourself to see the rest. A line such as `METRIC val_accuracy=0.9500` in a test's output is a "
    "number that test measured, written so that a program can read it."
)


def check_sentence(check: CheckSpec) -> str:
    """One check of data/grading.toml as what the student must achieve."""
    return SENTENCES[check.check](check.params)


def graded_tests(assignment: str) -> dict[str, list[str]]:
    """test name -> what the grader's own checks on it ask (none: the test cell alone decides)."""
    spec = spec_for(assignment)
    tests: dict[str, list[str]] = {}
    for check in spec.checks if spec else []:
        check = CheckSpec(check.test, check.check,
                          {**check.params, "held_out_about": spec.held_out_about, "model_file": spec.model})
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
    spec = spec_for(assignment)
    held_out = spec.held_out_about if spec else ""
    lines = ["## How this notebook is graded", "", INTRO, ""]
    named = False
    for test, value in points.items():
        goal = "; ".join(checked.get(test, [])) or "its test cell passes"
        if held_out and held_out in goal:
            # Described in full once; later lines stay one short line each.
            goal = goal.replace(held_out, "those held-back photos") if named else goal
            named = True
        lines.append(f"- `{test}` ({value:g} point{'' if value == 1 else 's'}): {goal}.")
    lines += ["", TAMPERING, "", FEEDBACK]
    return "\n".join(lines)
