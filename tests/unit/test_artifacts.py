"""Artifacts from real sources (a loopback HTTP server, file:// through ObjectStoragePath, paths),
verified with real keys: every bad input gives its exact error and leaves nothing in the cache."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from airflow_provider_flink.artifacts import (
    ArtifactError,
    ArtifactSource,
    prepare,
    public_keys_from_connection,
)
from airflow_provider_flink.artifacts.verify import key_fingerprint

ENTRY = "com.example.Main"


def make_jar(
    path: Path, classes: tuple[str, ...] = ("com/example/Main.class",), manifest: str | None = None
) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        for name in classes:
            jar.writestr(name, b"\xca\xfe\xba\xbe fake class")
        if manifest is not None:
            jar.writestr("META-INF/MANIFEST.MF", manifest)
    return path


class Files(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}
    seen_headers: list[dict[str, str]] = []

    def do_GET(self) -> None:
        Files.seen_headers.append(dict(self.headers))
        status, body = Files.routes.get(self.path.split("?")[0], (404, b"not here"))
        self.send_response(status)
        if self.path.startswith("/truncated"):
            self.send_header("Content-Length", str(len(body) * 2))  # promise more than is sent
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def jar(tmp_path: Path) -> Path:
    return make_jar(tmp_path / "job.jar")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def sign(key: Any, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(
        data,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )


def pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


KEYS = {
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
    "ecdsa-p256": ec.generate_private_key(ec.SECP256R1()),
    "rsa-pss": rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def test_local_path_is_used_in_place(jar: Path, cache: Path) -> None:
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()
    got = prepare(ArtifactSource(str(jar), sha256=digest), ENTRY, cache_dir=cache)
    assert got.path == jar
    assert got.sha256 == digest
    assert got.verified_by == "sha256"
    assert leftovers(cache) == []


def test_http_download_lands_in_the_cache_by_digest_with_headers(server: str, jar: Path, cache: Path) -> None:
    body = jar.read_bytes()
    Files.routes["/jobs/job.jar"] = (200, body)
    got = prepare(
        ArtifactSource(f"{server}/jobs/job.jar", headers={"Authorization": "Bearer t0k"}),
        ENTRY,
        cache_dir=cache,
    )
    digest = hashlib.sha256(body).hexdigest()
    assert got.path == cache / f"{digest}.jar"
    assert got.path.read_bytes() == body
    assert Files.seen_headers[-1]["Authorization"] == "Bearer t0k"
    assert leftovers(cache) == [f"{digest}.jar"]
    # pinned and cached: no second download
    count = len(Files.seen_headers)
    again = prepare(ArtifactSource(f"{server}/jobs/job.jar", sha256=digest), ENTRY, cache_dir=cache)
    assert again.path == got.path
    assert len(Files.seen_headers) == count


def test_object_storage_uri(jar: Path, cache: Path) -> None:
    got = prepare(ArtifactSource(f"file://{jar}"), ENTRY, cache_dir=cache)
    assert got.path.read_bytes() == jar.read_bytes()
    assert got.path.parent == cache


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_signature_verifies_with_each_key_type(kind: str, jar: Path, cache: Path, tmp_path: Path) -> None:
    sig = tmp_path / "job.jar.sig"
    sig.write_bytes(sign(KEYS[kind], jar.read_bytes()))
    other = ed25519.Ed25519PrivateKey.generate()
    got = prepare(
        ArtifactSource(str(jar), signature=str(sig), public_keys=(pem(other), pem(KEYS[kind]))),
        ENTRY,
        cache_dir=cache,
    )
    fingerprint = key_fingerprint(KEYS[kind].public_key())
    assert got.verified_by == f"signature by key {fingerprint}"


def test_base64_signature_is_accepted(jar: Path, cache: Path, tmp_path: Path) -> None:
    import base64

    sig = tmp_path / "job.jar.sig.b64"
    sig.write_bytes(base64.b64encode(sign(KEYS["ed25519"], jar.read_bytes())) + b"\n")
    got = prepare(
        ArtifactSource(str(jar), signature=str(sig), public_keys=(pem(KEYS["ed25519"]),)),
        ENTRY,
        cache_dir=cache,
    )
    assert got.verified_by.startswith("signature by key ")


def test_keys_from_a_connection() -> None:
    class Conn:
        extra_dejson: dict[str, Any] = {}
        password = pem(KEYS["ed25519"]) + pem(KEYS["rsa-pss"])

    assert public_keys_from_connection(Conn()) == (pem(KEYS["ed25519"]), pem(KEYS["rsa-pss"]))
    Conn.extra_dejson = {"public_keys": [pem(KEYS["ecdsa-p256"])]}
    assert public_keys_from_connection(Conn()) == (pem(KEYS["ecdsa-p256"]),)


# ------------------------------------------------------------------------------------------------ bad inputs
def _bad_cases(tmp: Path, server: str) -> list[tuple[str, ArtifactSource, str | None, dict[str, Any], str]]:
    good = make_jar(tmp / "good.jar")
    data = good.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    not_zip = tmp / "notes.txt"
    not_zip.write_text("not a jar")
    no_main = make_jar(tmp / "nomain.jar", classes=("x/Y.class",))
    wrong_sig = tmp / "wrong.sig"
    wrong_sig.write_bytes(sign(KEYS["ed25519"], b"some other bytes"))
    good_sig = tmp / "good.sig"
    good_sig.write_bytes(sign(KEYS["ed25519"], data))
    p384 = ec.generate_private_key(ec.SECP384R1())
    Files.routes.update(
        {"/big.jar": (200, b"x" * 5000), "/forbidden.jar": (403, b"no"), "/broken.jar": (500, b"x")}
    )
    Files.routes["/truncated.jar"] = (200, data)
    other_key = pem(ed25519.Ed25519PrivateKey.generate())
    tried = key_fingerprint(serialization.load_pem_public_key(other_key.encode()))  # type: ignore[arg-type]
    return [
        (
            "missing local file",
            ArtifactSource(str(tmp / "nope.jar")),
            ENTRY,
            {},
            f"artifact {tmp / 'nope.jar'} does not exist on this worker (or is not a file)",
        ),
        (
            "wrong digest",
            ArtifactSource(str(good), sha256="0" * 64),
            ENTRY,
            {},
            f"artifact {good}: SHA-256 is {digest}, the pin expects {'0' * 64}: not uploading it",
        ),
        (
            "not a zip",
            ArtifactSource(str(not_zip)),
            ENTRY,
            {},
            f"artifact {not_zip} is not a jar (not a zip archive)",
        ),
        (
            "missing entry class",
            ArtifactSource(str(no_main)),
            ENTRY,
            {},
            f"artifact {no_main} has no entry class {ENTRY} (com/example/Main.class is not in the jar)",
        ),
        (
            "no entry class, no manifest",
            ArtifactSource(str(no_main)),
            None,
            {},
            f"artifact {no_main}: no entry class given and the jar's manifest names no Main-Class",
        ),
        (
            "signature over other bytes",
            ArtifactSource(str(good), signature=str(wrong_sig), public_keys=(pem(KEYS["ed25519"]),)),
            ENTRY,
            {},
            None,
        ),
        (
            "signature by an unknown key",
            ArtifactSource(str(good), signature=str(good_sig), public_keys=(other_key,)),
            ENTRY,
            {},
            f"artifact {good}: the signature does not verify with any configured key (tried {tried}): not uploading it",
        ),
        (
            "signature without keys",
            ArtifactSource(str(good), signature=str(good_sig)),
            ENTRY,
            {},
            "a signature is configured but no public key to check it with",
        ),
        (
            "key not PEM",
            ArtifactSource(
                str(good),
                signature=str(good_sig),
                public_keys=("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",),
            ),
            ENTRY,
            {},
            None,
        ),
        (
            "ECDSA on P-384",
            ArtifactSource(str(good), signature=str(good_sig), public_keys=(pem(p384),)),
            ENTRY,
            {},
            None,
        ),
        (
            "missing signature file",
            ArtifactSource(str(good), signature=str(tmp / "nope.sig"), public_keys=(pem(KEYS["ed25519"]),)),
            ENTRY,
            {},
            f"artifact {tmp / 'nope.sig'} does not exist on this worker (or is not a file)",
        ),
        (
            "verification required",
            ArtifactSource(str(good)),
            ENTRY,
            {"require_verification": True},
            f"artifact {good}: this cluster requires verified artifacts: pin its sha256 or give a signature",
        ),
        (
            "oversize download",
            ArtifactSource(f"{server}/big.jar"),
            ENTRY,
            {"max_bytes": 1000},
            f"artifact {server}/big.jar is larger than the limit of 1000 bytes",
        ),
        (
            "oversize local file",
            ArtifactSource(str(good)),
            ENTRY,
            {"max_bytes": 10},
            f"artifact {good} is {len(data)} bytes, over the limit of 10",
        ),
        (
            "HTTP 404",
            ArtifactSource(f"{server}/nope.jar"),
            ENTRY,
            {},
            f"artifact {server}/nope.jar: the server answered HTTP 404",
        ),
        (
            "HTTP 403",
            ArtifactSource(f"{server}/forbidden.jar"),
            ENTRY,
            {},
            f"artifact {server}/forbidden.jar: the server answered HTTP 403",
        ),
        (
            "HTTP 500",
            ArtifactSource(f"{server}/broken.jar"),
            ENTRY,
            {},
            f"artifact {server}/broken.jar: the server answered HTTP 500",
        ),
        (
            "connection refused",
            ArtifactSource("http://127.0.0.1:9/job.jar"),
            ENTRY,
            {},
            "artifact http://127.0.0.1:9/job.jar could not be downloaded: ConnectionError",
        ),
        (
            "credentials in the URL are not repeated",
            ArtifactSource("http://user:s3cret@127.0.0.1:9/job.jar?token=abc"),
            ENTRY,
            {},
            "artifact http://127.0.0.1:9/job.jar could not be downloaded: ConnectionError",
        ),
        ("truncated download", ArtifactSource(f"{server}/truncated.jar"), ENTRY, {}, None),
        (
            "missing object",
            ArtifactSource(f"file://{tmp}/nope.jar"),
            ENTRY,
            {},
            f"artifact file://{tmp}/nope.jar does not exist",
        ),
    ]


CASE_IDS = [
    "missing local file",
    "wrong digest",
    "not a zip",
    "missing entry class",
    "no entry class, no manifest",
    "signature over other bytes",
    "signature by an unknown key",
    "signature without keys",
    "key not PEM",
    "ECDSA on P-384",
    "missing signature file",
    "verification required",
    "oversize download",
    "oversize local file",
    "HTTP 404",
    "HTTP 403",
    "HTTP 500",
    "connection refused",
    "credentials in the URL are not repeated",
    "truncated download",
    "missing object",
]


@pytest.mark.parametrize("case", CASE_IDS)
def test_bad_input_gives_one_clear_error_and_leaves_no_file(
    case: str, tmp_path: Path, server: str, cache: Path
) -> None:
    cases = {c[0]: c[1:] for c in _bad_cases(tmp_path, server)}
    source, entry, options, message = cases[case]
    with pytest.raises(ArtifactError) as info:
        prepare(source, entry, cache_dir=cache, **options)
    text = str(info.value)
    if message is not None:
        assert text == message
    else:
        expected_start = {
            "signature over other bytes": f"artifact {tmp_path / 'good.jar'}: the signature does not verify",
            "key not PEM": "public key #1 is not a PEM public key: ",
            "ECDSA on P-384": "public key ",
            "truncated download": f"artifact {server}/truncated.jar could not be downloaded: ",
        }[case]
        assert text.startswith(expected_start), text
    assert "s3cret" not in text
    assert "token=abc" not in text
    assert [n for n in leftovers(cache) if n.startswith(".partial")] == []  # a partial download is never kept


def test_download_headers_from_a_connection_are_masked(server: str, jar: Path, cache: Path) -> None:
    import base64

    from airflow_provider_flink.artifacts import headers_from_connection

    class Conn:
        login = "ci"
        password = "p4ss"
        extra_dejson: dict[str, Any] = {"headers": {"X-Api-Key": "k3y"}}

    masked: list[str] = []
    headers = headers_from_connection(Conn(), masked.append)
    assert headers == {"X-Api-Key": "k3y", "Authorization": "Basic " + base64.b64encode(b"ci:p4ss").decode()}
    assert set(masked) == set(headers.values())
    Files.routes["/private/job.jar"] = (200, jar.read_bytes())
    prepare(ArtifactSource(f"{server}/private/job.jar", headers=headers), ENTRY, cache_dir=cache)
    assert Files.seen_headers[-1]["X-Api-Key"] == "k3y"
    assert Files.seen_headers[-1]["Authorization"] == headers["Authorization"]


def test_public_keys_from_files(jar: Path, cache: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "signing.pub"
    key_file.write_text(pem(KEYS["ecdsa-p256"]))
    sig = tmp_path / "job.jar.sig"
    sig.write_bytes(sign(KEYS["ecdsa-p256"], jar.read_bytes()))
    got = prepare(
        ArtifactSource(str(jar), signature=str(sig), public_keys=(str(key_file),)), ENTRY, cache_dir=cache
    )
    assert got.verified_by == f"signature by key {key_fingerprint(KEYS['ecdsa-p256'].public_key())}"
    with pytest.raises(ArtifactError) as info:
        prepare(
            ArtifactSource(str(jar), signature=str(sig), public_keys=(str(tmp_path / "none.pub"),)),
            ENTRY,
            cache_dir=cache,
        )
    assert (
        str(info.value)
        == f"public key #1 ({tmp_path / 'none.pub'}) is neither PEM text nor an existing file path"
    )
