"""Checks of clusters and GPU pools against each other and against the GPU catalog."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from mlinfra import catalog
from mlinfra.problems import Problem, path_join
from mlinfra.spec.base import LABEL_KEY_RE, LABEL_VALUE_RE
from mlinfra.spec.clusters import ClusterSpec
from mlinfra.spec.environment import EnvironmentSpec
from mlinfra.spec.pools import PoolSpec
from mlinfra.spec.resolve import GPU_RESOURCE_TAINT_KEY, GPU_TAINT

ZONE_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")


def _choices(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def check_names(env: EnvironmentSpec) -> Iterator[Problem]:
    """Cluster names and pool names are unique in the environment (they name cloud and Kubernetes objects)."""
    seen = Counter(c.name for c in env.clusters)
    for i, c in enumerate(env.clusters):
        if seen[c.name] > 1:
            yield Problem(path_join("clusters", i, "name"), c.name,
                          "duplicate cluster name; cluster names must be unique")
    pools = Counter(p.name for c in env.clusters for p in c.pools)
    for i, c in enumerate(env.clusters):
        for j, p in enumerate(c.pools):
            if pools[p.name] > 1:
                yield Problem(
                    path_join("clusters", i, "pools", j, "name"),
                    p.name,
                    "duplicate pool name; pool names must be unique across the environment "
                    "(they become node labels and queue flavors)",
                )


def _gpu_count(pool: PoolSpec, path: str) -> tuple[int | None, list[Problem]]:
    value = pool.gpus_per_node
    if value is None:
        return None, []
    if isinstance(value, float) and not value.is_integer():
        return None, [
            Problem(
                path,
                value,
                "GPUs per node must be a whole number; to give workloads a fraction of a GPU use `mig` "
                "(isolated slices, e.g. 1g.10gb) or `time_slicing`/`mps` (shared GPUs) on a pool of whole GPUs",
            )
        ]
    if value < 1:
        return None, [Problem(path, value, "GPUs per node must be at least 1")]
    return int(value), []


def unknown_gpu_message(name: str) -> str:
    """Why `name` is not a catalog GPU model, and the model it most likely means.

    A cloud's own name for the GPU (GKE accelerator type `nvidia-l4`; Karpenter's `t4` when nothing is closer)
    or a machine or instance type given as `gpu` maps to its catalog model through the catalog itself.
    """
    lowered = name.lower()
    models = list(catalog.GPU_MODELS)
    accelerator = catalog.GCP_ACCELERATOR_TYPES.get(lowered)
    if accelerator is not None:
        return (f"{name} is a GKE accelerator type, not a catalog GPU model; write gpu: {accelerator.gpu_model} "
                "(mlinfra picks the accelerator type)")
    instance = catalog.AWS_INSTANCE_TYPES.get(lowered)
    if instance is not None and instance.gpu_model:
        return (f"{name} is an EC2 instance type; write gpu: {instance.gpu_model} and put the type in "
                "instance_types")
    machine = catalog.GCP_MACHINE_TYPES.get(lowered)
    if machine is not None:
        model = catalog.GCP_ACCELERATOR_TYPES[machine.accelerator_type].gpu_model
        return f"{name} is a GCP machine type; write gpu: {model} and put the type in machine_type"
    near = catalog.closest(name, models)
    if not near:
        # `nvidia-tesla-t4`, `NVIDIA L4`: the closest accelerator or Karpenter name leads to the model.
        names = {**{a: x.gpu_model for a, x in catalog.GCP_ACCELERATOR_TYPES.items()},
                 **{t.karpenter_gpu_name: t.gpu_model for t in catalog.AWS_INSTANCE_TYPES.values()
                    if t.karpenter_gpu_name and t.gpu_model}}
        near = list(dict.fromkeys(names[n] for n in catalog.closest(name, names)))
    return f"unknown GPU model; closest: {_choices(near)} (`mlinfra catalog gpus` lists all {len(models)})"


def _type_suggestions(name: str, candidates: list[str]) -> str:
    """Up to three of `candidates` closest to `name`, else the first three (smallest first)."""
    return _choices(catalog.closest(name, candidates) or candidates[:3])


def _check_aws_types(pool: PoolSpec, base: str, count: int | None) -> Iterator[Problem]:
    gpu = catalog.find_gpu(pool.gpu) if pool.gpu else None
    models: set[tuple[str | None, int]] = set()
    for k, name in enumerate(pool.instance_types):
        path = path_join(base, "instance_types", k)
        t = catalog.AWS_INSTANCE_TYPES.get(name)
        if t is None:
            if gpu is not None:
                fits = [x.name for x in catalog.aws_instance_types_for(gpu.name, count)] or [
                    x.name for x in catalog.aws_instance_types_for(gpu.name)]
                yield Problem(path, name, f"unknown EC2 GPU instance type; types with {gpu.name}"
                                          f"{f' x{count}' if count else ''}: {_type_suggestions(name, fits)}")
            else:
                whole = [x.name for x in catalog.AWS_INSTANCE_TYPES.values() if x.has_whole_nvidia_gpu]
                yield Problem(path, name, f"unknown EC2 GPU instance type; closest: {_type_suggestions(name, whole)} "
                                          "(set `gpu` to be offered only types with that GPU)")
            continue
        if not t.has_whole_nvidia_gpu:
            what = "a fractional GPU" if t.gpu_model else f"no NVIDIA GPU ({t.gpu_manufacturer})"
            yield Problem(path, name, f"instance type has {what}; choose a type with whole NVIDIA GPUs")
            continue
        models.add((t.gpu_model, t.gpu_count))
        if gpu is not None and t.gpu_model != gpu.name:
            yield Problem(
                path, name, f"instance type carries {t.gpu_model}, not the pool's gpu {gpu.name}; "
                f"types with {gpu.name}: {_choices([x.name for x in catalog.aws_instance_types_for(gpu.name)])}"
            )
        elif count is not None and t.gpu_count != count:
            yield Problem(
                path, name, f"instance type has {t.gpu_count} GPUs, but gpus_per_node is {count}"
            )
    # One GPU count per pool even when `gpu` names the model: the pool's GPUs per node (its quotas, its Karpenter
    # `instance-gpu-count` requirement, which would rule the other types out) come from the first type, and
    # cluster-autoscaler plans a group with the first instance type only (kubernetes/autoscaler
    # cluster-autoscaler-1.35.2 cloudprovider/aws/README.md: "only the first instance type found will be used").
    counts = {c for _, c in models}
    if count is None and (len(counts) > 1 or (gpu is None and len(models) > 1)):
        yield Problem(
            path_join(base, "instance_types"),
            pool.instance_types,
            "instance types of one pool must carry the same GPU model and count; got "
            + ", ".join(f"{c}x {m}" for m, c in sorted(models, key=str))
            + " (split them into one pool per GPU count)",
        )


def _check_gcp_machine(pool: PoolSpec, base: str, count: int | None) -> Iterator[Problem]:
    gpu = catalog.find_gpu(pool.gpu) if pool.gpu else None
    if pool.machine_type is None:
        return
    path = path_join(base, "machine_type")
    if pool.machine_type in catalog.GCP_N1_MACHINE_TYPES:
        yield from _check_gcp_n1(pool, path, gpu, count)
        return
    m = catalog.GCP_MACHINE_TYPES.get(pool.machine_type)
    if m is None:
        if gpu is not None:
            fits = list(dict.fromkeys(x.name for x in catalog.gcp_machine_types_for(gpu.name, count))) or list(
                dict.fromkeys(x.name for x in catalog.gcp_machine_types_for(gpu.name)))
            yield Problem(path, pool.machine_type, f"unknown GCP GPU machine type; types with "
                                                   f"{gpu.name}: {_type_suggestions(pool.machine_type, fits)}")
        else:
            names = [*catalog.GCP_MACHINE_TYPES, *catalog.GCP_N1_MACHINE_TYPES]
            yield Problem(path, pool.machine_type, f"unknown GCP GPU machine type; closest: "
                                                   f"{_type_suggestions(pool.machine_type, names)} "
                                                   "(set `gpu` to be offered only types with that GPU)")
        return
    model = catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model
    if gpu is not None and model != gpu.name:
        yield Problem(
            path, pool.machine_type, f"machine type carries {model} ({m.accelerator_type}), not the pool's gpu "
            f"{gpu.name}; types with {gpu.name}: {_choices([x.name for x in catalog.gcp_machine_types_for(gpu.name)])}"
        )
    elif count is not None and m.gpu_count != count:
        yield Problem(path, pool.machine_type, f"machine type has {m.gpu_count} GPUs, but gpus_per_node is {count}")


def _check_gcp_n1(pool: PoolSpec, path: str, gpu: catalog.GpuModel | None, count: int | None) -> Iterator[Problem]:
    """An N1 machine type carries the GPUs attached to it: the pool names them, and the count must fit the type."""
    assert pool.machine_type is not None
    attachable = sorted({catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model for m in catalog.GCP_N1_OFFERS})
    if gpu is None:
        if pool.gpu is None:
            yield Problem(path, pool.machine_type,
                          f"an N1 machine type has no GPU of its own; name the GPU to attach with `gpu` "
                          f"({', '.join(attachable)})")
        return
    offers = [m for m in catalog.GCP_N1_OFFERS if m.name == pool.machine_type
              and catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model == gpu.name]
    if not offers:
        yield Problem(path, pool.machine_type,
                      f"{gpu.name} does not attach to N1 machine types; N1 takes {', '.join(attachable)}")
        return
    want = count or 1
    if want not in {m.gpu_count for m in offers}:
        fits = [m.name for m in catalog.gcp_machine_types_for(gpu.name, want)]
        yield Problem(path, pool.machine_type,
                      f"{pool.machine_type} cannot take {want}x {gpu.name} (it takes "
                      f"{', '.join(str(m.gpu_count) for m in offers)}); N1 types that take {want}: {_choices(fits)}")


def _pool_gpu(cluster: ClusterSpec, pool: PoolSpec) -> catalog.GpuModel | None:
    if pool.gpu:
        return catalog.find_gpu(pool.gpu)
    if cluster.cloud == "aws" and pool.instance_types:
        t = catalog.AWS_INSTANCE_TYPES.get(pool.instance_types[0])
        return catalog.GPU_MODELS.get(t.gpu_model or "") if t else None
    if cluster.cloud == "gcp" and pool.machine_type:
        m = catalog.GCP_MACHINE_TYPES.get(pool.machine_type)  # N1 types carry the pool's `gpu`, handled above
        return catalog.GPU_MODELS[catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model] if m else None
    return None


def check_pool(cluster: ClusterSpec, pool: PoolSpec, base: str) -> Iterator[Problem]:
    """Every catalog and consistency check of one pool."""
    if pool.gpu is not None and catalog.find_gpu(pool.gpu) is None:
        yield Problem(path_join(base, "gpu"), pool.gpu, unknown_gpu_message(pool.gpu))
    count, problems = _gpu_count(pool, path_join(base, "gpus_per_node"))
    yield from problems

    if cluster.cloud == "aws":
        if pool.machine_type is not None:
            yield Problem(path_join(base, "machine_type"), pool.machine_type,
                          "machine_type is for GCP pools; on AWS use instance_types")
        yield from _check_aws_types(pool, base, count)
        if not pool.gpu and not pool.instance_types:
            yield Problem(base, pool.name, "a pool needs `gpu` or `instance_types`")
        elif (
            (gpu := catalog.find_gpu(pool.gpu or ""))
            and not pool.instance_types
            and count is not None
            and not catalog.aws_instance_types_for(gpu.name, count)
        ):
            counts = sorted({t.gpu_count for t in catalog.aws_instance_types_for(gpu.name)})
            yield Problem(path_join(base, "gpus_per_node"), count,
                          f"no EC2 instance type has {count}x {pool.gpu}; available counts: {counts or 'none'}")
    else:
        if pool.instance_types:
            yield Problem(path_join(base, "instance_types"), pool.instance_types,
                          "instance_types is for AWS pools; on GCP use machine_type")
        if pool.provisioner == "karpenter":
            yield Problem(path_join(base, "provisioner"), pool.provisioner,
                          "Karpenter runs on AWS only; GCP pools use provisioner `managed` (a GKE node pool)")
        yield from _check_gcp_machine(pool, base, count)
        gpu = catalog.find_gpu(pool.gpu) if pool.gpu else None
        if not pool.gpu and not pool.machine_type:
            yield Problem(base, pool.name, "a pool needs `gpu` or `machine_type`")
        elif gpu is not None and not pool.machine_type and not catalog.gcp_machine_types_for(gpu.name, count):
            counts = sorted({m.gpu_count for m in catalog.gcp_machine_types_for(gpu.name)})
            if count:
                yield Problem(path_join(base, "gpus_per_node"), count,
                              f"no GCP machine type carries {count}x {gpu.name}; available counts: "
                              f"{counts or 'none'}")
            else:
                offered = sorted({catalog.GCP_ACCELERATOR_TYPES[m.accelerator_type].gpu_model
                                  for m in catalog.gcp_machine_offers()})
                yield Problem(path_join(base, "gpu"), pool.gpu,
                              f"no GCP machine type of the catalog carries {gpu.name}; GPUs on GCP: "
                              f"{_choices(offered)}")

    if pool.min_nodes < 0:
        yield Problem(path_join(base, "min_nodes"), pool.min_nodes, "min_nodes must be >= 0")
    if pool.max_nodes < 1:
        yield Problem(path_join(base, "max_nodes"), pool.max_nodes, "max_nodes must be >= 1")
    if pool.min_nodes > pool.max_nodes:
        yield Problem(path_join(base, "min_nodes"), pool.min_nodes,
                      f"min_nodes must be <= max_nodes (got min {pool.min_nodes}, max {pool.max_nodes})")
    yield from _check_node_bounds(cluster, pool, base)
    if pool.disk_size_gib < 50:
        yield Problem(path_join(base, "disk_size_gib"), pool.disk_size_gib,
                      "GPU node images with the NVIDIA stack need at least 50 GiB")

    yield from _check_sharing(pool, base)
    gpu = _pool_gpu(cluster, pool)
    if pool.mig is not None and gpu is not None:
        yield from check_mig_layout(gpu, pool.mig.profiles, path_join(base, "mig", "profiles"))

    for key, value in pool.labels.items():
        if not LABEL_KEY_RE.match(key):
            yield Problem(path_join(base, "labels"), key, "not a valid label key (prefix/name, name <= 63 chars)")
        if not LABEL_VALUE_RE.match(value):
            yield Problem(path_join(base, "labels", key), value,
                          "not a valid label value (<= 63 chars: alphanumerics, '-', '_', '.')")
    for k, taint in enumerate(pool.taints):
        if not LABEL_KEY_RE.match(taint.key):
            yield Problem(path_join(base, "taints", k, "key"), taint.key, "not a valid taint key")
        elif taint.key == GPU_TAINT["key"] and taint.effect == GPU_TAINT["effect"]:
            # Every pool carries the contract taint nvidia.com/gpu=present:NoSchedule; GKE refuses a node pool
            # with two taints of the same key and effect (terraform-provider-google#7928), and on EKS the second
            # would replace the contract taint that keeps non-GPU pods off the nodes.
            yield Problem(path_join(base, "taints", k, "key"), taint.key,
                          f"every GPU pool already carries the taint {GPU_TAINT['key']}={GPU_TAINT['value']}:"
                          f"{GPU_TAINT['effect']}, and a second {GPU_TAINT['effect']} taint with that key is "
                          "refused (GKE rejects duplicate key and effect); use another key for your own taint, "
                          "e.g. `team` or `example.com/dedicated`")
        elif taint.key == GPU_RESOURCE_TAINT_KEY:
            # mlinfra sets this key itself on pools whose nodes advertise no whole nvidia.com/gpu (spec/resolve.py
            # `gpu_resource_taint`); a user taint with it would clash with that one or fake it on a pool that
            # advertises whole GPUs.
            yield Problem(path_join(base, "taints", k, "key"), taint.key,
                          f"{GPU_RESOURCE_TAINT_KEY} is reserved: mlinfra taints pools whose nodes advertise "
                          "nvidia.com/gpu.shared or nvidia.com/mig-<profile> instead of nvidia.com/gpu with it "
                          "(docs/scheduling.md); use another key for your own taint, e.g. `team` or "
                          "`example.com/dedicated`")
    if cluster.cloud == "aws" and pool.provisioner == "managed":
        yield from _check_autoscaler_tag_keys(pool, base)
    yield from _check_zones(cluster, pool, base)


def _check_node_bounds(cluster: ClusterSpec, pool: PoolSpec, base: str) -> Iterator[Problem]:
    """max_nodes within what the cloud allows one pool: an EKS managed node group, a GKE node pool per zone."""
    from mlinfra.catalog import regions

    path = path_join(base, "max_nodes")
    if cluster.cloud == "aws" and pool.provisioner == "managed":
        limit = regions.EKS_MANAGED_NODE_GROUP_MAX_NODES
        if pool.max_nodes > limit:
            yield Problem(path, pool.max_nodes,
                          f"an EKS managed node group holds at most {limit} nodes (service quota 'Nodes per managed "
                          f"node group'); split the capacity into several pools of <= {limit} nodes, or use "
                          "provisioner: karpenter")
    elif cluster.cloud == "gcp":
        zones = len(set(pool.zones)) or regions.GKE_DEFAULT_POOL_ZONES
        limit = regions.GKE_NODES_PER_POOL_ZONE * zones
        if pool.max_nodes > limit:
            where = (f"its {zones} zones" if pool.zones
                     else f"the {zones} zones a pool without `zones` runs in")
            yield Problem(path, pool.max_nodes,
                          f"a GKE node pool holds at most {regions.GKE_NODES_PER_POOL_ZONE} nodes per zone, "
                          f"{limit} in {where}; lower max_nodes to <= {limit}, name more zones, or split the pool")


def _check_zones(cluster: ClusterSpec, pool: PoolSpec, base: str) -> Iterator[Problem]:
    """A pool's zones: GCP only, in the cluster's region, each once."""
    if not pool.zones:
        return
    if cluster.cloud != "gcp":
        yield Problem(path_join(base, "zones"), pool.zones,
                      "zones is for GCP pools (the node pool's node_locations); an EKS pool runs in the zones of "
                      "the cluster's subnets")
        return
    for k, zone in enumerate(pool.zones):
        if not ZONE_RE.match(zone) or not zone.startswith(f"{cluster.region}-"):
            yield Problem(path_join(base, "zones", k), zone,
                          f"not a zone of the cluster's region {cluster.region} (expected {cluster.region}-<letter>,"
                          f" for example {cluster.region}-a)")
        elif zone in pool.zones[:k]:
            yield Problem(path_join(base, "zones", k), zone, "listed twice")


def _check_autoscaler_tag_keys(pool: PoolSpec, base: str) -> Iterator[Problem]:
    """Managed node groups carry each label and taint as a cluster-autoscaler ASG tag, whose key has a limit."""
    template, limit = catalog.AUTOSCALER_NODE_TEMPLATE_TAG, catalog.ASG_TAG_KEY_MAX
    for kind, keys, path in (("label", list(pool.labels), "labels"),
                             ("taint", [t.key for t in pool.taints], "taints")):
        for k, key in enumerate(keys):
            tag = f"{template}/{kind}/{key}"
            if len(tag) > limit:
                yield Problem(path_join(base, path) if kind == "label" else path_join(base, path, k, "key"), key,
                              f"too long for a managed node group: its cluster-autoscaler tag `{tag}` has "
                              f"{len(tag)} characters, Auto Scaling allows {limit} "
                              f"(keys up to {limit - len(template) - len(kind) - 2} characters)")


def _check_sharing(pool: PoolSpec, base: str) -> Iterator[Problem]:
    if pool.time_slicing is not None and pool.mps is not None:
        yield Problem(path_join(base, "mps"), "time_slicing + mps",
                      "time-slicing and MPS are mutually exclusive in the device plugin; choose one")
    for key, sharing in (("time_slicing", pool.time_slicing), ("mps", pool.mps)):
        if sharing is not None and sharing.replicas < 2:
            yield Problem(path_join(base, key, "replicas"), sharing.replicas,
                          "replicas must be >= 2 (1 means no sharing; remove the block instead)")
        if sharing is not None and sharing.replicas > 48:
            yield Problem(path_join(base, key, "replicas"), sharing.replicas,
                          "replicas must be <= 48 (the most GKE and the MPS control daemon support)")


def check_mig_layout(gpu: catalog.GpuModel, profiles: dict[str, int], path: str) -> Iterator[Problem]:
    """A MIG layout fits one GPU the way the hardware places it: offered profiles, per-profile counts, compute
    slices, instances, memory slices, and a non-overlapping placement (catalog/mig_placement.py)."""
    from mlinfra.catalog.mig_placement import allowed_starts, memory_slices_needed, place

    if not gpu.mig_capable:
        migs = [g.name for g in catalog.GPU_MODELS.values() if g.mig_capable]
        yield Problem(path, profiles, f"{gpu.name} has no MIG; MIG-capable GPUs: {_choices(migs)}")
        return
    slices = instances = 0
    known = True
    for name, count in profiles.items():
        profile = gpu.mig_profiles.get(name)
        if profile is None:
            known = False
            yield Problem(path_join(path, name), name,
                          f"{gpu.name} does not offer MIG profile {name}; offered: {_choices(list(gpu.mig_profiles))}")
            continue
        if count < 1:
            known = False
            yield Problem(path_join(path, name), count, "a MIG profile count must be >= 1")
        elif count > profile.max_count:
            known = False
            yield Problem(path_join(path, name), count,
                          f"at most {profile.max_count} x {name} fit on one {gpu.name}")
        slices += profile.compute_slices * count
        instances += count
    if slices > gpu.compute_slices:
        yield Problem(path, profiles,
                      f"the layout uses {slices} compute slices; one {gpu.name} has {gpu.compute_slices}")
    if instances > gpu.max_mig_instances:
        yield Problem(path, profiles,
                      f"the layout has {instances} GPU instances; one {gpu.name} allows at most "
                      f"{gpu.max_mig_instances}")
    if not known or slices > gpu.compute_slices or instances > gpu.max_mig_instances:
        return
    # Memory is counted in the hardware's memory slices, not in the rounded GB of profile names (2 x 3g.71gb
    # on a 141 GB H200 is 2 x 4 of 8 slices).
    need = memory_slices_needed(gpu, profiles)
    shares = ", ".join(f"{n} takes {gpu.mig_profiles[n].memory_slices}" for n in profiles)
    if need > gpu.memory_slices:
        yield Problem(path, profiles,
                      f"the layout needs {need} of the {gpu.memory_slices} memory slices of one {gpu.name} "
                      f"({shares}); remove instances or use smaller profiles")
    elif place(gpu, profiles) is None:
        starts = "; ".join(f"{n} at {', '.join(map(str, allowed_starts(gpu, n)))}" for n in profiles)
        yield Problem(path, profiles,
                      f"no placement of this layout fits one {gpu.name}: instances may start only at these memory "
                      f"slices ({starts}; {shares}) and may not overlap")


# Geography prefixes of region names that mean the same place on both clouds (`europe-west4` / `eu-west-1`).
_GEOGRAPHY = {"europe": "eu", "asia": "ap", "australia": "ap", "northamerica": "ca", "southamerica": "sa",
              "africa": "af"}


def _region_suggestions(region: str, names: tuple[str, ...]) -> list[str]:
    """Regions of `names` near `region`: same geography first (us-central1 -> us-east-1), else by spelling."""
    geo = region.split("-")[0]
    geo = _GEOGRAPHY.get(geo, geo)
    same = [n for n in names if _GEOGRAPHY.get(n.split("-")[0], n.split("-")[0]) == geo
            and not any(tag in n for tag in ("-gov-", "-iso", "isoe", "eusc"))]
    return catalog.closest(region, same) or same[:3] or catalog.closest(region, names)


def check_region(cluster: ClusterSpec, base: str) -> Iterator[Problem]:
    """The cluster's region is a region of its cloud (catalog/regions.py); a region of the other cloud says so."""
    from mlinfra.catalog import regions

    names = regions.REGIONS[cluster.cloud]
    if cluster.region in names:
        return
    label = {"aws": "an AWS", "gcp": "a GCP"}
    near = _choices(_region_suggestions(cluster.region, names))
    other = regions.cloud_of_region(cluster.region)
    if other is not None:
        yield Problem(path_join(base, "region"), cluster.region,
                      f"{cluster.region} is {label[other]} region, but the cluster's cloud is {cluster.cloud}: use "
                      f"{label[cluster.cloud]} region (near it: {near}), or set cloud: {other}")
        return
    yield Problem(path_join(base, "region"), cluster.region,
                  f"not {label[cluster.cloud]} region; closest: {near} "
                  f"(`mlinfra catalog regions --cloud {cluster.cloud}` lists all {len(names)})")


def check(env: EnvironmentSpec) -> Iterator[Problem]:
    """All cluster and pool checks of the environment."""
    yield from check_names(env)
    for i, cluster in enumerate(env.clusters):
        yield from check_region(cluster, path_join("clusters", i))
        for j, pool in enumerate(cluster.pools):
            yield from check_pool(cluster, pool, path_join("clusters", i, "pools", j))
