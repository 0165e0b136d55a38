"""The asset layer: mirror checks, Keras home, TFDS data dirs and hub handles, offline."""

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader import paths
from grader.assets.catalog import find, load_catalog
from grader.assets.environment import offline_locations, status
from grader.assets.hub_offline import module_dir
from grader.assets.mirror import AssetError, read_manifest, verified_file

MIRROR = paths.mirror_dir()
needs_mirror = pytest.mark.skipif(MIRROR is None, reason="no offline mirror beside the checkout")


def make_mirror(root: Path, files: dict[str, bytes]) -> Path:
    lines = []
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
        lines.append(f"{hashlib.sha256(content).hexdigest()}  ./{rel}")
    (root / "MANIFEST.sha256").write_text("\n".join(lines) + "\n")
    read_manifest.cache_clear()
    return root


def test_catalog_lists_what_notebook_01_loads():
    keys = {(a.kind, a.key) for a in load_catalog()}
    assert ("weights", "mobilenet_v2_160_no_top") in keys
    assert ("datasets", "cats_vs_dogs") in keys
    assert ("hub", "mobilenet_v2_feature_vector") in keys
    assert all(a.status in {"exact", "stand-in", "missing"} for a in load_catalog())


def test_verified_file_accepts_an_intact_file(tmp_path):
    mirror = make_mirror(tmp_path, {"keras/models/w.h5": b"weights"})
    assert verified_file(mirror, "keras/models/w.h5").read_bytes() == b"weights"


def test_corrupt_file_is_named_with_what_to_do(tmp_path):
    mirror = make_mirror(tmp_path, {"keras/models/w.h5": b"weights"})
    (mirror / "keras/models/w.h5").write_bytes(b"truncated")
    with pytest.raises(AssetError, match=r"corrupt offline asset: .*w\.h5.*Replace the file"):
        verified_file(mirror, "keras/models/w.h5")


def test_missing_file_is_named_with_what_to_do(tmp_path):
    mirror = make_mirror(tmp_path, {"keras/models/w.h5": b"weights"})
    (mirror / "keras/models/w.h5").unlink()
    with pytest.raises(AssetError, match=r"missing offline asset: .*w\.h5.*COURSE_ASSETS_MIRROR"):
        verified_file(mirror, "keras/models/w.h5")


def test_missing_manifest_says_the_mirror_is_incomplete(tmp_path):
    read_manifest.cache_clear()
    with pytest.raises(AssetError, match="MANIFEST.sha256 is missing"):
        verified_file(tmp_path, "anything")


def test_cli_reports_a_broken_mirror_without_a_traceback(tmp_path):
    env = dict(os.environ, COURSE_ASSETS_MIRROR=str(tmp_path), COURSE_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "grader.cli", "assets", "prepare"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "error:" in result.stderr and "MANIFEST.sha256" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_cache_folder_is_the_one_tensorflow_hub_looks_in(tmp_path, monkeypatch):
    from tensorflow_hub import compressed_module_resolver

    handle = find("hub", "mobilenet_v2_feature_vector").fields["handle"]
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    assert Path(compressed_module_resolver._module_dir(handle)) == module_dir(tmp_path, handle)


@needs_mirror
def test_status_names_stand_ins_and_the_missing_inception_weights():
    rows = {row.asset: row for row in status()}
    assert rows["weights.inception_v3_no_top"].status == "missing"
    assert "stand-in" in rows["weights.mobilenet_v2_160_no_top"].status


@needs_mirror
def test_real_loading_code_works_offline(tmp_path):
    """The notebooks' own calls, unchanged, in a fresh process with only the prepared settings."""
    code = textwrap.dedent("""
        import keras, numpy as np, tensorflow_datasets as tfds, tensorflow_hub as hub
        (train, val), info = tfds.load("cats_vs_dogs", split=["train[:80%]", "train[80%:]"],
                                       as_supervised=True, with_info=True)
        assert info.features["label"].names == ["cat", "dog"]
        assert info.splits["train"].num_examples == 1000
        image, label = next(iter(train))
        assert image.shape[-1] == 3 and int(label) in (0, 1)
        base = keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights="imagenet")
        assert base.output_shape == (None, 5, 5, 1280)
        layer = hub.KerasLayer("https://tfhub.dev/google/tf2-preview/mobilenet_v2/feature_vector/4")
        assert layer(np.zeros((1, 160, 160, 3), "float32")).shape == (1, 1280)
        print("offline ok")
    """)
    where = offline_locations()
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_HOME", "TFDS_DATA_DIR", "TFHUB_CACHE_DIR")}
    env.update({name: str(path) for name, path in where.items()})
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "offline ok" in result.stdout


@needs_mirror
def test_keras_home_links_point_into_the_mirror():
    models = offline_locations()["KERAS_HOME"] / "models"
    link = models / find("weights", "mobilenet_v2_160_no_top").fields["file"]
    assert link.is_symlink() and link.resolve().is_relative_to(MIRROR)


def test_split_held_back_keeps_the_last_photos_of_each_class_by_name():
    from grader.assets.tfds_offline import split_held_back

    files = [Path(f"root/{c}/{n}.jpg") for c in ("roses", "daisy") for n in ("c", "a", "d", "b")]
    kept, held = split_held_back(files, 1)
    assert held == [Path("root/daisy/d.jpg"), Path("root/roses/d.jpg")]
    assert sorted(kept + held) == sorted(files)
    with pytest.raises(ValueError, match="cannot hold back 4"):
        split_held_back(files, 4)


@needs_mirror
def test_held_back_flower_photos_are_not_in_the_offline_tf_flowers():
    """02's grader measures accuracy on photos the notebook cannot load: 50 per class, none in TFDS."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    held = sorted((paths.cache_dir() / "held_out" / "tf_flowers").rglob("*.jpg"))
    assert len(held) == 250
    assert {p.parent.name for p in held} == {"daisy", "dandelion", "roses", "sunflowers", "tulips"}
    data = tfds.load("tf_flowers", split="train", data_dir=str(offline_locations()["TFDS_DATA_DIR"]))
    in_tfds = {hashlib.sha256(example["image"].tobytes()).hexdigest() for example in tfds.as_numpy(data)}
    assert len(in_tfds) == 1250
    held_pixels = {hashlib.sha256(tf.io.decode_jpeg(tf.io.read_file(str(p)), channels=3).numpy().tobytes()).hexdigest()
                   for p in held}
    assert len(held_pixels) == 250 and not held_pixels & in_tfds
