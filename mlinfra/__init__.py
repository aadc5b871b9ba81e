"""mlinfra: typed Pulumi components for GPU machine-learning platforms on EKS and GKE.

Import what you use: `mlinfra.spec` (the environment spec), `mlinfra.platform.Platform`, the cloud
components in `mlinfra.aws` / `mlinfra.gcp` and the add-ons in `mlinfra.k8s`. This package imports none of
them eagerly, so `mlinfra --help` and spec loading stay fast and need no cloud SDK.
"""

__version__ = "0.1.0"
