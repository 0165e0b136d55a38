"""Archives of photos that `keras.utils.get_file(name, url, extract=True)` finds offline.

With `extract=True` and a name without a dot, Keras keeps the download as
`$KERAS_HOME/datasets/<name>_archive` and extracts it into `$KERAS_HOME/datasets/<name>` on every call.
So the offline copy is an archive in the official one's layout (`flower_photos/<class>/*.jpg`), written
once from the mirror's photos; an unchanged `get_file` call then downloads nothing. The photos held back
for the grader (`hold_back`, the same ones as the TFDS copy's) are not in it.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from grader.assets.catalog import Asset
from grader.assets.mirror import read_manifest, verified_tree
from grader.assets.tfds_offline import split_held_back


def archive_path(keras_home: Path, asset: Asset) -> Path:
    return keras_home / "datasets" / f"{asset.fields['file']}_archive"


def _fingerprint(mirror: Path, asset: Asset) -> str:
    prefix = asset.fields["folder"].rstrip("/") + "/"
    manifest = read_manifest(mirror)
    digest = hashlib.sha256(json.dumps([asset.fields["file"], asset.fields.get("hold_back", 0)]).encode())
    for rel in sorted(r for r in manifest if r.startswith(prefix)):
        digest.update(f"{rel} {manifest[rel]}\n".encode())
    return digest.hexdigest()


def _stamp(keras_home: Path, asset: Asset) -> Path:
    return archive_path(keras_home, asset).with_name(archive_path(keras_home, asset).name + ".stamp")


def is_prepared(mirror: Path, keras_home: Path, asset: Asset) -> bool:
    stamp = _stamp(keras_home, asset)
    return (archive_path(keras_home, asset).is_file() and stamp.is_file()
            and stamp.read_text() == _fingerprint(mirror, asset))


def prepare_photo_archive(mirror: Path, keras_home: Path, asset: Asset) -> Path:
    """Write the archive (once per mirror content); return its path."""
    target = archive_path(keras_home, asset)
    if is_prepared(mirror, keras_home, asset):
        return target
    photos = [p for p in verified_tree(mirror, asset.fields["folder"]) if p.suffix.lower() in (".jpg", ".jpeg")]
    if asset.fields.get("hold_back"):
        photos, _ = split_held_back(photos, asset.fields["hold_back"])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w") as archive:  # uncompressed: Keras extracts it on every call
        for photo in sorted(photos):
            archive.add(photo, arcname=f"{asset.fields['file']}/{photo.parent.name}/{photo.name}")
    partial.replace(target)
    _stamp(keras_home, asset).write_text(_fingerprint(mirror, asset))
    return target
