"""Checks files of the offline mirror against its MANIFEST.sha256 before anything uses them."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


class AssetError(RuntimeError):
    """A needed asset is missing or corrupt; the message names it and says what to do."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def read_manifest(mirror: Path) -> dict[str, str]:
    """Relative path -> sha256, from the mirror's own manifest."""
    manifest = mirror / "MANIFEST.sha256"
    if not manifest.is_file():
        raise AssetError(
            f"{manifest} is missing: the offline mirror at {mirror} is incomplete. "
            "Restore the mirror, or unset COURSE_ASSETS_MIRROR to use the internet."
        )
    entries = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            digest, rel = line.split(maxsplit=1)
            entries[rel.removeprefix("./")] = digest
    return entries


def verified_file(mirror: Path, rel: str) -> Path:
    """`mirror/rel`, after checking it exists and matches the manifest."""
    path = mirror / rel
    expected = read_manifest(mirror).get(rel)
    if not path.is_file():
        raise AssetError(
            f"missing offline asset: {path}. Restore it from the mirror's source "
            "(see its README.md), or unset COURSE_ASSETS_MIRROR to download online."
        )
    if expected is None:
        raise AssetError(f"{rel} is not listed in {mirror / 'MANIFEST.sha256'}: the mirror is not the expected one.")
    actual = _sha256(path)
    if actual != expected:
        raise AssetError(
            f"corrupt offline asset: {path} has sha256 {actual[:12]}..., the manifest says "
            f"{expected[:12]}.... Replace the file with an intact copy."
        )
    return path


def verified_tree(mirror: Path, rel_dir: str) -> list[Path]:
    """Every manifest-listed file under `mirror/rel_dir`, each checked; sorted for determinism."""
    prefix = rel_dir.rstrip("/") + "/"
    rels = sorted(r for r in read_manifest(mirror) if r.startswith(prefix))
    if not rels:
        raise AssetError(f"the mirror at {mirror} lists no files under {rel_dir}/: check COURSE_ASSETS_MIRROR.")
    return [verified_file(mirror, rel) for rel in rels]
