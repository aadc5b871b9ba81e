"""The caches section: valid caches load; each invalid one is refused with its field path and advice."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from spec_assertions import DEPLOYERS, EKS_REACHABLE, assert_refused

from mlinfra.spec import SpecError, load_environment
from mlinfra.spec.caches import parse_bytes

GKE = {
    "name": "gke", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
    # g2-standard-8: 32 GB memory per node, 200 GiB root disk by default.
    "pools": [{"name": "l4", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 3}],
}
EKS = {
    "name": "eks", "cloud": "aws", **EKS_REACHABLE, "region": "us-east-1",
    # g5.2xlarge: 32768 MiB per node; the disk is set small to exercise the disk rule.
    "pools": [{"name": "a10", "instance_types": ["g5.2xlarge"], "max_nodes": 2, "disk_size_gib": 100}],
}
REFERENCED = {
    "name": "old", "cloud": "gcp", "endpoint": DEPLOYERS, "region": "us-central1", "project": "p",
    "existing": {"name": "legacy", "kubeconfig_secret": "oldKubeconfig"},
    "pools": [{"name": "l4-old", "gpu": "L4-24GB", "machine_type": "g2-standard-8", "max_nodes": 1}],
}
CACHE = {"name": "imagenet", "cluster": "gke", "pools": ["l4"], "mounts": [{"url": "gs://ml-data/imagenet"}]}


def spec(*caches: dict[str, Any], clusters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    clusters = clusters or [GKE, EKS]
    names = {c["name"] for c in clusters}
    teams = [t for t in ({"name": "research", "cluster": "gke"}, {"name": "infra", "cluster": "eks"})
             if t["cluster"] in names]
    return {
        "environment": "test",
        "clusters": clusters,
        "scheduling": {"teams": teams},
        "caches": list(caches),
    }


def cache(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(CACHE)
    out.update(changes)
    return out


VALID = [
    ("defaults: 8Gi memory tier", spec(cache())),
    ("half the node memory exactly", spec(cache(tiers=[{"medium": "MEM", "quota": "16Gi"}]))),
    ("memory and disk tiers", spec(cache(tiers=[{"medium": "MEM", "quota": "4Gi"},
                                                {"medium": "SSD", "quota": "100Gi", "path": "/mnt/nvme"}]))),
    ("secret references", spec(cache(cluster="eks", pools=["a10"], mounts=[{
        "url": "s3://bucket/x", "options": {"alluxio.underfs.s3.region": "us-east-1"},
        "secret_options": {"aws.accessKeyId": {"secret": "s3", "key": "id"},
                           "aws.secretKey": {"secret": "s3", "key": "key"}}}]))),
    ("team PVC and warm-up", spec(cache(teams=["research"], warmup={"paths": ["/train"], "schedule": "0 2 * * *"}))),
    ("referenced cluster with Secret", spec(cache(cluster="old", pools=["l4-old"], mounts=[{
        "url": "gs://d", "secret_options": {"fs.gcs.credentialsPath": {"secret": "gcs", "key": "sa.json"}}}]),
        clusters=[GKE, REFERENCED])),
    ("referenced cluster, public bucket", spec(cache(cluster="old", pools=["l4-old"], cloud_identity=False),
                                              clusters=[GKE, REFERENCED])),
]


@pytest.mark.parametrize("config", [c for _, c in VALID], ids=[n for n, _ in VALID])
def test_valid_caches_load(config: dict[str, Any]) -> None:
    env = load_environment(config)
    assert [c.name for c in env.caches] == [c["name"] for c in config["caches"]]


INVALID = [
    ("duplicate names", spec(cache(), cache()), "caches[1].name", "duplicate cache name"),
    ("no mount", spec(cache(mounts=[])), "caches[0].mounts", "at least one mount"),
    ("unsupported scheme", spec(cache(mounts=[{"url": "ftp://host/x"}])), "caches[0].mounts[0].url",
     "unsupported mount URL; use one of: s3://, gs://"),
    ("literal AWS secret key", spec(cache(cluster="eks", pools=["a10"], mounts=[
        {"url": "s3://b", "options": {"aws.secretKey": "wJalrXUtnFEMI"}}])),
     'caches[0].mounts[0].options["aws.secretKey"]', "credentials must not be written in the config"),
    ("literal access key id", spec(cache(cluster="eks", pools=["a10"], mounts=[
        {"url": "s3://b", "options": {"aws.accessKeyId": "AKIA0000"}}])),
     'caches[0].mounts[0].options["aws.accessKeyId"]', "move this option to `secret_options"),
    ("literal GCS credentials", spec(cache(mounts=[
        {"url": "gs://b", "options": {"fs.gcs.credentialsPath": "/etc/key.json"}}])),
     'caches[0].mounts[0].options["fs.gcs.credentialsPath"]', "credentials must not be written"),
    ("unknown cluster", spec(cache(cluster="nope")), "caches[0].cluster", "no such cluster; clusters: gke, eks"),
    ("unknown pool", spec(cache(pools=["h100"])), "caches[0].pools[0]", "not on cluster gke; pools of gke: l4"),
    ("pool on another cluster", spec(cache(pools=["a10"])), "caches[0].pools[0]",
     "pool a10 is on cluster eks, not on cluster gke"),
    ("no pool", spec(cache(pools=[])), "caches[0].pools", "name the GPU pools that read this data"),
    ("team of another cluster", spec(cache(teams=["infra"])), "caches[0].teams[0]",
     "no team infra on cluster gke; teams there: research"),
    ("MEM tier over half the node", spec(cache(tiers=[{"medium": "MEM", "quota": "20Gi"}])),
     "caches[0].tiers[0].quota", "at most half of a node's memory (16 GiB on pool l4, 32 GiB per node)"),
    ("SSD tier larger than the disk", spec(cache(cluster="eks", pools=["a10"], mounts=[{"url": "s3://b"}],
                                                  tiers=[{"medium": "SSD", "quota": "120Gi"}])),
     "caches[0].tiers[0].quota", "at most half of the node disk (50 GiB on pool a10, disk_size_gib 100)"),
    ("HDD tiers together too large", spec(cache(tiers=[{"medium": "SSD", "quota": "60Gi"},
                                                       {"medium": "HDD", "quota": "60Gi"}])),
     "caches[0].tiers[1].quota", "SSD/HDD tiers may use at most half of the node disk"),
    ("low above high", spec(cache(tiers=[{"medium": "MEM", "quota": "1Gi", "high": 0.5, "low": 0.8}])),
     "caches[0].tiers[0].low", "low watermark must be below the high watermark (low 0.8, high 0.5)"),
    ("low equals high", spec(cache(tiers=[{"medium": "MEM", "quota": "1Gi", "high": 0.7, "low": 0.7}])),
     "caches[0].tiers[0].low", "must be below the high watermark"),
    ("high above 1", spec(cache(tiers=[{"medium": "MEM", "quota": "1Gi", "high": 1.5}])),
     "caches[0].tiers[0].high", "high watermark must be in (0, 1]"),
    ("negative low", spec(cache(tiers=[{"medium": "MEM", "quota": "1Gi", "low": -0.1}])),
     "caches[0].tiers[0].low", "low watermark must be in [0, 1)"),
    ("bad quota", spec(cache(tiers=[{"medium": "MEM", "quota": "lots"}])), "caches[0].tiers[0].quota",
     "not a byte quantity: 'lots'"),
    ("two MEM levels", spec(cache(tiers=[{"medium": "MEM", "quota": "1Gi"}, {"medium": "MEM", "quota": "1Gi"}])),
     "caches[0].tiers[1].medium", "one level per medium"),
    ("more workers than nodes", spec(cache(replicas=4)), "caches[0].replicas",
     "pools l4 have at most 3 node(s)"),
    ("identity on a referenced cluster", spec(cache(cluster="old", pools=["l4-old"]), clusters=[GKE, REFERENCED]),
     "caches[0].mounts[0]", "cluster old is referenced, not created by mlinfra"),
    ("unknown field", spec(cache(bucket="s3://x")), "caches[0].bucket", "unknown field"),
]


@pytest.mark.parametrize(("config", "path", "message"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID])
def test_invalid_caches_are_refused(config: dict[str, Any], path: str, message: str) -> None:
    assert_refused(config, path, message)


def test_literal_secret_value_is_not_echoed() -> None:
    config = spec(cache(cluster="eks", pools=["a10"],
                        mounts=[{"url": "s3://b", "options": {"aws.secretKey": "wJalrXUtnFEMI"}}]))
    with pytest.raises(SpecError) as err:
        load_environment(config)
    assert "wJalrXUtnFEMI" not in str(err.value)
    assert "[redacted]" in str(err.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("8Gi", 8 * 2**30), ("512Mi", 512 * 2**20), ("1Ti", 2**40), ("10G", 10**10), ("1.5Gi", 3 * 2**29), ("4096", 4096),
])
def test_parse_bytes(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "Gi", "8 GB", "-1Gi", "8gi"])
def test_parse_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a byte quantity"):
        parse_bytes(text)
