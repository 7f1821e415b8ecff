"""``idnode delegate``: a parent node points a prefix at the site(s) serving it."""

from __future__ import annotations

from pathlib import Path

from idnode.identifiers.handle import Handle
from idnode.identifiers.value import PERM_SECRET, HandleValue
from idnode.resolver import Resolver, Trace
from resolver.cluster import FAST, Cluster, site_value, url
from resolver.test_cli_trace import cli, run


def test_delegate_writes_hs_site_and_the_hierarchy_resolves(tmp_path: Path) -> None:
    async def go(cluster: Cluster) -> None:
        root = await cluster.add_node("root", ["0.NA"])
        top = await cluster.add_node("top", ["88"], {
            "88/ADMIN": [HandleValue(300, "HS_SECKEY", b"top-secret", permissions=PERM_SECRET)]})
        sec = await cluster.add_node("sec", ["88.118"], {"88.118/x": [url("https://x")]})
        root.put("0.NA/88", [site_value(1, top.site(desc="top"), "HS_SITE.PREFIX")])
        assert top.tcp is not None and sec.udp is not None
        args = ["delegate", "88.118", "--to", f"127.0.0.1:{sec.udp[1]}",
                "--server", f"127.0.0.1:{top.tcp[1]}", "--auth", "300:88/ADMIN",
                "--secret", "top-secret", "--ttl", "600"]
        assert await cli(*args) == 0
        assert top.worker.store is not None
        record = top.worker.store.get_record(Handle.parse("0.NA/88.118").key)
        assert record is not None
        types = {v.index: v.type for v in record.values}
        assert types == {1: "HS_SITE", 11: "HS_SITE.PREFIX", 100: "HS_ADMIN"}
        assert all(v.ttl == 600 for v in record.values if v.index != 100)
        assert await cli(*args) == 0  # again: values replaced, HS_ADMIN kept
        resolver = Resolver([root.site()], FAST)
        try:
            trace = Trace()
            answer = await resolver.resolve("88.118/x", trace=trace)
            assert answer.values[0].data == b"https://x"
            assert trace.hops[-1].server == sec.label
        finally:
            await resolver.close()
        # a wrong secret is refused by the parent (exit 1: the server said no)
        wrong = [a if a != "top-secret" else "wrong" for a in args]
        assert await cli(*wrong) == 1
    run(tmp_path, go)
