"""Python (PyFlink) jobs without a cluster: the program's shape, the gate and the staging, the spec's
``python:`` form, the operator's arguments, the run request, and how a failing ``main`` reads."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import responses

from airflow_provider_flink.artifacts import ArtifactError, PythonArchive, PythonFile, PythonProgram
from airflow_provider_flink.artifacts.python_program import (
    CARRIER_SHA256,
    PYTHON_DRIVER,
    StagedFile,
    StagedProgram,
    carrier_bytes,
    carrier_jar,
    python_failure,
    unstaged,
)
from airflow_provider_flink.artifacts.staging import stage, staged_location
from airflow_provider_flink.artifacts.submission import (
    PYTHON_EXIT,
    PythonOutcomeUnknownError,
    PythonProgramError,
)
from airflow_provider_flink.deployments.drift import declared_digest
from airflow_provider_flink.deployments.spec import parse_spec_text, spec_hash
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.operators import FlinkPythonJobOperator
from harness.task_context import task_context
from tests.unit.conftest import use_flink_connection

URL = "http://flink-py.test:8081"
J = "d" * 32
JOB = "def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------- the program's shape
def test_the_carrier_jar_is_always_the_pinned_bytes(tmp_path: Path) -> None:
    assert sha(carrier_bytes()) == CARRIER_SHA256
    path = carrier_jar(tmp_path)
    assert sha(path.read_bytes()) == CARRIER_SHA256
    with zipfile.ZipFile(path) as jar:
        assert f"Main-Class: {PYTHON_DRIVER}" in jar.read("META-INF/MANIFEST.MF").decode()


@pytest.mark.parametrize(
    ("program", "problem"),
    [
        (
            {},
            "a Python job needs exactly one of file (its entry .py file) and module (a module in files)",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "module": "a"},
            "a Python job needs exactly one of file (its entry .py file) and module (a module in files)",
        ),
        ({"entry": PythonFile("/j/job.txt")}, "the entry file /j/job.txt is not a .py file"),
        (
            {"entry": PythonFile("/j/orders-v2.py")},
            "the entry file's name orders-v2.py is not a Python module name (it runs as -pym orders-v2): rename "
            "it with letters, digits and _ only",
        ),
        (
            {"entry": PythonFile("/j/orders.v2.py")},
            "the entry file's name orders.v2.py is not a Python module name (it runs as -pym orders.v2): rename "
            "it with letters, digits and _ only",
        ),
        (
            {"entry": PythonFile("/j/a#b.py")},
            "the entry file's name a#b.py is not a Python module name (it runs as -pym a#b): rename it with "
            "letters, digits and _ only",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "files": (PythonFile("/j/x#y.zip"),)},
            "/j/x#y.zip: Flink cannot take a file whose name holds ',' or '#': rename it",
        ),
        (
            {"entry": PythonFile("/j/my-job.py")},
            "the entry file's name my-job.py is not a Python module name (it runs as -pym my-job): rename it "
            "with letters, digits and _ only",
        ),
        (
            {"module": "orders main", "files": (PythonFile("/j/o.zip"),)},
            "module 'orders main' is not a Python module name (e.g. orders.main)",
        ),
        (
            {"module": "orders.main"},
            "module orders.main must be in one of files (a .py file or a .zip of its package)",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "files": (PythonFile("/j/pkg"),)},
            "file /j/pkg is not one of .py, .zip, .whl, .egg (a package folder goes as a .zip of it)",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "archives": (PythonArchive(PythonFile("/j/v.tar")),)},
            "archive /j/v.tar is not a .zip file",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "archives": (PythonArchive(PythonFile("/j/v.zip"), "../up"),)},
            "archive target '../up' must be a folder name (letters, digits, . _ -)",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "files": (PythonFile("/j,k/b.py"),)},
            "/j,k/b.py: Flink cannot take a file whose name holds ',' or '#': rename it",
        ),
        (
            {"entry": PythonFile("/j/a.py"), "files": (PythonFile("/k/a.py"),)},
            "two files are named a.py: on one PYTHONPATH only the first would be seen; rename one",
        ),
    ],
)
def test_a_bad_program_gets_one_clear_error(program: dict[str, Any], problem: str) -> None:
    with pytest.raises(ArtifactError) as info:
        PythonProgram(**program)
    assert str(info.value) == problem


def _staged(program: PythonProgram, digests: list[str], where: str = "/stage") -> StagedProgram:
    files = program.all_files()
    return StagedProgram(
        program,
        tuple(
            StagedFile(f.name, d, staged_location(where, d, f.name), "sha256")
            for f, d in zip(files, digests, strict=True)
        ),
    )


def test_the_entry_runs_as_a_module_and_the_files_go_in_the_jobs_configuration() -> None:
    program = PythonProgram(
        entry=PythonFile("/j/orders.py"),
        files=(PythonFile("s3://b/lib.zip"),),
        archives=(PythonArchive(PythonFile("/j/venv.zip"), "venv"), PythonArchive(PythonFile("/j/data.zip"))),
    )
    staged = _staged(program, ["1" * 64, "2" * 64, "3" * 64, "4" * 64])
    assert staged.driver_args(("--rate", "5")) == ("-pym", "orders", "--rate", "5")
    # The configuration's files reach the TaskManagers' Python too (the driver's -pyfs would not).
    assert staged.flink_config({"python.files": "/mine/extra.py", "a": "b"}) == {
        "a": "b",
        "python.files": f"/mine/extra.py,/stage/{'1' * 64}/orders.py,/stage/{'2' * 64}/lib.zip",
        "python.archives": f"/stage/{'3' * 64}/venv.zip#venv,/stage/{'4' * 64}/data.zip",
    }
    plain = _staged(PythonProgram(entry=PythonFile("/j/orders.py")), ["1" * 64])
    assert plain.flink_config({}) == {"python.files": f"/stage/{'1' * 64}/orders.py"}


def test_the_program_digest_is_its_content_not_where_it_is_staged() -> None:
    program = PythonProgram(entry=PythonFile("/j/orders.py"), files=(PythonFile("/j/lib.py"),))
    here = _staged(program, ["1" * 64, "2" * 64], "/stage")
    there = _staged(program, ["1" * 64, "2" * 64], "s3://elsewhere")
    changed = _staged(program, ["1" * 64, "5" * 64], "/stage")
    assert here.digest == there.digest
    assert here.digest != changed.digest
    renamed = PythonProgram(entry=PythonFile("/j/orders2.py"), files=(PythonFile("/j/lib.py"),))
    assert _staged(renamed, ["1" * 64, "2" * 64]).digest != here.digest  # another module runs


def test_a_run_request_of_a_python_job_needs_its_staged_program() -> None:
    from airflow_provider_flink.artifacts import python_definition

    program = PythonProgram(entry=PythonFile("/j/orders.py"))
    definition = python_definition(program, args=("--x",), parallelism=2)
    with pytest.raises(ValueError, match="a Python job's files are staged before its run request is made"):
        definition.run_request(J)
    with pytest.raises(ValueError, match="staged before"):  # another program's staging is not this one's
        definition.run_request(J, staged=unstaged(PythonProgram(entry=PythonFile("/j/other.py"))))
    request = definition.run_request(J, "file:///sp/1", staged=_staged(program, ["1" * 64]))
    assert request.entry_class == PYTHON_DRIVER
    assert request.program_args == ["-pym", "orders", "--x"]
    assert request.flink_configuration == {"python.files": f"/stage/{'1' * 64}/orders.py"}
    assert (request.parallelism, request.savepoint_path, request.job_id) == (2, "file:///sp/1", J)


# ---------------------------------------------------------------------------- staging
def test_staging_writes_once_under_the_digest_and_rewrites_a_damaged_copy(tmp_path: Path) -> None:
    source = tmp_path / "orders.py"
    source.write_text(JOB)
    digest = sha(source.read_bytes())
    where = tmp_path / "stage"
    location = stage(source, digest, "orders.py", str(where))
    target = where / digest / "orders.py"
    assert location == f"{where}/{digest}/orders.py"
    assert target.read_text() == JOB
    first = target.stat().st_mtime_ns
    assert stage(source, digest, "orders.py", str(where)) == location
    assert target.stat().st_mtime_ns == first  # already there: not written again
    target.write_text("damaged")
    stage(source, digest, "orders.py", f"file://{where}")
    assert target.read_text() == JOB  # a copy that does not match is written again
    assert [p.name for p in target.parent.iterdir()] == ["orders.py"]  # no partial file left


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("  ", "python_staging_dir is empty: give a folder the Flink cluster reads"),
        ("stage", "python_staging_dir stage is a relative path: give an absolute path the cluster's machines "
         "share, or a URI (s3://, hdfs:// ...)"),
        ("/a,b", "python_staging_dir /a,b holds ',' or '#', which Flink's python.files cannot take: choose "
         "another folder"),
    ],
)  # fmt: skip
def test_a_bad_staging_dir_is_refused_before_anything_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, message: str
) -> None:
    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=where)
    entry = tmp_path / "orders.py"
    entry.write_text(JOB)
    op = FlinkPythonJobOperator(task_id="py", python_file=str(entry), deferrable=False)
    with responses.RequestsMock() as rsps, pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == message
    assert len(rsps.calls) == 0


# ---------------------------------------------------------------------------- the operator
@pytest.fixture
def program_files(tmp_path: Path) -> dict[str, Path]:
    entry = tmp_path / "orders.py"
    entry.write_text(JOB)
    lib = tmp_path / "helpers.py"
    lib.write_text("X = 1\n")
    return {"entry": entry, "lib": lib}


def staged_operator(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FlinkPythonJobOperator:
    """The entry file's operator with a chosen job id, not waiting, on a connection that stages."""
    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=str(tmp_path / "stage"))
    return FlinkPythonJobOperator(
        task_id="py",
        python_file=str(program_files["entry"]),
        job_id=J,
        wait_until_running=False,
        deferrable=False,
    )


