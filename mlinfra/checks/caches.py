"""Cross-layer checks of the caches section: names, mounts, credentials, placement, tier sizes, watermarks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from mlinfra.k8s.scheduling_model import cluster_teams
from mlinfra.problems import Problem, path_join
from mlinfra.spec.caches import GIB, MIB, CacheSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import ResolvedPool, resolve_cluster_pools

# URL schemes Fluid's Alluxio runtime mounts as under-storage.
SUPPORTED_SCHEMES = ("s3", "gs", "hdfs", "oss", "cos", "http", "https", "pvc")
# The scheme a cluster's cloud identity can read.
IDENTITY_SCHEME = {"aws": "s3", "gcp": "gs"}

# Rule: cache tiers may take at most half of what a node has. The other half stays for the training
# jobs the cache serves (data loaders, pinned host memory) and, on disk, for images, logs and emptyDirs.
MEM_SHARE = 0.5
DISK_SHARE = 0.5

# Option keys that carry a credential. Their values must come from a Secret (`secret_options`).
_SECRET_KEY_RE = re.compile(
    r"(secret|password|passwd|token|credential|accesskey|access\.key|accesskeyid|account\.key|private)", re.I
)


def is_secret_option(key: str) -> bool:
    """True when an under-storage option key names a credential (`aws.secretKey`, `fs.gcs.credentialsPath`)."""
    return bool(_SECRET_KEY_RE.search(key.replace("_", "").replace("-", "")))


def _gib(nbytes: float) -> str:
    return f"{nbytes / GIB:.1f}".rstrip("0").rstrip(".") + " GiB"


def check_names(env: EnvironmentSpec) -> Iterator[Problem]:
    """Cache names are unique in the environment (they name Datasets, runtimes and team PVCs)."""
    seen = Counter(c.name for c in env.caches)
    for i, cache in enumerate(env.caches):
        if seen[cache.name] > 1:
            yield Problem(path_join("caches", i, "name"), cache.name,
                          "duplicate cache name; cache names must be unique across the environment")


def check_mounts(cache: CacheSpec, base: str) -> Iterator[Problem]:
    """At least one mount; supported schemes; credentials only by Secret reference."""
    if not cache.mounts:
        yield Problem(path_join(base, "mounts"), [],
                      "a cache needs at least one mount, e.g. `- url: s3://bucket/prefix`")
    names = Counter(m.name for m in cache.mounts if m.name)
    for k, mount in enumerate(cache.mounts):
        path = path_join(base, "mounts", k)
        if mount.scheme not in SUPPORTED_SCHEMES or not mount.bucket:
            yield Problem(path_join(path, "url"), mount.url,
                          f"unsupported mount URL; use one of: {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}")
        if mount.name and names[mount.name] > 1:
            yield Problem(path_join(path, "name"), mount.name, "duplicate mount name in this cache")
        for key in sorted(mount.options):
            if is_secret_option(key):
                yield Problem(path_join(path, "options", key), "[redacted]",
                              "credentials must not be written in the config; move this option to "
                              f"`secret_options: {{{key}: {{secret: <name>, key: <key>}}}}` (a Secret in fluid-system)")
        for key in sorted(set(mount.options) & set(mount.secret_options)):
            yield Problem(path_join(path, "secret_options", key), key,
                          "option given both literally and by Secret reference; keep only the reference")


def check_identity(env: EnvironmentSpec, cache: CacheSpec, base: str) -> Iterator[Problem]:
    """Cloud identity needs a cluster mlinfra created; otherwise credentials come from Secrets."""
    cluster = env.cluster(cache.cluster)
    if cluster is None or not cache.cloud_identity or cluster.existing is None:
        return
    scheme = IDENTITY_SCHEME[cluster.cloud]
    for k, mount in enumerate(cache.mounts):
        if mount.scheme == scheme and not mount.secret_options:
            yield Problem(
                path_join(base, "mounts", k),
                mount.url,
                f"cluster {cluster.name} is referenced, not created by mlinfra, so no IRSA / Workload Identity "
                "binding can be made for it; give credentials with `secret_options`, or set "
                "`cloud_identity: false` for a public bucket",
            )


def check_placement(env: EnvironmentSpec, cache: CacheSpec, base: str) -> Iterator[Problem]:
    """The cache's cluster exists; its pools and teams exist on that cluster; workers fit the pools."""
    cluster = env.cluster(cache.cluster)
    if cluster is None:
        yield Problem(path_join(base, "cluster"), cache.cluster,
                      f"no such cluster; clusters: {', '.join(c.name for c in env.clusters)}")
        return
    if not cache.pools:
        yield Problem(path_join(base, "pools"), [],
                      f"name the GPU pools that read this data; pools of {cluster.name}: "
                      f"{', '.join(p.name for p in cluster.pools) or 'none'}")
    local = {p.name for p in cluster.pools}
    for k, pool in enumerate(cache.pools):
        if pool in local:
            continue
        elsewhere = next((c.name for c in env.clusters for p in c.pools if p.name == pool), None)
        where = f"pool {pool} is on cluster {elsewhere}, " if elsewhere else ""
        yield Problem(path_join(base, "pools", k), pool,
                      f"{where}not on cluster {cluster.name}; pools of {cluster.name}: "
                      f"{', '.join(sorted(local)) or 'none'}")
    teams = {t.name for t in cluster_teams(env, cluster.name)}
    for k, team in enumerate(cache.teams):
        if team not in teams:
            yield Problem(path_join(base, "teams", k), team,
                          f"no team {team} on cluster {cluster.name}; teams there: "
                          f"{', '.join(sorted(teams)) or 'none'}")
    if cache.replicas < 1:
        yield Problem(path_join(base, "replicas"), cache.replicas, "replicas must be >= 1")


