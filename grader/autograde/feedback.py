"""The feedback page of a graded notebook: nbgrader's own GenerateFeedback, with this course's summary and
its safe exporter."""

from __future__ import annotations

from grader.course_dir import CourseDir


def write_feedback(course: CourseDir, assignment: str, student: str, checks: list[dict] | None = None,
                   notes: list[str] | None = None) -> None:
    """nbgrader's own GenerateFeedback converter, run in this process (a subprocess costs seconds of
    start-up per submission); it reads the scores that SaveAutoGrades just wrote.

    The page opens with a summary (FeedbackSummary) built from the gradebook and the grader's own
    `checks`; the student's HTML and JavaScript outputs are sanitized (nbconvert's SanitizeHTML) and
    markdown links can run no script (SafeLinksHTMLExporter), since instructors open these pages too.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config

    from grader.nbgrader_ext.preprocessors import FeedbackSummary, HideHiddenTests, HideOutputsAfterHiddenTests
    from grader.nbgrader_ext.safe_links import SafeLinksHTMLExporter

    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.assignment_id = assignment
    config.CourseDirectory.student_id = student
    config.GenerateFeedback.preprocessors = [GetGrades, HideOutputsAfterHiddenTests, HideHiddenTests, SanitizeHTML,
                                             FeedbackSummary, CSSHTMLHeaderPreprocessor]
    config.FeedbackSummary.checks = [{k: check.get(k) for k in ("test", "passed", "message", "not_measured")}
                                     for check in checks or []]
    config.FeedbackSummary.notes = list(notes or [])
    config.SanitizeHTML.enabled = True  # nbconvert's preprocessors are off unless enabled
    config.GenerateFeedback.exporter_class = SafeLinksHTMLExporter
    config.GenerateFeedback.force = True
    GenerateFeedback(coursedir=CourseDirectory(config=config), config=config).start()


