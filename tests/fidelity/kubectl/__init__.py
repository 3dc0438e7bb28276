"""Everyday kubectl against the reference stack's emulated Kubernetes: the kubectl set of issue 10."""
