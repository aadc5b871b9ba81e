"""A loopback HTTP server that serves ../shared/upstream as raw.githubusercontent.com lays out repositories.

Each file that MANIFEST.md lists as a byte-for-byte copy is served at `/<owner>/<repo>/<tag>/<path in repo>`.
The routes come from MANIFEST.md, not from mlinfra's catalog, so a fetch through this server checks the catalog
against what the folder says of each file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# A MANIFEST.md row: | `file` (size B) | owner/repo@`tag` | `commit` | `path in repo` | ...
ROW = re.compile(r"^\| `([^`]+)` \(([\d,]+) B\) \| ([^@|]+)@`([^`]+)` \| `([0-9a-f]+)` \| `([^`]+)` \|")


@dataclass(frozen=True)
class ManifestRow:
    """One file of MANIFEST.md."""

    file: str
    size: int
    repository: str
    tag: str
    commit: str
    path: str


def manifest_rows(upstream_dir: Path) -> list[ManifestRow]:
    """The byte-for-byte copies MANIFEST.md lists (transcriptions name no single repository path)."""
    rows = []
    for line in (upstream_dir / "MANIFEST.md").read_text().splitlines():
        m = ROW.match(line)
        if m and " " not in m.group(6):
            rows.append(ManifestRow(m.group(1), int(m.group(2).replace(",", "")), m.group(3).strip(), m.group(4),
                                    m.group(5), m.group(6)))
    return rows


@dataclass
class Server:
    """The running server: its base URL, its routes (editable), bytes to serve instead, requests seen."""

    base_url: str
    routes: dict[str, Path]
    tampered: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@contextmanager
def serve(upstream_dir: Path) -> Iterator[Server]:
    """Serve `upstream_dir` on 127.0.0.1 at a free port until the block ends."""
    routes = {f"/{r.repository}/{r.tag}/{r.path}": upstream_dir / r.file for r in manifest_rows(upstream_dir)}
    state = Server("", routes)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's method name
            state.requests.append(self.path)
            if self.path in state.tampered:
                body = state.tampered[self.path]
            elif self.path in state.routes:
                body = state.routes[self.path].read_bytes()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


if __name__ == "__main__":  # `python tests/upstream_server.py DIR`: serve until interrupted (for trying it by hand)
    import sys
    import time

    with serve(Path(sys.argv[1])) as running:
        print(running.base_url, flush=True)
        while True:
            time.sleep(3600)
