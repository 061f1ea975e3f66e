"""A test certificate authority: CA, server and client certificates as PEM, made with cryptography.

Used by the unit tests of the connection's TLS checks and by the TLS/mTLS tests of the local Flink
(its keystores are built from these with the JDK's keytool).
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc


@dataclass(frozen=True)
class Issued:
    cert_pem: str
    key_pem: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TestCA:
    """A CA that issues server and client certificates, valid for a chosen window."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "airflow-provider-flink test CA") -> None:
        self.key = _key()
        now = datetime.datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(
        self,
        common_name: str,
        *,
        server: bool = False,
        valid_from: datetime.datetime | None = None,
        valid_until: datetime.datetime | None = None,
    ) -> Issued:
        key = _key()
        now = datetime.datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or now - datetime.timedelta(hours=1))
            .not_valid_after(valid_until or now + datetime.timedelta(days=7))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


@dataclass(frozen=True)
class RestTls:
    """Files for a Flink REST endpoint with TLS and client authentication (mutual TLS)."""

    keystore: Path
    truststore: Path
    password: str
    ca_pem: Path
    client_cert_pem: Path
    client_key_pem: Path

    def flink_config(self) -> dict[str, str]:
        return {
            "security.ssl.rest.enabled": "true",
            "security.ssl.rest.authentication-enabled": "true",
            "security.ssl.rest.keystore": str(self.keystore),
            "security.ssl.rest.keystore-password": self.password,
            "security.ssl.rest.key-password": self.password,
            "security.ssl.rest.truststore": str(self.truststore),
            "security.ssl.rest.truststore-password": self.password,
            # Flink's default suite list is RSA-only (TLS_RSA_WITH_AES_128_CBC_SHA); these keys are ECDSA.
            "security.ssl.algorithms": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        }

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_pem))
        ctx.load_cert_chain(str(self.client_cert_pem), str(self.client_key_pem))
        return ctx


def make_rest_tls(folder: Path, ca: TestCA, password: str | None = None) -> RestTls:
    """Server keystore and CA truststore for Flink, built with the JDK's keytool from ``ca``'s material."""
    from harness.flink_cluster import java_tool

    password = password or secrets.token_urlsafe(12)
    folder.mkdir(parents=True, exist_ok=True)
    keytool = str(Path(java_tool("java")).with_name("keytool"))
    server = ca.issue("localhost", server=True)
    client = ca.issue("airflow-worker")
    (folder / "ca.pem").write_text(ca.cert_pem)
    (folder / "client.pem").write_text(client.cert_pem)
    (folder / "client.key").write_text(client.key_pem)
    key = serialization.load_pem_private_key(server.key_pem.encode(), password=None)
    bundle = pkcs12.serialize_key_and_certificates(
        b"flink-rest",
        key,  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(server.cert_pem.encode()),
        [ca.cert],
        serialization.BestAvailableEncryption(password.encode()),
    )
    (folder / "server.p12").write_bytes(bundle)
    for path in (folder / "rest.keystore", folder / "rest.truststore"):
        path.unlink(missing_ok=True)
    subprocess.run(
        [
            keytool,
            "-importkeystore",
            "-noprompt",
            "-srckeystore",
            str(folder / "server.p12"),
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            password,
            "-destkeystore",
            str(folder / "rest.keystore"),
            "-deststoretype",
            "PKCS12",
            "-deststorepass",
            password,
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            keytool,
            "-importcert",
            "-noprompt",
            "-alias",
            "test-ca",
            "-file",
            str(folder / "ca.pem"),
            "-keystore",
            str(folder / "rest.truststore"),
            "-storetype",
            "PKCS12",
            "-storepass",
            password,
        ],
        check=True,
        capture_output=True,
    )
    return RestTls(
        folder / "rest.keystore",
        folder / "rest.truststore",
        password,
        folder / "ca.pem",
        folder / "client.pem",
        folder / "client.key",
    )
