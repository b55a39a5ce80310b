"""A JetStream cluster of N nats-servers: its configuration, and its nodes run as child processes.

One function writes the configuration of a node (`node_config`), for the production files in
`infra/nats/cluster/` (`production_configs`, rewritten by `python -m services.deploy.cluster
infra/nats/cluster`) and for `LocalCluster`, which runs N nodes on this machine for the fault
tests: free client, route and monitoring ports, one JetStream store per node, and each node
stoppable, killable (SIGKILL) and restartable on its own port and store.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import structlog

from services.runtime.embedded import EmbeddedNatsServer, EmbeddedServerError, free_port

log = structlog.get_logger(__name__)

CLUSTER_NAME = "crisis"
MAX_PAYLOAD = 1024 * 1024


class ClusterError(RuntimeError):
    """The cluster did not form, or has no JetStream meta leader."""


@dataclass(frozen=True, slots=True)
class NodeAddress:
    """Where one node of the cluster is reached: by clients, by its peers, by monitoring."""

    name: str
    host: str
    client_port: int = 4222
    cluster_port: int = 6222
    http_port: int | None = None

    @property
    def client_url(self) -> str:
        """Client URL of the node."""
        return f"nats://{self.host}:{self.client_port}"

    @property
    def route_url(self) -> str:
        """Route URL the other nodes dial."""
        return f"nats-route://{self.host}:{self.cluster_port}"


def _q(value: str) -> str:
    """A string as the nats-server configuration reads it (JSON quoting is valid there)."""
    return json.dumps(value)


def node_config(
    node: NodeAddress,
    peers: Sequence[NodeAddress],
    *,
    store_dir: str,
    cluster_name: str = CLUSTER_NAME,
    bind_host: str | None = None,
    sync_interval: str | None = None,
    max_payload: int = MAX_PAYLOAD,
    max_file_store: str | None = None,
    max_memory_store: str | None = None,
    log_file: str | None = None,
    comments: bool = False,
) -> str:
    """The nats-server configuration of `node` in a cluster with `peers` (the other nodes).

    `bind_host` is the address the node listens on (default: its own host); `sync_interval`
    "always" makes JetStream fsync every write before it acknowledges it.
    """
    bind = bind_host or node.host
    routes = [peer.route_url for peer in peers if peer.name != node.name]
    if not routes:
        raise ValueError(f"node {node.name} has no peers: a cluster needs at least two nodes")

    def note(text: str) -> list[str]:
        return text.splitlines() if comments else []

    lines = [
        *note(
            f"# Node {node.name} of the {len(routes) + 1}-node JetStream cluster {cluster_name}."
        ),
        f"server_name: {_q(node.name)}",
        f"listen: {_q(f'{bind}:{node.client_port}')}",
        f"max_payload: {max_payload}",
    ]
    if log_file is not None:
        lines.append(f"log_file: {_q(log_file)}")
    if node.http_port is not None:
        lines += [
            *note("# Monitoring (/healthz, /jsz) for the health checks, on this host only."),
            f"http: {_q(f'127.0.0.1:{node.http_port}')}",
        ]
    lines += ["", "jetstream {", f"  store_dir: {_q(store_dir)}"]
    if max_file_store is not None:
        lines += [
            *note("  # The CRISIS stream keeps everything: size the disk, not the stream."),
            f"  max_file_store: {max_file_store}",
        ]
    if max_memory_store is not None:
        lines.append(f"  max_memory_store: {max_memory_store}")
    if sync_interval is not None:
        lines += [
            *note(
                "  # fsync each write before acknowledging it: an acked event then survives\n"
                "  # power cuts, not only crashes (JetStream fsyncs every 2 min by default)."
            ),
            f"  sync_interval: {sync_interval}",
        ]
    lines += [
        "}",
        "",
        "cluster {",
        f"  name: {_q(cluster_name)}",
        f"  listen: {_q(f'{bind}:{node.cluster_port}')}",
        *note("  # The other nodes; each node dials them and retries for ever."),
        "  routes: [",
        *(f"    {_q(route)}" for route in routes),
        "  ]",
        "}",
    ]
    return "\n".join(lines) + "\n"


# -- production files -----------------------------------------------------------------------

EXAMPLE_NODES = tuple(
    NodeAddress(name=f"crisis-nats-{i}", host=f"nats-{i}.crisis.example") for i in (1, 2, 3)
)
PRODUCTION_STORE_DIR = "/var/lib/nats/jetstream"

_PRODUCTION_HEADER = """\
# Written by services/deploy/cluster.py (python -m services.deploy.cluster infra/nats/cluster):
# edit the code, not this file. Replace the example hostnames nats-{{1,2,3}}.crisis.example with
# yours. Run on its host: nats-server -c {file}
# A client connected to any node learns the others' client URLs from it and reconnects to them.
# Create the streams with 3 replicas (topology(settings, replicas=3)).
"""


def production_configs(
    nodes: Sequence[NodeAddress] = EXAMPLE_NODES,
    *,
    store_dir: str = PRODUCTION_STORE_DIR,
) -> dict[str, str]:
    """`node-<i>.conf` -> configuration text, for each node of a production cluster."""
    configs = {}
    for i, node in enumerate(nodes, start=1):
        file = f"node-{i}.conf"
        configs[file] = _PRODUCTION_HEADER.format(file=file) + node_config(
            node,
            nodes,
            store_dir=store_dir,
            bind_host="0.0.0.0",  # noqa: S104 - a server node listens on its network interfaces
            sync_interval="always",
            max_file_store="50GB",
            max_memory_store="256MB",
            comments=True,
        )
    return configs


def write_production_configs(directory: Path) -> list[Path]:
    """Write `production_configs()` into `directory`; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file, text in production_configs().items():
        path = directory / file
        path.write_text(text)
        written.append(path)
    return written


