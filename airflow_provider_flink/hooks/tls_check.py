"""Check TLS material from a connection before any call, so a bad certificate is a clear error.

With ``cryptography``: the client certificate parses and is valid now (not expired, not yet
valid), the private key parses (unencrypted PEM), the key belongs to the certificate, and the CA
bundle holds at least one certificate. Messages name the problem and the dates; never key bytes.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class TlsMaterialError(ValueError):
    """The connection's certificate, key or CA bundle cannot work; the message says why."""


def _public_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_client_certificate(
    cert_path: str, key_path: str | None, now: datetime.datetime | None = None
) -> None:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    data = Path(cert_path).read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TlsMaterialError("Flink connection 'client_cert' is not a PEM certificate") from None
    subject = cert.subject.rfc4514_string()
    if now > cert.not_valid_after_utc:
        raise TlsMaterialError(
            f"Flink connection client certificate ({subject}) expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
        )
    if now < cert.not_valid_before_utc:
        raise TlsMaterialError(
            f"Flink connection client certificate ({subject}) is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    if key_path is None:
        key_bytes = data  # a combined PEM: key and certificate in one
        if b"PRIVATE KEY-----" not in key_bytes:
            raise TlsMaterialError("Flink connection has a client certificate but no client key")
    else:
        key_bytes = Path(key_path).read_bytes()
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except TypeError:
        raise TlsMaterialError(
            "Flink connection 'client_private_key' is encrypted: give it unencrypted (it is stored as a secret)"
        ) from None
    except ValueError:
        raise TlsMaterialError("Flink connection 'client_private_key' is not a PEM private key") from None
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise TlsMaterialError(
            f"Flink connection 'client_private_key' does not belong to the client certificate ({subject})"
        )


def check_ca_bundle(path: str) -> None:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except ValueError:
        certs = []
    if not certs:
        raise TlsMaterialError("Flink connection 'ca_bundle' holds no PEM certificate")