def test_the_operator_refuses_jar_arguments_and_wants_one_entry() -> None:
    with pytest.raises(ValueError, match="FlinkPythonJobOperator takes no jar, entry_class"):
        FlinkPythonJobOperator(task_id="p", python_file="/a.py", jar="/x.jar", entry_class="x.Y")
    with pytest.raises(ValueError, match=r"needs exactly one of python_file= .* got neither"):
        FlinkPythonJobOperator(task_id="p")
    with pytest.raises(ValueError, match="got both"):
        FlinkPythonJobOperator(task_id="p", python_file="/a.py", module="a", python_files=["/a.py"])


def test_without_a_staging_dir_the_task_fails_before_anything_is_read(
    program_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_flink_connection(monkeypatch, "flink-py.test")
    op = FlinkPythonJobOperator(task_id="py", python_file=str(program_files["entry"]), deferrable=False)
    with responses.RequestsMock() as rsps, pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        "a Python job's files must be staged where the cluster reads them, and connection flink_default has no "
        "python_staging_dir: set that extra to a folder its JobManager and TaskManagers read (a shared path, "
        "s3://..., hdfs://...), or give the job a staging_dir"
    )
    assert len(rsps.calls) == 0


def test_a_pin_that_does_not_match_stages_nothing_and_calls_nothing(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_dir = tmp_path / "stage"
    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=str(stage_dir))
    op = FlinkPythonJobOperator(
        task_id="py",
        python_file=str(program_files["entry"]),
        python_files=[{"path": str(program_files["lib"]), "sha256": "0" * 64}],
        deferrable=False,
    )
    with responses.RequestsMock() as rsps, pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value).startswith(f"artifact {program_files['lib']}: SHA-256 is ")
    assert str(info.value).endswith(f"the pin expects {'0' * 64}: not uploading it")
    assert len(rsps.calls) == 0
    assert not stage_dir.exists()  # nothing staged: every file is verified before any is staged


