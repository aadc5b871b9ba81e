"""EKS rules over pulumi-aws resources: launch templates (IMDSv2, encrypted volumes, no public IPs) and clusters."""

from __future__ import annotations

from collections.abc import Iterator

from mlinfra.policy.model import Record, as_list, dig, rule, truthy

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
# The log types CIS asks for: the API server and audit trail, plus authenticator for who-was-who with IAM.
REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")


@rule(
    "MLI-EKS-001",
    "high",
    "Launch templates require IMDSv2",
    "IMDSv1 answers any request from the node, so an SSRF in a pod can read the node role's credentials.",
    "CIS AWS Foundations Benchmark v3.0 5.6; Amazon EKS Best Practices (Security: restrict instance metadata)",
    types=(LAUNCH_TEMPLATE,),
)
def imdsv2_required(record: Record) -> Iterator[str]:
    """`metadataOptions.httpTokens` must be `required` (the EC2 default is the AMI's, often `optional`)."""
    tokens = dig(record, "inputs", "metadataOptions", "httpTokens")
    if tokens != "required":
        yield f"metadataOptions.httpTokens must be 'required' (got {tokens!r})"


@rule(
    "MLI-EKS-002",
    "high",
    "Launch templates limit the metadata hop count to 1",
    "With one hop, IMDS replies cannot reach containers in their own network namespace, only the node itself.",
    "Amazon EKS Best Practices (Security: restrict access to the instance profile assigned to the worker node)",
    types=(LAUNCH_TEMPLATE,),
)
def imds_hop_limit(record: Record) -> Iterator[str]:
    """`metadataOptions.httpPutResponseHopLimit` must be exactly 1."""
    hops = dig(record, "inputs", "metadataOptions", "httpPutResponseHopLimit")
    if hops != 1:
        yield f"metadataOptions.httpPutResponseHopLimit must be 1 (got {hops!r})"


@rule(
    "MLI-EKS-003",
    "high",
    "Launch template volumes are encrypted",
    "Node disks hold image layers, emptyDir data and cached datasets; unencrypted EBS leaks them via snapshots.",
    "CIS AWS Foundations Benchmark v3.0 2.2.1",
    types=(LAUNCH_TEMPLATE,),
)
def volumes_encrypted(record: Record) -> Iterator[str]:
    """Every `blockDeviceMappings[].ebs` sets `encrypted`; a template that declares none leaves the AMI default."""
    mappings = as_list(dig(record, "inputs", "blockDeviceMappings"))
    if not mappings:
        yield "no blockDeviceMappings: the root volume takes the AMI's (unencrypted) default; declare it encrypted"
    for i, mapping in enumerate(mappings):
        ebs = dig(mapping, "ebs")
        if ebs is not None and not truthy(dig(ebs, "encrypted")):
            yield f"blockDeviceMappings[{i}].ebs.encrypted must be true (got {dig(ebs, 'encrypted')!r})"


@rule(
    "MLI-EKS-004",
    "high",
    "Nodes get no public IP addresses",
    "GPU nodes should be reachable only through the VPC; a public address exposes kubelet and SSH to the internet.",
    "CIS Amazon EKS Benchmark v1.5 5.4.3 (private nodes)",
    types=(LAUNCH_TEMPLATE,),
)
def no_public_ip(record: Record) -> Iterator[str]:
    """The template pins `associatePublicIpAddress` to false on its network interface.

    Leaving it out hands the decision to the subnet's map-public-IP setting, which the template cannot see.
    """
    nics = as_list(dig(record, "inputs", "networkInterfaces"))
    if not nics:
        yield "networkInterfaces is not set, so the subnet decides; set associatePublicIpAddress to false"
    for i, nic in enumerate(nics):
        value = dig(nic, "associatePublicIpAddress")
        if value is None or truthy(value):
            yield f"networkInterfaces[{i}].associatePublicIpAddress must be false (got {value!r})"


@rule(
    "MLI-EKS-010",
    "critical",
    "The EKS API endpoint is not open to the internet",
    "A public endpoint open to 0.0.0.0/0 lets anyone probe the API server; keep it private or allow-listed.",
    "CIS Amazon EKS Benchmark v1.5 5.4.1 and 5.4.2",
    types=(EKS_CLUSTER,),
)
def endpoint_not_public(record: Record) -> Iterator[str]:
    """Public access must be off, or limited to CIDRs other than 0.0.0.0/0 (EKS defaults to public, 0.0.0.0/0)."""
    vpc = dig(record, "inputs", "vpcConfig") or {}
    public = vpc.get("endpointPublicAccess")
    if public is False:
        return
    cidrs = vpc.get("publicAccessCidrs") or []
    if not cidrs:
        yield "vpcConfig.endpointPublicAccess is on (the default) with no publicAccessCidrs: open to 0.0.0.0/0"
    elif any(c in ("0.0.0.0/0", "::/0") for c in cidrs):
        yield f"vpcConfig.publicAccessCidrs allows the whole internet ({', '.join(cidrs)})"


@rule(
    "MLI-EKS-011",
    "high",
    "Kubernetes Secrets are envelope-encrypted with a KMS key",
    "Without envelope encryption, etcd backups hold every Secret (tokens, registry credentials) in plain base64.",
    "CIS Amazon EKS Benchmark v1.5 5.3.1",
    types=(EKS_CLUSTER,),
)
def secrets_encrypted(record: Record) -> Iterator[str]:
    """`encryptionConfig` must cover `secrets` and name a KMS key."""
    configs = as_list(dig(record, "inputs", "encryptionConfig"))
    if not any("secrets" in (c.get("resources") or []) and dig(c, "provider", "keyArn") for c in configs):
        yield "encryptionConfig must list resources ['secrets'] with provider.keyArn set"


@rule(
    "MLI-EKS-012",
    "medium",
    "Control-plane logging is on",
    "Audit and API server logs are the only record of who did what to the cluster.",
    "CIS Amazon EKS Benchmark v1.5 2.1.1",
    types=(EKS_CLUSTER,),
)
def control_plane_logging(record: Record) -> Iterator[str]:
    """`enabledClusterLogTypes` must include api, audit and authenticator."""
    enabled = set(dig(record, "inputs", "enabledClusterLogTypes") or [])
    missing = [t for t in REQUIRED_LOG_TYPES if t not in enabled]
    if missing:
        yield f"enabledClusterLogTypes is missing {', '.join(missing)} (got {sorted(enabled)})"
