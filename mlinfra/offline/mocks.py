"""Pulumi's mock runtime, set up to record every resource registration of a stack program.

The mocks answer like a provider would after `pulumi up` for the outputs the components read (cluster
endpoints, CA data, ARNs, OIDC issuers); every other output echoes the inputs. Values are fixed strings
derived from the resource name, so two renders give the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

FAKE_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm1saW5mcmEtb2ZmbGluZQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
ACCOUNT = "123456789012"


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def _outputs_for(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs a real provider would return for the types the components read back."""
    out: dict[str, Any] = {}
    if type_.startswith("aws:"):
        service = type_.split(":")[1].split("/")[0]
        out["arn"] = f"arn:aws:{service}:us-east-1:{ACCOUNT}:{name}"
    if type_ == "aws:eks/cluster:Cluster":
        out.update(
            endpoint=f"https://{_hash(name).upper()}.gr7.us-east-1.eks.amazonaws.com",
            certificateAuthority={"data": FAKE_CA},
            identities=[{"oidcs": [{"issuer": f"https://oidc.eks.us-east-1.amazonaws.com/id/{_hash(name).upper()}"}]}],
            name=inputs.get("name", name),
            vpcConfig={**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_hash(name)}"},
        )
    elif type_ == "aws:iam/role:Role":
        role = inputs.get("name") or f"{name}-{_hash(name)[:7]}"
        out.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{role}", name=role, id=role)
    elif type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        url = str(inputs.get("url", "")).removeprefix("https://")
        out["arn"] = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{url}"
    elif type_ == "aws:eks/nodeGroup:NodeGroup":
        group = f"eks-{name}-{_hash(name)}"
        out["resources"] = [{"autoscalingGroups": [{"name": group}], "remoteAccessSecurityGroupId": ""}]
    elif type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update(id=f"lt-{_hash(name)}", latestVersion=1)
    elif type_ == "aws:kms/key:Key":
        out.update(arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{_hash(name)}", keyId=_hash(name))
    elif type_ == "aws:sqs/queue:Queue":
        out.update(url=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{inputs.get('name', name)}",
                   name=inputs.get("name", name))
    elif type_ == "gcp:container/cluster:Cluster":
        out.update(
            endpoint=f"198.51.100.{int(_hash(name), 16) % 250 + 1}",
            masterAuth={"clusterCaCertificate": FAKE_CA},
            name=inputs.get("name", name),
        )
    elif type_ == "gcp:serviceaccount/account:Account":
        out["email"] = f"{inputs.get('accountId', name)}@{inputs.get('project') or 'project'}.iam.gserviceaccount.com"
    elif type_.startswith("random:"):
        out["result"] = f"offline-{_hash(name)}"
    if "name" not in inputs and "name" not in out:
        out["name"] = name
    return out


@dataclass
class Registration:
    """One resource registration as the program made it."""

    urn: str
    type: str
    name: str
    parent_urn: str
    provider_ref: str
    custom: bool
    inputs: dict[str, Any]
    # URNs the registration waited for: `depends_on` and the resources its inputs came from, as the engine
    # receives them (components expanded to their custom-resource descendants).
    dependencies: list[str] = field(default_factory=list)
    # Per input (the provider's camelCase name), the URNs whose Outputs it was built from.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that answer registrations with deterministic outputs and invokes from a small table.

    `stack_outputs` maps a referenced stack to `{"outputs": {...}, "secret_output_names": [...]}`, keyed by its
    full name (`org/project/stack`) or by `project/stack` (what a render's outputs.json knows): offline there is
    no backend to read a `StackReference` from, so the caller supplies its outputs. References it cannot answer
    are listed in `unanswered`.
    """

    def __init__(self, stack_outputs: dict[str, dict[str, Any]] | None = None):
        super().__init__()
        self.stack_outputs = stack_outputs or {}
        self.referenced: dict[str, dict[str, Any]] = {}  # reference name -> the outputs it was answered with
        self.unanswered: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            ref = str(args.inputs.get("name") or args.name)
            short = "/".join(ref.split("/")[-2:])
            known = self.stack_outputs.get(ref) or self.stack_outputs.get(short)
            if known is None:
                self.unanswered.append(ref)
                known = {}
            self.referenced[ref] = known.get("outputs", {})
            return ref, {
                "name": ref,
                "outputs": known.get("outputs", {}),
                "secretOutputNames": list(known.get("secret_output_names", [])),
            }
        inputs = dict(args.inputs)
        outputs = {**inputs, **_outputs_for(args.typ, args.name, inputs)}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "userId": ACCOUNT}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": "us-east-1", "region": "us-east-1"}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            import json

            return {"json": json.dumps(args.args, sort_keys=True)}, []
        if token == "aws:ssm/getParameter:getParameter":
            return {"value": f"ami-{_hash(str(args.args.get('name')))}", "name": args.args.get("name")}, []
        if token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0offline0a", "subnet-0offline0b"], "id": "us-east-1",
                    "filters": args.args.get("filters")}, []
        if token == "aws:eks/getCluster:getCluster":
            # A referenced EKS cluster, as DescribeCluster would show it.
            cluster = str(args.args.get("name"))
            return {
                "name": cluster,
                "id": cluster,
                "endpoint": f"https://{_hash(cluster).upper()}.gr7.us-east-1.eks.amazonaws.com",
                "vpcConfig": {
                    "clusterSecurityGroupId": f"sg-{_hash(cluster)}",
                    "subnetIds": [f"subnet-{_hash(cluster + str(i))}" for i in range(2)],
                    "vpcId": f"vpc-{_hash(cluster)}",
                },
            }, []
        if token == "aws:eks/getAddonVersion:getAddonVersion":
            # DescribeAddonVersions' default for the Kubernetes version: a fixed, recognisable stand-in.
            addon, version = args.args.get("addonName"), args.args.get("kubernetesVersion")
            return {"addonName": addon, "kubernetesVersion": version, "id": addon,
                    "version": f"v0.0.0-offline-{addon}-{version}-eksbuild.1"}, []
        if token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": "offline-project", "region": "us-central1"}, []
        return dict(args.args), []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping each registration's parent, provider, dependencies and whether it is
    custom."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent_urn=request.parent,
                    provider_ref=request.provider,
                    custom=bool(request.custom),
                    inputs=rpc.deserialize_properties(request.object),
                    dependencies=list(request.dependencies),
                    property_dependencies={
                        key: list(deps.urns) for key, deps in request.propertyDependencies.items() if deps.urns
                    },
                )
            )
        return response