def test_the_caps_hold_for_every_python_file(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_flink_connection(
        monkeypatch,
        "flink-py.test",
        python_staging_dir=str(tmp_path / "stage"),
        allowed_jar_sources=[str(program_files["entry"])],
    )
    op = FlinkPythonJobOperator(
        task_id="py",
        python_file=str(program_files["entry"]),
        python_files=[str(program_files["lib"])],
        deferrable=False,
    )
    with responses.RequestsMock() as rsps, pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        f"Python file {program_files['lib']} is not from an allowed source of connection flink_default "
        f"({program_files['entry']})"
    )
    assert len(rsps.calls) == 0


def test_a_deploy_stages_the_files_and_submits_the_driver_with_them(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_dir = tmp_path / "stage"
    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=f"file://{stage_dir}")
    entry, lib = program_files["entry"], program_files["lib"]
    op = FlinkPythonJobOperator(
        task_id="py",
        python_file=str(entry),
        python_files=[str(lib)],
        args=["--rate", 5],
        parallelism=2,
        wait_until_running=False,
        deferrable=False,
    )
    with responses.RequestsMock() as rsps:
        rsps.get(f"{URL}/jars", json={"files": []})
        rsps.post(f"{URL}/jars/upload", json={"filename": "/u/c.jar", "status": "success"})
        rsps.post(f"{URL}/jars/c.jar/run", json={"jobid": J})
        op.execute(task_context())
        body = json.loads(rsps.calls[-1].request.body)
        upload = rsps.calls[1].request.body
    e, h = sha(entry.read_bytes()), sha(lib.read_bytes())
    assert body["entryClass"] == PYTHON_DRIVER
    assert body["programArgsList"] == ["-pym", "orders", "--rate", "5"]
    assert body["flinkConfiguration"]["python.files"] == (
        f"file://{stage_dir}/{e}/orders.py,file://{stage_dir}/{h}/helpers.py"
    )
    assert body["parallelism"] == 2
    assert (stage_dir / e / "orders.py").read_text() == JOB
    assert carrier_bytes() in upload  # the carrier jar, not a file of the program


