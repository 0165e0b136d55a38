"""`course assets verify`: the catalogue covers every download, and the online check's verdicts (local server)."""

import hashlib
import http.server
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import tomllib

from grader import paths
from grader.assets.catalog import load_catalog
from grader.assets.verify import (
    catalogue_problems,
    downloads_of,
    fetch,
    mirror_problems,
    names_in_solutions,
    names_in_source,
    uncatalogued,
    verify_offline,
    verify_online,
)

MIRROR = paths.mirror_dir()


def test_every_download_the_solutions_name_is_catalogued():
    named = names_in_solutions()
    # The scan must see what the notebooks load, or an empty scan would pass.
    assert {n.value for n in named if n.what == "tfds name"} == {"cats_vs_dogs", "tf_flowers", "horses_or_humans"}
    assert any(n.what == "hub handle" for n in named)
    assert sum(n.what == "url" for n in named) >= 6
    missing = uncatalogued(named, load_catalog())
    assert not missing, "not in data/assets.toml: " + "; ".join(f"{n.where} {n.what} {n.value}" for n in missing)


def test_the_scan_finds_every_way_a_solution_names_a_download():
    source = '''
FILE = "w.h5"
PHOTO = (
    "https://example.org/"
    "photo.jpg"
)
keras.utils.get_file(FILE, "https://example.org/weights/" + FILE)
keras.utils.get_file("x", origin="https://example.org/x.tgz", extract=True)
hub.KerasLayer("https://tfhub.dev/a/b/1")
tfds.load("some_dataset", split="train")
other.load("not_a_dataset")
keras.utils.get_file("y", origin=make_url())
'''
    found = {(n.what, n.value) for n in names_in_source(source, "s.py")}
    assert found == {
        ("url", "https://example.org/weights/w.h5"),
        ("url", "https://example.org/photo.jpg"),
        ("url", "https://example.org/x.tgz"),
        ("hub handle", "https://tfhub.dev/a/b/1"),
        ("url", "https://tfhub.dev/a/b/1"),
        ("tfds name", "some_dataset"),
        ("url", "<not a constant: make_url()>"),
    }


def test_an_uncatalogued_url_fails_the_offline_check_and_is_named(tmp_path):
    (tmp_path / "09_new.py").write_text('P = keras.utils.get_file("p.jpg", "https://example.org/new.jpg")\n')
    out = io.StringIO()
    assert verify_offline(out, solutions=tmp_path, mirror=tmp_path / "no-mirror") == 1
    assert "09_new.py:1: url https://example.org/new.jpg is not in data/assets.toml" in out.getvalue()


def test_the_catalogue_records_where_each_hash_comes_from():
    assert catalogue_problems(load_catalog()) == []
    raw = tomllib.loads((paths.REPO_ROOT / "data" / "assets.toml").read_text())
    assert all("url_checked" not in entry for kind in raw.values() for entry in kind.values())


def test_catalogue_rules_catch_an_entry_without_a_source(tmp_path):
    catalog = tmp_path / "assets.toml"
    catalog.write_text('[files.x]\nurl = "https://example.org/x"\nsha256 = "ABC"\nstatus = "exact"\n'
                       'url_checked = false\nmirror_identical = true\n')
    problems = "\n".join(catalogue_problems(load_catalog(catalog)))
    for expected in ("url_checked is not a field", "no hash_source", "not 64 lowercase hex", "no size_unknown",
                     "mirror_identical needs mirror"):
        assert expected in problems


@pytest.mark.skipif(MIRROR is None, reason="no offline mirror beside the checkout")
def test_the_mirrors_exact_copies_are_the_published_bytes():
    problems, checked = mirror_problems(load_catalog(), MIRROR)
    assert problems == [] and checked >= 1


# --- the online check, against a server on 127.0.0.1 ------------------------------------------------

GOOD = b"the published file\n" * 1000
WRONG = b"something else\n" * 1000


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        port = self.server.server_address[1]
        routes = {
            "/good.bin": (200, GOOD, {}),
            "/wrong.bin": (200, WRONG, {}),
            "/moved.bin": (302, b"", {"Location": f"http://127.0.0.1:{port}/good.bin"}),
            # "localhost" is another host name for the same server: a redirect the entry did not allow.
            "/elsewhere.bin": (302, b"", {"Location": f"http://localhost:{port}/good.bin"}),
        }
        code, body, headers = routes.get(self.path, (404, b"not found", {}))
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    # A proxy from the environment would be asked for 127.0.0.1 instead of the server itself.
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.lower().endswith("_proxy")}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()
    os.environ.update(saved)


