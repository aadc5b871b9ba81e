"""`mlinfra upstream fetch` and where `validate` finds the contracts, against a loopback HTTP server.

The server (tests/upstream_server.py) serves ../shared/upstream laid out as raw.githubusercontent.com lays out a
repository's files; its routes come from MANIFEST.md, not from mlinfra's catalog.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from upstream_server import Server, manifest_rows, serve

from mlinfra.catalog import versions
from mlinfra.catalog.upstream import DEFAULT_BASE_URL, UPSTREAM_FILES, catalog_digest
from mlinfra.offline import upstream as contracts
from mlinfra.offline.validate import main as validate_main

FIXTURE_RENDER = Path(__file__).resolve().parents[1] / "contract" / "fixtures" / "validate" / "render"


@pytest.fixture
def server(upstream: Path) -> Iterator[Server]:
    """127.0.0.1 on a free port, serving each MANIFEST.md file at `/<repository>/<tag>/<path>`."""
    with serve(upstream) as running:
        yield running


@pytest.fixture
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG cache and no MLINFRA_UPSTREAM: `validate` can only use what a fetch put in the cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLINFRA_UPSTREAM", raising=False)
    monkeypatch.delenv("MLINFRA_UPSTREAM_BASE_URL", raising=False)
    return tmp_path / "xdg" / "mlinfra" / "upstream"


# --- the catalog -----------------------------------------------------------------------------------------


def test_catalog_lists_every_manifest_file_with_its_checksum(upstream: Path) -> None:
    rows = {r.file: r for r in manifest_rows(upstream)}
    assert sorted(f.file for f in UPSTREAM_FILES) == sorted(rows)
    for item in UPSTREAM_FILES:
        row = rows[item.file]
        assert (item.repository, item.tag, item.commit, item.path, item.size) == (
            row.repository, row.tag, row.commit, row.path, row.size), item.file
        assert hashlib.sha256((upstream / item.file).read_bytes()).hexdigest() == item.sha256, item.file


def test_catalog_tags_are_the_pinned_versions() -> None:
    # Each repository's tag is the version mlinfra deploys (versions.py): the contracts are of what runs.
    tags = {f.repository: f.tag for f in UPSTREAM_FILES}
    charts = versions.CHARTS
    expected = {
        "kubernetes-sigs/kueue": charts["kueue"].app_version,
        "volcano-sh/volcano": f"v{charts['volcano'].version}",
        "NVIDIA/gpu-operator": charts["gpu-operator"].version,
        "fluid-cloudnative/fluid": f"v{charts['fluid'].version}",
        "aws/karpenter-provider-aws": f"v{charts['karpenter'].version}",
        "NVIDIA/k8s-device-plugin": versions.COMPONENT_VERSIONS["device-plugin"],
        "NVIDIA/mig-parted": versions.COMPONENT_VERSIONS["mig-parted"],
        "NVIDIA/dcgm-exporter": versions.COMPONENT_VERSIONS["dcgm-exporter"],
        "prometheus-operator/prometheus-operator": versions.COMPONENT_VERSIONS["prometheus-operator"],
    }
    for repository, tag in expected.items():
        assert tags[repository] == tag, repository
    chart_tags = {f.tag for f in UPSTREAM_FILES if f.repository == "prometheus-community/helm-charts"}
    assert chart_tags == {f"kube-prometheus-stack-{charts['kube-prometheus-stack'].version}",
                          f"prometheus-adapter-{charts['prometheus-adapter'].version}"}


def test_urls_are_raw_github_at_the_tag() -> None:
    item = next(f for f in UPSTREAM_FILES if f.file == "kueue/v0.19.2/kueue.x-k8s.io_workloads.yaml")
    assert item.url() == ("https://raw.githubusercontent.com/kubernetes-sigs/kueue/v0.19.2/"
                          "config/components/crd/bases/kueue.x-k8s.io_workloads.yaml")
    assert item.url("http://127.0.0.1:1/") == (
        "http://127.0.0.1:1/kubernetes-sigs/kueue/v0.19.2/config/components/crd/bases/kueue.x-k8s.io_workloads.yaml")
    assert DEFAULT_BASE_URL == "https://raw.githubusercontent.com"


# --- fetch ------------------------------------------------------------------------------------------------


def test_fetch_fills_the_cache_and_validate_uses_it(server: Server, user_cache: Path, upstream: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(contracts.ContractsNotFoundError, match="Run `mlinfra upstream fetch`"):
        contracts.contracts_dir()
    assert contracts.main(["fetch", "--base-url", server.base_url, "-q"]) == 0
    out = capsys.readouterr().out
    assert out == f"{len(UPSTREAM_FILES)} fetched, 0 already cached, 0 failed: {user_cache}\n"
    for item in UPSTREAM_FILES:
        assert (user_cache / item.file).read_bytes() == (upstream / item.file).read_bytes()
    assert contracts.contracts_dir() == user_cache
    assert validate_main([str(FIXTURE_RENDER)]) == 0
    assert capsys.readouterr().out == "validated 5 objects: 0 errors, 0 rules not checked\n"


def test_second_fetch_downloads_nothing(server: Server, user_cache: Path) -> None:
    assert contracts.fetch(user_cache, server.base_url).ok
    server.requests.clear()
    report = contracts.fetch(user_cache, server.base_url)
    assert report.ok and report.fetched == [] and len(report.cached) == len(UPSTREAM_FILES)
    assert server.requests == []


def test_base_url_from_the_environment(server: Server, user_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLINFRA_UPSTREAM_BASE_URL", server.base_url)
    assert contracts.main(["fetch", "-q"]) == 0
    assert len(server.requests) == len(UPSTREAM_FILES)


def test_checksum_mismatch_is_refused(server: Server, user_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    item = next(f for f in UPSTREAM_FILES if f.file.endswith("kueue.x-k8s.io_clusterqueues.yaml"))
    url_path = item.url(server.base_url)[len(server.base_url):]
    server.tampered[url_path] = b"kind: CustomResourceDefinition\n# not the pinned file\n"
    assert contracts.main(["fetch", "--base-url", server.base_url, "-q"]) == 1
    captured = capsys.readouterr()
    bad = hashlib.sha256(server.tampered[url_path]).hexdigest()
    assert f"{item.file}: GET {server.base_url}{url_path}: sha256 {bad} (53 bytes) is not the pinned " \
           f"{item.sha256} ({item.size} bytes): refused" in captured.err
    assert captured.out.endswith("is incomplete; `mlinfra validate` will not use it\n")
    assert not (user_cache / item.file).exists()
    # The other files are in place, but without the completion mark the cache is not used.
    with pytest.raises(contracts.ContractsNotFoundError, match="no complete fetch in .*Run `mlinfra upstream fetch`"):
        contracts.contracts_dir()
    # Served correctly again, the next fetch gets only the missing file and completes the cache.
    del server.tampered[url_path]
    server.requests.clear()
    assert contracts.fetch(user_cache, server.base_url).ok
    assert server.requests == [url_path]
    assert contracts.contracts_dir() == user_cache


def test_a_file_missing_upstream_fails_the_fetch(server: Server, user_cache: Path) -> None:
    item = UPSTREAM_FILES[0]
    del server.routes[item.url(server.base_url)[len(server.base_url):]]
    report = contracts.fetch(user_cache, server.base_url)
    assert [f for f, _ in report.failed] == [item.file]
    assert "HTTP Error 404" in report.failed[0][1]
    assert contracts.cache_state(user_cache) == f"no complete fetch in {user_cache}"


def test_cache_of_other_pins_is_not_used(server: Server, user_cache: Path) -> None:
    assert contracts.fetch(user_cache, server.base_url).ok
    (user_cache / contracts.COMPLETE_MARK).write_text("0" * 64 + "\n")
    with pytest.raises(contracts.ContractsNotFoundError, match="holds the contracts of other pinned versions"):
        contracts.contracts_dir()
    assert (user_cache / contracts.COMPLETE_MARK).read_text() != catalog_digest()


def test_path_and_list_actions(user_cache: Path, upstream: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert contracts.main(["path"]) == 1
    assert "Run `mlinfra upstream fetch`" in capsys.readouterr().err
    monkeypatch.setenv("MLINFRA_UPSTREAM", str(upstream))
    assert contracts.main(["path"]) == 0
    assert capsys.readouterr().out == f"{upstream}\n"
    assert contracts.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(UPSTREAM_FILES)
    assert lines[0].split("\t") == [UPSTREAM_FILES[0].file, UPSTREAM_FILES[0].url(), UPSTREAM_FILES[0].sha256]
