"""The grading kit is nbgrader's generate_assignment of the assignment's source, rebuilt only when
that source changes."""

from conftest import ASSIGNMENT
from grader.autograde.kit import FINGERPRINT, build_kit


def test_a_kit_is_reused_while_the_source_is_unchanged_and_rebuilt_when_it_changes(tiny_course):
    kits = tiny_course.root / ".grading" / "kits"
    kit = build_kit(tiny_course, ASSIGNMENT, kits)
    gradebook = kit / "gradebook.db"
    built = gradebook.stat().st_mtime_ns
    assert build_kit(tiny_course, ASSIGNMENT, kits) == kit
    assert gradebook.stat().st_mtime_ns == built, "an unchanged source must not be generated again"

    source = tiny_course.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    source.write_text(source.read_text().replace("return 2 * x", "return x + x"))
    build_kit(tiny_course, ASSIGNMENT, kits)
    assert "return x + x" in (kit / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert gradebook.stat().st_mtime_ns != built


def test_an_interrupted_kit_build_is_not_reused(tiny_course):
    kits = tiny_course.root / ".grading" / "kits"
    kit = build_kit(tiny_course, ASSIGNMENT, kits)
    (kit / FINGERPRINT).unlink()  # what a build killed before its last step leaves
    (kit / "gradebook.db").write_bytes(b"half written")
    build_kit(tiny_course, ASSIGNMENT, kits)
    assert (kit / FINGERPRINT).is_file() and (kit / "gradebook.db").read_bytes() != b"half written"
