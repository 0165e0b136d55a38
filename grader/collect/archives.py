"""Zip archives a student hands in, judged from their directory before anything is extracted.

nbgrader's zip_collect extracts archives, and archives inside them, with setuptools'
`unpack_archive` (which already skips names that climb out of the folder). An archive can still
expand enormously (a "zip bomb", possibly nested): its sizes, entry count and nesting are checked
here first, from the declared sizes that extraction itself cannot exceed, and an archive over the
limits is set aside with the reason instead.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class ArchiveLimits:
    total_bytes: int = 512 * 2**20  # everything extracted, nested archives included
    entries: int = 10_000
    depth: int = 3  # archives inside archives
    ratio: int = 200  # uncompressed / compressed of one entry (notebooks compress ~5-20x)


def archive_problem(path: Path, limits: ArchiveLimits | None = None) -> str:
    """Why the zip archive at `path` must not be extracted, or '' if it may."""
    limits = limits or ArchiveLimits()
    budget = {"bytes": 0, "entries": 0}
    try:
        with zipfile.ZipFile(path) as archive:
            return _problem(archive, limits, budget, depth=1)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        return f"not a readable zip archive ({error})"


def _problem(archive: zipfile.ZipFile, limits: ArchiveLimits, budget: dict[str, int], depth: int) -> str:
    for info in archive.infolist():
        budget["entries"] += 1
        budget["bytes"] += info.file_size
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            return f"entry {info.filename!r} would be written outside the submission's folder"
        if budget["entries"] > limits.entries:
            return f"more than {limits.entries} files"
        if budget["bytes"] > limits.total_bytes:
            return f"it would expand to more than {limits.total_bytes // 2**20} MB"
        if info.compress_size and info.file_size / info.compress_size > limits.ratio and info.file_size > 2**20:
            return (f"entry {info.filename!r} expands {info.file_size / info.compress_size:.0f}x "
                    f"(more than {limits.ratio}x: a zip bomb)")
        if info.filename.lower().endswith(".zip"):
            if depth >= limits.depth:
                return f"archives nested more than {limits.depth} deep"
            with zipfile.ZipFile(io.BytesIO(archive.read(info))) as inner:
                problem = _problem(inner, limits, budget, depth + 1)
            if problem:
                return f"{info.filename}: {problem}"
    return ""
