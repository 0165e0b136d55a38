"""`course assets verify`: every download the notebooks name is catalogued, and serves what the catalogue says.

Offline: the URLs, handles and TFDS names in `solutions/*.py` against `data/assets.toml`, the catalogue's
own rules (each entry names where its hash comes from), and the mirror's byte-identical copies against the
recorded sha256. Online (`--online`): each URL is downloaded and its sha256, md5 and size compared.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import IO, TextIO

from grader import paths
from grader.assets.catalog import Asset, load_catalog

SOLUTIONS_DIR = paths.REPO_ROOT / "solutions"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MD5 = re.compile(r"[0-9a-f]{32}")
# Below this many bytes a download finishes before a progress bar would tell anything.
PROGRESS_MIN_BYTES = 8 << 20


# --- what the solutions name ------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Named:
    """A download a solution names: `what` is "url", "hub handle" or "tfds name"."""

    value: str
    what: str
    where: str  # file:line


def _resolve(node: ast.AST, constants: dict[str, str]) -> str | None:
    """The string an expression always evaluates to (literals, module constants, `+`), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _resolve(node.left, constants), _resolve(node.right, constants)
        return left + right if left is not None and right is not None else None
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def names_in_source(source: str, filename: str) -> list[Named]:
    """Every URL, TF-Hub handle and TFDS name a Python source passes to a loader or spells out."""
    tree = ast.parse(source, filename)
    constants: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value = _resolve(stmt.value, constants)
            if value is not None:
                constants[stmt.targets[0].id] = value
    found: list[Named] = []
    # Literals already counted as part of a longer concatenation, so that a bare URL prefix is not
    # reported as a URL of its own.
    inside_concatenation: set[int] = set()

    def add(value: str | None, what: str, node: ast.AST) -> None:
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if value is None:
            found.append(Named(f"<not a constant: {ast.unparse(node)}>", what, where))
        else:
            found.append(Named(value, what, where))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            loaders = {"get_file": (1, "origin", "url"), "KerasLayer": (0, "handle", "hub handle"),
                       "load": (0, "name", "tfds name")}
            if name in loaders and (name != "load" or ast.unparse(node.func).startswith("tfds.")):
                position, keyword, what = loaders[name]
                arg = _argument(node, position, keyword)
                if arg is not None:
                    add(_resolve(arg, constants), what, arg)
        elif isinstance(node, ast.BinOp) and id(node) not in inside_concatenation:
            value = _resolve(node, constants)
            if value is not None:
                inside_concatenation.update(id(child) for child in ast.walk(node))
                if value.startswith(("http://", "https://")):
                    add(value, "url", node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_concatenation:
            if node.value.startswith(("http://", "https://")):
                add(node.value, "url", node)
    return sorted(set(found))


def names_in_solutions(solutions: Path = SOLUTIONS_DIR) -> list[Named]:
    """What every solution (the single source of every notebook) names."""
    found: list[Named] = []
    for path in sorted(solutions.glob("*.py")):
        found += names_in_source(path.read_text(), path.name)
    return found


def catalogued_names(assets: Iterable[Asset]) -> dict[str, set[str]]:
    """Kind of name -> the values the catalogue holds."""
    names: dict[str, set[str]] = {"url": set(), "hub handle": set(), "tfds name": set()}
    for asset in assets:
        names["url"].update(d.url for d in downloads_of(asset) if asset.kind != "hub")
        if "handle" in asset.fields:
            names["hub handle"].add(asset.fields["handle"])
            names["url"].add(asset.fields["handle"])
        if "tfds_name" in asset.fields:
            names["tfds name"].add(asset.fields["tfds_name"])
    return names


def uncatalogued(named: Iterable[Named], assets: Iterable[Asset]) -> list[Named]:
    """The names no catalogue entry holds (a name that is not a constant is never catalogued)."""
    known = catalogued_names(assets)
    return [n for n in named if n.value not in known[n.what]]


# --- what the catalogue records ---------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """One file a catalogue entry's loader downloads, and what the catalogue says it is."""

    entry: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    redirect_hosts: tuple[str, ...] = ()


def downloads_of(asset: Asset) -> list[Download]:
    """The files `asset` downloads online: its url (a hub handle's compressed archive) and `also_downloads`."""
    fields = asset.fields
    name = f"{asset.kind}.{asset.key}"
    hosts = tuple(fields.get("redirect_hosts", ()))
    result = []
    if "handle" in fields:
        # What tensorflow_hub's compressed-module resolver fetches for an https handle.
        result.append(Download(name, fields["handle"] + "?tf-hub-format=compressed", fields.get("sha256"),
                               fields.get("md5"), fields.get("size"), hosts))
    elif "url" in fields:
        result.append(Download(name, fields["url"], fields.get("sha256"), fields.get("md5"), fields.get("size"), hosts))
    for extra in fields.get("also_downloads", ()):
        result.append(Download(name, extra["url"], extra.get("sha256"), extra.get("md5"), extra.get("size"), hosts))
    return result


def catalogue_problems(assets: Iterable[Asset]) -> list[str]:
    """Entries that break the catalogue's rules: each download says where its hash comes from."""
    problems = []
    for asset in assets:
        name = f"{asset.kind}.{asset.key}"
        fields = asset.fields
        if "url_checked" in fields:
            problems.append(f"{name}: url_checked is not a field: record sha256/size and hash_source instead")
        if not downloads_of(asset):
            problems.append(f"{name}: neither url nor handle")
            continue
        if not str(fields.get("hash_source", "")).strip():
            problems.append(f"{name}: no hash_source (where the recorded hash was read, or why none is)")
        for download in downloads_of(asset):
            if download.sha256 is not None and not _SHA256.fullmatch(download.sha256):
                problems.append(f"{name}: sha256 {download.sha256!r} is not 64 lowercase hex digits")
            if download.md5 is not None and not _MD5.fullmatch(download.md5):
                problems.append(f"{name}: md5 {download.md5!r} is not 32 lowercase hex digits")
            if download.size is None and not fields.get("size_unknown"):
                problems.append(f"{name}: {download.url} has no size and no size_unknown saying why")
            if download.size is not None and (not isinstance(download.size, int) or download.size <= 0):
                problems.append(f"{name}: size {download.size!r} is not a positive number of bytes")
        if fields.get("mirror_identical"):
            if not asset.mirror or not fields.get("sha256"):
                problems.append(f"{name}: mirror_identical needs mirror and sha256")
    return problems


def mirror_problems(assets: Iterable[Asset], mirror: Path) -> tuple[list[str], int]:
    """Mirror files that should be the published bytes and are not; and how many were checked."""
    from grader.assets.mirror import AssetError, _sha256, verified_file

    problems, checked = [], 0
    for asset in assets:
        if not asset.fields.get("mirror_identical"):
            continue
        name = f"{asset.kind}.{asset.key}"
        try:
            path = verified_file(mirror, asset.mirror)
        except AssetError as error:
            problems.append(f"{name}: {error}")
            continue
        checked += 1
        actual, size = _sha256(path), path.stat().st_size
        if actual != asset.fields["sha256"] or size != asset.fields.get("size", size):
            problems.append(f"{name}: the mirror's {asset.mirror} ({size} bytes, sha256 {actual}) is not the published "
                            f"file ({asset.fields.get('size')} bytes, sha256 {asset.fields['sha256']})")
    return problems, checked


def verify_offline(out: TextIO = sys.stdout, solutions: Path = SOLUTIONS_DIR, catalog: Path | None = None,
                   mirror: Path | None = None) -> int:
    """The checks that need no network; prints each problem; 0 when there is none, else 1."""
    assets = load_catalog(catalog) if catalog else load_catalog()
    named = names_in_solutions(solutions)
    problems = [f"{n.where}: {n.what} {n.value} is not in data/assets.toml" for n in uncatalogued(named, assets)]
    problems += catalogue_problems(assets)
    print(f"solutions name {len(named)} downloads ({len({n.value for n in named})} distinct); "
          f"catalogue: {len(assets)} entries", file=out)
    mirror = mirror if mirror is not None else paths.mirror_dir()
    if mirror is None:
        print("no offline mirror: its copies not checked", file=out)
    else:
        found, checked = mirror_problems(assets, mirror)
        problems += found
        print(f"mirror {mirror}: {checked} byte-identical copies checked against the recorded sha256", file=out)
    for problem in problems:
        print(f"PROBLEM  {problem}", file=out)
    print("offline checks passed" if not problems else f"{len(problems)} problem(s)", file=out)
    return 1 if problems else 0


# --- online -----------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What one download gave: `outcome` is ok, MISMATCH, 404, redirected to another host, not recorded, or error."""

    download: Download
    outcome: str
    detail: str = ""
    sha256: str | None = None
    size: int | None = None
    hops: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.outcome not in ("ok", "not recorded")


class _OffHost(Exception):
    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


class _RedirectGuard(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the download's own host or one its entry names, and records each hop."""

    def __init__(self, allowed: set[str], hops: list[str]):
        self.allowed, self.hops = allowed, hops

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message,
                         newurl: str) -> urllib.request.Request | None:
        self.hops.append(newurl)
        if urllib.parse.urlsplit(newurl).hostname not in self.allowed:
            raise _OffHost(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(download: Download, timeout: float = 60, progress: TextIO | None = None) -> Verdict:
    """Downloads one file, hashing it as it streams, and compares it with the catalogue."""
    from tqdm import tqdm

    hops: list[str] = []
    allowed = {urllib.parse.urlsplit(download.url).hostname, *download.redirect_hosts}
    opener = urllib.request.build_opener(_RedirectGuard(allowed, hops))
    request = urllib.request.Request(download.url, headers={"User-Agent": "course-assets-verify"})
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    try:
        with opener.open(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, leave=False, desc=download.entry,
                      file=progress or sys.stderr,
                      disable=total is not None and total < PROGRESS_MIN_BYTES) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    sha.update(block)
                    md5.update(block)
                    size += len(block)
                    bar.update(len(block))
    except _OffHost as off:
        return Verdict(download, "redirected to another host", f"-> {off.url}", hops=hops)
    except urllib.error.HTTPError as error:
        outcome = "404" if error.code == 404 else "error"
        return Verdict(download, outcome, f"HTTP {error.code} {error.reason}", hops=hops)
    except (urllib.error.URLError, OSError) as error:
        return Verdict(download, "error", f"{type(error).__name__}: {error}", hops=hops)
    got_sha, got_md5 = sha.hexdigest(), md5.hexdigest()
    differs = []
    if download.sha256 and got_sha != download.sha256:
        differs.append(f"sha256 {got_sha}, catalogue {download.sha256}")
    if download.md5 and got_md5 != download.md5:
        differs.append(f"md5 {got_md5}, catalogue {download.md5}")
    if download.size is not None and size != download.size:
        differs.append(f"{size} bytes, catalogue {download.size}")
    if differs:
        return Verdict(download, "MISMATCH", "; ".join(differs), got_sha, size, hops)
    if not download.sha256 and not download.md5:
        return Verdict(download, "not recorded", f"got {size} bytes, sha256 {got_sha} (no published hash to compare)",
                       got_sha, size, hops)
    checked = ", ".join(name for name, value in (("sha256", download.sha256), ("md5", download.md5),
                                                  ("size", download.size)) if value is not None)
    return Verdict(download, "ok", f"{size} bytes, {checked} as catalogued", got_sha, size, hops)


def all_downloads(assets: Iterable[Asset]) -> Iterator[Download]:
    for asset in assets:
        yield from downloads_of(asset)


def verify_online(out: TextIO = sys.stdout, catalog: Path | None = None, timeout: float = 60) -> int:
    """Downloads every catalogued URL and handle; one line each; 1 on any mismatch, 404, off-host redirect or error."""
    assets = load_catalog(catalog) if catalog else load_catalog()
    verdicts = []
    for download in all_downloads(assets):
        verdict = fetch(download, timeout=timeout)
        verdicts.append(verdict)
        hosts = [urllib.parse.urlsplit(hop).hostname or hop for hop in verdict.hops]
        via = f" (via {' -> '.join(hosts)})" if hosts else ""
        print(f"{verdict.outcome:<27} {download.entry}  {download.url}{via}  {verdict.detail}", file=out, flush=True)
    failed = [v for v in verdicts if v.failed]
    unrecorded = sum(v.outcome == "not recorded" for v in verdicts)
    print(f"{len(verdicts)} downloads: {len(verdicts) - len(failed) - unrecorded} ok, {unrecorded} not recorded "
          f"(no published hash), {len(failed)} failed", file=out)
    return 1 if failed else 0