def test_a_relative_python_file_is_read_beside_the_dag_file(tmp_path: Path) -> None:
    from airflow.sdk import DAG

    (tmp_path / "jobs").mkdir()
    with DAG("d", schedule=None) as dag:
        op = FlinkPythonJobOperator(task_id="py", python_file="jobs/orders.py")
    dag.fileloc = str(tmp_path / "my_dag.py")
    assert op._program().entry == PythonFile(str(tmp_path / "jobs" / "orders.py"))


# ---------------------------------------------------------------------------- a failing main
TRACE = (
    "some earlier output\n"
    "Traceback (most recent call last):\n"
    '  File "/tmp/pyflink/a1/b2/other.py", line 3, in <module>\n'
    "    boom()\n"
    "RuntimeError: another program\n"
    "Traceback (most recent call last):\n"
    '  File "<frozen runpy>", line 198, in _run_module_as_main\n'
    '  File "/tmp/pyflink/c3/d4/orders.py", line 9, in <module>\n'
    "    main()\n"
    '  File "/tmp/pyflink/c3/d4/orders.py", line 4, in main\n'
    '    raise ValueError("py main failing on purpose")\n'
    "ValueError: py main failing on purpose\n"
    "later output of the JobManager\n"
)


def test_the_traceback_is_the_last_one_through_the_programs_files() -> None:
    found = python_failure(TRACE, ("orders.py",))
    assert found is not None
    assert not found.duplicate
    assert found.traceback == (
        "Traceback (most recent call last):\n"
        '  File "<frozen runpy>", line 198, in _run_module_as_main\n'
        '  File "/tmp/pyflink/c3/d4/orders.py", line 9, in <module>\n'
        "    main()\n"
        '  File "/tmp/pyflink/c3/d4/orders.py", line 4, in main\n'
        '    raise ValueError("py main failing on purpose")\n'
        "ValueError: py main failing on purpose"
    )
    other = python_failure(TRACE, ("other.py",))
    assert other is not None
    assert other.traceback.endswith("RuntimeError: another program")
    assert python_failure(TRACE, ("nowhere.py",)) is None
    assert python_failure(TRACE, ("ders.py",)) is None  # a file name, not the end of one
    assert python_failure("", ("orders.py",)) is None


# What a retried submission prints when Flink refuses the second copy inside the program (2.3.0).
DUPLICATE = (
    "Traceback (most recent call last):\n"
    '  File "/tmp/pyflink/e5/f6/orders.py", line 9, in <module>\n'
    "    env.execute(args.name)\n"
    "py4j.protocol.Py4JJavaError: An error occurred while calling o0.execute.\n"
    ": java.util.concurrent.ExecutionException: org.apache.flink.runtime.client.DuplicateApplication"
    "SubmissionException: Application has already been submitted.\n"
    "\tat org.apache.flink.runtime.dispatcher.Dispatcher.lambda$submitApplication$9(Dispatcher.java:952)\n"
)


def test_a_second_copy_refused_inside_the_program_is_told_apart() -> None:
    found = python_failure(TRACE + DUPLICATE, ("orders.py",))
    assert found is not None
    assert found.duplicate
    assert found.traceback.endswith(
        "py4j.protocol.Py4JJavaError: An error occurred while calling o0.execute."
    )
    earlier = python_failure(DUPLICATE + TRACE, ("orders.py",))  # the newest traceback decides
    assert earlier is not None
    assert not earlier.duplicate


def _refused_run(rsps: responses.RequestsMock, stdout: str, before: str = "") -> None:
    """A run Flink refuses with "Python process exits"; the JobManager's output held ``before``
    when the run was sent and ``before + stdout`` after."""
    rsps.get(f"{URL}/jobmanager/stdout", body=before)
    rsps.get(f"{URL}/jars", json={"files": []})
    rsps.post(f"{URL}/jars/upload", json={"filename": "/u/c.jar", "status": "success"})
    rsps.post(
        f"{URL}/jars/c.jar/run",
        status=400,
        json={
            "errors": ["org.apache.flink.client.program.ProgramInvocationException: ...", f"{PYTHON_EXIT}: 1"]
        },
    )
    rsps.get(f"{URL}/jobmanager/stdout", body=before + stdout)


