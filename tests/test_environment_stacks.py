"""The environment stacks: each renders and validates, reproducibly, with pinned charts and locked deps."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlinfra.catalog.versions import CHARTS
from mlinfra.offline.render import read_stack_config, render_stack, write_tree
from mlinfra.offline.validate import validate_dir
from mlinfra.spec import load_environment

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")
TIMESTAMP = re.compile(r"\b20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d")


@pytest.fixture(scope="module", params=STACKS)
def rendered(request, tmp_path_factory) -> tuple[str, dict[str, str], Path]:
    stack = request.param
    files, _ = render_stack(stack, project_dir=ROOT)
    out = tmp_path_factory.mktemp(stack) / "render"
    write_tree(out, files)
    return stack, files, out


def test_the_three_environments_exist():
    found = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert found == sorted(STACKS)


def test_stack_validates(rendered, upstream):
    stack, _, out = rendered
    report = validate_dir(out, crds_dir=upstream)
    assert report.ok, f"stack {stack}:\n{report.format()}"
    assert report.objects > 0


def test_render_is_byte_identical_and_machine_independent(rendered):
    stack, files, _ = rendered
    again, _ = render_stack(stack, project_dir=ROOT)
    assert again == files
    # Paths that differ between machines: the checkout, the folder above it (../shared), the user's home.
    machine_paths = (str(ROOT), str(ROOT.parent) + "/", str(Path.home()) + "/")
    for path, text in files.items():
        for machine_path in machine_paths:
            assert machine_path not in text, f"{stack}: {path} holds the machine path {machine_path}"
        assert not TIMESTAMP.search(text), f"{stack}: {path} holds a timestamp: {TIMESTAMP.search(text)}"


def test_every_helm_release_uses_the_catalog_pin(rendered):
    stack, files, _ = rendered
    releases = {p: yaml.safe_load(t) for p, t in files.items() if p.startswith("helm/")}
    assert releases, f"{stack} renders no Helm release"
    for path, release in releases.items():
        chart = str(release["chart"]).rsplit("/", 1)[-1]
        pin = CHARTS.get(chart)
        assert pin is not None, f"{stack}: {path} installs chart {release['chart']!r}, which the catalog does not pin"
        assert release["version"] == pin.version, f"{stack}: {path}"
        assert (release["repository"] or release["chart"]).startswith(pin.repository.rstrip("/")), f"{stack}: {path}"


def _env(stack: str):
    return load_environment(read_stack_config(stack, project_dir=ROOT).platform())


def _pools(env):
    return [(c, p) for c in env.clusters for p in c.pools]


# What each environment promises, as a table: (stack, description, predicate over the spec).
PROMISES = [
    ("dev", "one GKE cluster", lambda e: [c.cloud for c in e.clusters] == ["gcp"]),
    ("dev", "every pool spot and scaled to zero", lambda e: all(p.spot and p.min_nodes == 0 for _, p in _pools(e))),
    ("dev", "L4 shared by time-slicing", lambda e: any(p.gpu == "L4-24GB" and p.time_slicing for _, p in _pools(e))),
    ("dev", "Kueue", lambda e: {c.scheduler for c in e.clusters} == {"kueue"}),
    ("staging", "Volcano on one cluster and Kueue on another",
     lambda e: {c.scheduler for c in e.clusters} == {"kueue", "volcano"}),
    ("staging", "both clouds", lambda e: {c.cloud for c in e.clusters} == {"aws", "gcp"}),
    ("prod", "both clouds", lambda e: {c.cloud for c in e.clusters} == {"aws", "gcp"}),
    ("prod", "H100 under MIG on EKS",
     lambda e: any(c.cloud == "aws" and p.gpu == "H100-80GB" and p.mig for c, p in _pools(e))),
    ("prod", "spot Karpenter capacity on EKS",
     lambda e: any(c.cloud == "aws" and p.provisioner == "karpenter" and p.spot for c, p in _pools(e))),
    ("prod", "H100 or H200 pools on GKE",
     lambda e: any(c.cloud == "gcp" and p.gpu in ("H100-80GB", "H200-141GB") for c, p in _pools(e))),
    ("prod", "several teams in cohorts",
     lambda e: len([t for t in e.scheduling.teams if t.cohort]) >= 3),
    ("prod", "an Alluxio cache", lambda e: len(e.caches) >= 1),
    ("prod", "monitoring on", lambda e: e.monitoring.enabled),
]


@pytest.mark.parametrize(("stack", "promise", "holds"), PROMISES, ids=[f"{s}: {d}" for s, d, _ in PROMISES])
def test_environment_promise(stack, promise, holds):
    assert holds(_env(stack)), f"stack {stack} no longer has {promise}"


def test_capacity_json_matches_the_summary(rendered):
    stack, files, _ = rendered
    capacity = json.loads(files["capacity.json"])
    for cluster, data in capacity["clusters"].items():
        total = sum(p["max_gpus"] for p in data["pools"].values())
        assert f"| {cluster} | {total} |" in files["summary.md"], f"{stack}: {cluster} total {total}"


# --- the lock of Python dependencies ------------------------------------------------------------------------


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.lock: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = version
    return pins


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])


@pytest.mark.parametrize("requirement", _requirements())
def test_lock_pins_each_dependency_inside_its_range(requirement):
    req = Requirement(requirement)
    pins = _lock()
    name = canonicalize_name(req.name)
    assert name in pins, f"requirements.lock does not pin {req.name}; regenerate it from the venv"
    assert req.specifier.contains(pins[name], prereleases=True), (
        f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}"
    )


def test_lock_leaves_out_mlinfra_itself():
    assert "mlinfra" not in _lock()
