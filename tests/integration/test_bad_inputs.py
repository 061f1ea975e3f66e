"""The bad-input catalogue: each bad input gives its exact error, and nothing changes on the cluster.

Every case runs against the real local Flink (and, for auth, the real nginx in front of it); the
cluster's jobs and uploaded jars are snapshotted before and after and must be identical.
"""

from __future__ import annotations

import datetime
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.artifacts import sha256_of
from airflow_provider_flink.client import FlinkApiError, FlinkTimeoutError, FlinkUnreachableError, calls
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments import reconcile
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.hooks import FlinkConnectionError, FlinkHook
from airflow_provider_flink.ids import new_id
from airflow_provider_flink.operators import (
    FlinkDeployJobOperator,
    FlinkOperatorError,
    FlinkSavepointOperator,
)
from harness.auth_proxy import AuthProxy
from harness.job_jars import BATCH_JOB, COUNTER_JOB, FAILING_JOB
from harness.task_context import task_context
from harness.tls import TestCA
from tests.integration.conftest import Cluster, connection_json
from tests.unit.test_artifacts import KEYS, Files, pem, sign

pytestmark = pytest.mark.integration


@dataclass
class Env:
    flink: Cluster
    tmp: Path
    http: str
    proxy: AuthProxy
    silent_port: int
    monkeypatch: pytest.MonkeyPatch

    def conn(self, conn_id: str, url: str | None = None, **fields: Any) -> str:
        data = json.loads(connection_json(url or self.flink.flink.rest_url))
        extra = fields.pop("extra", {})
        data.update(fields)
        data["extra"] = {**data["extra"], **extra}
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(data))
        return conn_id

    def deploy(self, conn_id: str = "flink_default", **kwargs: Any) -> Callable[[], Any]:
        params: dict[str, Any] = {"jar": str(self.flink.jar), "entry_class": COUNTER_JOB, **kwargs}
        op = FlinkDeployJobOperator(task_id="deploy", flink_conn_id=conn_id, deferrable=False, **params)
        return lambda: op.execute(task_context())