def check_tiers(cache: CacheSpec, pools: list[ResolvedPool], base: str) -> Iterator[Problem]:
    """Watermarks ordered inside 0..1; tier quotas fit the smallest node of the target pools."""
    if not cache.tiers:
        yield Problem(path_join(base, "tiers"), [],
                      "a cache needs at least one tier, e.g. `- {medium: MEM, quota: 8Gi}`")
    for j, tier in enumerate(cache.tiers):
        path = path_join(base, "tiers", j)
        if not 0 < tier.high <= 1:
            yield Problem(path_join(path, "high"), tier.high, "high watermark must be in (0, 1], e.g. 0.95")
        if not 0 <= tier.low < 1:
            yield Problem(path_join(path, "low"), tier.low, "low watermark must be in [0, 1), e.g. 0.7")
        if tier.low >= tier.high:
            yield Problem(path_join(path, "low"), tier.low,
                          f"low watermark must be below the high watermark (low {tier.low}, high {tier.high})")
    media = Counter(t.medium for t in cache.tiers)
    for j, tier in enumerate(cache.tiers):
        if media[tier.medium] > 1:
            yield Problem(path_join(base, "tiers", j, "medium"), tier.medium,
                          "one level per medium; raise the quota of the existing level instead")
    if not pools:
        return
    memory = min(p.memory_mib_per_node for p in pools) * MIB
    smallest_mem = min(pools, key=lambda p: p.memory_mib_per_node)
    mem_total = sum(t.quota_bytes for t in cache.tiers if t.medium == "MEM")
    for j, tier in enumerate(cache.tiers):
        if tier.medium == "MEM" and mem_total > memory * MEM_SHARE:
            yield Problem(
                path_join(base, "tiers", j, "quota"), tier.quota,
                f"the MEM tier may use at most half of a node's memory ({_gib(memory * MEM_SHARE)} on pool "
                f"{smallest_mem.name}, {_gib(memory)} per node); the rest is for the jobs",
            )
    disk = min(p.spec.disk_size_gib for p in pools) * GIB
    smallest_disk = min(pools, key=lambda p: p.spec.disk_size_gib)
    disk_total = sum(t.quota_bytes for t in cache.tiers if t.medium != "MEM")
    for j, tier in enumerate(cache.tiers):
        if tier.medium != "MEM" and disk_total > disk * DISK_SHARE:
            yield Problem(
                path_join(base, "tiers", j, "quota"), tier.quota,
                f"SSD/HDD tiers may use at most half of the node disk ({_gib(disk * DISK_SHARE)} on pool "
                f"{smallest_disk.name}, disk_size_gib {smallest_disk.spec.disk_size_gib}); raise the pool's "
                "disk_size_gib or lower the quota",
            )
    capacity = sum(p.spec.max_nodes for p in pools)
    if cache.replicas > capacity:
        yield Problem(path_join(base, "replicas"), cache.replicas,
                      f"one cache worker runs per node and the pools {', '.join(p.name for p in pools)} have at most "
                      f"{capacity} node(s); lower replicas or raise max_nodes")


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Every problem of the caches section (runs after the pool checks passed)."""
    yield from check_names(env)
    resolved = {c.name: {p.name: p for p in resolve_cluster_pools(c)} for c in env.clusters}
    for i, cache in enumerate(env.caches):
        base = path_join("caches", i)
        yield from check_mounts(cache, base)
        yield from check_placement(env, cache, base)
        yield from check_identity(env, cache, base)
        on_cluster = resolved.get(cache.cluster, {})
        pools = [on_cluster[p] for p in cache.pools if p in on_cluster]
        yield from check_tiers(cache, pools, base)
