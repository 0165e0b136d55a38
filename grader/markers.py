"""The lines notebooks print for the tooling, and how to read them back.

- `METRIC name=value`: a measured number (calibration collects these). In a test cell, the first
  METRIC line is the one that cell's `_THRESHOLD = ...` applies to.
- `NOT MEASURED: reason`: a check that cannot run here (e.g. no InceptionV3 weights offline); the
  test report shows it as skipped and the grade table as "n/m", always with the reason.
"""

from __future__ import annotations

import re

METRIC = re.compile(r"^METRIC ([\w.]+)=([-+0-9.eE]+)$", re.MULTILINE)
THRESHOLD = re.compile(r"^_THRESHOLD = ([0-9.]+)$", re.MULTILINE)
NOT_MEASURED = re.compile(r"^NOT MEASURED:(.*)$", re.MULTILINE)
_METRIC_IN_SOURCE = re.compile(r"METRIC ([\w.]+)=")


def stream_text(outputs: list) -> str:
    """Everything a cell printed (stdout and stderr), from its outputs."""
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def not_measured_reason(outputs: list) -> str | None:
    """The reason a cell printed with `NOT MEASURED:`, "" if it gave none, None if it printed no marker."""
    match = NOT_MEASURED.search(stream_text(outputs))
    return None if match is None else match.group(1).strip()


def thresholded_metric(source: str) -> str | None:
    """The metric a test cell's source thresholds: its first METRIC line."""
    match = _METRIC_IN_SOURCE.search(source)
    return match.group(1) if match else None
