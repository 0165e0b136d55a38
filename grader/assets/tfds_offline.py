"""TFDS data dirs written from the mirror's photos by the official TFDS builder classes.

Each dataset is built by a subclass of its official builder that keeps the official name,
version and features and only replaces where the examples come from. The result is an ordinary
TFDS data dir, so an unchanged `tfds.load(name)` reads it with `TFDS_DATA_DIR` pointing there.

A dataset whose mirror has no photos beyond the ones the notebooks load (tf_flowers) can hold some
back (`hold_back` in data/assets.toml): the last photos of each class, by file name, are left out of
the TFDS data and copied into a folder of the cache that only the grader's checks ever see.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from grader.assets.catalog import Asset
from grader.assets.mirror import read_manifest, verified_tree

STAMP = "course_mirror_stamp.json"


def _mirror_fingerprint(mirror: Path, asset: Asset) -> str:
    """Changes whenever a file that feeds the dataset changes in the mirror's manifest."""
    manifest = read_manifest(mirror)
    digest = hashlib.sha256(json.dumps(asset.fields.get("hold_back", {}), sort_keys=True).encode())
    for folders in asset.fields["splits"].values():
        for folder in folders:
            prefix = folder.rstrip("/") + "/"
            for rel in sorted(r for r in manifest if r.startswith(prefix)):
                digest.update(f"{rel} {manifest[rel]}\n".encode())
    return digest.hexdigest()


def dataset_dir(data_dir: Path, asset: Asset) -> Path:
    return data_dir / asset.fields["tfds_name"] / asset.fields["version"]


def held_back_dir(data_dir: Path, asset: Asset) -> Path | None:
    """Where the photos held back from `asset` go (beside the TFDS data dir, never inside it)."""
    hold_back = asset.fields.get("hold_back")
    return data_dir.parent / hold_back["into"] if hold_back else None


def split_held_back(files: list[Path], per_class: int) -> tuple[list[Path], list[Path]]:
    """(kept, held back): the last `per_class` files of each class folder, in file-name order, held back."""
    by_class: dict[str, list[Path]] = {}
    for path in files:
        by_class.setdefault(path.parent.name, []).append(path)
    kept, held = [], []
    for name in sorted(by_class):
        photos = sorted(by_class[name], key=lambda p: p.name)
        if len(photos) <= per_class:
            raise ValueError(f"class {name!r} has {len(photos)} photos: cannot hold back {per_class}")
        kept += photos[:-per_class]
        held += photos[-per_class:]
    return kept, held


def is_prepared(mirror: Path, data_dir: Path, asset: Asset) -> bool:
    stamp = dataset_dir(data_dir, asset) / STAMP
    held_dir = held_back_dir(data_dir, asset)
    if not stamp.is_file() or (held_dir is not None and not held_dir.is_dir()):
        return False
    return json.loads(stamp.read_text()).get("fingerprint") == _mirror_fingerprint(mirror, asset)


def _offline_builder_class(asset: Asset, files_by_split: dict[str, list[Path]]):
    """A subclass of the official builder that reads local files instead of downloading."""
    import tensorflow_datasets as tfds

    official = tfds.builder_cls(asset.fields["tfds_name"])
    labels: dict[str, str] = asset.fields["labels"]

    class OfflineBuilder(official, skip_registration=True):
        name = asset.fields["tfds_name"]
        # Read descriptions and citations from the official builder's own folder.
        pkg_dir_path = official._get_pkg_dir_path()

        def _split_generators(self, dl_manager):
            return {split: self._generate_local(files) for split, files in files_by_split.items()}

        def _generate_local(self, files):
            features = self.info.features
            for path in files:
                folder = path.parent.name
                key = f"{folder}/{path.name}"
                record = {"image": str(path), "label": labels.get(folder, folder)}
                if "image/filename" in features:
                    record["image/filename"] = key
                yield key, record

    OfflineBuilder.__name__ = f"Offline{official.__name__}"
    return OfflineBuilder


def prepare_tfds_dataset(mirror: Path, data_dir: Path, asset: Asset) -> Path:
    """Write `asset` into `data_dir` from the mirror (once; reused while the mirror is unchanged)."""
    if is_prepared(mirror, data_dir, asset):
        return dataset_dir(data_dir, asset)
    import tensorflow_datasets as tfds

    target = dataset_dir(data_dir, asset)
    if target.exists():
        shutil.rmtree(target)
    files_by_split = {
        split: [f for folder in folders for f in verified_tree(mirror, folder)]
        for split, folders in asset.fields["splits"].items()
    }
    held_dir = held_back_dir(data_dir, asset)
    if held_dir is not None:
        files_by_split["train"], held = split_held_back(files_by_split["train"], asset.fields["hold_back"]["per_class"])
        if held_dir.exists():
            shutil.rmtree(held_dir)
        for path in held:
            (held_dir / path.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, held_dir / path.parent.name / path.name)
    builder_cls = _offline_builder_class(asset, files_by_split)
    builder = builder_cls(data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    (target / STAMP).write_text(
        json.dumps({"fingerprint": _mirror_fingerprint(mirror, asset), "mirror": str(mirror)})
    )
    return target
