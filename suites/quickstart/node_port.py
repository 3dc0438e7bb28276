"""The node port at which the host serves a virtual runtime cluster's API (``vcluster.httpsNodePort``).

Kubernetes gives NodePort Services ports of ``--service-node-port-range`` (default 30000-32767); the guide
writes the virtual cluster's API server as ``https://$hostcluster-ip:$api-server-port``. The port must be
free on the host: where the host's address is this machine's (the reference stack), a port is taken only
if it can be bound there now; elsewhere any port of the range is taken and the host's Kubernetes refuses one
in use (the vcluster's Service then never exists, and the stage waits for it and says so).
"""

from __future__ import annotations

import errno
import random
import socket

#: Kubernetes' default ``--service-node-port-range``.
NODE_PORTS = range(30000, 32768)
TRIES = 50


def free_node_port(host_ip: str) -> int:
    """A port of :data:`NODE_PORTS` that nothing listens on at ``host_ip`` when that address is local."""
    candidates = random.sample(NODE_PORTS, TRIES)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host_ip, port))
            except OSError as refused:
                if refused.errno == errno.EADDRNOTAVAIL:  # not this machine's address: the host decides
                    return port
                continue  # in use here
            return port
    raise RuntimeError(f"no free node port at {host_ip} among {TRIES} tries in {NODE_PORTS}")
