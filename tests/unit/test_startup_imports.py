"""What each entry point imports: the CLI, the catalog and spec loading need no Pulumi or cloud SDK, and a stack
on one cloud never imports the other cloud's SDK. Each case runs in a fresh interpreter and reads `sys.modules`.

These are correctness tests (a user on a GCP-only stack must not need pulumi_aws installed, nor pay for it);
start-up times are measured by `benchmarks/bench_startup.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from spec_assertions import DEPLOYERS, EKS_REACHABLE

SDKS = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_random", "pydantic")

GKE_ONLY = {
    "environment": "dev",
    "clusters": [{
        "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
        "pools": [{"name": "l4", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 2, "spot": True}],
    }],
    "scheduling": {"teams": [{"name": "research", "cluster": "gke"}]},
    "caches": [{"name": "corpus", "cluster": "gke", "mounts": [{"url": "gs://bucket/corpus"}], "pools": ["l4"],
                "teams": ["research"], "tiers": [{"medium": "MEM", "quota": "8Gi"}]}],
    "monitoring": {"enabled": True},
}
EKS_ONLY = {
    "environment": "dev",
    "clusters": [{
        "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
        "network": {"vpc_id": "vpc-0a1b2c3d", "subnet_ids": ["subnet-0a1", "subnet-0b2"]},
        "pools": [
            {"name": "l4", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 2},
            {"name": "spot", "gpu": "L4-24GB", "gpus_per_node": 1, "max_nodes": 2, "spot": True,
             "provisioner": "karpenter"},
        ],
    }],
    "scheduling": {"teams": [{"name": "research", "cluster": "eks"}]},
    "monitoring": {"enabled": True},
}


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def sdks_after(code: str) -> set[str]:
    """The SDKs (top-level packages from `SDKS`) loaded after `code` runs in a fresh interpreter."""
    probe = (f"{code}\nimport sys, json\n"
             "print('\\nMODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = _run(probe)
    line = [x for x in out.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES "):])) & set(SDKS)


@pytest.mark.parametrize(
    ("what", "code", "allowed"),
    [
        ("mlinfra --help", "from mlinfra.cli import main; main(['--help'])", set()),
        ("mlinfra catalog", "from mlinfra.cli import main; main(['catalog'])", set()),
        ("import mlinfra", "import mlinfra", set()),
        ("load_environment (GKE only)", f"from mlinfra.spec import load_environment; load_environment({GKE_ONLY!r})",
         {"pydantic"}),
        ("load_environment (EKS only)", f"from mlinfra.spec import load_environment; load_environment({EKS_ONLY!r})",
         {"pydantic"}),
    ],
)
def test_entry_points_import_no_pulumi_or_cloud_sdk(what: str, code: str, allowed: set[str]) -> None:
    loaded = sdks_after(code)
    assert loaded <= allowed, f"{what} imported {sorted(loaded - allowed)}"


@pytest.mark.parametrize(
    ("spec", "needed", "foreign"),
    [(GKE_ONLY, "pulumi_gcp", "pulumi_aws"), (EKS_ONLY, "pulumi_aws", "pulumi_gcp")],
    ids=["gke-only", "eks-only"],
)
def test_rendering_one_cloud_never_imports_the_other_clouds_sdk(spec: dict, needed: str, foreign: str) -> None:
    loaded = sdks_after(f"from mlinfra.offline.render import render_environment; render_environment({spec!r})")
    assert {"pulumi", "pulumi_kubernetes", needed} <= loaded  # the probe did render
    assert foreign not in loaded


def test_a_render_imports_only_the_cloud_services_it_uses() -> None:
    # The SDK registers every service (compute, bigquery, ...) as a lazy module; only the ones a component
    # touches are really loaded: container for the cluster, compute for its network and firewall.
    probe = (f"from mlinfra.offline.render import render_environment; render_environment({GKE_ONLY!r})\n"
             "import sys\n"
             "print('\\nGCP ' + ' '.join(sorted({m.split('.')[1] for m, mod in sys.modules.items() "
             "if m.startswith('pulumi_gcp.') and type(mod).__name__ != '_LazyModule' "
             "and not m.split('.')[1].startswith('_')})))")
    out = _run(probe)
    services = set([x for x in out.splitlines() if x.startswith("GCP ")][-1].split()[1:])
    assert {"container", "compute"} <= services
    assert not services & {"bigquery", "sql", "vertex"}, sorted(services)
    assert len(services) < 20, sorted(services)
