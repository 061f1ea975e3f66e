"""Verify an artifact before it reaches a cluster (invariant I6): digest, signature, jar contents.

* SHA-256 pin: the digest computed while fetching must equal the pinned one.
* Detached signature over the jar's bytes, checked with ``cryptography`` against one or more
  PEM public keys: Ed25519, ECDSA P-256 (SHA-256) or RSA-PSS (SHA-256, MGF1). ECDSA and RSA
  verify the streamed digest (``Prehashed``); Ed25519 signs the message itself, so the jar is read.
* The jar must be a zip archive holding the entry class (or naming a Main-Class in its manifest).

Every failure raises :class:`ArtifactError` naming the artifact and the expected/actual digest or
the keys tried; nothing is uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from airflow_provider_flink.exceptions import ArtifactError
from airflow_provider_flink.hooks.credentials import pem_or_path


def verify_sha256(name: str, actual: str, expected: str) -> None:
    if actual.lower() != expected.lower():
        raise ArtifactError(
            f"artifact {name}: SHA-256 is {actual}, the pin expects {expected}: not uploading it"
        )


def key_fingerprint(key: PublicKeyTypes) -> str:
    """SHA-256 of the public key's DER encoding, first 16 hex: how messages name a key."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def load_public_keys(pems: list[str]) -> list[PublicKeyTypes]:
    """Keys given as PEM text or as paths of PEM files on the worker."""
    keys: list[PublicKeyTypes] = []
    for i, given in enumerate(pems, 1):
        try:  # public keys are not secret: the message may show the value
            pem = pem_or_path(given, f"public key #{i} ({given.strip()})").read()
        except ValueError as err:
            raise ArtifactError(str(err)) from None
        try:
            keys.append(serialization.load_pem_public_key(pem.strip().encode()))
        except (ValueError, TypeError) as err:
            raise ArtifactError(
                f"public key #{i} is not a PEM public key: {str(err).splitlines()[0]}"
            ) from None
    if not keys:
        raise ArtifactError("a signature is configured but no public key to check it with")
    return keys


def _decode_signature(raw: bytes) -> bytes:
    """Signatures may come as raw bytes or base64 text (as ``openssl base64`` writes them)."""
    text = raw.strip()
    try:
        decoded = base64.b64decode(text, validate=True)
    except (ValueError, base64.binascii.Error):  # type: ignore[attr-defined]
        return raw
    return decoded if decoded else raw


def verify_signature(name: str, path: Path, sha256_hex: str, signature: bytes, pems: list[str]) -> str:
    """Return the fingerprint of the key that verified the signature; raise if none does."""
    keys = load_public_keys(pems)
    sig = _decode_signature(signature)
    digest = bytes.fromhex(sha256_hex)
    tried = []
    for key in keys:
        tried.append(key_fingerprint(key))
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(sig, path.read_bytes())
            elif isinstance(key, ec.EllipticCurvePublicKey):
                if not isinstance(key.curve, ec.SECP256R1):
                    raise ArtifactError(
                        f"public key {tried[-1]} is ECDSA on {key.curve.name}; only P-256 is accepted"
                    )
                key.verify(sig, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(
                    sig,
                    digest,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                    Prehashed(hashes.SHA256()),
                )
            else:
                raise ArtifactError(
                    f"public key {tried[-1]} is a {type(key).__name__}: use Ed25519, ECDSA P-256 or RSA"
                )
        except InvalidSignature:
            continue
        return tried[-1]
    raise ArtifactError(
        f"artifact {name}: the signature does not verify with any configured key "
        f"(tried {', '.join(tried)}): not uploading it"
    )


def check_jar(name: str, path: Path, entry_class: str | None) -> None:
    """A zip archive whose entry class exists, checked before any upload."""
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"artifact {name} is not a jar (not a zip archive)")
    with zipfile.ZipFile(path) as jar:
        names = set(jar.namelist())
        if entry_class:
            wanted = entry_class.replace(".", "/") + ".class"
            if wanted not in names:
                raise ArtifactError(
                    f"artifact {name} has no entry class {entry_class} ({wanted} is not in the jar)"
                )
            return
        manifest = (
            jar.read("META-INF/MANIFEST.MF").decode(errors="replace")
            if "META-INF/MANIFEST.MF" in names
            else ""
        )
    if "Main-Class:" not in manifest:
        raise ArtifactError(
            f"artifact {name}: no entry class given and the jar's manifest names no Main-Class"
        )


def check_python_file(name: str, path: Path) -> None:
    """A program file Flink can use: a ``.py`` file is UTF-8 text, an archive (``.zip``, ``.whl``,
    ``.egg``) is a zip; checked before anything is staged."""
    if name.endswith(".py"):
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise ArtifactError(
                f"Python file {name} is not UTF-8 text (byte {err.start}): is it the right file?"
            ) from None
        return
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"Python file {name} is not a zip archive")