def test_a_retried_submission_refused_as_a_second_copy_adopts_the_job(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaign python@lost@upgrade:run: the run's answer was lost, the client sent it again, the
    program ran again and Flink refused the second copy inside it (HTTP 400 "Python process exits",
    the duplicate only in the output). The job of the first run is adopted, never cancelled."""
    op = staged_operator(program_files, tmp_path, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})  # before the submit
        _refused_run(rsps, DUPLICATE)
        assert op.execute(task_context()) == J
        methods = [c.request.method for c in rsps.calls]
    assert "PATCH" not in methods  # nothing cancelled


def _unknown_then_running(rsps: responses.RequestsMock) -> None:
    """``GET /jobs/{J}``: unknown at the operator's first look (before it submits), RUNNING after."""
    states = iter([404])
    rsps.add_callback(
        "GET",
        f"{URL}/jobs/{J}",
        lambda _: (
            code := next(states, 200),
            {},
            json.dumps({"jid": J, "state": "RUNNING", "vertices": []})
            if code == 200
            else json.dumps({"errors": ["Job not found"]}),
        ),
    )


def test_a_job_the_output_cannot_tie_to_this_run_is_left_running(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = staged_operator(program_files, tmp_path, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _unknown_then_running(rsps)
        _refused_run(rsps, "nothing of this program\n")
        with pytest.raises(PythonOutcomeUnknownError) as info:
            op.execute(task_context())
        methods = [c.request.method for c in rsps.calls]
    assert "PATCH" not in methods
    assert str(info.value).startswith(
        f"The Python program orders's run failed on Flink while job {J} of its id runs, and the JobManager's "
        "output shows no traceback of this program"
    )


def test_a_failing_main_fails_the_task_with_its_traceback_and_cancels_what_it_started(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_flink: Any
) -> None:
    # The cancel is waited for through the job trigger (the async client): it sees the job end.
    waited = fake_flink(
        lambda request: httpx.Response(200, json={"jid": J, "state": "CANCELED", "vertices": []})
    )
    op = staged_operator(program_files, tmp_path, monkeypatch)
    states = iter(["RUNNING"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})  # before the submit
        rsps.get(f"{URL}/jobmanager/stdout", body="")  # when the run was sent
        rsps.get(f"{URL}/jars", json={"files": []})
        rsps.post(f"{URL}/jars/upload", json={"filename": "/u/c.jar", "status": "success"})
        rsps.post(
            f"{URL}/jars/c.jar/run",
            status=400,
            json={
                "errors": [
                    "org.apache.flink.client.program.ProgramInvocationException: ...",
                    f"{PYTHON_EXIT}: 1",
                ]
            },
        )
        rsps.get(f"{URL}/jobmanager/stdout", body=TRACE)
        rsps.add_callback(
            "GET",
            f"{URL}/jobs/{J}",
            lambda _: (200, {}, json.dumps({"jid": J, "state": next(states), "vertices": []})),
        )
        rsps.patch(f"{URL}/jobs/{J}", status=202, json={})
        with pytest.raises(PythonProgramError) as info:
            op.execute(task_context())
        cancels = [c for c in rsps.calls if c.request.method == "PATCH"]
    message = str(info.value)
    assert message.startswith(
        f"The Python program orders's main failed on Flink after it had started job {J}, which was cancelled:\n"
        "Traceback (most recent call last):\n"
    )
    assert message.endswith("ValueError: py main failing on purpose")
    assert len(cancels) == 1
    assert [r.url.path for r in waited] == [f"/jobs/{J}"]


def test_an_earlier_runs_traceback_is_not_this_runs(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review: a program failed with an older program's traceback of a file of the same name
    (the JobManager's output outlives runs and restarts): only what came after this run's request
    is this run's."""
    op = staged_operator(program_files, tmp_path, monkeypatch)
    exit_line = "SystemExit: bad config: --topic is required"
    now = (
        'Traceback (most recent call last):\n  File "/tmp/pyflink/x/y/orders.py", line 3, in <module>\n'
        + exit_line
        + "\n"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})
        _refused_run(rsps, now, before=TRACE)
        with pytest.raises(PythonProgramError) as info:
            op.execute(task_context())
    assert str(info.value).endswith(exit_line)


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (
            "Error while finding module specification for 'orders' (ModuleNotFoundError: No module named 'orders')\n",
            "The Python program orders's main failed on Flink (no job of it was left running):\nError while finding "
            "module specification for 'orders' (ModuleNotFoundError: No module named 'orders')",
        ),
    ],
)
def test_a_module_python_cannot_find_is_said(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdout: str, message: str
) -> None:
    op = staged_operator(program_files, tmp_path, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})
        _refused_run(rsps, stdout)
        with pytest.raises(PythonProgramError) as info:
            op.execute(task_context())
    assert str(info.value) == message


def test_a_program_that_starts_no_job_is_told_so(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = staged_operator(program_files, tmp_path, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})
        rsps.get(f"{URL}/jobmanager/stdout", body="")
        rsps.get(f"{URL}/jars", json={"files": []})
        rsps.post(f"{URL}/jars/upload", json={"filename": "/u/c.jar", "status": "success"})
        rsps.post(f"{URL}/jars/c.jar/run", status=400, json={"errors": ["No jobs included in application."]})
        with pytest.raises(PythonProgramError) as info:
            op.execute(task_context())
    assert str(info.value) == (
        'The Python program orders\'s main ran and started no job (Flink: "No jobs included in application"): it '
        "must build a job and call env.execute(...) (or execute_async) once"
    )


# ---------------------------------------------------------------------------- the spec's python form
def _spec(text: str) -> Any:
    spec, problems = parse_spec_text("orders.yaml", text)
    return spec, [str(p) for p in problems]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "name: o\npython: {file: o.py}\nartifact: {jar: /x.jar}\n",
            "orders.yaml: artifact: a Python deployment's program is python: remove artifact",
        ),
        (
            "name: o\npython: {file: o.py}\nsql: {statements: 'SELECT 1;'}\n",
            "orders.yaml: artifact: give one of sql (a SQL job) and python (a Python job), not both",
        ),
        (
            "name: o\npython: {file: o.py}\nentry_class: x.Y\n",
            "orders.yaml: entry_class: a Python deployment runs python.file or python.module: remove entry_class",
        ),
        (
            "name: o\npython: {module: o.main}\n",
            "orders.yaml: python: module o.main must be in one of files (a .py file or a .zip of its package)",
        ),
        (
            "name: o\npython: {file: o.py, sha256: abc}\n",
            "orders.yaml: python.sha256: String should match pattern '^[0-9a-f]{64}$'",
        ),
        (
            "name: o\npython: {file: o.py, file_typo: 1}\n",
            "orders.yaml: python.file_typo: unknown field (misspelled?)",
        ),
    ],
)
def test_a_bad_python_spec_gets_one_clear_problem(text: str, problem: str) -> None:
    spec, problems = _spec(text)
    assert spec is None
    assert problems == [problem]


