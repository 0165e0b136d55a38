"""One switch for the notebooks' assets: online as published, or offline from a mirror.

Offline, the notebooks still call `keras.applications.*(weights="imagenet")`, `tfds.load(...)` and
`hub.KerasLayer(url)`; only the ecosystem's own settings (`KERAS_HOME`, `TFDS_DATA_DIR`,
`TFHUB_CACHE_DIR`) point them at prepared local copies.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.assets.catalog import Asset, load_catalog
from grader.assets.hub_offline import module_dir, prepare_hub_handle
from grader.assets.ipython_startup import prepare_ipython_dir
from grader.assets.keras_home import prepare_keras_home
from grader.assets.mirror import AssetError, read_manifest
from grader.assets.native_output import captured_native_output
from grader.assets.photo_archives import is_prepared as archive_is_prepared
from grader.assets.photo_archives import prepare_photo_archive
from grader.assets.tfds_offline import is_prepared, prepare_tfds_dataset

# glibc's allocator settings for the kernels (ignored where glibc is not the C library). By default
# glibc hands every block over 32 MiB (and, at first, over 128 KiB) straight back to the operating
# system when it is freed, and TensorFlow on CPU frees such blocks at every step: MobileNetV2's
# activations for a batch of 32 photos are 26-78 MB each. Each new step then faults its memory in again,
# page by page, in the operating system's time. Freed memory is kept and reused instead (one arena, no
# per-block mmap, no trimming): training notebooks take less kernel CPU and peak memory, with the same
# metrics (`python -m devtools.benchmarks.allocator`; figures in docs/benchmarks.md).
# tests/sandbox/test_sandbox.py checks that the settings reach the box.
MALLOC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295:glibc.malloc.arena_max=1"


def offline_locations(cache: Path | None = None) -> dict[str, Path]:
    cache = cache or paths.cache_dir()
    return {
        "KERAS_HOME": cache / "keras",
        "TFDS_DATA_DIR": cache / "tensorflow_datasets",
        "TFHUB_CACHE_DIR": cache / "tfhub_modules",
        "IPYTHONDIR": cache / "ipython",
    }


def downloaded_locations() -> dict[str, Path]:
    """Where the libraries keep what they downloaded on an online machine (their own defaults)."""
    return {
        "KERAS_HOME": Path.home() / ".keras",
        "TFDS_DATA_DIR": Path.home() / "tensorflow_datasets",
        "TFHUB_CACHE_DIR": Path(tempfile.gettempdir()) / "tfhub_modules",
    }


def asset_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` with the asset locations filled in where this machine cached the downloads.

    A grading kernel has no network: it must find what the notebooks download where this machine
    cached it (online instructors: run each solution once first). Inside the box HOME is /tmp,
    so the usual places are passed explicitly.
    """
    env = dict(env)
    for name, cached in downloaded_locations().items():
        if not env.get(name) and cached.is_dir():
            env[name] = str(cached)
    return env


def prepare(mirror: Path | None = None, cache: Path | None = None) -> dict[str, str]:
    """Prepare every offline copy (once) and return the environment the notebooks need.

    Without a mirror nothing is prepared and the environment is empty: the notebooks download
    the official files as usual.
    """
    mirror = mirror if mirror is not None else paths.mirror_dir()
    if mirror is None:
        return {}
    if not mirror.is_dir():
        raise AssetError(f"COURSE_ASSETS_MIRROR points at {mirror}, which is not a folder.")
    where = offline_locations(cache)
    prepare_keras_home(mirror, where["KERAS_HOME"])
    prepare_ipython_dir(mirror, where["IPYTHONDIR"])
    for asset in load_catalog():
        if asset.kind == "datasets":
            if not is_prepared(mirror, where["TFDS_DATA_DIR"], asset):
                _prepare_dataset_quietly(mirror, where["TFDS_DATA_DIR"], asset)
        elif asset.kind == "hub":
            prepare_hub_handle(mirror, where["TFHUB_CACHE_DIR"], asset)
        elif asset.kind == "archives":
            prepare_photo_archive(mirror, where["KERAS_HOME"], asset)
    env = {name: str(path) for name, path in where.items()}
    env["COURSE_ASSETS_MIRROR"] = str(mirror)
    return env


