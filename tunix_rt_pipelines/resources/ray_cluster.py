"""`RayResource`: a Ray connection for one step, started on use and always shut down after.

Local by default: a private Ray started for the run, sized by `num_cpus`/`num_gpus`, never a
cluster found on the machine. With an address it joins that running cluster instead
(`ray start --head`, then `address="127.0.0.1:6379"`). The sweep's config may name another
address for one run, which is why the connection opens in `session()` rather than at step start.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from tunix_rt_pipelines.lib.ray_env import import_ray


class RayResource(dg.ConfigurableResource):
    """Ray for the sweep step: `ray.init` in `session()`, `ray.shutdown` when the session or the step ends."""

    address: str = Field(default="", description="'' = start a local Ray for the run; 'auto' or 'host:port' = connect to a running cluster.")
    num_cpus: int = Field(default=0, ge=0, description="CPUs of the local Ray (0 = all of this machine's); ignored when connecting.")
    num_gpus: int = Field(default=-1, ge=-1, description="GPUs of the local Ray (-1 = autodetect); ignored when connecting.")
    _connected: bool = PrivateAttr(default=False)

    @contextlib.contextmanager
    def session(self, address: str = "") -> Iterator[dict[str, Any]]:
        """Connect (to `address`, else this resource's) and yield the cluster's resources."""
        ray = import_ray()
        address = address or self.address
        local = {} if address else {"num_cpus": self.num_cpus or None, "num_gpus": None if self.num_gpus < 0 else self.num_gpus}
        # "local", not None: None would join whatever cluster `ray start` last left in /tmp/ray
        # (or $RAY_ADDRESS), e.g. a colleague's on a shared machine.
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, **local)
        self._connected = True
        try:
            yield ray.cluster_resources()
        finally:
            ray.shutdown()
            self._connected = False

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["RayResource"]:
        try:
            yield self
        finally:
            if self._connected:  # the step died inside a session: never leave a local Ray running
                import_ray().shutdown()
                self._connected = False
