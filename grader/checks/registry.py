"""Every check the grader makes outside the student's kernel: one interface, one registry.

A check judges one kind of evidence, named by `Check.evidence`:

- "model": the model file the notebook saved (model_checks.py): `(model, params, context)`;
- "code": what the student's cells did on the grader's probes (code_checks.py): `(params, probes, plan)`;
- "heads": the heads a notebook saved, measured on the grader's own features (head_checks.py):
  `(measured, params)`.

Each returns `(passed, message)`, `(passed, message, metric)` or, for the held-out accuracy, `(passed,
message, metric, answers)` (the model's mistakes, for the class's similarity report). `judge` gives a check
its evidence, loaded once per submission (`Evidence`), and turns the outcome, or the reason there is none (no
held-out photos here, the grader's own weights missing, a file of an unexpected kind), into a CheckResult.
data/grading.toml names checks by their names here. Nothing here imports TensorFlow until a check runs.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.checks.result import CheckResult
from grader.spec import AssignmentSpec, CheckSpec

MODEL, CODE, HEADS = "model", "code", "heads"
_MODULES = {MODEL: "grader.checks.model_checks", CODE: "grader.checks.code_checks",
            HEADS: "grader.checks.head_checks"}


@dataclass(frozen=True)
class Check:
    name: str
    evidence: str  # MODEL, CODE or HEADS

    @property
    def needs_held_out(self) -> bool:
        """Whether it measures the held-out photos (without them it reports "not measured", never a pass)."""
        return self.evidence == HEADS or self.name.startswith("held_out_")

    def function(self) -> Callable:
        return getattr(importlib.import_module(_MODULES[self.evidence]), self.name)


def _checks(evidence: str, *names: str) -> dict[str, Check]:
    return {name: Check(name, evidence) for name in names}


REGISTRY: dict[str, Check] = {
    **_checks(MODEL, "base_frozen", "output_shape", "head_layers", "base_ends_where_declared", "base_matches_imagenet",
              "loss_matches_activation", "held_out_accuracy", "held_out_head_accuracy", "trainable_from",
              "batchnorm_frozen", "learning_rate_lowered", "beats_saved_model", "tflite_matches"),
    **_checks(CODE, "callback_stops_at_target", "activations_match_layers", "grad_cam_map", "grad_cam_localises",
              "head_fits_sparse_labels", "cell_builds_frozen_base", "head_with_dropout", "features_in_order"),
    **_checks(HEADS, "heads_trained", "head_overfits", "gap_not_wider", "loss_lowered", "heads_accuracy"),
}


def checks_of(evidence: str) -> list[str]:
    """The names of the checks that judge one kind of evidence."""
    return [name for name, check in REGISTRY.items() if check.evidence == evidence]


@dataclass
class Evidence:
    """What one submission's checks judge, each piece loaded once, when a check first asks for it.

    `notebook` is the notebook as handed in (a copy the kernel could not write); `probes` is where
    probes.py wrote what the student's code did (the worker runs it in a box of its own, without the
    held-out photos); without it the probes run here, in child processes (trusted notebooks, tests).
    """

    spec: AssignmentSpec
    model_file: Path
    mirror: Path | None
    notebook: Path | None = None
    probes: Path | None = None
    _loaded: dict = field(default_factory=dict)

    @property
    def held_out(self) -> Path | None:
        return self.spec.held_out_dir(self.mirror)

    def context(self):
        from grader.checks.model_checks import Context

        return Context(self.spec.image_size, self.held_out, self.spec.held_out_classes,
                       model_dir=self.model_file.parent, notebook=self.notebook)

    def model(self, file: str | None = None) -> tuple[object | None, str]:
        """(the saved model, "") or (None, why not): the notebook's model file, or another file it saved."""
        from grader.checks.saved_models import load_saved_model

        path = self.model_file.parent / Path(file).name if file else self.model_file
        if path not in self._loaded:
            self._loaded[path] = load_saved_model(path)
        return self._loaded[path]

    def probed(self) -> tuple[Path, dict]:
        """(the folder the probes wrote, the plan they ran), running them here when the worker did not."""
        from grader.checks.probes import probe_plan, probe_seed, run_probes

        if "probes" not in self._loaded:
            plan = probe_plan(list(self.spec.checks), probe_seed(self.notebook.read_bytes()))
            probes = self.probes
            if probes is None:
                probes = Path(tempfile.mkdtemp(prefix="probes-"))
                self._loaded["own folder"] = probes
                run_probes(plan, self.notebook, probes)
            self._loaded["probes"] = (probes, plan)
        return self._loaded["probes"]

    def close(self) -> None:
        """Remove the folder the probes wrote when they ran here."""
        import shutil

        if "own folder" in self._loaded:
            shutil.rmtree(self._loaded.pop("own folder"), ignore_errors=True)

    def heads(self) -> dict:
        from grader.checks.head_checks import measure_heads

        if "heads" not in self._loaded:
            self._loaded["heads"] = measure_heads(self.spec.heads["files"], self.model_file.parent, self.context(),
                                                  self.spec.heads)
        return self._loaded["heads"]


def judge(spec_check: CheckSpec, evidence: Evidence) -> CheckResult:
    """One check of data/grading.toml on one submission's evidence; any failure is a failed check with its
    reason, and a check that cannot measure here says "not measured" (0 points), never a pass."""
    from grader.checks.head_checks import HeadsUnusable
    from grader.checks.model_checks import WeightsMissing

    check = REGISTRY.get(spec_check.check)
    if check is None:
        return CheckResult(spec_check.test, spec_check.check, False, f"the grader has no check {spec_check.check!r}")
    if check.evidence == MODEL and "file" not in spec_check.params:
        model, problem = evidence.model()  # a file that cannot be loaded says why, before anything else
        if model is None:
            return CheckResult(spec_check.test, check.name, False, problem)
    if check.needs_held_out and (evidence.held_out is None or not evidence.held_out.is_dir()):
        reason = f"no held-out photos here ({evidence.held_out or 'no asset mirror'}): grade where they exist"
        return CheckResult(spec_check.test, check.name, False, reason, not_measured=reason)
    try:
        outcome = _run(check, spec_check.params, evidence)
    except WeightsMissing as missing:  # the grader's own base: not the student's fault, not a pass
        return CheckResult(spec_check.test, check.name, False, str(missing), not_measured=str(missing))
    except HeadsUnusable as unusable:
        outcome = (False, str(unusable))
    except Exception as error:  # evidence of an unexpected shape fails the check, with the reason
        outcome = (False, f"{type(error).__name__}: {error}")
    return CheckResult(spec_check.test, check.name, *outcome)


def _run(check: Check, params: dict, evidence: Evidence) -> tuple:
    if check.evidence == CODE:
        if evidence.notebook is None or not evidence.notebook.is_file():
            return False, "the grader has no copy of the handed-in notebook"
        probes, plan = evidence.probed()
        return check.function()(params, probes, plan)
    if check.evidence == HEADS:
        return check.function()(evidence.heads(), params)
    from grader.checks.model_checks import reference_features_model, run_check

    if "application" in params:  # the grader's own base first: without it, nothing to judge
        reference_features_model(params["application"], params.get("size", evidence.spec.image_size),
                                 params.get("weights", ""))
    model, problem = evidence.model(params.get("file"))
    if model is None:
        return False, problem
    return run_check(check.function(), model, params, evidence.context())
