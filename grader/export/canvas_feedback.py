"""`feedback_for_canvas.zip`: each student's feedback page, named so that Canvas attaches it to that student's
submission (the assignment's "Upload Submissions", after "Download Submissions").

Canvas reads a re-uploaded file's student and attachment from the first two all-digit parts of its name split
at "_" (canvas-lms, Assignment#infer_comment_context_from_filename), and attaches it only if that attachment
belongs to the student's submission. Each page is therefore named after the Canvas file that was graded:
`<name>[_LATE]_<user id>_<attachment id>_feedback_<notebook>.html`, and goes back as a comment on that hand-in.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from grader.course_dir import CourseDir
from grader.nbgrader_ext.canvas_collector import canvas_file
from grader.result import SubmissionResult


def write_canvas_feedback(course: CourseDir, results: list[SubmissionResult], path: Path) -> list[str]:
    """Zip the feedback page of every result that came from Canvas's download; returns the entries written."""
    entries = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for result in sorted(results, key=lambda r: (r.student, r.canvas_file)):
            found = canvas_file(result.canvas_file) if result.canvas_file else None
            folder = course.feedback(result.student, result.assignment)
            if found is None or not folder.is_dir():
                continue
            for page in sorted(folder.glob("*.html")):
                entry = f"{found.prefix}_feedback_{page.name}"
                archive.write(page, entry)
                entries.append(entry)
    return entries
