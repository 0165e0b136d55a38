"""`python -m grader.grading.evaluate ASSIGNMENT MODEL_FILE [--wait] [--notebook NB] [--probes DIR]`: the
grader's checks, as JSON on stdout.

Run by the grading worker in a fresh sandboxed process, started beside the notebook (TensorFlow's
import overlaps with it); after the notebook has finished it judges the saved model, from its file
alone, and what the student's code did on the grader's probes (probes.py, run in a box of its own). No
code of the student's runs here. Any failure becomes a failed check with its reason.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from grader.grading.saved_models import load_saved_model


def evaluate(assignment: str, model_file: Path, mirror: Path | None, notebook: Path | None = None,
             wait: Callable[[], object] | None = None, probes: Path | None = None) -> list[dict]:
    """Every grader check of `assignment`: on the saved model, and on the student's code taken from
    `notebook` (the notebook as handed in, a copy the kernel could not write).

    `probes` is where probes.py wrote what that code did (the worker runs it in a box of its own, without
    the held-out photos); without it the probes run here, in child processes (trusted notebooks, tests).

    With `wait`, nothing is judged before `wait()` returns (the notebook has finished). Judging the code
    while the notebook runs was tried: on two cores already busy with two kernels it put a third
    TensorFlow process beside them and showed no gain, so the evaluator only imports TensorFlow early.
    """
    from grader.grading.code_checks import CODE_CHECKS
    from grader.grading.model_checks import CheckResult
    from grader.spec import spec_for

    spec = spec_for(assignment)
    if spec is None:
        return []
    if wait is not None:
        wait()
    done = {}
    if any(check.check in CODE_CHECKS for check in spec.checks):
        done = _code_checks(spec, notebook, probes)
    from grader.grading.head_checks import HEAD_CHECKS

    model, problem = None, ""
    if any(i not in done and "file" not in check.params and check.check not in HEAD_CHECKS
           for i, check in enumerate(spec.checks)):
        model, problem = load_saved_model(model_file)
    results = []
    for i, check in enumerate(spec.checks):
        if i in done:
            results.append(done[i])
        elif check.check in HEAD_CHECKS:
            results.append(_head_check(check, spec, mirror, model_file.parent))
        elif model is None and "file" not in check.params:
            results.append(CheckResult(check.test, check.check, False, problem))
        else:
            results.append(_model_check(check, model, spec, mirror, model_file.parent))
    return [r.to_dict() for r in results]


def _model_check(check, model, spec, mirror: Path | None, model_dir: Path):
    from grader.grading.model_checks import CheckResult, Context, WeightsMissing, reference_features_model, run_check

    held_out = spec.held_out_dir(mirror)
    if check.check.startswith("held_out_") and (held_out is None or not held_out.is_dir()):
        reason = f"no held-out photos here ({held_out or 'no asset mirror'}): grade where they exist"
        return CheckResult(check.test, check.check, False, reason, not_measured=reason)
    try:
        if "application" in check.params:  # the grader's own base first: without it, nothing to judge
            reference_features_model(check.params["application"], check.params.get("size", spec.image_size),
                                     check.params.get("weights", ""))
        if "file" in check.params:  # another file the notebook saved (02: a head on its own)
            model, problem = load_saved_model(model_dir / Path(check.params["file"]).name)
            if model is None:
                return CheckResult(check.test, check.check, False, problem)
        outcome = run_check(check.check, model, check.params, Context(spec.image_size, held_out,
                                                                      spec.held_out_classes, model_dir=model_dir))
    except WeightsMissing as missing:  # the grader's own base: not the student's fault, not a pass
        return CheckResult(check.test, check.check, False, str(missing), not_measured=str(missing))
    except Exception as error:  # a model of an unexpected shape fails the check, with the reason
        outcome = (False, f"{type(error).__name__}: {error}")
    return CheckResult(check.test, check.check, *outcome)


def _head_check(check, spec, mirror: Path | None, model_dir: Path):
    """A check on the heads the notebook saved on their own (03), measured on the grader's own features."""
    from grader.grading.head_checks import HEAD_CHECKS, HeadsUnusable, measure_heads
    from grader.grading.model_checks import CheckResult, Context, WeightsMissing

    held_out = spec.held_out_dir(mirror)
    if held_out is None or not held_out.is_dir():
        reason = f"no held-out photos here ({held_out or 'no asset mirror'}): grade where they exist"
        return CheckResult(check.test, check.check, False, reason, not_measured=reason)
    context = Context(spec.image_size, held_out, spec.held_out_classes)
    try:
        outcome = HEAD_CHECKS[check.check](measure_heads(spec.heads["files"], model_dir, context, spec.heads),
                                           check.params)
    except WeightsMissing as missing:  # the grader's own base: not the student's fault, not a pass
        return CheckResult(check.test, check.check, False, str(missing), not_measured=str(missing))
    except HeadsUnusable as unusable:
        outcome = (False, str(unusable))
    except Exception as error:  # a head of an unexpected kind fails the check, with the reason
        outcome = (False, f"{type(error).__name__}: {error}")
    return CheckResult(check.test, check.check, *outcome)


def _code_checks(spec, notebook: Path | None, probes: Path | None) -> dict:
    """Index in spec.checks -> CheckResult, for the checks on the student's code."""
    import tempfile

    from grader.grading.code_checks import CODE_CHECKS
    from grader.grading.model_checks import CheckResult
    from grader.grading.probes import probe_plan, probe_seed, run_probes

    todo = {i: check for i, check in enumerate(spec.checks) if check.check in CODE_CHECKS}
    if notebook is None or not notebook.is_file():
        return {i: CheckResult(c.test, c.check, False, "the grader has no copy of the handed-in notebook")
                for i, c in todo.items()}
    plan = probe_plan(list(spec.checks), probe_seed(notebook.read_bytes()))
    with tempfile.TemporaryDirectory(prefix="probes-") as scratch:
        if probes is None:
            probes = Path(scratch)
            run_probes(plan, notebook, probes)
        results = {}
        for i, check in todo.items():
            try:
                outcome = CODE_CHECKS[check.check](check.params, probes, plan)
            except Exception as error:  # a result of an unexpected shape fails the check, with the reason
                outcome = (False, f"{type(error).__name__}: {error}")
            results[i] = CheckResult(check.test, check.check, *outcome)
    return results


def main() -> None:
    assignment, model_file = sys.argv[1], Path(sys.argv[2])
    notebook = Path(sys.argv[sys.argv.index("--notebook") + 1]) if "--notebook" in sys.argv else None
    probes = Path(sys.argv[sys.argv.index("--probes") + 1]) if "--probes" in sys.argv else None
    # Started while the notebook still runs: import TensorFlow now, judge when the worker says the
    # notebook has finished.
    wait = None
    if "--wait" in sys.argv[3:]:
        import keras  # noqa: F401

        wait = sys.stdin.readline
    mirror = os.environ.get("COURSE_ASSETS_MIRROR")
    results = evaluate(assignment, model_file, Path(mirror) if mirror else None, notebook, wait, probes)
    # The last line of stdout is the result; TensorFlow may print before it.
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
