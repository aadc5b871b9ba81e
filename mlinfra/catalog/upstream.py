"""The upstream contracts `mlinfra validate` checks against: each pinned file, where it is released, its sha256.

A contract is one file of an upstream repository at the tag of the version mlinfra pins (a CRD, a chart's
values.yaml / Chart.yaml / values.schema.json, a default config). `mlinfra upstream fetch` downloads each from
`<base>/<repository>/<tag>/<path>` (by default raw.githubusercontent.com, which serves a repository's files at
any tag) into a per-user cache laid out as `<project>/<version>/<file>`, the same layout as the project's
`../shared/upstream` folder, and refuses a file whose sha256 differs from the one here.

Source of each row: the repository, tag, commit and path listed for the file in ../shared/upstream/MANIFEST.md
(every file there is a byte-for-byte copy from that repository at that tag); the sha256 and size are those of
that copy. The tests check this table against MANIFEST.md and each file, and each tag against the chart pins in
`mlinfra.catalog.versions`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mlinfra.catalog._upstream_data import FILES

# raw.githubusercontent.com serves `/<owner>/<repo>/<ref>/<path>` for any tag of a public repository.
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class UpstreamFile:
    """One pinned upstream file.

    `file` is its path in the contracts folder (`kueue/v0.19.2/kueue.x-k8s.io_workloads.yaml`); `repository`
    (`owner/name`), `tag` and `path` say where it is released; `commit` is the first 12 hex digits of the tag's
    commit (for humans: the tag is what is fetched, the sha256 is what is trusted); `size` is in bytes.
    """

    file: str
    repository: str
    tag: str
    commit: str
    path: str
    sha256: str
    size: int

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        """`<base_url>/<repository>/<tag>/<path>`."""
        return f"{base_url.rstrip('/')}/{self.repository}/{self.tag}/{self.path}"


UPSTREAM_FILES: tuple[UpstreamFile, ...] = tuple(UpstreamFile(*row) for row in FILES)


def catalog_digest(files: tuple[UpstreamFile, ...] = UPSTREAM_FILES) -> str:
    """sha256 over every (file, sha256) pair: names one exact set of contracts (a cache records it when full)."""
    text = "".join(f"{f.file}\0{f.sha256}\n" for f in sorted(files, key=lambda f: f.file))
    return hashlib.sha256(text.encode()).hexdigest()
