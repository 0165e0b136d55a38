"""Canvas's download names (canvas-lms lib/content_zipper.rb), taken apart as Canvas puts them together."""

import pytest

from grader.nbgrader_ext.canvas_collector import ANONYMOUS_NAME, CanvasFile, canvas_file


@pytest.mark.parametrize("name, expected", [
    ("smithbob_340934_208490284_Copy of 05_horses_or_humans.ipynb",
     CanvasFile("smithbob", False, "340934", 208490284, "Copy of 05_horses_or_humans.ipynb")),
    ("smithbob_LATE_340934_208490285_05_horses_or_humans.ipynb",
     CanvasFile("smithbob", True, "340934", 208490285, "05_horses_or_humans.ipynb")),
    # A second file of the same name gets "-1" before its extension.
    ("smithbob_340934_208490286_05_horses_or_humans-1.ipynb",
     CanvasFile("smithbob", False, "340934", 208490286, "05_horses_or_humans.ipynb")),
    # Sortable names keep letters of any script and underscores; digits between underscores are joined.
    ("o_brienzoë_12_34_a1.ipynb", CanvasFile("o_brienzoë", False, "12", 34, "a1.ipynb")),
    ("李雷_LATE_7_8_a1 (1).ipynb", CanvasFile("李雷", True, "7", 8, "a1 (1).ipynb")),
    # A sortable name of no letters at all leaves the name part empty.
    ("_7_8_a1.ipynb", CanvasFile("", False, "7", 8, "a1.ipynb")),
])
def test_canvas_names(name, expected):
    assert canvas_file(name) == expected
    assert canvas_file(name).prefix == name.split(f"_{expected.attachment_id}_")[0] + f"_{expected.attachment_id}"


@pytest.mark.parametrize("name", ["bob__a1.ipynb", "a1.ipynb", "smithbob_a1.ipynb", "smithbob_12_a1.ipynb"])
def test_other_names_are_not_canvas_names(name):
    assert canvas_file(name) is None


def test_anonymous_grading_names_no_student():
    assert ANONYMOUS_NAME.match("anon_xK3pQ_208490284_a1.ipynb")
    assert ANONYMOUS_NAME.match("LATE_anon_xK3pQ_208490284_a1.ipynb")
    assert not ANONYMOUS_NAME.match("anonymousjohn_12_34_a1.ipynb")
