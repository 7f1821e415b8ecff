"""Trusted resolution (可信解析): HS_CERT and HS_SIGNATURE as JWTs (idis.md §5.2).

Issue with :func:`make_cert` / :func:`make_signature` (or :func:`cert_value` /
:func:`signature_value` for ready HandleValues); verify a resolved record with
:func:`verify_record`. ``docs/secondary-node.md`` ("Trusted resolution") describes the layouts.
"""

from idnode.trust.chain import TrustSettings
from idnode.trust.claims import (
    HS_CERT,
    HS_SIGNATURE,
    CertClaims,
    SignatureClaims,
    make_cert,
    make_signature,
)
from idnode.trust.perms import Permission
from idnode.trust.values import cert_value, free_index, signature_value
from idnode.trust.verify import (
    DEFAULT_TRUST_ROOT,
    Check,
    SignatureReport,
    TrustReport,
    Verdict,
    verify_record,
)

__all__ = ["DEFAULT_TRUST_ROOT", "HS_CERT", "HS_SIGNATURE", "CertClaims", "Check",
           "Permission", "SignatureClaims", "SignatureReport", "TrustReport", "TrustSettings",
           "Verdict", "cert_value", "free_index", "make_cert", "make_signature",
           "signature_value", "verify_record"]
