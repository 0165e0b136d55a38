"""A writable Keras home whose `models/` and `datasets/` link the mirror's files.

`keras.applications` looks for `$KERAS_HOME/models/<file name>` and `keras.utils.get_file(name, url)`
for `$KERAS_HOME/datasets/<name>` before downloading, and Keras writes its `keras.json` into
`$KERAS_HOME`, so the mirror (read-only) is linked, not used as is.
"""

from __future__ import annotations

from pathlib import Path

from grader.assets.catalog import load_catalog
from grader.assets.mirror import verified_file

# Where Keras looks for each kind of catalog entry (its `cache_subdir`).
SUBDIRS = {"weights": "models", "files": "datasets"}


def _link(source: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() == source.resolve():
            return
        link.unlink()
    link.symlink_to(source)


def prepare_keras_home(mirror: Path, keras_home: Path) -> Path:
    """Link every mirrored weights file and photo of the catalog into `keras_home`; return it.

    Files whose md5 Keras checks (`md5` in the catalog) are not linked: a stand-in copy would
    fail that check and make Keras try to download again.
    """
    for asset in load_catalog():
        subdir = SUBDIRS.get(asset.kind)
        if subdir is None or not asset.mirror or "md5" in asset.fields:
            continue
        folder = keras_home / subdir
        folder.mkdir(parents=True, exist_ok=True)
        _link(verified_file(mirror, asset.mirror), folder / asset.fields["file"])
    return keras_home
