"""Joining or starting the Ray instance a step's work runs on (`--ray_address`), for the
pipeline's scenes (`pipeline.cluster`) and the infill's chunks (`infill.scheduler`).

- "local" starts a new Ray instance on this machine (never another one running here);
- "auto" joins the cluster this machine belongs to (`RAY_ADDRESS`, else the one
  `ray start` started or joined here);
- anything else is a cluster's address (`host:6379`, or `ray://host:10001` for the Ray
  client), checked to answer (`check_address`), then passed to `ray.init` as it is.

If this process has already initialised Ray (a library caller), that instance is used as
it is.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import InputError

LOCAL, AUTO = "local", "auto"
CONNECT_TIMEOUT_S = 10.0  # how long a cluster's head may take to answer
FLAG = "--ray_address"


def check_address(address: str) -> None:
    """Refuse, before any work, when Ray is not installed or nothing answers at a
    HOST:PORT `address` (Ray itself would retry for minutes)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise InputError(
            FLAG, "Ray is not installed; install the infill extra (pip install 'metricdepth[infill]')"
        ) from None
    if address == LOCAL:
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" (Ray looks for the cluster this machine joined)
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise InputError(
            FLAG,
            f"nothing answers at {address} ({error.strerror or error}); is the cluster's head "
            "started (ray start --head) and its port open to this machine?",
        ) from None


@contextmanager
def connected(address: str, cpus: int) -> Iterator[None]:
    """Ray initialised for the run: joined, started here with `cpus` worker slots
    ("local"), or the caller's own; shut down afterwards if this call started it. The
    caller has run `check_address` before any work."""
    import ray

    if ray.is_initialized():
        yield
        return
    if address == LOCAL:
        ray.init(address=LOCAL, num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as error:
            raise InputError(
                FLAG,
                f"could not join a Ray cluster ({error}): is one started (ray start), and, if it "
                "asks for a token, is RAY_AUTH_MODE=token set here with its token? (docs/cluster.md)",
            ) from None
    try:
        yield
    finally:
        ray.shutdown()