def test_a_python_spec_loads_beside_its_file_and_hashes_its_program(tmp_path: Path) -> None:
    from airflow_provider_flink.deployments.spec import load_specs

    (tmp_path / "orders.py").write_text(JOB)
    (tmp_path / "lib.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (tmp_path / "orders.yaml").write_text(
        "name: orders\npython: {file: orders.py, files: [lib.zip, {path: /abs/more.py, sha256: '"
        + "a" * 64
        + "'}]}\n"
        "args: [--rate, 5]\n"
    )
    specs, problems = load_specs(tmp_path)
    assert problems == []
    (spec,) = specs
    assert spec.python.file == str(tmp_path / "orders.py")
    assert [f.path for f in spec.python.files] == [str(tmp_path / "lib.zip"), "/abs/more.py"]
    assert "artifact" not in spec.model_dump()  # its jar is the provider's carrier
    definition = spec.definition()
    assert definition.python is not None
    assert definition.artifact.entry_class == PYTHON_DRIVER
    # The page's digest: the program's, from the files here and the pin of the one elsewhere.
    digest, note = declared_digest(spec)
    assert note is None
    expected = _staged(
        spec.python.program(),
        [sha((tmp_path / "orders.py").read_bytes()), sha((tmp_path / "lib.zip").read_bytes()), "a" * 64],
    ).digest
    assert digest == expected
    changed = spec.model_copy(update={"args": ["--rate", "6"]})
    assert spec_hash(changed, expected) != spec_hash(spec, expected)


