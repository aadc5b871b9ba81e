"""Cross-layer checks of the gpu_operator section: MIG strategy, GPU sharing on MIG, driver ownership, layouts."""

from __future__ import annotations

from collections.abc import Iterator

from mlinfra.problems import Problem, path_join
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.resolve import cluster_mig_strategy, gke_native, resolve_cluster_pools

# Node images that carry the NVIDIA driver themselves; the operator must not install a second one.
DRIVER_OWNING_IMAGES = {"bottlerocket": "Bottlerocket NVIDIA variants ship the driver and container toolkit"}


def check_mig_strategy(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """A pinned MIG strategy matches what the pools need; the single strategy takes one profile per GPU."""
    op = cluster.gpu_operator
    multi = [(j, p) for j, p in enumerate(cluster.pools) if p.mig is not None and len(p.mig.profiles) > 1]
    if gke_native(cluster):
        # One partition size per GKE pool is checked with the pools (checks/clouds.py).
        if op.mig_strategy == "mixed":
            yield Problem(path_join(base, "gpu_operator", "mig_strategy"), op.mig_strategy,
                          "GKE's device plugin always uses the single MIG strategy (gpu_operator.driver `cloud`); "
                          "use `auto` or `single`, or set gpu_operator.driver: operator for the mixed strategy")
        return
    if op.mig_strategy == "single":
        for j, pool in multi:
            assert pool.mig is not None
            yield Problem(
                path_join(base, "pools", j, "mig", "profiles"), dict(pool.mig.profiles),
                f"pool {pool.name} mixes {len(pool.mig.profiles)} MIG profiles on one GPU, but "
                "gpu_operator.mig_strategy is pinned to `single`, which advertises every MIG device as "
                "nvidia.com/gpu; use one profile per pool, or set mig_strategy to `mixed` or `auto`",
            )
    derived = cluster_mig_strategy(cluster)
    if op.mig_strategy == "mixed" and derived == "single":
        yield Problem(
            path_join(base, "gpu_operator", "mig_strategy"), op.mig_strategy,
            "every MIG pool uses one profile per GPU, so the pools resolve to the `single` strategy and their "
            "workloads request nvidia.com/gpu; pinning `mixed` would rename those resources to "
            "nvidia.com/mig-<profile>; use `auto` or `single`",
        )


def check_sharing_on_mig(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """MPS never runs on MIG pools; time-slicing on MIG devices only with the explicit opt-in."""
    for j, pool in enumerate(cluster.pools):
        if pool.mig is None:
            continue
        path = path_join(base, "pools", j)
        if pool.mps is not None:
            yield Problem(path_join(path, "mps"), {"replicas": pool.mps.replicas},
                          "MPS cannot share MIG devices; remove `mps`, or remove `mig` to share whole GPUs with MPS")
        # On GKE-native clusters GKE cannot time-slice its partitions at all (checks/clouds.py says so).
        if pool.time_slicing is not None and not cluster.gpu_operator.time_slicing_on_mig \
                and not gke_native(cluster):
            yield Problem(
                path_join(path, "time_slicing"), {"replicas": pool.time_slicing.replicas},
                "time-slicing on a MIG pool shares each MIG device between pods; if that is meant, set "
                "gpu_operator.time_slicing_on_mig: true on the cluster, otherwise remove `time_slicing`",
            )


def check_mps_under_mixed_strategy(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """No MPS pool in a cluster whose MIG strategy is `mixed`.

    The device plugin refuses to start with MPS under `--mig-strategy=mixed` (k8s-device-plugin v0.20.0
    cmd/nvidia-device-plugin/main.go). A per-config `flags.migStrategy` cannot avoid it: the GPU operator
    sets MIG_STRATEGY to the cluster's strategy on every device-plugin container (gpu-operator v26.7.0
    controllers/object_controls.go `applyMIGConfiguration`), and the plugin lets the environment override its
    config file (k8s-device-plugin v0.20.0 api/config/v1/config.go `NewConfig`). GKE-native clusters use
    GKE's plugin and the single strategy, so they are not concerned.
    """
    if gke_native(cluster) or cluster_mig_strategy(cluster) != "mixed":
        return
    mixed = next(p.name for p in cluster.pools if p.mig is not None and len(p.mig.profiles) > 1)
    for j, pool in enumerate(cluster.pools):
        if pool.mps is not None:
            yield Problem(
                path_join(base, "pools", j, "mps"), {"replicas": pool.mps.replicas},
                f"pool {pool.name} shares GPUs with MPS, but the cluster's MIG strategy is `mixed` (pool {mixed} "
                "puts several MIG profiles on one GPU) and the device plugin refuses MPS under the mixed "
                "strategy, which the GPU operator gives every node of the cluster. Use `time_slicing` on this "
                "pool, give each MIG pool of the cluster one profile per GPU (the `single` strategy), or move "
                "the MPS pool to another cluster",
            )


def check_bottlerocket_sharing(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """No GPU sharing or MIG on Bottlerocket pools, whose own device plugin mlinfra does not configure.

    Bottlerocket's NVIDIA variants run their own device plugin (bottlerocket-os/bottlerocket#1916), so the
    operator's device plugin and MIG manager are switched off on those nodes (`resolve.BOTTLEROCKET_LABELS`),
    and the operator's time-slicing, MPS and MIG configs would never reach them: the pool would advertise
    whole GPUs while its queues count shares or slices.
    """
    if cluster.cloud != "aws":
        return
    for j, pool in enumerate(cluster.pools):
        if pool.ami_family != "bottlerocket":
            continue
        for key in ("mig", "time_slicing", "mps"):
            if getattr(pool, key) is not None:
                yield Problem(
                    path_join(base, "pools", j, key), getattr(pool, key).model_dump(),
                    f"pool {pool.name} runs Bottlerocket, whose NVIDIA variant brings its own device plugin; "
                    "the GPU operator's device plugin and MIG manager stay off on its nodes, so `" + key + "` "
                    "would never be applied. Use `ami_family: al2023` for a pool with MIG or shared GPUs, or "
                    f"remove `{key}`",
                )


def check_driver_ownership(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """`driver: operator` only with the operator installed, and where the node image brings no driver."""
    if cluster.gpu_operator.driver != "operator":
        return
    if not cluster.gpu_operator.enabled and cluster.pools:
        where = ("GKE installs no driver and runs no device plugin on these pools"
                 if cluster.cloud == "gcp" else "the pools' plain node images carry no driver")
        yield Problem(path_join(base, "gpu_operator", "enabled"), False,
                      f"gpu_operator.driver is `operator` but the operator is disabled: {where}, so the GPUs "
                      "would never be usable. Enable the operator, or set driver: cloud")
    for j, pool in enumerate(cluster.pools):
        image = getattr(pool, "ami_family", None)
        if cluster.cloud == "aws" and image in DRIVER_OWNING_IMAGES:
            yield Problem(
                path_join(base, "pools", j, "ami_family"), image,
                f"gpu_operator.driver is `operator`, but {DRIVER_OWNING_IMAGES[image]}; two drivers on one "
                "node fail to load. Use `ami_family: al2023` for this pool, or `driver: cloud`",
            )


def check_layouts(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """Every MIG layout a pool's nodes select exists once, with one meaning per GPU model.

    Two pools on the same GPU that select the same layout name must ask for the same profiles, since
    mig-manager keeps a single layout per name and GPU. GKE-native clusters have no layouts (GKE partitions).
    """
    if gke_native(cluster):
        return
    seen: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for j, pool in enumerate(resolve_cluster_pools(cluster)):
        layout = pool.mig_layout
        if layout is None or pool.spec.mig is None:
            continue
        key = (layout, pool.gpu.name)
        profiles = dict(pool.spec.mig.profiles)
        if key in seen and seen[key][1] != profiles:
            yield Problem(
                path_join(base, "pools", j, "mig", "profiles"), profiles,
                f"the MIG layout {layout} on {pool.gpu.name} is already {seen[key][1]} (pool {seen[key][0]}); "
                "layout names must mean one thing per GPU",
            )
        seen.setdefault(key, (pool.name, profiles))
        for profile in profiles:
            if profile not in pool.gpu.mig_profiles:
                yield Problem(path_join(base, "pools", j, "mig", "profiles", profile), profile,
                              f"layout {layout} names a profile {pool.gpu.name} does not offer; offered: "
                              f"{', '.join(pool.gpu.mig_profiles)}")


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """Problems of each cluster's gpu_operator section (runs after the pool checks passed)."""
    for i, cluster in enumerate(env.clusters):
        base = path_join("clusters", i)
        yield from check_sharing_on_mig(cluster, base)
        yield from check_bottlerocket_sharing(cluster, base)
        yield from check_driver_ownership(cluster, base)
        if not cluster.gpu_operator.enabled:
            continue
        yield from check_mig_strategy(cluster, base)
        yield from check_mps_under_mixed_strategy(cluster, base)
        yield from check_layouts(cluster, base)