@pytest.fixture
def env(
    airflow: Cluster, auth_proxy: AuthProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    proxy = auth_proxy
    silent = socket.socket()  # accepts connections (backlog) and never answers: a hung endpoint
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        yield Env(
            airflow,
            tmp_path,
            f"http://127.0.0.1:{httpd.server_address[1]}",
            proxy,
            int(silent.getsockname()[1]),
            monkeypatch,
        )
    finally:
        silent.close()
        httpd.shutdown()


Case = tuple[Callable[[], Any], type[BaseException], str]


def _cases(e: Env, case: str) -> Case:
    jar = e.flink.jar
    data = jar.read_bytes()
    good_sig = e.tmp / "good.sig"
    good_sig.write_bytes(sign(KEYS["ed25519"], data))
    keys = e.conn("flink_keys", password=pem(KEYS["ed25519"]))
    Files.routes.update(
        {
            "/big.jar": (200, b"x" * 5000),
            "/forbidden.jar": (403, b"no"),
            "/broken.jar": (500, b"oops"),
            "/truncated.jar": (200, data),
        }
    )
    fail = AirflowFailException
    if case == "missing jar":
        return (
            e.deploy(jar=str(e.tmp / "nope.jar")),
            fail,
            f"artifact {e.tmp / 'nope.jar'} does not exist on this worker (or is not a file)",
        )
    if case == "wrong sha256":
        digest = __import__("hashlib").sha256(data).hexdigest()
        return (
            e.deploy(jar_sha256="0" * 64),
            fail,
            f"artifact {jar}: SHA-256 is {digest}, the pin expects {'0' * 64}: not uploading it",
        )
    if case == "not a jar":
        notes = e.tmp / "notes.jar"
        notes.write_text("not a zip")
        return e.deploy(jar=str(notes)), fail, f"artifact {notes} is not a jar (not a zip archive)"
    if case == "entry class not in jar":
        return (
            e.deploy(entry_class="com.example.Nope"),
            fail,
            f"artifact {jar} has no entry class com.example.Nope (com/example/Nope.class is not in the jar)",
        )
    if case == "no entry class and no Main-Class":
        return (
            e.deploy(entry_class=None),
            fail,
            f"artifact {jar}: no entry class given and the jar's manifest names no Main-Class",
        )
    if case == "signature over other bytes":
        other = e.tmp / "other.sig"
        other.write_bytes(sign(KEYS["ed25519"], b"other"))
        return e.deploy(jar_signature=str(other), public_keys_conn_id=keys), fail, "SIGNATURE"
    if case == "signature by an unknown key":
        stranger = e.conn("flink_stranger_keys", password=pem(KEYS["rsa-pss"]))
        return e.deploy(jar_signature=str(good_sig), public_keys_conn_id=stranger), fail, "SIGNATURE"
    if case == "signature without keys":
        return (
            e.deploy(jar_signature=str(good_sig)),
            fail,
            "a signature is configured but no public key to check it with",
        )
    if case == "keys connection without a PEM key":
        e.conn("flink_no_keys", password="not a key")
        return (
            e.deploy(jar_signature=str(good_sig), public_keys_conn_id="flink_no_keys"),
            fail,
            "a signature is configured but no public key to check it with",
        )
    if case == "missing signature file":
        return (
            e.deploy(jar_signature=str(e.tmp / "nope.sig"), public_keys_conn_id=keys),
            fail,
            f"artifact {e.tmp / 'nope.sig'} does not exist on this worker (or is not a file)",
        )
    if case == "unverified jar on a cluster that requires verification":
        strict = e.conn("flink_strict", extra={"require_verified_artifacts": True})
        return (
            e.deploy(strict),
            fail,
            f"artifact {jar}: this cluster requires verified artifacts: pin its sha256 or give a signature",
        )
    if case == "oversize download":
        small = e.conn("flink_small", extra={"max_artifact_bytes": 1000})
        return (
            e.deploy(small, jar=f"{e.http}/big.jar"),
            fail,
            f"artifact {e.http}/big.jar is larger than the limit of 1000 bytes",
        )
    if case == "jar URL 404":
        return (
            e.deploy(jar=f"{e.http}/nope.jar"),
            fail,
            f"artifact {e.http}/nope.jar: the server answered HTTP 404",
        )
    if case == "jar URL 403":
        return (
            e.deploy(jar=f"{e.http}/forbidden.jar"),
            fail,
            f"artifact {e.http}/forbidden.jar: the server answered HTTP 403",
        )
    if case == "jar URL 500":
        return (
            e.deploy(jar=f"{e.http}/broken.jar"),
            fail,
            f"artifact {e.http}/broken.jar: the server answered HTTP 500",
        )
    if case == "jar URL refused":
        return (
            e.deploy(jar="http://127.0.0.1:9/job.jar"),
            fail,
            "artifact http://127.0.0.1:9/job.jar could not be downloaded: ConnectionError",
        )
    if case == "jar URL with credentials":
        return (
            e.deploy(jar="http://u:s3cret@127.0.0.1:9/job.jar?sig=abc"),
            fail,
            "artifact http://127.0.0.1:9/job.jar could not be downloaded: ConnectionError",
        )
    if case == "truncated download":
        return (
            e.deploy(jar=f"{e.http}/truncated.jar"),
            fail,
            f"artifact {e.http}/truncated.jar could not be downloaded: ChunkedEncodingError",
        )
    if case == "missing object":
        return (
            e.deploy(jar=f"file://{e.tmp}/gone.jar"),
            fail,
            f"artifact file://{e.tmp}/gone.jar does not exist",
        )
    if case == "parallelism not a number":
        return e.deploy(parallelism="lots"), fail, "parallelism must be a whole number, got 'lots'"
    if case == "parallelism zero":
        return e.deploy(parallelism=0), fail, "parallelism must be at least 1, got 0"
    if case == "job id not hex":
        return (
            e.deploy(job_id="my-job"),
            fail,
            "PREFIX:Invalid Flink job request: 1 validation error for JarRunRequest",
        )
    if case == "unknown claim mode":
        return (
            e.deploy(claim_mode="SOMETIMES"),
            fail,
            "PREFIX:Invalid Flink job request: 1 validation error for JarRunRequest",
        )
    if case == "over the parallelism cap":
        capped = e.conn("flink_capped", extra={"max_parallelism": 2})
        return (
            e.deploy(capped, parallelism=3),
            fail,
            "parallelism 3 is over the cap of 2 set on connection flink_capped",
        )
    if case == "jar from a source not allowed":
        sources = e.conn("flink_sources", extra={"allowed_jar_sources": ["s3://platform-jars/"]})
        return (
            e.deploy(sources),
            fail,
            f"jar {jar} is not from an allowed source of connection flink_sources (s3://platform-jars/)",
        )
    if case in ("jar escaping its allowed folder with ..", "jar reaching /etc/passwd with .."):
        allowed = e.tmp / "allowed"
        allowed.mkdir(exist_ok=True)
        capped_dir = e.conn("flink_folder", extra={"allowed_jar_sources": [f"{allowed}/"]})
        outside = e.tmp / "outside"
        outside.mkdir(exist_ok=True)
        (outside / "evil.jar").write_bytes(data)
        escape, target = (
            (f"{allowed}/../outside/evil.jar", outside / "evil.jar")
            if case == "jar escaping its allowed folder with .."
            else (f"{allowed}/../../../../../../../../etc/passwd", Path("/etc/passwd"))
        )
        return (
            e.deploy(capped_dir, jar=escape),
            fail,
            f"jar {escape} (that is {target}) is not from an allowed source of connection flink_folder "
            f"({allowed}/)",
        )
    if case == "jar linked out of its allowed folder":
        allowed = e.tmp / "linked"
        allowed.mkdir(exist_ok=True)
        (allowed / "job.jar").symlink_to(jar)
        capped_link = e.conn("flink_linked", extra={"allowed_jar_sources": [f"{allowed}/*.jar"]})
        return (
            e.deploy(capped_link, jar=f"{allowed}/job.jar"),
            fail,
            f"jar {allowed}/job.jar (that is {jar.resolve()}) is not from an allowed source of connection "
            f"flink_linked ({allowed}/*.jar)",
        )
    if case == "relative jar path":
        e.monkeypatch.chdir(jar.parent)
        return (
            e.deploy(jar=jar.name),
            fail,
            f"jar {jar.name} is a relative path: give an absolute path on the workers or a URI "
            "(in a deployment file, a relative path is read beside the file)",
        )
    if case == "entry class not allowed":
        classes = e.conn("flink_classes", extra={"allowed_entry_classes": [r"com\.example\..*"]})
        return (
            e.deploy(classes),
            fail,
            rf"entry class {COUNTER_JOB} is not allowed on connection flink_classes (allowed: com\.example\..*)",
        )
    if case == "connection without host":
        e.monkeypatch.setenv("AIRFLOW_CONN_FLINK_NOHOST", json.dumps({"conn_type": "flink"}))
        return (
            e.deploy("flink_nohost"),
            FlinkConnectionError,
            "Flink connection has no host: set it to the REST endpoint, e.g. flink-jm",
        )
    if case == "protocol not http":
        e.conn("flink_ftp", schema="ftp")
        return (
            e.deploy("flink_ftp"),
            FlinkConnectionError,
            "Flink connection protocol must be http or https, got 'ftp'",
        )
    if case == "login and token together":
        both = e.conn("flink_both", login="a", password="b", extra={"bearer_token": "t"})
        return (
            e.deploy(both),
            FlinkConnectionError,
            "Flink connection sets both login/password and a bearer token: keep only one of them",
        )
    if case == "verify_tls not a boolean":
        odd = e.conn("flink_odd", extra={"verify_tls": "maybe"})
        return (
            e.deploy(odd),
            FlinkConnectionError,
            "Flink connection field 'verify_tls' must be true or false, got 'maybe'",
        )
    if case == "timeout not a number":
        slow = e.conn("flink_slow", extra={"request_timeout": "soon"})
        return (
            e.deploy(slow),
            FlinkConnectionError,
            "Flink connection field 'request_timeout' must be a number of seconds, got 'soon'",
        )
    if case == "expired client certificate":
        now = datetime.datetime.now(datetime.timezone.utc)
        old = TestCA().issue(
            "old", valid_from=now - datetime.timedelta(days=5), valid_until=now - datetime.timedelta(days=1)
        )
        expired = e.conn("flink_expired", extra={"client_cert": old.cert_pem, "client_key": old.key_pem})
        return (
            e.deploy(expired),
            FlinkConnectionError,
            "PREFIX:Flink connection client certificate (CN=old) expired on ",
        )
    if case == "client key of another certificate":
        ca = TestCA()
        mixed = e.conn(
            "flink_mixed",
            extra={"client_cert": ca.issue("me").cert_pem, "client_private_key": ca.issue("you").key_pem},
        )
        return (
            e.deploy(mixed),
            FlinkConnectionError,
            "Flink connection 'client_private_key' does not belong to the client certificate (CN=me)",
        )
    if case == "client certificate path missing":
        missing = e.conn("flink_missing_cert", extra={"client_cert": "/nope/cert.pem"})
        return (
            e.deploy(missing),
            FlinkConnectionError,
            "Flink connection field 'client_cert' is neither PEM text nor an existing file path",
        )
    if case == "exception in main()":
        FlinkHook().upload_jar(
            jar, sha256_of(jar)
        )  # already there before the snapshot: the failed submit adds nothing
        # Flink 2.3 runs the program as an application: the refusal comes from its end, not the answer.
        refused = (
            "Flink answered HTTP 400 to POST /jars/"
            if e.flink.version.startswith("1.")
            else "Flink's application "
        )
        return (
            e.deploy(entry_class=FAILING_JOB, args=["--fail-in-main"], wait_until_running=False),
            FlinkApiError,
            f"PREFIX:{refused}",
        )
    if case == "savepoint of an unknown job":
        unknown = new_id()
        op = FlinkSavepointOperator(task_id="s", job_id=unknown, deferrable=False)
        return (
            (lambda: op.execute(task_context())),
            FlinkOperatorError,
            (f"Cannot take a savepoint: Flink does not know job {unknown}"),
        )
    if case == "savepoint of a finished job":
        done = e.flink.run(BATCH_JOB, args=["--count", "100"])
        e.flink.wait_state(done, JobState.FINISHED)
        op = FlinkSavepointOperator(task_id="s", job_id=done, deferrable=False)
        return (
            (lambda: op.execute(task_context())),
            FlinkOperatorError,
            (f"Cannot take a savepoint: job {done} is FINISHED, not RUNNING"),
        )
    if case == "cancel of a finished job (409)":
        done = e.flink.run(BATCH_JOB, args=["--count", "100"])
        e.flink.wait_state(done, JobState.FINISHED)
        hook = FlinkHook()
        return (
            (lambda: hook.call(calls.cancel_job(done))),
            FlinkApiError,
            (
                f"Flink answered HTTP 409 to PATCH /jobs/{done}: Job cancellation failed because the job has already "
                "reached another terminal state (FINISHED)."
            ),
        )
    if case == "wrong password (401)":
        wrong = e.conn("flink_wrong_pw", url=e.proxy.basic_url, login=e.proxy.user, password="wrong")
        return e.deploy(wrong), FlinkApiError, "PREFIX:Flink answered HTTP 401 to GET /jars: "
    if case == "forbidden token (403)":
        forbidden = e.conn("flink_forbidden", url=e.proxy.bearer_url, extra={"bearer_token": "forbidden"})
        return (
            e.deploy(forbidden),
            FlinkApiError,
            (
                "Flink answered HTTP 403 to GET /jars: this token may not use Flink. "
                "Check the credentials (login/password or bearer token) of the Flink connection."
            ),
        )
    if case == "cluster not answering (timeout)":
        hung = e.conn("flink_hung", url=f"http://127.0.0.1:{e.silent_port}", extra={"request_timeout": 0.5})
        return (
            (lambda: FlinkHook(hung).call(calls.overview())),
            FlinkTimeoutError,
            (
                f"PREFIX:Flink at http://127.0.0.1:{e.silent_port} did not answer GET /overview: timed out (ReadTimeout)"
            ),
        )
    if case == "cluster down (connection refused)":
        down = e.conn("flink_down", url="http://127.0.0.1:9")
        return (
            e.deploy(down),
            FlinkUnreachableError,
            (
                "Flink at http://127.0.0.1:9 did not answer GET /jars: connection refused. Check that the cluster is up "
                "and that host, port, protocol and TLS settings of the Flink connection are right. (giving up after 4 attempts)"
            ),
        )
    if case in ("spec with parallelism 0", "spec with an unknown field", "spec that is not YAML"):
        folder = e.tmp / "specs"
        folder.mkdir(exist_ok=True)
        text = {
            "spec with parallelism 0": f"name: bad\nartifact: {{jar: {jar}}}\nparallelism: 0\n",
            "spec with an unknown field": f"name: bad\nartifact: {{jar: {jar}}}\nparalelism: 2\n",
            "spec that is not YAML": "name: [unclosed\n",
        }[case]
        (folder / "bad.yaml").write_text(text)
        expected = {
            "spec with parallelism 0": "bad.yaml: parallelism: Input should be greater than or equal to 1",
            "spec with an unknown field": "bad.yaml: paralelism: unknown field (misspelled?)",
            "spec that is not YAML": "PREFIX:bad.yaml: (file): cannot be read as YAML: ",
        }[case]

        def run() -> None:
            summary = reconcile(folder, MemoryRecordStore())
            raise ValueError("; ".join(summary.invalid))

        return run, ValueError, expected
    if case in ("a name declared in two files", "spec file of 9.9 MB", "spec with 1001 arguments"):
        folder = e.tmp / "conflict"
        folder.mkdir(exist_ok=True)
        spec = f"name: twice\nartifact: {{jar: {jar}}}\nentry_class: {COUNTER_JOB}\n"
        if case == "a name declared in two files":
            (folder / "twice.yaml").write_text(spec)
            (folder / "renamed.yaml").write_text(spec + "parallelism: 2\n")
            expected = (
                "renamed.yaml, twice.yaml: name: 'twice' is declared in 2 files: none of them is applied and its "
                "running job is left as it is until one declaration remains (rename or remove the others)"
            )
        elif case == "spec file of 9.9 MB":
            args = "".join(f"  - '{i:032d}'\n" for i in range(260_000))
            (folder / "huge.yaml").write_text(spec + "args:\n" + args)
            expected = (
                "huge.yaml: (file): is larger than 1048576 bytes, the limit of a deployment file: a deployment "
                "needs a few kB (put large inputs in a file the job reads)"
            )
        else:
            (folder / "many.yaml").write_text(spec + "args: [" + ", ".join(["x"] * 1001) + "]\n")
            expected = (
                "many.yaml: args: 1001 arguments of 1001 characters, over the limit of 1000 arguments and "
                "262144 characters: let the job read large input from a file"
            )

        def run_conflict() -> None:
            summary = reconcile(folder, MemoryRecordStore())
            assert summary.deployments == []
            raise ValueError("; ".join(summary.invalid))

        return run_conflict, ValueError, expected
    if case == "spec artifact with a wrong pin":
        folder = e.tmp / "pinned"
        folder.mkdir(exist_ok=True)
        (folder / "pinned.yaml").write_text(
            f"name: pinned\nartifact: {{jar: {jar}, sha256: '{'1' * 64}'}}\nentry_class: {COUNTER_JOB}\n"
        )
        digest = __import__("hashlib").sha256(data).hexdigest()

        def run_pinned() -> None:
            summary = reconcile(folder, MemoryRecordStore())
            raise ValueError("; ".join(summary.errors))

        return (
            run_pinned,
            ValueError,
            f"pinned: artifact {jar}: SHA-256 is {digest}, the pin expects {'1' * 64}: not uploading it",
        )
    raise AssertionError(f"no case {case}")


CASES = [
    "missing jar",
    "wrong sha256",
    "not a jar",
    "entry class not in jar",
    "no entry class and no Main-Class",
    "signature over other bytes",
    "signature by an unknown key",
    "signature without keys",
    "keys connection without a PEM key",
    "missing signature file",
    "unverified jar on a cluster that requires verification",
    "oversize download",
    "jar URL 404",
    "jar URL 403",
    "jar URL 500",
    "jar URL refused",
    "jar URL with credentials",
    "truncated download",
    "missing object",
    "parallelism not a number",
    "parallelism zero",
    "job id not hex",
    "unknown claim mode",
    "over the parallelism cap",
    "jar from a source not allowed",
    "jar escaping its allowed folder with ..",
    "jar reaching /etc/passwd with ..",
    "jar linked out of its allowed folder",
    "relative jar path",
    "entry class not allowed",
    "connection without host",
    "protocol not http",
    "login and token together",
    "verify_tls not a boolean",
    "timeout not a number",
    "expired client certificate",
    "client key of another certificate",
    "client certificate path missing",
    "exception in main()",
    "savepoint of an unknown job",
    "savepoint of a finished job",
    "cancel of a finished job (409)",
    "wrong password (401)",
    "forbidden token (403)",
    "cluster not answering (timeout)",
    "cluster down (connection refused)",
    "spec with parallelism 0",
    "spec with an unknown field",
    "spec that is not YAML",
    "spec artifact with a wrong pin",
    "a name declared in two files",
    "spec file of 9.9 MB",
    "spec with 1001 arguments",
]


def _snapshot(flink: Cluster) -> tuple[list[tuple[str, str]], list[str]]:
    jobs = sorted((j.jid, j.state.value) for j in flink.client.call(calls.jobs_overview()).jobs)
    jars = sorted(f.id for f in flink.client.call(calls.list_jars()).files)
    return jobs, jars


@pytest.mark.parametrize("case", CASES)
def test_bad_input(env: Env, case: str) -> None:
    action, error, message = _cases(env, case)
    before = _snapshot(env.flink)
    with pytest.raises(error) as info:
        action()
    text = str(info.value)
    if message == "SIGNATURE":
        assert text.startswith(
            f"artifact {env.flink.jar}: the signature does not verify with any configured key (tried "
        )
    elif message.startswith("PREFIX:"):
        assert text.startswith(message.removeprefix("PREFIX:")), text
    else:
        assert text == message
    assert "s3cret" not in text
    assert _snapshot(env.flink) == before, "the cluster changed"


def test_catalogue_size() -> None:
    assert len(CASES) >= 40
    assert len(set(CASES)) == len(CASES)
