"""Every rule against a table of passing and failing records; each rule has at least one of both."""

from __future__ import annotations

import pytest
from policy_fixtures import (
    DELETE,
    EKS_CLUSTER,
    GKE_CLUSTER,
    GKE_NODE_POOL,
    LAUNCH_TEMPLATE,
    container,
    deployment,
    helm,
    merge,
    namespace,
    nodepool,
    record,
)

from mlinfra.policy import all_rules
from mlinfra.policy.engine import violations

LT = "aws:ec2/launchTemplate:LaunchTemplate"
EKS = "aws:eks/cluster:Cluster"
GKE = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
DEPLOY = "kubernetes:apps/v1:Deployment"


def k8s(manifest, name="obj", provider="eks-k8s"):
    """A Kubernetes resource record whose props are the manifest."""
    api = manifest["apiVersion"] if "/" in manifest["apiVersion"] else f"core/{manifest['apiVersion']}"
    return record(f"kubernetes:{api}:{manifest['kind']}", manifest, name, provider)


def configmap(data):
    return k8s({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "x"}, "data": data})


KPS = "kube-prometheus-stack"
SPOT_QUEUE = helm("oci://public.ecr.aws/karpenter/karpenter", "1.14.1",
                  {"settings": {"interruptionQueue": "eks-interruptions"}}, name="karpenter")
NO_QUEUE = helm("oci://public.ecr.aws/karpenter/karpenter", "1.14.1", {"settings": {"clusterName": "c"}},
                name="karpenter")



def waits(rec, *deps, **property_deps):
    """A record with its dependencies (and property dependencies, by input) as `resources.json` has them."""
    return {**rec, "dependencies": sorted({*deps, *(d for v in property_deps.values() for d in v)}),
            "propertyDependencies": property_deps}


KUEUE_RELEASE = helm("oci://registry.k8s.io/kueue/charts/kueue", "0.19.2", name="kueue-release")
QUEUE = k8s({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "q"}}, name="cq")
ROLE = record("aws:iam/role:Role", {}, "node-role", "eks-aws")
ATTACHMENT = waits(record("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "node-role"}, "node-policy",
                          "eks-aws"), role=["node-role"])