# -- a cluster on this machine ----------------------------------------------------------------


class ClusterNode(EmbeddedNatsServer):
    """One node of a `LocalCluster`: an embedded nats-server with a cluster configuration."""

    def __init__(
        self,
        address: NodeAddress,
        peers: Sequence[NodeAddress],
        node_dir: Path,
        *,
        cluster_name: str,
        sync_interval: str | None,
    ) -> None:
        super().__init__(
            node_dir / "jetstream",
            host=address.host,
            port=address.client_port,
            log_file=node_dir / "nats-server.log",
        )
        self.address = address
        self.name = address.name
        self.peers = tuple(peers)
        self.cluster_name = cluster_name
        self.sync_interval = sync_interval

    def config_text(self) -> str:
        """The node's configuration, routes to every peer included."""
        return node_config(
            self.address,
            self.peers,
            store_dir=str(self.store_dir),
            cluster_name=self.cluster_name,
            sync_interval=self.sync_interval,
            max_payload=self.max_payload,
            log_file=str(self.log_file),
        )

    @property
    def running(self) -> bool:
        """Whether the node's process is alive."""
        return self._process is not None and self._process.poll() is None

    def jsz(self, timeout: float = 1.0) -> dict[str, object] | None:
        """The node's `/jsz` monitoring document, or None when it does not answer."""
        if self.address.http_port is None or not self.running:
            return None
        conn = http.client.HTTPConnection("127.0.0.1", self.address.http_port, timeout=timeout)
        try:
            conn.request("GET", "/jsz")
            response = conn.getresponse()
            if response.status != 200:
                return None
            document: dict[str, object] = json.loads(response.read())
        except (OSError, ValueError, http.client.HTTPException):
            return None
        else:
            return document
        finally:
            conn.close()

    def meta_leader(self) -> str | None:
        """The JetStream meta leader this node knows of, if any."""
        meta = (self.jsz() or {}).get("meta_cluster")
        leader = meta.get("leader") if isinstance(meta, dict) else None
        return leader if isinstance(leader, str) and leader else None


def _distinct_free_ports(host: str, count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


class LocalCluster:
    """`size` nats-servers forming one JetStream cluster on this machine, under `base_dir`."""

    def __init__(
        self,
        base_dir: Path,
        *,
        size: int = 3,
        host: str = "127.0.0.1",
        cluster_name: str = CLUSTER_NAME,
        sync_interval: str | None = None,
    ) -> None:
        if size < 2:
            raise ValueError("a cluster needs at least two nodes")
        ports = _distinct_free_ports(host, 3 * size)
        addresses = [
            NodeAddress(
                name=f"n{i + 1}",
                host=host,
                client_port=ports[3 * i],
                cluster_port=ports[3 * i + 1],
                http_port=ports[3 * i + 2],
            )
            for i in range(size)
        ]
        self.base_dir = base_dir
        self.nodes = [
            ClusterNode(
                address,
                addresses,
                base_dir / address.name,
                cluster_name=cluster_name,
                sync_interval=sync_interval,
            )
            for address in addresses
        ]

    def __iter__(self) -> Iterator[ClusterNode]:
        return iter(self.nodes)

    def node(self, name: str) -> ClusterNode:
        """The node called `name`."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node, for a client that should reach any of them."""
        return [node.url for node in self.nodes]

    def running(self) -> list[ClusterNode]:
        """The nodes whose process is alive."""
        return [node for node in self.nodes if node.running]

    def start(self, *, timeout: float = 15.0) -> list[str]:
        """Start every node not running and wait until each accepts clients; return the URLs."""
        try:
            for node in self.nodes:
                node.start(timeout=timeout)
        except EmbeddedServerError:
            self.stop()
            raise
        return self.urls

    async def astart(self, *, timeout: float = 15.0) -> list[str]:
        """`start`, all nodes at once, without blocking the event loop."""
        try:
            await asyncio.gather(*(node.astart(timeout=timeout) for node in self.nodes))
        except EmbeddedServerError:
            await self.astop()
            raise
        return self.urls

    def stop(self) -> None:
        """Stop every node cleanly."""
        for node in self.nodes:
            node.stop()

    async def astop(self) -> None:
        """`stop` without blocking the event loop."""
        await asyncio.gather(*(node.astop() for node in self.nodes))

    def kill(self, name: str) -> ClusterNode:
        """SIGKILL node `name`, as a crash would; return it (its `start` brings it back)."""
        node = self.node(name)
        log.info("nats_cluster.kill", node=name, pid=node.pid)
        node.kill()
        return node

    def meta_leader(self) -> str | None:
        """The meta leader every running node agrees on, or None while there is none."""
        seen = {node.meta_leader() for node in self.running()}
        if len(seen) == 1:
            return seen.pop()
        return None

    def wait_for_meta_leader(self, *, timeout: float = 20.0) -> str:
        """Wait until the running nodes agree on a JetStream meta leader; return its name."""
        deadline = time.monotonic() + timeout
        while (leader := self.meta_leader()) is None:
            if time.monotonic() > deadline:
                logs = ", ".join(str(node.log_file) for node in self.nodes)
                raise ClusterError(f"no JetStream meta leader within {timeout}s; see {logs}")
            time.sleep(0.1)
        log.info("nats_cluster.meta_leader", leader=leader)
        return leader

    async def await_meta_leader(self, *, timeout: float = 20.0) -> str:
        """`wait_for_meta_leader` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for_meta_leader, timeout=timeout)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str]) -> int:
    """`python -m services.deploy.cluster DIR`: (re)write the production configs into DIR."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m services.deploy.cluster DIR\n")
        return 2
    for path in write_production_configs(Path(argv[0])):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
