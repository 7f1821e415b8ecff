"""Application forms for the tests."""

from __future__ import annotations

from typing import Any

VALID_CODES = ("91110108MA01C8D91R", "91310115MA1K4L5N68", "92440300MA5FXT2R2U",
               "12100000400000181X")
ORGANISATION = "苏州精密测试仪器有限公司"
PHONE = "+86 512-6688-1234"
SECRET = "enterprise-admin-secret"


def hosted_form(ent: str = "77", **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "prefix": f"88.118.{ent}", "organisation": ORGANISATION,
        "creditCode": VALID_CODES[0],
        "contact": {"name": "王小明", "phone": PHONE, "email": "wang@example.cn"},
        "route": {"mode": "hosted"},
        "admin": {"handle": f"88.118.{ent}/ADMIN", "secret": SECRET},
    }
    form.update(changes)
    return form


def delegated_form(ent: str, servers: list[str], **changes: Any) -> dict[str, Any]:
    form = hosted_form(ent, route={"mode": "delegated", "servers": servers},
                       admin={"handle": f"88.118.{ent}/ADMIN", "index": 300},
                       creditCode=VALID_CODES[1])
    form.update(changes)
    return form
