"""Every Helm release is given in the form the pulumi-kubernetes Helm Release can fetch its chart from.

Reference: pulumi-kubernetes provider/pkg/provider/helm_release.go (`chartPathOptionsFromRelease`,
`resolveChartName`, `locateChart`) and pulumi-kubernetes#2158 / #2334. `_provider_fetch` below restates that
code: when `repositoryOpts.repo` parses as a URL and the chart is not an `oci://` reference, the provider sets
it as the chart repository URL and looks the chart up in the repository's `index.yaml`
(`repo.FindChartInAuthAndTLSAndPassRepoURL`). OCI registries serve no index, so an `oci://` repository there
fails with "not a valid chart repository"; an `oci://` chart reference is pulled from the registry as is.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mlinfra.catalog.versions import CHARTS, ChartPin
from mlinfra.k8s.helm import chart_source
from mlinfra.offline.render import read_stack_config, render_stack

ROOT = Path(__file__).resolve().parents[2]
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RENDERS = [("stacks", s, ROOT) for s in ("dev", "staging", "prod")] + [
    ("examples", p.parent.name, p.parent) for p in sorted((ROOT / "examples").glob("*/Pulumi.yaml"))
]


def _provider_fetch(chart: str, repo: str | None) -> tuple[str, str]:
    """How the provider fetches (chart, repositoryOpts.repo): ("oci", reference), ("index", repository URL)
    or ("local", path-or-alias). Restated from resolveChartName/locateChart (see the module docstring)."""
    if chart.startswith("oci://"):  # registry.IsOCI(name): the reference is pulled as is, RepoURL stays empty
        return ("oci", chart)
    if repo:
        parsed = urlparse(repo)  # url.ParseRequestURI: an absolute URL becomes cpo.RepoURL
        if parsed.scheme and (parsed.netloc or parsed.path):
            return ("index", repo)
        return ("local", f"{repo}/{chart}" if "/" not in chart else chart)
    return ("local", chart)


def _fetch_works(mode: str, where: str) -> bool:
    """An index lookup works only against a chart repository (http/https); OCI registries serve no index."""
    if mode == "index":
        return urlparse(where).scheme in ("http", "https")
    return mode == "oci"


@pytest.mark.parametrize(
    ("chart", "repo", "works"),
    [
        ("oci://registry.k8s.io/kueue/charts/kueue", None, True),
        ("kueue", "oci://registry.k8s.io/kueue/charts", False),  # asks the registry for index.yaml
        ("karpenter", "oci://public.ecr.aws/karpenter", False),
        ("oci://public.ecr.aws/karpenter/karpenter", "oci://public.ecr.aws/karpenter", True),  # repo ignored
        ("gpu-operator", "https://helm.ngc.nvidia.com/nvidia", True),
        ("gpu-operator", None, False),  # a local chart folder that does not exist
    ],
)
def test_provider_fetch_model(chart, repo, works):
    assert _fetch_works(*_provider_fetch(chart, repo)) is works


def _expected(pin: ChartPin) -> tuple[str, str]:
    """What fetching `pin` must come down to, derived from the pin alone."""
    if pin.repository.startswith("oci://"):
        return ("oci", f"{pin.repository.rstrip('/')}/{pin.chart}")
    return ("index", pin.repository)


@pytest.mark.parametrize("pin", sorted(CHARTS.values(), key=lambda p: p.chart), ids=lambda p: p.chart)
def test_chart_source_of_every_pin_fetches_that_pin(pin):
    source = chart_source(pin)
    fetched = _provider_fetch(source.chart, source.repository)
    assert fetched == _expected(pin)
    assert _fetch_works(*fetched)
    if pin.is_oci:
        assert source.repository is None, "an OCI chart is given with no repository options at all"
    else:
        assert source.chart == pin.chart


def _pin_for(chart: str, version: str) -> ChartPin:
    name = chart.rstrip("/").rsplit("/", 1)[-1]
    pin = CHARTS.get(name)
    assert pin is not None, f"chart {chart!r} is not pinned in the catalog"
    assert version == pin.version, f"chart {chart!r} at {version!r}, the catalog pins {pin.version!r}"
    return pin


@functools.cache
def _rendered_releases(stack: str, project: Path) -> tuple[dict, ...]:
    if project != ROOT:
        stack = next(project.glob("Pulumi.*.yaml")).name[len("Pulumi.") : -len(".yaml")]
    # A team stack reads its platform stack's outputs: render that platform stack for it to read.
    config = read_stack_config(stack, project_dir=project)
    refs = [v for k, v in config.values.items() if k.endswith(":platformStack")]
    platform_renders = []
    for ref in refs:
        out = Path(tempfile.mkdtemp(prefix="platform-")) / "render"
        render_stack(ref.split("/")[-1], out, project_dir=ROOT)
        platform_renders.append(out)
    files, _ = render_stack(stack, project_dir=project, platform_renders=platform_renders)
    return tuple(r for r in json.loads(files["resources.json"]) if r["type"] == HELM_RELEASE)


@pytest.mark.parametrize(("kind", "stack", "project"), RENDERS, ids=[f"{k}-{s}" for k, s, _ in RENDERS])
def test_every_release_in_every_render_has_the_accepted_form(kind, stack, project):
    releases = _rendered_releases(stack, project)
    for release in releases:
        inputs = release["inputs"]
        pin = _pin_for(inputs["chart"], inputs.get("version"))
        repo = (inputs.get("repositoryOpts") or {}).get("repo")
        fetched = _provider_fetch(inputs["chart"], repo)
        assert fetched == _expected(pin), f"{release['name']}: chart={inputs['chart']!r} repo={repo!r}"
        if pin.is_oci:
            assert not inputs.get("repositoryOpts"), f"{release['name']}: OCI chart with repository options"


def test_the_renders_exercise_both_forms():
    """The render test above is only worth something if the renders hold both an OCI and an index chart."""
    forms = {
        _provider_fetch(r["inputs"]["chart"], (r["inputs"].get("repositoryOpts") or {}).get("repo"))[0]
        for _, stack, project in RENDERS
        for r in _rendered_releases(stack, project)
    }
    assert forms == {"oci", "index"}