def _prepare_dataset_quietly(mirror: Path, data_dir: Path, asset: Asset) -> None:
    # One line per dataset on stderr (stdout may be `course assets env`'s shell code); TFDS's banners
    # and TensorFlow's start-up lines are held back unless the build fails.
    print(f"preparing the offline {asset.fields['tfds_name']} dataset from the mirror's photos (once)...",
          end="", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with captured_native_output():
        prepare_tfds_dataset(mirror, data_dir, asset)
        import tensorflow as tf

        # TensorFlow probes for a GPU once, on first use, and logs the CUDA result from C++: do it here.
        tf.config.list_physical_devices("GPU")
    print(f" {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def notebook_environment(profile: str | None = None) -> dict[str, str]:
    """os.environ plus the prepared asset settings, for kernels started by the tooling."""
    env = dict(os.environ)
    env.update(prepare())
    if profile:
        env["COURSE_PROFILE"] = profile
    # Kernels draw with matplotlib's inline backend, so plots land in the notebook and its feedback;
    # an inherited MPLBACKEND (e.g. Agg) would silently drop them.
    env.pop("MPLBACKEND", None)
    # The same notebook must give the same numbers every run: TensorFlow's own switch for
    # deterministic ops, which also runs a tf.data `map` whose function draws random numbers
    # (the notebooks' augmentation) in order instead of racing on the seed generator's state.
    env.setdefault("TF_DETERMINISTIC_OPS", "1")
    env.setdefault("GLIBC_TUNABLES", MALLOC_TUNABLES)
    return env


@dataclass(frozen=True)
class StatusRow:
    asset: str
    status: str  # "ready", "not prepared", "stand-in", "missing", "corrupt", "online"
    detail: str


def status(mirror: Path | None = None, cache: Path | None = None) -> list[StatusRow]:
    """What is present, what is a stand-in and what is missing, without changing anything."""
    mirror = mirror if mirror is not None else paths.mirror_dir()
    where = offline_locations(cache)
    rows = []
    manifest = read_manifest(mirror) if mirror else {}
    for asset in load_catalog():
        name = f"{asset.kind}.{asset.key}"
        if mirror is None:
            rows.append(StatusRow(name, "online", asset.online_source))
            continue
        if asset.status == "missing":
            rows.append(StatusRow(name, "missing", asset.note))
            continue
        if asset.kind in ("weights", "files"):
            present = asset.mirror in manifest and (mirror / asset.mirror).is_file()
            if asset.kind == "files" and "md5" in asset.fields:
                linked = (where["IPYTHONDIR"] / "profile_default" / "startup").is_dir()
            else:
                subdir = "models" if asset.kind == "weights" else "datasets"
                linked = (where["KERAS_HOME"] / subdir / asset.fields["file"]).exists()
            state = "missing from mirror" if not present else ("ready" if linked else "not prepared")
        elif asset.kind == "datasets":
            state = "ready" if is_prepared(mirror, where["TFDS_DATA_DIR"], asset) else "not prepared"
        elif asset.kind == "archives":
            state = "ready" if archive_is_prepared(mirror, where["KERAS_HOME"], asset) else "not prepared"
        else:
            ready = (module_dir(where["TFHUB_CACHE_DIR"], asset.fields["handle"]) / "saved_model.pb").is_file()
            state = "ready" if ready else "not prepared"
        detail = asset.note if asset.status == "stand-in" else asset.online_source
        label = f"{state}, stand-in" if asset.status == "stand-in" and state == "ready" else state
        rows.append(StatusRow(name, label, detail))
    return rows
