"""The demo's hierarchy: which nodes run, their roles, prefixes, sites and ports.

One process per server, all on 127.0.0.1::

    root node 根节点 (homes 0.NA)
      └ 0.NA/88 → five national top-level sites 国家顶级节点 + one disaster-recovery mirror
          └ 0.NA/88.<sn> → secondary nodes 二级节点 (88.118, 88.168, 88.200)
              └ 0.NA/88.<sn>.<ent> → enterprise sites 企业节点 (one with three servers and a
                mirror site; one prefix hosted by its secondary itself)
    recursive node 递归节点 (starts from the root)

The secondary and enterprise codes are sample allocations, not real assignments.

Ports are deterministic: server ``k`` in :func:`build_topology`'s order listens for UDP and
TCP on ``base + 2k`` and for HTTP on ``base + 2k + 1``; the recursive node is ``k = 0``, but
its UDP/TCP port is ``recursive_port`` when one is given (3641 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

from idnode.config_roles import ROLES
from idnode.identifiers.values.site import ServerRecord, SiteData

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_RECURSIVE_PORT",
    "HOST",
    "Enterprise",
    "Node",
    "Secondary",
    "Site",
    "Topology",
    "build_topology",
]

HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 24000
DEFAULT_RECURSIVE_PORT = 3641

#: (directory suffix, English and Chinese name) of the national top-level nodes (§3.2 "5+2")
_TOP_LEVEL = (("beijing", "Beijing 北京"), ("shanghai", "Shanghai 上海"),
              ("guangzhou", "Guangzhou 广州"), ("wuhan", "Wuhan 武汉"),
              ("chongqing", "Chongqing 重庆"))
#: the disaster-recovery mirrors (灾备节点); sources disagree on the cities, so it is a list
_DISASTER_RECOVERY = (("nanjing", "Nanjing 南京"),)
#: the nodes with a TLS replication listener (:mod:`idnode.demo.sync`)
REPLICATION_LISTENERS = ("top-beijing", "dr-nanjing", "sn-88.118")


@dataclass(frozen=True, slots=True)
class Secondary:
    """A secondary node 二级节点: its prefix, industry and the enterprise prefixes it hosts
    itself (served from the secondary's own site)."""

    prefix: str
    industry: str
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Enterprise:
    """An enterprise prefix and the company it stands for (fictional)."""

    prefix: str
    company: str
    servers: int = 1
    mirror: bool = False

    @property
    def secondary(self) -> str:
        return self.prefix.rpartition(".")[0]


SECONDARIES = (
    Secondary("88.118", "equipment manufacturing 装备制造"),
    Secondary("88.168", "food and liquor 食品酒类", hosts=("88.168.6001",)),
    Secondary("88.200", "electronics 电子信息"),
)

ENTERPRISES = (
    Enterprise("88.118.8", "Example Power Tools Co. 示例电动工具", servers=3, mirror=True),
    Enterprise("88.118.9", "Example CNC Machine Tools 示例数控机床"),
    Enterprise("88.168.5288", "Example Distillery 示例酒业"),
    Enterprise("88.168.6001", "Example Liquor Distribution 示例酒类经销"),
    Enterprise("88.200.17", "Example Instruments 示例电子仪器"),
)


@dataclass(frozen=True, slots=True)
class Site:
    """An HS_SITE: a description (its ``desc``), primary or mirror, and its servers (node
    names, in server-id order)."""

    name: str
    description: str
    primary: bool
    servers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One server process.

    :ivar name: its directory under the demo directory.
    :ivar role: the ``[node] role``.
    :ivar about: what tells it apart from the others of its role, for people (the city,
        industry or company, in English and Chinese).
    :ivar site: the name of its :class:`Site` ("" for the recursive node).
    :ivar server_id: its id within the site.
    :ivar admin: nodes with the same value share one admin identity and key (one service).
    """

    name: str
    role: str
    about: str
    prefixes: tuple[str, ...]
    site: str
    server_id: int
    port: int
    http: int
    admin: str

    @property
    def title(self) -> str:
        return f"{ROLES.get(self.role, self.role)} {self.about}".strip()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http}"


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: tuple[Node, ...]
    sites: dict[str, Site]
    base_port: int
    recursive_port: int | None

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def by_role(self, role: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == role)

    @property
    def root(self) -> Node:
        return self.by_role("root")[0]

    @property
    def recursive(self) -> Node:
        return self.by_role("recursive")[0]

    def top_level_sites(self) -> tuple[Site, ...]:
        """The sites of the ``88`` service: the top-level nodes, then the mirrors."""
        return tuple(self.sites[n.site] for n in self.by_role("top-level"))

    def enterprise_sites(self, prefix: str) -> tuple[Site, ...]:
        """The sites serving an enterprise prefix: its primary site first, then mirrors (or
        its secondary's site when the secondary hosts it)."""
        names = dict.fromkeys(n.site for n in self.nodes if prefix in n.prefixes)
        return tuple(sorted((self.sites[s] for s in names), key=lambda s: not s.primary))

    def site_nodes(self, site: str) -> tuple[Node, ...]:
        return tuple(self.node(name) for name in self.sites[site].servers)

    def holder(self, handle: str) -> Node:
        """The server of the handle's primary site that holds it (hash rule, §10.3)."""
        prefix = handle.partition("/")[0]
        servers = self.site_nodes(self.enterprise_sites(prefix)[0].name)
        shape = SiteData(servers=tuple(ServerRecord.from_ip(n.server_id, HOST)
                                       for n in servers))
        return servers[shape.server_index(handle)]

    def replication_port(self, name: str) -> int:
        """The TLS replication listener of ``name`` (one of :data:`REPLICATION_LISTENERS`),
        after every node's two ports."""
        return self.base_port + 2 * len(self.nodes) + REPLICATION_LISTENERS.index(name)

    @property
    def ports(self) -> list[int]:
        """Every port the demo listens on (each node's UDP/TCP port and HTTP port, and the
        replication listeners)."""
        return [p for n in self.nodes for p in (n.port, n.http)] + \
            [self.replication_port(name) for name in REPLICATION_LISTENERS]


def build_topology(base_port: int = DEFAULT_BASE_PORT,
                   recursive_port: int | None = DEFAULT_RECURSIVE_PORT) -> Topology:
    """The demo's nodes and sites, with ports from ``base_port`` (see the module docstring).

    :param recursive_port: the recursive node's UDP/TCP port; None puts it at ``base_port``.
    """
    nodes: list[Node] = []
    sites: dict[str, Site] = {}

    def add(name: str, role: str, about: str, prefixes: tuple[str, ...], site: str = "",
            server_id: int = 1, admin: str = "") -> None:
        slot = len(nodes)
        port = base_port + 2 * slot
        if role == "recursive" and recursive_port is not None:
            port = recursive_port
        nodes.append(Node(name, role, about, prefixes, site, server_id, port,
                          base_port + 2 * slot + 1, admin or name))

    def one_server_site(name: str, description: str, primary: bool = True) -> str:
        sites[name] = Site(name, description, primary, (name,))
        return name

    add("recursive", "recursive", "", ())
    add("root", "root", "", ("0.NA",),
        one_server_site("root", "root node 根节点"))
    for key, title in _TOP_LEVEL:
        name = f"top-{key}"
        add(name, "top-level", title, ("88",),
            one_server_site(name, f"top-level node {title} 国家顶级节点"), admin="88")
    for key, title in _DISASTER_RECOVERY:
        name = f"dr-{key}"
        add(name, "top-level", f"{title}, disaster recovery 灾备", ("88",),
            one_server_site(name, f"disaster-recovery node {title} 灾备节点", primary=False),
            admin="88")
    for sn in SECONDARIES:
        name = f"sn-{sn.prefix}"
        add(name, "secondary", sn.industry,
            (sn.prefix, *sn.hosts),
            one_server_site(name, f"secondary node {sn.prefix} {sn.industry} 二级节点"))
    for ent in ENTERPRISES:
        if any(ent.prefix in sn.hosts for sn in SECONDARIES):
            continue
        names = ([f"ent-{ent.prefix}-{i}" for i in range(1, ent.servers + 1)]
                 if ent.servers > 1 else [f"ent-{ent.prefix}"])
        sites[names[0]] = Site(names[0], f"enterprise node {ent.prefix} {ent.company} 企业节点",
                               True, tuple(names))
        for i, name in enumerate(names, start=1):
            where = f" (server {i} of {len(names)})" if len(names) > 1 else ""
            add(name, "enterprise", f"{ent.company}{where}",
                (ent.prefix,), names[0], server_id=i, admin=ent.prefix)
        if ent.mirror:
            name = f"ent-{ent.prefix}-mirror"
            add(name, "enterprise", f"{ent.company}, mirror site 镜像站点",
                (ent.prefix,),
                one_server_site(name, f"enterprise node {ent.prefix} mirror 镜像站点",
                                primary=False), admin=ent.prefix)
    return Topology(tuple(nodes), sites, base_port, recursive_port)