def _catalog(tmp_path: Path, base: str, entries: dict[str, str]) -> Path:
    sha, size, md5 = hashlib.sha256(GOOD).hexdigest(), len(GOOD), hashlib.md5(GOOD).hexdigest()
    text = ""
    for key, extra in entries.items():
        fields = extra.format(base=base, sha=sha, size=size, md5=md5)
        text += f'[files.{key}]\nstatus = "exact"\nhash_source = "test"\n{fields}\n'
    path = tmp_path / "assets.toml"
    path.write_text(text)
    return path


ENTRIES = {
    "good": 'url = "{base}/good.bin"\nsha256 = "{sha}"\nsize = {size}',
    "md5_only": 'url = "{base}/good.bin"\nmd5 = "{md5}"\nsize_unknown = "test"',
    "wrong": 'url = "{base}/wrong.bin"\nsha256 = "{sha}"\nsize = {size}',
    "gone": 'url = "{base}/gone.bin"\nsha256 = "{sha}"\nsize = {size}',
    "moved": 'url = "{base}/moved.bin"\nsha256 = "{sha}"\nsize = {size}',
    "elsewhere": 'url = "{base}/elsewhere.bin"\nsha256 = "{sha}"\nsize = {size}',
    "allowed_elsewhere": 'url = "{base}/elsewhere.bin"\nsha256 = "{sha}"\nsize = {size}\n'
                         'redirect_hosts = ["localhost"]',
    "unrecorded": 'url = "{base}/good.bin"\nsize_unknown = "test"',
}


def test_each_online_verdict(tmp_path, server):
    catalog = _catalog(tmp_path, server, ENTRIES)
    verdicts = {a.key: fetch(d, timeout=10) for a in load_catalog(catalog) for d in downloads_of(a)}
    outcomes = {key: v.outcome for key, v in verdicts.items()}
    assert outcomes == {
        "good": "ok", "md5_only": "ok", "wrong": "MISMATCH", "gone": "404", "moved": "ok",
        "elsewhere": "redirected to another host", "allowed_elsewhere": "ok", "unrecorded": "not recorded",
    }
    assert verdicts["wrong"].sha256 == hashlib.sha256(WRONG).hexdigest()
    assert f"{len(WRONG)} bytes, catalogue {len(GOOD)}" in verdicts["wrong"].detail
    assert "localhost" in verdicts["elsewhere"].detail
    assert verdicts["unrecorded"].sha256 == hashlib.sha256(GOOD).hexdigest()


@pytest.mark.parametrize("bad", ["wrong", "gone", "elsewhere"])
def test_the_online_check_fails_on_a_mismatch_a_404_or_a_redirect_elsewhere(tmp_path, server, bad):
    catalog = _catalog(tmp_path, server, {"good": ENTRIES["good"], bad: ENTRIES[bad]})
    out = io.StringIO()
    assert verify_online(out, catalog=catalog, timeout=10) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ok") and "files.good" in lines[0]
    assert f"files.{bad}" in lines[1] and not lines[1].startswith("ok")
    assert "1 failed" in lines[-1]


def test_the_online_check_passes_when_all_match_or_are_unrecorded(tmp_path, server):
    keep = ("good", "md5_only", "moved", "allowed_elsewhere", "unrecorded")
    catalog = _catalog(tmp_path, server, {k: ENTRIES[k] for k in keep})
    out = io.StringIO()
    assert verify_online(out, catalog=catalog, timeout=10) == 0
    assert "5 downloads: 4 ok, 1 not recorded (no published hash), 0 failed" in out.getvalue()


def test_cli_verify_runs_offline_and_rejects_online_elsewhere():
    result = subprocess.run([sys.executable, "-m", "grader.cli", "assets", "verify"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline checks passed" in result.stdout
    result = subprocess.run([sys.executable, "-m", "grader.cli", "assets", "status", "--online"],
                            capture_output=True, text=True)
    assert result.returncode == 2
