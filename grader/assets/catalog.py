"""Reads `data/assets.toml`: the one list of weights, datasets and hub handles the notebooks use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from grader.paths import DATA_DIR

CATALOG_FILE = DATA_DIR / "assets.toml"


@dataclass(frozen=True)
class Asset:
    """One thing a notebook loads: `kind` is "weights", "datasets", "hub", "files" or "archives"."""

    kind: str
    key: str
    status: str
    note: str = ""
    mirror: str | None = None
    used_by: tuple[str, ...] = ()
    fields: dict = field(default_factory=dict, compare=False)

    @property
    def online_source(self) -> str:
        return self.fields.get("url") or self.fields.get("handle") or ""


def load_catalog(path: Path = CATALOG_FILE) -> list[Asset]:
    """Every asset in the catalog, in file order."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    assets = []
    for kind, entries in raw.items():
        for key, entry in entries.items():
            assets.append(
                Asset(
                    kind=kind,
                    key=key,
                    status=entry["status"],
                    note=entry.get("note", ""),
                    mirror=entry.get("mirror"),
                    used_by=tuple(entry.get("used_by", ())),
                    fields=entry,
                )
            )
    return assets


def find(kind: str, key: str, path: Path = CATALOG_FILE) -> Asset:
    """The catalog entry `kind.key`, or a KeyError naming what exists."""
    for asset in load_catalog(path):
        if asset.kind == kind and asset.key == key:
            return asset
    known = [f"{a.kind}.{a.key}" for a in load_catalog(path)]
    raise KeyError(f"{kind}.{key} is not in {path}; known: {', '.join(known)}")