def test_the_page_says_when_a_python_files_digest_is_not_known_here() -> None:
    spec, _ = _spec("name: o\npython: {file: 's3://b/o.py'}\n")
    assert declared_digest(spec) == (
        None,
        "not known here: the Python file o.py is not pinned (sha256) nor a file on this server; the reconcile "
        "hashes it when it fetches it",
    )


def test_a_spec_read_keeps_its_files_content_and_a_rollback_runs_the_copy_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review: a failed upgrade was rolled back onto the new, broken file (the rollback read
    the file beside the spec again). The spec read records each local file's content
    (``read_sha256``, not a pin); the record's copy of the spec so names the content that ran, and
    its copy staged under that digest is what a rollback runs."""
    from airflow_provider_flink.artifacts import prepare_job
    from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs
    from airflow_provider_flink.hooks.flink import FlinkHook

    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=str(tmp_path / "stage"))
    folder = tmp_path / "deployments"
    folder.mkdir()
    (folder / "orders.py").write_text(JOB)
    (folder / "orders.yaml").write_text("name: orders\npython: {file: orders.py}\n")
    (ran,), _ = load_specs(folder)
    assert ran.python.read_sha256 == sha(JOB.encode())
    assert ran.python.sha256 is None  # not a pin: the cluster's policy still asks for the user's
    first = prepare_job(FlinkHook(), ran.definition())
    record_copy = DeploymentSpec.model_validate(ran.model_dump(mode="json"))  # what the record keeps

    (folder / "orders.py").write_text("raise KeyError('broken')\n")  # the new version, edited in place
    (declared,), _ = load_specs(folder)
    assert declared.python.read_sha256 != ran.python.read_sha256
    rollback = prepare_job(FlinkHook(), record_copy.definition())
    assert rollback.program is not None
    assert first.program is not None
    (staged,) = rollback.program.files
    assert staged.location == first.program.files[0].location
    assert Path(staged.location).read_text() == JOB  # the bytes that ran, not the file's new ones
    assert staged.verified_by == "its content when the spec was read (its copy staged under that digest)"
    assert rollback.digest == first.digest


def test_a_cluster_that_requires_verified_files_does_not_take_a_read_digest_for_a_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_flink.artifacts import prepare_job
    from airflow_provider_flink.deployments.spec import load_specs
    from airflow_provider_flink.hooks.flink import FlinkHook

    use_flink_connection(
        monkeypatch,
        "flink-py.test",
        python_staging_dir=str(tmp_path / "stage"),
        require_verified_artifacts=True,
    )
    (tmp_path / "orders.py").write_text(JOB)
    (tmp_path / "orders.yaml").write_text("name: orders\npython: {file: orders.py}\n")
    (spec,), _ = load_specs(tmp_path)
    with pytest.raises(ArtifactError) as info:
        prepare_job(FlinkHook(), spec.definition())
    assert str(info.value) == (
        f"artifact {tmp_path / 'orders.py'}: this cluster requires verified artifacts: pin its sha256 or give a "
        "signature"
    )
    assert not (tmp_path / "stage").exists()


def test_a_module_in_none_of_the_files_is_refused_before_anything_is_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_flink_connection(monkeypatch, "flink-py.test", python_staging_dir=str(tmp_path / "stage"))
    package = tmp_path / "orders.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("orders/__init__.py", "")
        zf.writestr("orders/main.py", JOB)
    good = FlinkPythonJobOperator(
        task_id="ok", module="orders.main", python_files=[str(package)], deferrable=False
    )
    assert good._program().module_name == "orders.main"
    op = FlinkPythonJobOperator(
        task_id="py", module="nosuch.main", python_files=[str(package)], deferrable=False
    )
    with responses.RequestsMock() as rsps, pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        "module nosuch.main is in none of the files (orders.zip): give the .py file named by it, or a .zip of its "
        "package (a/b.py or a/b/__init__.py inside)"
    )
    assert len(rsps.calls) == 0
    assert not (tmp_path / "stage").exists()


def test_a_pin_that_is_not_a_sha256_is_refused_as_such() -> None:
    with pytest.raises(ArtifactError) as info:
        PythonProgram(entry=PythonFile("/j/orders.py", sha256="9f2c"))
    assert (
        str(info.value)
        == "the sha256 of /j/orders.py must be 64 lowercase hex digits (a SHA-256), got '9f2c'"
    )


def test_a_module_is_found_in_a_py_file_or_in_a_package_zip(tmp_path: Path) -> None:
    from airflow_provider_flink.artifacts.python_program import module_in

    single = tmp_path / "orders.py"
    single.write_text(JOB)
    package = tmp_path / "pkg.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("shop/__init__.py", "")
        zf.writestr("shop/orders.py", JOB)
        zf.writestr("shop/billing/__init__.py", "")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    assert module_in("orders", {"orders.py": single})
    assert not module_in("order", {"orders.py": single})
    assert not module_in("shop.orders", {"orders.py": single})  # a .py file holds a top-level module only
    assert module_in("shop.orders", {"pkg.zip": package})
    assert module_in("shop.billing", {"pkg.zip": package})  # a package: its __init__.py
    assert module_in("shop", {"pkg.zip": package})
    assert not module_in("shop.nothing", {"pkg.zip": package})
    assert not module_in("orders", {"pkg.zip": package})
    assert module_in("shop.orders", {"broken.zip": broken, "pkg.zip": package})  # a bad zip is skipped
    assert module_in("shop.orders", {"orders.py": single, "pkg.zip": package})  # looked for in every file
    assert not module_in("shop.orders", {"broken.zip": broken})


def test_unstaged_is_the_program_at_its_own_locations() -> None:
    program = PythonProgram(entry=PythonFile("/j/orders.py"), files=(PythonFile("s3://b/lib.zip"),))
    placeholder = unstaged(program)
    assert placeholder.program == program
    assert [(f.name, f.location, f.sha256, f.verified_by) for f in placeholder.files] == [
        ("orders.py", "/j/orders.py", "0" * 64, "nothing"),
        ("lib.zip", "s3://b/lib.zip", "0" * 64, "nothing"),
    ]


def test_the_carrier_jar_is_written_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "deeper"
    first = carrier_jar(cache)
    assert first == cache / f"{CARRIER_SHA256}.jar"
    assert first.read_bytes() == carrier_bytes()
    assert [p.name for p in cache.iterdir()] == [first.name]  # no partial file left
    first.write_bytes(b"kept as it is")  # already there: not written again
    assert carrier_jar(cache).read_bytes() == b"kept as it is"


def test_file_mappings_are_checked_by_the_specs_own_models(program_files: dict[str, Path]) -> None:
    pin = sha(b"X = 1\n")
    op = FlinkPythonJobOperator(
        task_id="py",
        python_file=str(program_files["entry"]),
        python_files=[{"path": str(program_files["lib"]), "sha256": pin}],
        python_archives=[{"path": "/data/venv.zip", "target": "venv"}, "/data/lookup.zip"],
    )
    program = op._program()
    assert program.files == (PythonFile(str(program_files["lib"]), pin),)
    assert program.archives == (
        PythonArchive(PythonFile("/data/venv.zip"), "venv"),
        PythonArchive(PythonFile("/data/lookup.zip")),
    )
    wrong = FlinkPythonJobOperator(
        task_id="py", python_file=str(program_files["entry"]), python_files=[{"path": "/x.py", "target": "t"}]
    )
    with pytest.raises(AirflowFailException) as info:
        wrong._program()
    assert (
        str(info.value)
        == "python_files {'path': '/x.py', 'target': 't'}: target: Extra inputs are not permitted"
    )
    no_path = FlinkPythonJobOperator(
        task_id="py", python_file=str(program_files["entry"]), python_archives=[{"target": "t"}]
    )
    with pytest.raises(AirflowFailException) as info:
        no_path._program()
    assert str(info.value) == "python_archives {'target': 't'}: path: Field required"


def test_a_python_run_whose_answer_was_lost_is_never_sent_again_only_settled_by_its_id(
    program_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Histories seed 5 (1.20.5): the run's answer timed out and the client sent it three times
    more while the first main still ran; two PythonDriver runs at once in one JobManager race on
    the process-wide context environment, and the loser ran the job in a local MiniCluster inside
    the JobManager (a second copy, random id, no state). A Python run goes out once; a lost answer
    is settled by asking Flink for the job id, with the connection's default retries."""
    import requests

    op = staged_operator(program_files, tmp_path, monkeypatch)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _unknown_then_running(rsps)
        rsps.get(f"{URL}/jobmanager/stdout", body="")
        rsps.get(f"{URL}/jars", json={"files": []})
        rsps.post(f"{URL}/jars/upload", json={"filename": "/u/c.jar", "status": "success"})
        rsps.post(f"{URL}/jars/c.jar/run", body=requests.exceptions.ReadTimeout("read timed out"))
        assert op.execute(task_context()) == J
        runs = [c for c in rsps.calls if c.request.url.endswith("/run")]
    assert len(runs) == 1
