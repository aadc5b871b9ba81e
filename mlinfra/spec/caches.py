"""Data caches: Alluxio through Fluid, placed next to the GPU pools that read the data."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from mlinfra.spec.base import Name, SpecModel

# Binary and decimal suffixes Kubernetes accepts for byte quantities; the AlluxioRuntime CRD's `quota`
# pattern accepts the same forms, so a value that parses here also validates there.
_BYTE_SUFFIX = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
}
_BYTES_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
GIB = 2**30
MIB = 2**20


def parse_bytes(text: str) -> int:
    """Bytes in a quantity like `"64Gi"`, `"500M"` or `"1073741824"`; ValueError for anything else."""
    match = _BYTES_RE.match(text.strip())
    if match is None:
        raise ValueError(
            f"not a byte quantity: {text!r}; write a number with a unit, e.g. '64Gi', '512Mi', '1Ti'"
        )
    return int(float(match.group(1)) * _BYTE_SUFFIX[match.group(2) or ""])


def _bytes_text(value: str) -> str:
    parse_bytes(value)
    return value.strip()


# A byte quantity kept as written (it goes verbatim into the manifest) but checked on load.
ByteQuantity = Annotated[str, AfterValidator(_bytes_text)]


class SecretKeyRef(SpecModel):
    """A key of a Kubernetes Secret in the Fluid namespace (`fluid-system`); the value never enters the config."""

    secret: str = Field(description="Name of the Secret, in the `fluid-system` namespace.")
    key: str = Field(description="Key inside the Secret.")


class MountSpec(SpecModel):
    """One object-storage location mounted read-only into the cache."""

    url: str = Field(
        description="Where the data lives: `s3://bucket/prefix`, `gs://bucket/prefix`, `hdfs://`, `oss://`, "
        "`cos://`, `http(s)://` or `pvc://<claim>`."
    )
    name: Name | None = Field(
        default=None, description="Name of the mount inside the dataset. Default: the cache's name plus its index."
    )
    path: str | None = Field(
        default=None,
        description="Where the mount appears inside the volume. Default: `/` for a single mount, `/<name>` "
        "when there are several.",
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description="Non-secret Alluxio under-storage options (`alluxio.underfs.s3.region`...). Credentials are "
        "rejected here; give them in `secret_options`. Default: none.",
    )
    secret_options: dict[str, SecretKeyRef] = Field(
        default_factory=dict,
        description="Options whose values come from a Secret (`aws.accessKeyId`, `aws.secretKey`, "
        "`fs.gcs.credentialsPath`...), passed to Fluid as `encryptOptions`. Default: none (cloud identity or a "
        "public bucket).",
    )

    @property
    def scheme(self) -> str:
        """The URL scheme, lowercased (`s3`, `gs`...), or '' when there is none."""
        return self.url.split("://", 1)[0].lower() if "://" in self.url else ""

    @property
    def bucket(self) -> str:
        """The bucket (the URL's host part) for object stores."""
        rest = self.url.split("://", 1)[1] if "://" in self.url else self.url
        return rest.split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The key prefix inside the bucket, without leading or trailing slashes ('' for the whole bucket)."""
        rest = self.url.split("://", 1)[1] if "://" in self.url else ""
        return rest.split("/", 1)[1].strip("/") if "/" in rest else ""


class TierSpec(SpecModel):
    """One level of the Alluxio tiered store on every cache worker."""

    medium: Literal["MEM", "SSD", "HDD"] = Field(description="Storage medium of the level.")
    quota: ByteQuantity = Field(description="Capacity of the level on each worker (`16Gi`).")
    path: str | None = Field(
        default=None,
        description="Host path of the level. Default: `/dev/shm` for MEM, `/var/lib/mlinfra/cache/<medium>` on "
        "the node's root disk for SSD and HDD.",
    )
    high: float = Field(default=0.95, description="Usage ratio at which eviction starts. Default: 0.95.")
    low: float = Field(default=0.7, description="Usage ratio eviction brings the level back to. Default: 0.7.")

    @property
    def quota_bytes(self) -> int:
        """The quota in bytes."""
        return parse_bytes(self.quota)

    @property
    def host_path(self) -> str:
        """The path actually used on the node."""
        if self.path:
            return self.path
        return "/dev/shm" if self.medium == "MEM" else f"/var/lib/mlinfra/cache/{self.medium.lower()}"


class WarmupSpec(SpecModel):
    """A Fluid `DataLoad` that fills the cache before (or while) the jobs read it."""

    paths: list[str] = Field(
        default_factory=lambda: ["/"], description="Paths inside the dataset to load. Default: everything (`/`)."
    )
    load_metadata: bool = Field(
        default=True, description="Sync the file listing from the bucket before loading. Default: on."
    )
    schedule: str | None = Field(
        default=None,
        description="Cron schedule to reload (`0 2 * * *`) for data that changes. Default: load once.",
    )


class CacheSpec(SpecModel):
    """One cached dataset: an Alluxio cache (through Fluid) over object storage, beside the pools that read it.

    The cache lives in the Fluid namespace (`fluid-system`, the only privileged namespace); every team in
    `teams` gets a read-only PVC named after the cache in its own namespace.
    """

    name: Name
    cluster: str = Field(description="Cluster the cache runs on.")
    mounts: list[MountSpec] = Field(default_factory=list, description="What to cache; at least one is required.")
    pools: list[str] = Field(
        default_factory=list,
        description="GPU pools whose jobs read the data; the cache workers run on those nodes only. Required.",
    )
    teams: list[str] = Field(
        default_factory=list,
        description="Teams (namespaces) that get a PVC `<cache name>` for the data. Default: none (the PVC "
        "exists only in `fluid-system`).",
    )
    replicas: int = Field(default=1, description="Cache workers (one per node). Default: 1.")
    tiers: list[TierSpec] = Field(
        default_factory=lambda: [TierSpec(medium="MEM", quota="8Gi")],
        description="Tiered store levels of each worker, fastest first. Default: 8Gi of memory.",
    )
    cloud_identity: bool = Field(
        default=True,
        description="Read `s3://` (EKS) or `gs://` (GKE) buckets through cloud identity: an IAM role with IRSA, "
        "or a Google service account with Workload Identity, read-only on the cached buckets. Needs a "
        "cluster mlinfra created. Default: on.",
    )
    warmup: WarmupSpec | None = Field(default=None, description="Warm the cache with a DataLoad. Default: no.")
