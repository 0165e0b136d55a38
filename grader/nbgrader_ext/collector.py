"""An nbgrader zip_collect plugin that recognises the names students give their Colab downloads.

Colab saves "Copy of 01_cats_vs_dogs.ipynb", browsers add " (1)", and students type names
anyhow; nbgrader's FileNameCollectorPlugin would file those under a notebook name the assignment
does not have. `ColabCollectorPlugin` keeps nbgrader's regexp match (`named_regexp`) and then
maps the matched `file_id` to the release notebook it decorates. It is loaded by nbgrader's
documented extension point:

    nbgrader zip_collect ASSIGNMENT --collector=grader.nbgrader_ext.collector.ColabCollectorPlugin

It also gives every file a timestamp (the zip entry's time or the handed-in file's mtime):
nbgrader keeps the newest of two files for one notebook, and without timestamps it stops the
whole collect ("Duplicate submission file. No timestamps for comparison").
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import List, Unicode

SYSTEM_FILE_REASON = "operating-system metadata, not a submission"
NO_MATCH_REASON = "file name does not match the pattern"


def undecorated(name: str) -> str:
    """'Copy of 01_Cats_vs_dogs (1).ipynb' -> '01_cats_vs_dogs': the name before Colab and browsers."""
    stem = PurePosixPath(name).name
    if stem.lower().endswith(".ipynb"):
        stem = stem[: -len(".ipynb")]
    previous = None
    while previous != stem:
        previous = stem
        stem = re.sub(r"^copy of\s+", "", stem.strip(), flags=re.IGNORECASE)
        stem = re.sub(r"\s*\(\d+\)$", "", stem)
    return stem.casefold()


def student_id(name: str) -> str:
    """A student's id as the gradebook keeps it: Unicode NFC, surrounding spaces dropped, so that a file
    from a macOS zip, a roster typed on Windows and a Colab download name the same student."""
    return unicodedata.normalize("NFC", name).strip()


class ColabCollectorPlugin(FileNameCollectorPlugin):
    """FileNameCollectorPlugin whose file_id is mapped onto the assignment's release notebooks."""

    notebooks = List(
        Unicode(), help="Release notebook names; by default those in release/<assignment>."
    ).tag(config=True)
    archive_root = Unicode(
        "", help="Absolute path of zip_collect's archive directory, where file timestamps are read."
    ).tag(config=True)
    extracted_root = Unicode("", help="Absolute path of zip_collect's extracted directory.").tag(config=True)

    def collect(self, submitted_file: str) -> dict | None:
        """nbgrader's entry point: the regexp's groupdict with file_id mapped, or None to skip."""
        info, note = self.match(submitted_file)
        if note:
            self.log.warning("%s: %s", submitted_file, note)
        return info

    def match(self, submitted_file: str) -> tuple[dict | None, str]:
        """What nbgrader is told about one extracted file, and a note for the teacher ('' if none).

        Public so that `grader.collect.intake` can explain, file by file, what zip_collect did.
        """
        path = Path(submitted_file)
        skipped = self.skipped(path)
        if skipped:
            return None, skipped
        # macOS archives store names decomposed (NFD: "e" + a combining accent), Windows and Colab composed
        # (NFC): one student either way, as the roster names them (student_id()).
        info = self._match(unicodedata.normalize("NFC", submitted_file))
        if not info or not info.get("student_id") or not info.get("file_id"):
            return None, NO_MATCH_REASON
        info["student_id"] = student_id(info["student_id"])
        info["file_id"], note = self.notebook_for(info["file_id"])
        if not info.get("timestamp"):
            info["timestamp"] = self.timestamp(path)
        return info, note

    def skipped(self, path: Path) -> str:
        """Why a file is no submission at all ("" for a notebook)."""
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            return SYSTEM_FILE_REASON
        if path.suffix not in self.valid_ext:
            return f"not a notebook ({path.suffix or 'no extension'})"
        return ""

    def notebook_for(self, file_id: str) -> tuple[str, str]:
        """The release notebook a file_id stands for, and how it was recognised."""
        notebooks = self.release_notebooks()
        if file_id in notebooks:
            return file_id, ""
        same = [nb for nb in notebooks if undecorated(nb) == undecorated(file_id)]
        if len(same) == 1:
            return same[0], f"file name {file_id!r} taken as {same[0]!r}"
        if len(notebooks) == 1:
            return notebooks[0], f"file name {file_id!r} taken as {notebooks[0]!r}, the assignment's only notebook"
        return file_id, f"{file_id!r} is not a notebook of this assignment"

    def release_notebooks(self) -> list[str]:
        """The names a file_id may take: given, or found as nbgrader's ZipCollectApp finds them."""
        if self.notebooks:
            return list(self.notebooks)
        coursedir = self.parent.coursedir
        release = coursedir.format_path(coursedir.release_directory, ".", coursedir.assignment_id)
        return find_all_notebooks(release)

    def timestamp(self, path: Path) -> str:
        """When the student's file was last changed, as ISO 8601 with time zone (nbgrader parses it)."""
        when = self._archived_time(path) or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        return when.isoformat()

    def _archived_time(self, path: Path) -> datetime | None:
        """The time of the file as handed in: nbgrader's extraction and copy do not keep mtimes.

        A loose file extracted/REL was copied from archive/REL; a file extracted/A/B/REL came from
        the zip archive/A/B.zip (nbgrader extracts each zip into a folder named after it).
        """
        archive, extracted = self._roots()
        if archive is None or extracted is None:
            return None
        try:
            parts = path.relative_to(extracted).parts
        except ValueError:
            return None
        if (archive.joinpath(*parts)).is_file():
            return datetime.fromtimestamp(archive.joinpath(*parts).stat().st_mtime, timezone.utc)
        for k in range(1, len(parts)):
            zip_path = archive.joinpath(*parts[: k - 1], parts[k - 1] + ".zip")
            if not zip_path.is_file():
                continue
            try:
                with zipfile.ZipFile(zip_path) as archived:
                    local = datetime(*archived.getinfo("/".join(parts[k:])).date_time)
            except (KeyError, OSError, ValueError, zipfile.BadZipFile):
                continue
            return local.astimezone(timezone.utc)  # zip times are local times without a zone
        return None

    def _roots(self) -> tuple[Path | None, Path | None]:
        if self.archive_root and self.extracted_root:
            return Path(self.archive_root), Path(self.extracted_root)
        app = self.parent
        if app is None or not hasattr(app, "_format_collect_path"):
            return None, None
        return Path(app._format_collect_path(app.archive_directory)), Path(
            app._format_collect_path(app.extracted_directory)
        )
