"""Preparing assets holds TensorFlow's C++ start-up lines back, and shows them when the step fails."""

import subprocess
import sys
import textwrap


def _run(body: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent("""
        import os
        from grader.assets.native_output import captured_native_output
        print("before", flush=True)
        try:
            with captured_native_output():
                os.write(2, b"I0000 native start-up line\\n")
                os.write(1, b"a builder's banner\\n")
    """) + textwrap.indent(textwrap.dedent(body), " " * 8) + textwrap.dedent("""
        except RuntimeError as error:
            print("caught", error, flush=True)
        print("after", flush=True)
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_lines_written_to_the_file_descriptors_are_held_back_on_success():
    result = _run("pass")
    assert result.stdout == "before\nafter\n"
    assert "native start-up line" not in result.stderr


def test_a_failure_replays_what_was_held_back_before_the_error():
    result = _run('raise RuntimeError("the build failed")')
    assert "I0000 native start-up line" in result.stderr and "a builder's banner" in result.stderr
    assert "caught the build failed" in result.stdout and result.stdout.endswith("after\n")
