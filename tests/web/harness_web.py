"""An in-memory node with its web face: requests go straight to the app, no sockets."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from idnode.auth.certs import client_certificate
from idnode.auth.keys import PrivateKey, generate_private_key, public_key_data
from idnode.config import HttpConfig, NodeConfig
from idnode.http.messages import Request, Response
from idnode.identifiers.handle import Handle
from idnode.identifiers.value import HandleValue
from idnode.node.accesslog import AccessLog
from idnode.node.cache import Generation
from idnode.node.provision import provision
from idnode.node.worker import Assembly, assemble
from idnode.storage import Store, open_store
from idnode.web.app import WebApp
from idnode.web.factory import build_web_app

SERVER_KEY = generate_private_key("RSA", 1024)
ADMIN_KEY = generate_private_key("RSA", 1024)
OTHER_KEY = generate_private_key("RSA", 1024)
SECRET = "s3cret:with colon"
ADMIN = "TEST/ADMIN"


def basic(identity: str, secret: str) -> tuple[str, str]:
    user = identity.replace("%", "%25").replace(":", "%3A")
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return ("authorization", f"Basic {token}")


ADMIN_BASIC = basic(f"301:{ADMIN}", SECRET)


def cert_der(key: PrivateKey, identity: str) -> bytes:
    pem = client_certificate(key, identity)
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


@dataclass
class Web:
    store: Store
    parts: Assembly
    app: WebApp
    ids: int = 0

    async def call(self, method: str, target: str, body: bytes | str = b"", *,
                   headers: Sequence[tuple[str, str]] = (), scheme: str = "https",
                   cert: bytes | None = None, fast: bool = True,
                   json_body: bool = True) -> Response:
        raw_path, _, query = target.partition("?")
        hdrs = [(k.lower(), v) for k, v in headers]
        if body and json_body and not any(k == "content-type" for k, _ in hdrs):
            hdrs.append(("content-type", "application/json"))
        self.ids += 1
        request = Request(method, target, unquote(raw_path), raw_path, query, hdrs,
                          body.encode() if isinstance(body, str) else body,
                          ("127.0.0.1", 40000), scheme, cert, self.ids)
        if fast:
            answer = self.app.fast(request)
            if answer is not None:
                return answer
        return await self.app.handle(request)


def build_web(tmp_path: Path, *, allow_plain_http: bool = False,
              index_types: Sequence[str] = ("URL", "CHECKSUM")) -> Web:
    store = open_store("memory:", index_types=index_types)
    provision(store, ("TEST",), public_key_data(ADMIN_KEY), SECRET.encode(), b"")
    store.home_prefix("88.1")
    store.create_handle(Handle.parse("TEST/Doc"), [
        HandleValue(1, "URL", b"https://example.com/doc", timestamp=1_700_000_000),
        HandleValue(2, "CHECKSUM", b"abc123", timestamp=1_700_000_000),
        HandleValue(3, "SECRET", b"admins only", permissions=0x0C, timestamp=1_700_000_000),
        HandleValue(100, "HS_ADMIN", _admin_value(), timestamp=1_700_000_000),
    ])
    # An identity with a key but no rights over anything.
    store.create_handle(Handle.parse("TEST/NOBODY"), [
        HandleValue(300, "HS_PUBKEY", public_key_data(OTHER_KEY).to_bytes()),
        HandleValue(301, "HS_SECKEY", b"nobody", permissions=0x0C),
    ])
    config = NodeConfig(home=tmp_path, prefixes=("TEST",),
                        server_admins=(f"300:{ADMIN}", f"301:{ADMIN}"),
                        storage_url="memory:",
                        web=HttpConfig(allow_credentials_over_http=allow_plain_http))
    (tmp_path / "run").mkdir(exist_ok=True)
    parts = assemble(config, store, Generation(None, 0), AccessLog("off"), SERVER_KEY,
                     ("127.0.0.1", 2641), ("127.0.0.1", 2641))
    app = build_web_app(config, parts.records, parts.authorizer, parts.edge,
                        AccessLog("off"), SERVER_KEY, parts.site)
    return Web(store, parts, app)


def _admin_value() -> bytes:
    from idnode.identifiers.values.admin import ALL_PERMISSIONS, AdminData
    return AdminData(ALL_PERMISSIONS, ADMIN, 200).to_bytes()


def path(handle: str) -> str:
    return "/api/handles/" + quote(handle, safe="/")