NODE_GROUP = record("aws:eks/nodeGroup:NodeGroup", {}, "ng", "eks-aws")
EKS_PROVIDER = record("pulumi:providers:kubernetes", {}, "eks-k8s")
OTHER_PROVIDER = record("pulumi:providers:kubernetes", {}, "other-k8s")
OTHER_NAMESPACE = k8s({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, "other-ns", "other-k8s")

# (rule id, case name, records, expected message fragment or None when the rule must pass)
CASES = [
    ("MLI-GRAPH-001", "waits for its chart", [KUEUE_RELEASE, waits(QUEUE, "kueue-release")], None),
    ("MLI-GRAPH-001", "created before its CRD", [KUEUE_RELEASE, QUEUE], "does not wait for kueue-release"),
    ("MLI-GRAPH-001", "chart on another cluster", [{**KUEUE_RELEASE, "provider": "other-k8s"},
                                                   waits(QUEUE, "kueue-release")],
     "no Helm release of the kueue chart on provider 'eks-k8s'"),
    ("MLI-GRAPH-002", "waits for the role's policies",
     [ROLE, ATTACHMENT, waits(NODE_GROUP, "node-policy", nodeRoleArn=["node-role"])], None),
    ("MLI-GRAPH-002", "created before the role's policies", [ROLE, ATTACHMENT, waits(NODE_GROUP, nodeRoleArn=[
        "node-role"])], "grants it does not wait for: node-policy"),
    ("MLI-GRAPH-003", "own cluster only", [EKS_PROVIDER, OTHER_PROVIDER, OTHER_NAMESPACE, waits(QUEUE)], None),
    ("MLI-GRAPH-003", "waits for another cluster", [EKS_PROVIDER, OTHER_PROVIDER, OTHER_NAMESPACE,
                                                    waits(QUEUE, "other-ns")],
     "another cluster's provider: other-k8s (other)"),
    ("MLI-GRAPH-004", "acyclic", [ROLE, ATTACHMENT], None),
    ("MLI-GRAPH-004", "cycle", [waits(ROLE, "node-policy"), ATTACHMENT], "dependency cycle: "),
    ("MLI-EKS-001", "required", [record(LT, LAUNCH_TEMPLATE)], None),
    ("MLI-EKS-001", "optional", [record(LT, merge(LAUNCH_TEMPLATE, metadataOptions__httpTokens="optional"))],
     "httpTokens must be 'required'"),
    ("MLI-EKS-001", "unset", [record(LT, merge(LAUNCH_TEMPLATE, metadataOptions=DELETE))], "got None"),
    ("MLI-EKS-002", "one hop", [record(LT, LAUNCH_TEMPLATE)], None),
    ("MLI-EKS-002", "two hops", [record(LT, merge(LAUNCH_TEMPLATE, metadataOptions__httpPutResponseHopLimit=2))],
     "HopLimit must be 1 (got 2)"),
    ("MLI-EKS-003", "encrypted", [record(LT, LAUNCH_TEMPLATE)], None),
    ("MLI-EKS-003", "bool encrypted", [record(LT, merge(LAUNCH_TEMPLATE, blockDeviceMappings=[
        {"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]))], None),
    ("MLI-EKS-003", "unencrypted", [record(LT, merge(LAUNCH_TEMPLATE, blockDeviceMappings=[
        {"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]))], "ebs.encrypted must be true"),
    ("MLI-EKS-003", "no volumes", [record(LT, merge(LAUNCH_TEMPLATE, blockDeviceMappings=DELETE))],
     "no blockDeviceMappings"),
    ("MLI-EKS-004", "private", [record(LT, LAUNCH_TEMPLATE)], None),
    ("MLI-EKS-004", "public ip", [record(LT, merge(LAUNCH_TEMPLATE, networkInterfaces=[
        {"associatePublicIpAddress": "true"}]))], "associatePublicIpAddress must be false (got 'true')"),
    ("MLI-EKS-004", "left to the subnet", [record(LT, merge(LAUNCH_TEMPLATE, networkInterfaces=DELETE))],
     "networkInterfaces is not set, so the subnet decides"),
    ("MLI-EKS-004", "interface without the flag", [record(LT, merge(LAUNCH_TEMPLATE, networkInterfaces=[
        {"deviceIndex": 0}]))], "associatePublicIpAddress must be false (got None)"),
    ("MLI-EKS-010", "private endpoint", [record(EKS, EKS_CLUSTER)], None),
    ("MLI-EKS-010", "allow-listed", [record(EKS, merge(EKS_CLUSTER, vpcConfig__endpointPublicAccess=True,
                                                       vpcConfig__publicAccessCidrs=["203.0.113.0/24"]))], None),
    ("MLI-EKS-010", "public default", [record(EKS, merge(EKS_CLUSTER, vpcConfig__endpointPublicAccess=DELETE))],
     "open to 0.0.0.0/0"),
    ("MLI-EKS-010", "whole internet", [record(EKS, merge(EKS_CLUSTER, vpcConfig__endpointPublicAccess=True,
                                                         vpcConfig__publicAccessCidrs=["0.0.0.0/0"]))],
     "whole internet"),
    ("MLI-EKS-011", "kms", [record(EKS, EKS_CLUSTER)], None),
    ("MLI-EKS-011", "kms as list",
     [record(EKS, merge(EKS_CLUSTER, encryptionConfig=[EKS_CLUSTER["encryptionConfig"]]))], None),
    ("MLI-EKS-011", "no encryption", [record(EKS, merge(EKS_CLUSTER, encryptionConfig=DELETE))],
     "encryptionConfig must list"),
    ("MLI-EKS-011", "no key", [record(EKS, merge(EKS_CLUSTER, encryptionConfig__provider=DELETE))],
     "encryptionConfig must list"),
    ("MLI-EKS-012", "logs on", [record(EKS, EKS_CLUSTER)], None),
    ("MLI-EKS-012", "audit off", [record(EKS, merge(EKS_CLUSTER, enabledClusterLogTypes=["api"]))],
     "missing audit, authenticator"),
    ("MLI-GKE-001", "private cluster", [record(GKE, GKE_CLUSTER), record(POOL, GKE_NODE_POOL)], None),
    ("MLI-GKE-001", "public nodes", [record(GKE, merge(GKE_CLUSTER, privateClusterConfig__enablePrivateNodes=False))],
     "enablePrivateNodes must be true"),
    ("MLI-GKE-001", "pool opts out", [record(POOL, merge(GKE_NODE_POOL, networkConfig={"enablePrivateNodes": False}))],
     "enablePrivateNodes is false"),
    ("MLI-GKE-002", "workload identity", [record(GKE, GKE_CLUSTER), record(POOL, GKE_NODE_POOL)], None),
    ("MLI-GKE-002", "no pool", [record(GKE, merge(GKE_CLUSTER, workloadIdentityConfig=DELETE))], "workloadPool"),
    ("MLI-GKE-002", "node metadata exposed", [record(POOL, merge(GKE_NODE_POOL,
                                                                 nodeConfig__workloadMetadataConfig__mode="GCE_METADATA"))],
     "GKE_METADATA"),
    ("MLI-GKE-003", "shielded", [record(GKE, GKE_CLUSTER), record(POOL, GKE_NODE_POOL)], None),
    ("MLI-GKE-003", "secure boot off is allowed", [record(POOL, merge(
        GKE_NODE_POOL, nodeConfig__shieldedInstanceConfig__enableSecureBoot=False))], None),
    ("MLI-GKE-003", "not shielded", [record(GKE, merge(GKE_CLUSTER, enableShieldedNodes=False))],
     "enableShieldedNodes must be true"),
    ("MLI-GKE-003", "no integrity monitoring", [record(POOL, merge(
        GKE_NODE_POOL, nodeConfig__shieldedInstanceConfig__enableIntegrityMonitoring=False))], "IntegrityMonitoring"),
    ("MLI-GKE-004", "managed", [record(POOL, GKE_NODE_POOL)], None),
    ("MLI-GKE-004", "no auto-upgrade", [record(POOL, merge(GKE_NODE_POOL, management__autoUpgrade=False))],
     "management.autoUpgrade must be true"),
    ("MLI-GKE-004", "no management block", [record(POOL, merge(GKE_NODE_POOL, management=DELETE))],
     "management.autoRepair"),
    ("MLI-GKE-005", "dedicated account", [record(POOL, GKE_NODE_POOL), record(GKE, GKE_CLUSTER)], None),
    ("MLI-GKE-005", "unset", [record(POOL, merge(GKE_NODE_POOL, nodeConfig__serviceAccount=DELETE))],
     "dedicated least-privilege"),
    ("MLI-GKE-005", "compute default", [record(POOL, merge(
        GKE_NODE_POOL, nodeConfig__serviceAccount="123-compute@developer.gserviceaccount.com"))], "compute@"),
    ("MLI-GKE-005", "kept default pool", [record(GKE, merge(GKE_CLUSTER, removeDefaultNodePool=False,
                                                            nodeConfig={"machineType": "e2-standard-4"}))],
     "serviceAccount"),
    ("MLI-K8S-001", "non-root", [k8s(deployment())], None),
    ("MLI-K8S-001", "pod-level non-root", [k8s(deployment(container(securityContext__runAsNonRoot=DELETE),
                                                          securityContext={"runAsNonRoot": True}))], None),
    ("MLI-K8S-001", "root allowed", [k8s(deployment(container(securityContext__runAsNonRoot=DELETE)))],
     "runAsNonRoot must be true"),
    ("MLI-K8S-001", "a patch is not a whole object",
     [record("kubernetes:apps/v1:DeploymentPatch", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                     "metadata": {"name": "x", "annotations": {"a": "b"}}})], None),
    ("MLI-K8S-001", "uid 0", [k8s(deployment(container(securityContext__runAsUser=0)))], "runAsUser is 0"),
    ("MLI-K8S-002", "no escalation", [k8s(deployment())], None),
    ("MLI-K8S-002", "escalation unset", [k8s(deployment(container(securityContext__allowPrivilegeEscalation=DELETE)))],
     "allowPrivilegeEscalation must be false"),
    ("MLI-K8S-002", "privileged", [k8s(deployment(container(securityContext__privileged=True)))], "privileged is true"),
    ("MLI-K8S-003", "drop all", [k8s(deployment())], None),
    ("MLI-K8S-003", "net bind only", [k8s(deployment(container(
        securityContext__capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})))], None),
    ("MLI-K8S-003", "nothing dropped", [k8s(deployment(container(securityContext__capabilities=DELETE)))],
     "drop must include ALL"),
    ("MLI-K8S-003", "sys admin", [k8s(deployment(container(
        securityContext__capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})))], "adds capabilities SYS_ADMIN"),
    ("MLI-K8S-004", "requests and limits", [k8s(deployment())], None),
    ("MLI-K8S-004", "no cpu limit is fine", [k8s(deployment(container(resources__limits={"memory": "1Gi"})))], None),
    ("MLI-K8S-004", "no limits", [k8s(deployment(container(resources__limits=DELETE)))],
     "resources.limits is missing memory"),
    ("MLI-K8S-004", "init container without requests", [k8s(deployment(initContainers=[container(resources=DELETE)]))],
     "initContainers[0] app: resources.requests"),
    ("MLI-K8S-005", "tag", [k8s(deployment())], None),
    ("MLI-K8S-005", "digest", [k8s(deployment(container(image="nvcr.io/nvidia/x@sha256:" + "a" * 64)))], None),
    ("MLI-K8S-005", "registry port, tag", [k8s(deployment(container(image="localhost:5000/app:2.0")))], None),
    ("MLI-K8S-005", "latest", [k8s(deployment(container(image="busybox:latest")))], "not pinned"),
    ("MLI-K8S-005", "no tag", [k8s(deployment(container(image="localhost:5000/app")))], "has no tag"),
    ("MLI-K8S-005", "empty tag", [k8s(deployment(container(image="busybox:")))], "tag 'empty'"),
    ("MLI-K8S-005", "no image", [k8s(deployment(container(image="")))], "has no image"),
    ("MLI-K8S-006", "plain pod", [k8s(deployment())], None),
    ("MLI-K8S-006", "node agent in gpu-operator", [k8s(deployment(namespace="gpu-operator", hostPID=True,
                                                                  volumes=[{"name": "h", "hostPath": {"path": "/"}}]))],
     None),
    ("MLI-K8S-006", "host network in team namespace", [k8s(deployment(hostNetwork=True))], "hostNetwork is true"),
    ("MLI-K8S-006", "hostPath in team namespace", [k8s(deployment(volumes=[{"name": "h", "hostPath": {"path": "/"}}]))],
     "hostPath"),
    ("MLI-PSA-001", "restricted team namespace", [k8s(namespace("research", "restricted"))], None),
    ("MLI-PSA-001", "privileged gpu-operator", [k8s(namespace("gpu-operator", "privileged"))], None),
    ("MLI-PSA-001", "privileged monitoring", [k8s(namespace("monitoring", "privileged"))], None),
    ("MLI-PSA-001", "privileged fluid", [k8s(namespace("fluid-system", "privileged"))], None),
    ("MLI-PSA-001", "privileged team namespace", [k8s(namespace("research", "privileged"))],
     "'research' enforces privileged"),
    ("MLI-PSA-002", "baseline", [k8s(namespace("kueue-system", "baseline"))], None),
    ("MLI-PSA-002", "no label", [k8s({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})],
     "'x' sets no pod-security.kubernetes.io/enforce level (got None)"),
    ("MLI-PSA-002", "not a level", [k8s(namespace("x", "strict"))], "(got 'strict')"),
    ("MLI-HELM-002", "explicit namespace", [helm("kueue", "0.19.2")], None),
    ("MLI-HELM-002", "helm creates it", [{**helm("kueue", "0.19.2"), "inputs": {
        **helm("kueue", "0.19.2")["inputs"], "createNamespace": True}}], "'kueue' creates its namespace"),
    ("MLI-SEC-001", "plain config", [configmap({"config.yaml": "replicas: 2\n", "tokenTTL": "3600"})], None),
    ("MLI-SEC-001", "password entry", [configmap({"DB_PASSWORD": "hunter2"})], "data.DB_PASSWORD"),
    ("MLI-SEC-001", "token in embedded yaml", [configmap({"app.yaml": "auth:\n  token: abc123\n"})],
     "data.app.yaml.auth.token"),
    ("MLI-SEC-002", "secret and references", [helm(KPS, "88.5.3", {"grafana": {
        "adminPassword": "[secret]", "admin": {"existingSecret": "g", "passwordKey": "admin-password"}},
        "alertmanager": {"config": {"global": {"slack_api_url": "${SLACK}"}}},
        "serviceAccount": {"automountServiceAccountToken": False, "name": "x"}})], None),
    ("MLI-SEC-002", "literal token", [helm("fluid", "1.0.8", {"alluxio": {"accessToken": "abc"}})],
     "values.alluxio.accessToken"),
    ("MLI-SEC-002", "literal s3 secret key", [helm("fluid", "1.0.8", {"s3": {"secretKey": "wJalrXUt"}})],
     "values.s3.secretKey"),
    ("MLI-HELM-001", "exact", [helm("kueue", "0.19.2")], None),
    ("MLI-HELM-001", "exact with v", [helm("gpu-operator", "v26.7.0")], None),
    ("MLI-HELM-001", "caret range", [helm("kueue", "^0.19.0")], "must be exact"),
    ("MLI-HELM-001", "wildcard", [helm("kueue", "0.19.x")], "must be exact"),
    ("MLI-HELM-001", "empty", [helm("kueue", "")], "must be exact"),
    ("MLI-HELM-001", "missing", [helm("kueue", None)], "got None"),
    ("MLI-MON-001", "existing secret", [helm(KPS, "88.5.3", {"grafana": {"admin": {"existingSecret": "g"}}})], None),
    ("MLI-MON-001", "pulumi secret", [helm(KPS, "88.5.3", {"grafana": {"adminPassword": "[secret]"}})], None),
    ("MLI-MON-001", "grafana off", [helm(KPS, "88.5.3", {"grafana": {"enabled": False}})], None),
    ("MLI-MON-001", "chart default", [helm(KPS, "88.5.3", {"grafana": {"adminPassword": "prom-operator"}})],
     "chart default"),
    ("MLI-MON-001", "unset", [helm(KPS, "88.5.3", {})], "falls back to 'prom-operator'"),
    ("MLI-MON-002", "pulumi secret", [helm(KPS, "88.5.3", {"grafana": {"adminPassword": "[secret]"}})], None),
    ("MLI-MON-002", "literal", [helm(KPS, "88.5.3", {"grafana": {"adminPassword": "s3cret!"}})], "is a literal"),
    ("MLI-KARP-001", "spot with queue", [nodepool(["spot", "on-demand"]), SPOT_QUEUE], None),
    ("MLI-KARP-001", "on-demand only", [nodepool(["on-demand"]), NO_QUEUE], None),
    ("MLI-KARP-001", "no capacity requirement", [nodepool(None), NO_QUEUE], None),
    ("MLI-KARP-001", "spot without queue", [nodepool(["spot"]), NO_QUEUE], "sets no settings.interruptionQueue"),
    ("MLI-KARP-001", "NotIn on-demand", [nodepool(["on-demand"], "NotIn"), NO_QUEUE], "interruptionQueue"),
    ("MLI-KARP-001", "queue in another cluster",
     [nodepool(["spot"]), {**SPOT_QUEUE, "provider": "other-k8s"}], "no Karpenter Helm release"),
    ("MLI-KARP-002", "defaults", [k8s({"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
                                       "metadata": {"name": "n"}, "spec": {"role": "r"}})], None),
    ("MLI-KARP-002", "imdsv1", [k8s({"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
                                     "metadata": {"name": "n"},
                                     "spec": {"metadataOptions": {"httpTokens": "optional",
                                                                  "httpPutResponseHopLimit": 2}}})],
     "httpTokens must be 'required'"),
    ("MLI-KARP-002", "public and unencrypted", [k8s({"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass",
                                                     "metadata": {"name": "n"},
                                                     "spec": {"associatePublicIPAddress": True,
                                                              "blockDeviceMappings": [{"ebs": {"volumeSize": "1"}}]}})],
     "encrypted must be true"),
]


def _messages(rule_id, records):
    (rule,) = [r for r in all_rules() if r.id == rule_id]
    return [message for _, message in violations(rule, records)]


@pytest.mark.parametrize(("rule_id", "case", "records", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_rule(rule_id, case, records, expected):
    messages = _messages(rule_id, records)
    if expected is None:
        assert messages == []
    else:
        assert any(expected in m for m in messages), messages


def test_every_rule_has_a_passing_and_a_failing_case():
    passing = {c[0] for c in CASES if c[3] is None}
    failing = {c[0] for c in CASES if c[3] is not None}
    ids = {r.id for r in all_rules()}
    assert ids - passing == set(), "rules without a passing fixture"
    assert ids - failing == set(), "rules without a failing fixture"


def test_rules_are_documented():
    for r in all_rules():
        assert r.rationale and r.source and r.title, r.id
        assert r.severity in ("critical", "high", "medium", "low"), r.id
        assert (r.check.__doc__ if r.check else r.stack_check.__doc__), r.id


def test_rule_modules_do_not_import_pulumi():
    import ast
    from pathlib import Path

    import mlinfra.policy

    root = Path(mlinfra.policy.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "crossguard.py":
            continue  # the one adapter to pulumi_policy, imported only inside the policy pack
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0].startswith("pulumi") for n in names), f"{path} imports {names}"
