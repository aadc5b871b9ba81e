"""Cluster add-ons: GPU operator, Kueue, Volcano, Fluid/Alluxio, monitoring, team namespaces."""
