"""Give a submitted notebook back the nbgrader metadata of its release before it is graded.

nbgrader finds solution and test cells only through `metadata.nbgrader`. Students download their
notebooks from Google Colab, which may drop that metadata (and drops or replaces cell ids), so a
correct submission would be graded as if its tests were missing; metadata a student edited would stop
nbgrader. `restore_cells` matches every release cell to a submitted cell and copies the release's
metadata onto it, and takes off the tag that would keep a cell from running; it never changes a cell's
source.

Matching, in three passes (each pass only looks at cells the earlier ones left unmatched):

1. by name: the submitted cell's nbgrader `grade_id`, else its cell `id`, equals the release
   cell's (release ids are the grade_ids, see `grader.notebooks.assign_cell_ids`);
2. by identical source (trailing whitespace ignored), in order (difflib): unchanged test cells,
   read-only cells, plain cells and unanswered solution stubs;
3. by position: a run of release cells still unmatched is aligned with the unmatched submitted
   cells of the same type between the same matched neighbours, in order, preferring similar
   sources when the counts differ. A locked (test) cell pairs only with a similar cell (ratio
   >= 0.5): a student's scratch cell must not be taken for a deleted test.

Plain release cells take part in all passes only as neighbours; nothing is copied to them.
"""

from __future__ import annotations

import copy
import difflib
import uuid
from collections import Counter

from nbformat import NotebookNode
from nbformat.v4.convert import upgrade

# A locked cell found only by position must look like the release's to be taken for it.
LOCKED_SIMILARITY = 0.5
# nbclient does not run a cell with this tag (nbgrader's Execute is nbclient's, `skip_cells_with_tag`), and
# nbgrader gives a test cell that did not run its full points. The grading config names the same tag.
SKIP_TAG = "skip-execution"


def restore_cells(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """A copy of `submitted` with the release's nbgrader metadata where it was lost, and what was found.

    The messages name cells by grade_id, in release order: restored metadata, edited locked cells
    (nbgrader's OverwriteCells grades them with the release's source) and deleted cells. An
    untouched submission gives no messages, and so does a second run on the output.
    """
    nb = copy.deepcopy(submitted)
    messages = _drop_stray_metadata(nb, released) + _drop_skip_tags(nb, released)
    release_cells, cells = released.cells, nb.cells
    matches = _match_by_name(release_cells, cells)
    _match_by_source(release_cells, cells, matches)
    _match_by_position(release_cells, cells, matches)

    for i, release_cell in enumerate(release_cells):
        meta = release_cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        name = meta.get("grade_id") or release_cell.get("id") or f"#{i}"
        if i not in matches:
            messages.append(_missing_message(name, meta))
            continue
        cell = cells[matches[i]]
        mine = cell.get("metadata", {}).get("nbgrader")
        if mine is None:
            cell.setdefault("metadata", NotebookNode())["nbgrader"] = copy.deepcopy(meta)
            _set_id(nb, cell, release_cell.get("id"))
            messages.append(f"restored nbgrader metadata of cell {name!r} (lost, e.g. by Colab)")
        elif mine != meta:
            # Edited (nbgrader's "Create Assignment" toolbar, or by hand): nbgrader would stop on a test cell
            # no longer locked or graded, or on a solution cell made a graded one. The checksum alone differs
            # in a copy of an earlier release; nbgrader's OverwriteCells renews it anyway.
            cell["metadata"]["nbgrader"] = copy.deepcopy(meta)
            edited = sorted(str(key) for key in set(meta) | set(mine if isinstance(mine, dict) else {})
                            if key not in ("checksum", "schema_version")
                            and (mine.get(key) if isinstance(mine, dict) else None) != meta.get(key))
            if edited:
                messages.append(f"edited nbgrader metadata of cell {name!r} ({', '.join(edited)[:80]}): "
                                "graded with the release's")
        if meta.get("locked") and cell.source != release_cell.source:
            messages.append(f"edited locked cell {name!r}: graded with the release's version")
    return nb, messages


def _drop_stray_metadata(nb: NotebookNode, released: NotebookNode) -> list[str]:
    """Copies of a graded cell, and graded cells the release does not have (pasted from another
    notebook), become plain cells: nbgrader stops on a duplicate or unknown grade id."""
    known = {meta.get("grade_id") for meta in (c.get("metadata", {}).get("nbgrader") for c in released.cells) if meta}
    seen: set[str] = set()
    messages = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if not meta:
            continue
        name = meta.get("grade_id")
        if name in known and name not in seen:
            seen.add(name)
            continue
        del cell["metadata"]["nbgrader"]
        if "id" in cell and sum(c.get("id") == cell["id"] for c in nb.cells) > 1:
            cell["id"] = f"copy-{uuid.uuid4().hex[:8]}"
        why = "a copy of" if name in known else "not a graded cell of this assignment:"
        messages.append(f"cell {nb.cells.index(cell) + 1} is {why} {name!r}: kept, not graded")
    return messages


def _drop_skip_tags(nb: NotebookNode, released: NotebookNode) -> list[str]:
    """Every cell runs when graded: the skip tag stays only on a cell that is, word for word, one the release
    skips too (a release cell for Colab alone, say). nbgrader gives a test cell that did not run its points,
    so a wrong answer whose test cells were tagged would earn every point."""
    skipped = {_key(c) for c in released.cells if SKIP_TAG in c.get("metadata", {}).get("tags", [])}
    messages = []
    for number, cell in enumerate(nb.cells, 1):
        tags = cell.get("metadata", {}).get("tags", [])
        if SKIP_TAG in tags and _key(cell) not in skipped:
            cell["metadata"]["tags"] = [tag for tag in tags if tag != SKIP_TAG]
            messages.append(f"cell {number} was tagged {SKIP_TAG!r} (Jupyter skips such cells): the tag is removed, "
                            "every cell runs when graded")
    return messages


def same_notebook(submitted: NotebookNode, released: NotebookNode) -> bool:
    """Whether `submitted` is a version of the release at all: it keeps one of its grade ids, or one of
    its cells word for word (instructions, test cells). Matching by position alone is no evidence."""
    names = {_name(c) for c in submitted.cells} - {None}
    sources = {_key(c) for c in submitted.cells if _key(c)[1]}
    release_names = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in released.cells}
    return bool(names & (release_names - {None})) or any(_key(c) in sources for c in released.cells if _key(c)[1])


