"""download(): checksum, atomic rename, and resume after an interrupted transfer (local HTTP server only)."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from data_prep.download import ChecksumError, DownloadError, download

PAYLOAD = os.urandom(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file with Range support; ``server.cut_next`` truncates the next response by half."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.server.seen.append(dict(self.headers))
        if self.path != "/file":
            self.send_error(404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and self.server.honour_range:
            start = int(match.group(1))
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.cut_next:
            self.server.cut_next = False
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen, httpd.cut_next, httpd.honour_range = [], False, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/file"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_good_file_is_verified_and_renamed(server, tmp_path):
    dest = download(server.url, tmp_path / "sub/data.bin", PAYLOAD_SHA, timeout=5)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub/data.bin.part").exists()
    assert download(server.url, dest, PAYLOAD_SHA) == dest and len(server.seen) == 1  # cached: no new request


def test_wrong_checksum_leaves_no_file(server, tmp_path):
    with pytest.raises(ChecksumError, match="sha256"):
        download(server.url, tmp_path / "data.bin", "0" * 64, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_keeps_part_and_resumes(server, tmp_path):
    dest = tmp_path / "data.bin"
    server.cut_next = True
    with pytest.raises(DownloadError) as info:
        download(server.url, dest, PAYLOAD_SHA, timeout=5)
    assert server.url in str(info.value) and "resume" in str(info.value)
    part = tmp_path / "data.bin.part"
    assert not dest.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    kept = part.stat().st_size
    assert download(server.url, dest, PAYLOAD_SHA, timeout=5).read_bytes() == PAYLOAD
    assert server.seen[-1].get("Range") == f"bytes={kept}-"
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(b"garbage that must not be kept")
    server.honour_range = False
    assert download(server.url, tmp_path / "data.bin", PAYLOAD_SHA, timeout=5).read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_without_a_body(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    assert download(server.url, tmp_path / "data.bin", PAYLOAD_SHA, timeout=5).read_bytes() == PAYLOAD


def test_http_errors_and_bad_arguments(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(server.url.replace("/file", "/nope"), tmp_path / "x", PAYLOAD_SHA, timeout=5)
    with pytest.raises(ValueError, match="64 hex"):
        download(server.url, tmp_path / "x", "abc")
    (tmp_path / "old.bin").write_bytes(b"other")
    with pytest.raises(ChecksumError, match="delete it"):
        download(server.url, tmp_path / "old.bin", PAYLOAD_SHA, timeout=5)
    assert (tmp_path / "old.bin").read_bytes() == b"other"


# ------------------------------------------------------------------------------- CLI destination
def _direct_spec(url: str):
    from data_prep.catalogue import DATASETS

    return dataclasses.replace(DATASETS["lime"], name="direct", has_direct_download=True, download_url=url,
                               download_sha256=PAYLOAD_SHA)


@pytest.mark.parametrize("with_root", [False, True])
def test_cli_download_goes_to_one_downloads_folder(server, tmp_path, monkeypatch, with_root):
    """``<data root>/downloads/<file>``, or ``<cache>/downloads/<file>`` without a data root (never nested)."""
    from data_prep import __main__ as cli

    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    monkeypatch.setenv("LLIE_CACHE_DIR", str(tmp_path / "cache"))  # read by the CLI (an entry point)
    monkeypatch.setattr(cli, "get_spec", lambda name: _direct_spec(server.url))
    base = tmp_path / "data" if with_root else tmp_path / "cache"
    argv = ["download", "direct"] + (["--data-root", str(base)] if with_root else [])
    assert cli.main(argv) == 0
    assert (base / "downloads" / "file").read_bytes() == PAYLOAD
    assert not (base / "downloads" / "downloads").exists()
    assert cli.download_destination(_direct_spec(server.url), str(base) if with_root else None,
                                    tmp_path / "cache") == base / "downloads" / "file"
