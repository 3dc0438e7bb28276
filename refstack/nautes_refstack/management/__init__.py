"""The tenant management cluster: the Nautes CRDs and the CRs the reconciliation chain creates, served as a
Kubernetes API for a user who points kubectl at "the Nautes cluster" (:mod:`.cluster`)."""

from __future__ import annotations

from nautes_refstack.management.cluster import ManagementCluster

__all__ = ["ManagementCluster"]
