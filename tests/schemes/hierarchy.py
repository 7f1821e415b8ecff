"""A resolution hierarchy whose national top-level node publishes mapping records.

root (0.NA) → top-level (88: mapping records) → secondary (88.118) → enterprise (88.118.8),
and a recursive node with its web face, all in process on loopback (tests/resolver/cluster).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from idnode.identifiers.value import HandleValue
from idnode.schemes import mapping_values
from resolver.cluster import Cluster, Node, site_value, url

GTIN = "09521234543213"
SERIAL = "12345"
SERIAL_HANDLE = f"88.118.8/{GTIN}.{SERIAL}"
GTIN_HANDLE = f"88.118.8/{GTIN}"
OID = "1.2.156.20009.7.1"
OID_HANDLE = f"88.118.8/OID.{OID}"
DEFAULT_URL = "https://example.com/p/09521234543213/12345"
PIP_EN = "https://example.com/en/pip"
PIP_ZH = "https://example.com/zh/pip"


def link(index: int, link_type: str, href: str, **extra: object) -> HandleValue:
    data = {"linkType": link_type, "href": href, **extra}
    return HandleValue(index, "GS1.LINK", json.dumps(data).encode(), ttl=600)


MAPPINGS: dict[str, list[HandleValue]] = {
    # GS1 company prefix 9521234 → enterprise 88.118.8; serialised items first.
    "88/MAP.GS1.9521234": [*mapping_values("gs1", "9521234", "88.118.8", "{gtin}.{ai21}"),
                           *mapping_values("gs1", "9521234", "88.118.8", "{gtin}", index=2)],
    # An enterprise's OID arc, and (less specific) China's whole arc to the secondary node.
    "88/MAP.OID.1.2.156.20009": mapping_values("oid", "1.2.156.20009", "88.118.8",
                                               "OID.{canonical}"),
    "88/MAP.OID.1.2.156": mapping_values("oid", "1.2.156", "88.118"),
}
RECORDS: dict[str, list[HandleValue]] = {
    SERIAL_HANDLE: [url(DEFAULT_URL),
                    link(2, "gs1:pip", PIP_EN, hreflang=["en"], title="Product page"),
                    link(3, "https://gs1.org/voc/pip", PIP_ZH, hreflang="zh"),
                    link(4, "gs1:certificationInfo", "https://example.com/cert",
                         type="application/pdf")],
    GTIN_HANDLE: [url("https://example.com/p/09521234543213")],
    OID_HANDLE: [url("https://example.com/device/7/1")],
    # A record with a redirect that must never be followed.
    "88.118.8/09521234543213.EVIL": [url("javascript:alert(1)")],
}


@dataclass
class Hierarchy:
    root: Node
    top: Node
    secondary: Node
    enterprise: Node
    recursive: Node

    @property
    def root_address(self) -> str:
        assert self.root.udp is not None
        return f"127.0.0.1:{self.root.udp[1]}"

    @property
    def recursive_address(self) -> str:
        assert self.recursive.udp is not None
        return f"127.0.0.1:{self.recursive.udp[1]}"

    @property
    def recursive_tcp(self) -> str:
        assert self.recursive.tcp is not None
        return f"127.0.0.1:{self.recursive.tcp[1]}"

    @property
    def recursive_http(self) -> tuple[str, int]:
        assert self.recursive.http is not None
        return self.recursive.http


async def build(cluster: Cluster) -> Hierarchy:
    root = await cluster.add_node("root", ["0.NA"])
    top = await cluster.add_node("top", ["88"], MAPPINGS)
    secondary = await cluster.add_node("secondary", ["88.118"])
    enterprise = await cluster.add_node("enterprise", ["88.118.8"], RECORDS)
    root.put("0.NA/0.NA", [site_value(1, root.site(desc="root"))])
    root.put("0.NA/88", [site_value(1, top.site(desc="top")),
                         site_value(2, top.site(desc="top"), "HS_SITE.PREFIX")])
    top.put("0.NA/88.118", [site_value(1, secondary.site(desc="secondary")),
                            site_value(2, secondary.site(desc="secondary"), "HS_SITE.PREFIX")])
    secondary.put("0.NA/88.118.8", [site_value(1, enterprise.site(desc="enterprise"))])
    recursive = await cluster.add_recursive("recursive", [root.site()],
                                            udp_timeouts=(0.2, 0.3), tcp_timeout=1.0)
    return Hierarchy(root, top, secondary, enterprise, recursive)
