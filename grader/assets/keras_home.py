"""A writable Keras home whose `models/` links the mirror's ImageNet weights.

`keras.applications` looks for `$KERAS_HOME/models/<file name>` before it downloads, and Keras
writes its `keras.json` into `$KERAS_HOME`, so the mirror (read-only) is linked, not used as is.
"""

from __future__ import annotations

from pathlib import Path

from grader.assets.catalog import load_catalog
from grader.assets.mirror import verified_file


def prepare_keras_home(mirror: Path, keras_home: Path) -> Path:
    """Link every mirrored weights file of the catalog into `keras_home/models`; return keras_home."""
    models = keras_home / "models"
    models.mkdir(parents=True, exist_ok=True)
    for asset in load_catalog():
        if asset.kind != "weights" or not asset.mirror:
            continue
        source = verified_file(mirror, asset.mirror)
        link = models / asset.fields["file"]
        if link.is_symlink() or link.exists():
            if link.resolve() == source.resolve():
                continue
            link.unlink()
        link.symlink_to(source)
    return keras_home