def _missing_message(name: str, meta: dict) -> str:
    # nbgrader's OverwriteCells.add_missing_cells puts back grade and task cells, nothing else.
    if meta.get("grade") or meta.get("task"):
        return f"deleted cell {name!r}: added back from the release"
    if meta.get("solution"):
        return f"solution cell {name!r} not found (deleted?): its answer cannot be graded as such"
    return f"deleted read-only cell {name!r}: not needed for grading"


def _set_id(nb: NotebookNode, cell: NotebookNode, cell_id: str | None) -> None:
    """Give a restored cell its release id, unless another cell already has it.

    Cell ids exist from nbformat 4.5 on (Colab writes 4.0): nbformat's own upgrade comes first.
    """
    if not cell_id or cell.get("id") == cell_id or any(c.get("id") == cell_id for c in nb.cells):
        return
    if nb.nbformat_minor < 5:
        upgrade(nb, from_version=4, from_minor=nb.nbformat_minor)
    cell["id"] = cell_id


def _name(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or cell.get("id")


def _match_by_name(release_cells: list, cells: list) -> dict[int, int]:
    """Release index -> submitted index for names that occur once in the submission."""
    counts = Counter(_name(c) for c in cells)
    by_name = {_name(c): j for j, c in enumerate(cells) if _name(c) and counts[_name(c)] == 1}
    return {i: by_name[_name(c)] for i, c in enumerate(release_cells) if _name(c) in by_name}


def _key(cell: NotebookNode) -> tuple[str, str]:
    lines = [line.rstrip() for line in cell.source.splitlines()]
    return cell.cell_type, "\n".join(lines).strip()


def _match_by_source(release_cells: list, cells: list, matches: dict[int, int]) -> None:
    left = [i for i, c in enumerate(release_cells) if i not in matches and _key(c)[1]]
    taken = set(matches.values())
    right = [j for j, c in enumerate(cells) if j not in taken and _key(c)[1]]
    matcher = difflib.SequenceMatcher(
        None, [_key(release_cells[i]) for i in left], [_key(cells[j]) for j in right], autojunk=False
    )
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            matches[left[block.a + k]] = right[block.b + k]


def _match_by_position(release_cells: list, cells: list, matches: dict[int, int]) -> None:
    taken = set(matches.values())
    i = 0
    while i < len(release_cells):
        if i in matches:
            i += 1
            continue
        end = i
        while end < len(release_cells) and end not in matches:
            end += 1
        low = matches[i - 1] if i > 0 else -1
        high = matches[end] if end < len(release_cells) else len(cells)
        window = [j for j in range(low + 1, high) if j not in taken]
        for a, b in _align(release_cells, list(range(i, end)), cells, window):
            matches[a] = b
            taken.add(b)
        i = end


def _score(release_cell: NotebookNode, cell: NotebookNode) -> float | None:
    """How well two cells pair up: more pairs first, then more similar sources; None: never."""
    if release_cell.cell_type != cell.cell_type:
        return None
    ratio = difflib.SequenceMatcher(None, release_cell.source, cell.source).ratio()
    if release_cell.get("metadata", {}).get("nbgrader", {}).get("locked") and ratio < LOCKED_SIMILARITY:
        return None
    return 1 + ratio


def _align(release_cells: list, left: list[int], cells: list, right: list[int]) -> list[tuple[int, int]]:
    """The order-preserving pairing of `left` with `right` of highest total score (a small DP)."""
    n, m = len(left), len(right)
    if not n or not m:
        return []
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(1, n + 1):
        for b in range(1, m + 1):
            best[a][b] = max(best[a - 1][b], best[a][b - 1])
            score = _score(release_cells[left[a - 1]], cells[right[b - 1]])
            if score is not None:
                best[a][b] = max(best[a][b], best[a - 1][b - 1] + score)
    pairs, a, b = [], n, m
    while a and b:
        if best[a][b] == best[a - 1][b]:
            a -= 1
        elif best[a][b] == best[a][b - 1]:
            b -= 1
        else:
            pairs.append((left[a - 1], right[b - 1]))
            a, b = a - 1, b - 1
    return pairs[::-1]
