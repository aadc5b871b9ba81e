"""`mlinfra upstream`: fetch the pinned upstream contracts into a per-user cache, and find them for `validate`.

Where `validate` looks, in order (`contracts_dir`):

1. `--crds PATH`;
2. the environment variable `MLINFRA_UPSTREAM` (a checkout's `../shared/upstream`, a CI checkout, a mirror);
3. the per-user cache that `mlinfra upstream fetch` fills: `$XDG_CACHE_HOME/mlinfra/upstream` on Linux
   (`~/.cache/mlinfra/upstream` by default; the platform's cache folder elsewhere), used only once a fetch of
   every file of this version's catalog has completed.

Nothing found is a `ContractsNotFoundError` whose message names the command to run.

`fetch` downloads each `UpstreamFile` from `<base>/<repository>/<tag>/<path>` (base: `--base-url`, else
`MLINFRA_UPSTREAM_BASE_URL`, else raw.githubusercontent.com), checks its sha256 against the catalog before
writing it, and writes each file atomically. A file already in the cache with the right sha256 is not fetched
again. Any failure (HTTP error, checksum mismatch) leaves the cache without its completion mark, so `validate`
never reads a partial or tampered set.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.catalog.upstream import DEFAULT_BASE_URL, UPSTREAM_FILES, UpstreamFile, catalog_digest

ENV_DIR = "MLINFRA_UPSTREAM"
ENV_BASE_URL = "MLINFRA_UPSTREAM_BASE_URL"
COMPLETE_MARK = ".complete"  # written last by a fetch that got every file; holds the catalog digest
FETCH_COMMAND = "mlinfra upstream fetch"
TIMEOUT_SECONDS = 60


class ContractsNotFoundError(FileNotFoundError):
    """No folder of upstream contracts: not given, not in the environment, not in the cache."""


def cache_dir() -> Path:
    """The per-user cache of fetched contracts (`$XDG_CACHE_HOME/mlinfra/upstream` on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("mlinfra", appauthor=False) / "upstream"


def cache_state(folder: Path) -> str | None:
    """None when `folder` holds a complete fetch of this version's catalog; else why it cannot be used."""
    mark = folder / COMPLETE_MARK
    if not mark.is_file():
        return f"no complete fetch in {folder}"
    if mark.read_text().strip() != catalog_digest():
        return f"{folder} holds the contracts of other pinned versions"
    return None


def contracts_dir(crds: str | Path | None = None) -> Path:
    """Where the contracts are: `crds`, else $MLINFRA_UPSTREAM, else the per-user cache (see the module doc).

    Raises `ContractsNotFoundError` naming what was tried and the command that fills the cache.
    """
    if crds:
        path = Path(crds)
        if not path.is_dir():
            raise ContractsNotFoundError(f"contracts folder {path} (from --crds) does not exist")
        return path
    env = os.environ.get(ENV_DIR)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise ContractsNotFoundError(f"contracts folder {path} (from ${ENV_DIR}) does not exist")
        return path
    cache = cache_dir()
    problem = cache_state(cache)
    if problem is None:
        return cache
    raise ContractsNotFoundError(
        f"no upstream contracts (pinned CRDs and chart values): {problem}. Run `{FETCH_COMMAND}` to download "
        f"them into the cache, or pass --crds PATH / set ${ENV_DIR} to a folder that has them")


# --- fetch ----------------------------------------------------------------------------------------------


Opener = Callable[[str], bytes]


def _http_get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "mlinfra-upstream-fetch"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http/https only)
        data: bytes = response.read()
        return data


@dataclass
class FetchReport:
    """What one fetch did, per file."""

    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)

    @property
    def ok(self) -> bool:
        """True when every file is in place and verified."""
        return not self.failed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".fetch-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(dest: Path, base_url: str = DEFAULT_BASE_URL, files: Iterable[UpstreamFile] = UPSTREAM_FILES,
          opener: Opener = _http_get, progress: Callable[[str], None] | None = None) -> FetchReport:
    """Download every file into `dest/<file>`, verified against its sha256; mark `dest` complete if all are.

    A file whose bytes do not match the catalog's sha256 is not written (a file of that name already there
    stays as it was); the failure is listed with both checksums.
    """
    files = tuple(files)
    report = FetchReport()
    (dest / COMPLETE_MARK).unlink(missing_ok=True)
    for item in files:
        target = dest / item.file
        if target.is_file() and _sha256(target.read_bytes()) == item.sha256:
            report.cached.append(item.file)
            continue
        url = item.url(base_url)
        try:
            data = opener(url)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            report.failed.append((item.file, f"GET {url}: {exc}"))
            continue
        got = _sha256(data)
        if got != item.sha256:
            report.failed.append((item.file, f"GET {url}: sha256 {got} ({len(data)} bytes) is not the pinned "
                                             f"{item.sha256} ({item.size} bytes): refused"))
            continue
        _write_atomic(target, data)
        report.fetched.append(item.file)
        if progress:
            progress(f"fetched {item.file}")
    if report.ok and files == UPSTREAM_FILES:
        _write_atomic(dest / COMPLETE_MARK, (catalog_digest() + "\n").encode())
    return report


# --- the command ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlinfra upstream",
        description="The pinned upstream contracts (CRDs, chart values) that `mlinfra validate` checks against.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch_p = sub.add_parser("fetch", help="download every pinned file into the per-user cache, verified by sha256")
    fetch_p.add_argument("--base-url", default=None,
                         help=f"where repositories' files are served as BASE/OWNER/REPO/TAG/PATH (default: "
                              f"${ENV_BASE_URL}, else {DEFAULT_BASE_URL})")
    fetch_p.add_argument("--dest", type=Path, default=None, help="folder to fill (default: the per-user cache)")
    fetch_p.add_argument("--quiet", "-q", action="store_true", help="print only failures and the total")
    sub.add_parser("path", help="print the folder `mlinfra validate` would use, or why there is none")
    sub.add_parser("list", help="list each pinned file with the URL it is fetched from and its sha256")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `mlinfra upstream ACTION`: 0 on success, 1 when a fetch failed or nothing is found, 2 on usage."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.action == "list":
        for item in UPSTREAM_FILES:
            print(f"{item.file}\t{item.url()}\t{item.sha256}")
        return 0
    if args.action == "path":
        try:
            print(contracts_dir())
        except ContractsNotFoundError as exc:
            print(f"mlinfra upstream: {exc}", file=sys.stderr)
            return 1
        return 0
    dest = args.dest or cache_dir()
    base_url = args.base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    print(f"fetching {len(UPSTREAM_FILES)} pinned upstream files from {base_url} into {dest}", file=sys.stderr)
    report = fetch(dest, base_url, progress=None if args.quiet else lambda line: print(line, file=sys.stderr))
    for file, why in report.failed:
        print(f"mlinfra upstream: {file}: {why}", file=sys.stderr)
    print(f"{len(report.fetched)} fetched, {len(report.cached)} already cached, {len(report.failed)} failed: "
          f"{dest}" + ("" if report.ok else " is incomplete; `mlinfra validate` will not use it"))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
