"""Offline TF-Hub handles: a SavedModel exported from mirrored weights into TF-Hub's own cache.

`hub.KerasLayer(url)` looks for `$TFHUB_CACHE_DIR/<sha1(url)>/` before it downloads, so a
SavedModel placed there answers the published handle unchanged. The export follows TF-Hub's
image feature-vector convention: float images in [0, 1], any size, a (batch, features) output.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader.assets.catalog import Asset, find
from grader.assets.mirror import verified_file


def module_dir(cache_dir: Path, handle: str) -> Path:
    """The folder TF-Hub's compressed-file resolver uses for `handle` (see its `_module_dir`)."""
    return cache_dir / hashlib.sha1(handle.encode("utf8")).hexdigest()


def prepare_hub_handle(mirror: Path, cache_dir: Path, asset: Asset) -> Path:
    """Export the feature-vector SavedModel for `asset` once; return its folder."""
    target = module_dir(cache_dir, asset.fields["handle"])
    if (target / "saved_model.pb").is_file():
        return target
    import tensorflow as tf
    import tf_keras

    weights = find("weights", asset.fields["from_weights"])
    weights_file = verified_file(mirror, weights.mirror)
    base = tf_keras.applications.MobileNetV2(
        input_shape=(None, None, 3), include_top=False, pooling="avg", weights=None
    )
    base.load_weights(str(weights_file))
    inputs = tf_keras.Input((None, None, 3))
    # Hub image modules take [0, 1]; MobileNetV2 wants [-1, 1].
    features = base(tf_keras.layers.Rescaling(2.0, offset=-1.0)(inputs))
    model = tf_keras.Model(inputs, features)
    staging = target.with_name(target.name + ".tmp")
    tf.saved_model.save(model, str(staging))
    staging.rename(target)
    return target
