"""Text from students, made safe to print on an instructor's terminal."""


def printable(text: str) -> str:
    """`text` with every character a terminal would act on, or that would hide text, shown escaped.

    File names in a student's archive and what nbgrader says of them reach the grade table: an escape
    sequence in them (cursor up, erase the line) would rewrite the lines above it, and a bidirectional
    override would reorder what follows. Printable characters, spaces and line breaks stay.
    """
    return "".join(ch if ch.isprintable() or ch in " \n" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
