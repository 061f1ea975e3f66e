"""SQL jobs without a cluster: the shipped runner jar against its source, the runner's statement
splitter and position translation (run with ``java``, no Flink), the script's arguments, Flink's
refusal read back, the ``sql:`` form of a deployment spec and FlinkSqlJobOperator's arguments."""

from __future__ import annotations

import base64
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import responses
import yaml

from airflow_provider_flink.artifacts import sha256_of
from airflow_provider_flink.artifacts.sql import (
    MANIFEST_SOURCES_KEY,
    MAX_SQL_BYTES,
    RUNNER_CLASS,
    RUNNER_JAR,
    RUNNER_JAR_SHA256,
    SqlError,
    read_sql,
    runner_args,
    runner_error,
    script_of,
    sources_sha256,
    sql_definition,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs, spec_hash
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.operators.sql import FlinkSqlJobOperator
from harness.flink_cluster import java_tool
from harness.task_context import MemoryTaskState, task_context
from tests.unit.conftest import recorded, use_flink_connection, without_applications

URL = "http://flink-sql.test:8081"
J = "5" * 32
SQL = (
    "CREATE TABLE clicks (user_id INT) WITH ('connector' = 'datagen');\n"
    "CREATE TABLE out (user_id INT, n BIGINT) WITH ('connector' = 'blackhole');\n"
    "INSERT INTO out SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;\n"
)


# ------------------------------------------------------------------ the shipped jar and its source
def manifest() -> dict[str, str]:
    text = zipfile.ZipFile(RUNNER_JAR).read("META-INF/MANIFEST.MF").decode()
    joined = text.replace("\r\n", "\n").replace("\n ", "")  # manifest lines wrap at 72 bytes
    return dict(line.split(": ", 1) for line in joined.splitlines() if ": " in line)


def test_the_shipped_jar_was_built_from_the_shipped_source_and_is_pinned() -> None:
    found = manifest()
    assert found[MANIFEST_SOURCES_KEY] == sources_sha256(), (
        "the Java source of the SQL runner changed since its jar was built: run scripts/build-sql-runner "
        "and commit the jar and the pin with the source"
    )
    assert sha256_of(RUNNER_JAR) == RUNNER_JAR_SHA256, (
        "rebuild with scripts/build-sql-runner (it writes the pin)"
    )
    assert found["Main-Class"] == RUNNER_CLASS
    assert found["Built-Against-Flink"] == "1.20.5"  # the oldest supported line: runs on 1.20 and 2.x


def test_the_shipped_classes_run_on_java_11() -> None:
    with zipfile.ZipFile(RUNNER_JAR) as jar:
        classes = [n for n in jar.namelist() if n.endswith(".class")]
        majors = {int.from_bytes(jar.read(n)[6:8], "big") for n in classes}
    assert {Path(n).stem for n in classes} >= {"SqlRunner", "SqlSplitter", "SqlScriptException"}
    assert majors == {55}  # class file version 55 = Java 11 (javac --release 11)


def test_a_changed_source_changes_the_digest(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "X.java").write_text("class X {}")
    before = sources_sha256(tmp_path)
    (tmp_path / "a" / "X.java").write_text("class X { }")
    assert sources_sha256(tmp_path) != before


# ------------------------------------------------------------------ the runner's splitter, in Java
def split(script: str, message: str | None = None) -> list[list[str]] | str:
    """The runner's statements (line, column, text[, translated message]) or its error."""
    command = [java_tool("java"), "-cp", str(RUNNER_JAR), "flinkprovider.sql.SqlSplitter"]
    done = subprocess.run(
        [*command, *(["--message", message] if message else [])],
        input=script.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    out = done.stdout.decode()
    if done.returncode:
        assert out.startswith("error\t"), done.stderr.decode()
        return out.removeprefix("error\t").strip()
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("SELECT 1", [["1", "1", "SELECT 1"]]),
        (
            "-- a comment; not a statement\nCREATE TABLE a (x STRING) WITH ('k' = 'v;w');\n\n"
            "  INSERT INTO b SELECT 'it''s; fine' /* ; */ FROM a;;\n-- trailing; \n",
            [
                ["2", "1", "CREATE TABLE a (x STRING) WITH ('k' = 'v;w')"],
                ["4", "3", "INSERT INTO b SELECT 'it''s; fine' /* ; */ FROM a"],
            ],
        ),
        (
            '/*/ still a comment; */ SELECT `a;b`, "c;d" FROM t\r\nWHERE x = 1;\rSELECT 3',
            [["1", "25", 'SELECT `a;b`, "c;d" FROM t\\r\\nWHERE x = 1'], ["3", "1", "SELECT 3"]],
        ),
        (
            "EXECUTE STATEMENT SET BEGIN\n  INSERT INTO x SELECT CASE WHEN a THEN 1 ELSE 2 END FROM y;\n"
            "  INSERT INTO z SELECT 1;\nEND;\nSELECT 2;",
            [
                [
                    "1",
                    "1",
                    "EXECUTE STATEMENT SET BEGIN\\n  INSERT INTO x SELECT CASE WHEN a THEN 1 ELSE 2 END FROM y;"
                    "\\n  INSERT INTO z SELECT 1;\\nEND",
                ],
                ["5", "1", "SELECT 2"],
            ],
        ),
        (
            "BEGIN STATEMENT SET;\nINSERT INTO z SELECT 1;\nEND;",
            [["1", "1", "BEGIN STATEMENT SET"], ["2", "1", "INSERT INTO z SELECT 1"], ["3", "1", "END"]],
        ),
        ("SELECT 'ü;ß' AS `ä`; SELECT 2", [["1", "1", "SELECT 'ü;ß' AS `ä`"], ["1", "22", "SELECT 2"]]),
        ("  ;\n -- only comments\n/* and blanks */ ;", []),
    ],
)
def test_statements_end_at_semicolons_outside_literals_comments_and_blocks(
    script: str, statements: list[list[str]]
) -> None:
    assert split(script) == statements


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("SELECT 1;\nSELECT 'abc;", "line 2, column 8: this string literal is never closed (no ' after it)"),
        ("SELECT `a;", "line 1, column 8: this quoted identifier is never closed (no ` after it)"),
        ("SELECT 1; /* open", "line 1, column 11: this comment is never closed (no */ after it)"),
        (
            "SELECT 1;\n EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;",
            "statement 2 (line 2, column 2): EXECUTE STATEMENT SET BEGIN has no END: end the block with END;",
        ),
    ],
)
def test_an_unclosed_literal_comment_or_block_is_refused_with_its_position(script: str, error: str) -> None:
    found = split(script)
    assert isinstance(found, str)
    assert found.startswith(error)


def test_flinks_positions_in_a_statement_become_positions_in_the_script() -> None:
    # Flink parses one statement at a time and counts from its start.
    message = "SQL validation failed. From line 1, column 15 to line 2, column 4: Object 'x' not found"
    found = split("SELECT 1;\n\n  SELECT a\n  FROM x;", message)
    assert found == [
        ["1", "1", "SELECT 1", "SQL validation failed. From line 1, column 15 to line 2, column 4: Object 'x' not found"],
        ["3", "3", "SELECT a\\n  FROM x",
         "SQL validation failed. From line 3, column 17 to line 4, column 4: Object 'x' not found"],
    ]  # fmt: skip


# ------------------------------------------------------------------ the script and Flink's answer
def test_the_script_travels_as_one_base64_argument() -> None:
    script = "INSERT INTO t SELECT 'a b', \"q\", '--x' FROM s;\n-- ü\n"
    args = runner_args(script)
    assert args[0] == "--statements-base64"
    assert base64.b64decode(args[1]).decode() == script
    assert script_of(args) == script
    assert script_of(["--other", "x"]) is None


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("  \n ", "the SQL is empty: give the SQL statements to run (CREATE TABLE ...; INSERT INTO ...;)"),
        (
            "x" * (MAX_SQL_BYTES + 1),
            f"the SQL is {MAX_SQL_BYTES + 1} bytes, over the limit of {MAX_SQL_BYTES}: is it the right file? "
            "A SQL job's statements travel to Flink as a program argument",
        ),
    ],
)
def test_a_blank_or_oversized_script_is_refused(sql: str, message: str) -> None:
    with pytest.raises(SqlError) as info:
        sql_definition(sql)
    assert str(info.value) == message


def test_a_sql_job_is_the_pinned_runner_with_the_script() -> None:
    definition = sql_definition(SQL, parallelism=2, flink_config={"pipeline.name": "clicks"})
    assert definition.artifact.jar == str(RUNNER_JAR)
    assert definition.artifact.entry_class == RUNNER_CLASS
    assert definition.artifact.sha256 == RUNNER_JAR_SHA256
    assert definition.artifact.parallelism == 2
    assert script_of(definition.args) == SQL
    assert definition.flink_config == {"pipeline.name": "clicks"}


def test_reading_a_sql_file(tmp_path: Path) -> None:
    good = tmp_path / "q.sql"
    good.write_text(SQL, encoding="utf-8")
    assert read_sql(str(good)) == SQL
    (tmp_path / "latin1.sql").write_bytes("SELECT 'é'".encode("latin-1"))
    for location, message in (
        (tmp_path / "nope.sql", f"SQL file {tmp_path / 'nope.sql'} does not exist (on this worker)"),
        (
            tmp_path / "latin1.sql",
            f"SQL file {tmp_path / 'latin1.sql'} is not UTF-8 text (byte 8): save it as UTF-8",
        ),
    ):
        with pytest.raises(SqlError) as info:
            read_sql(str(location))
        assert str(info.value) == message


# What the runner says about the recorded script's bad statement, in Flink's answer to /jars/{id}/run
# (recorded from both versions, the parse error of tests/integration/test_sql.py's kind).
REFUSED = (
    'statement 3 (line 3, column 1): SQL parse failed. Encountered "clicks" at line 3, column 53. '
    'Was expecting one of: <EOF>, "EXCEPT", "FETCH", "FROM", "INTERSECT", "LIMIT", "OFFSET", '
)


def refused_answer(version: str) -> dict[str, Any]:
    answer: dict[str, Any] = recorded(f"flink-{version}-sql-runner-refused.json")
    return answer


@pytest.mark.parametrize("version", ["2.3.0", "1.20.5"])
def test_the_runners_refusal_is_read_from_flinks_answer(version: str) -> None:
    found = runner_error("\n".join(refused_answer(version)["errors"]))
    assert found is not None
    assert found.startswith(REFUSED)
    assert found.endswith(" more)")  # the parser's list of expected tokens, cut short
    assert runner_error("java.lang.NoClassDefFoundError: org/apache/flink/table/api/TableEnvironment") is None


# ------------------------------------------------------------------ the sql: form of a spec
def spec(**fields: Any) -> dict[str, Any]:
    return {"name": "clicks", **fields}


def problems_of(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    (tmp_path / "clicks.yaml").write_text(yaml.safe_dump(data))
    specs, problems = load_specs(tmp_path)
    assert specs == [] or not problems
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (spec(), "clicks.yaml: artifact: a deployment needs artifact (its jar), sql (its statements) or python (its program)"),
        (
            spec(sql={"statements": SQL}, artifact={"jar": "/j.jar"}),
            "clicks.yaml: artifact: a SQL deployment runs the provider's SQL runner jar: remove artifact",
        ),
        (
            spec(sql={"statements": SQL}, entry_class="x.Main"),
            "clicks.yaml: entry_class: a SQL deployment runs the provider's SQL runner: remove entry_class",
        ),
        (
            spec(sql={"statements": SQL}, args=["--x"]),
            "clicks.yaml: args: a SQL deployment's only argument is its SQL: remove args",
        ),
        (
            spec(sql={"statements": SQL, "file": "q.sql"}),
            "clicks.yaml: sql: give exactly one of statements (the SQL itself) and file (a SQL file)",
        ),
        (spec(sql={}), "clicks.yaml: sql: give exactly one of statements (the SQL itself) and file (a SQL file)"),
        (spec(sql={"statements": " \n"}), "clicks.yaml: sql: statements is empty: give the SQL statements to run"),
        (spec(sql={"file": "missing.sql"}), "clicks.yaml: sql.file: SQL file {folder}/missing.sql does not exist (on this worker)"),
    ],
)  # fmt: skip
def test_a_bad_sql_spec_gets_one_clear_problem(tmp_path: Path, data: dict[str, Any], problem: str) -> None:
    assert problems_of(tmp_path, data) == [problem.format(folder=tmp_path)]


def test_a_sql_file_is_read_beside_the_spec_and_its_content_is_in_the_hash(tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "clicks.sql").write_text(SQL)
    (tmp_path / "clicks.yaml").write_text(yaml.safe_dump(spec(sql={"file": "sql/clicks.sql"}, parallelism=2)))
    (loaded,), problems = load_specs(tmp_path)
    assert problems == []
    assert loaded.sql is not None
    assert loaded.sql.statements == SQL
    digest = sha256_of(RUNNER_JAR)
    inline = DeploymentSpec.model_validate(spec(sql={"statements": SQL}, parallelism=2))
    assert spec_hash(loaded, digest) == spec_hash(inline, digest)  # the content counts, not where it is
    (tmp_path / "sql" / "clicks.sql").write_text(SQL.replace("COUNT(*)", "COUNT(user_id)"))
    (changed,), _ = load_specs(tmp_path)
    assert spec_hash(changed, digest) != spec_hash(loaded, digest)


def test_a_sql_spec_runs_the_runner_and_round_trips_through_a_record() -> None:
    declared = DeploymentSpec.model_validate(
        spec(sql={"statements": SQL}, parallelism=3, flink_config={"a": "b"})
    )
    definition = declared.definition()
    assert definition.artifact.jar == str(RUNNER_JAR)
    assert definition.artifact.entry_class == RUNNER_CLASS
    assert definition.artifact.sha256 == RUNNER_JAR_SHA256
    assert definition.artifact.parallelism == 3
    assert script_of(definition.args) == SQL
    assert definition.flink_config == {
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "a": "b",
    }
    assert declared.artifact.jar == str(RUNNER_JAR)  # what the executor names the upload by
    # A record keeps the dump: the statements, not this installation's path of the runner, which a
    # rollback on another worker reads back as its own runner.
    dumped = json.loads(json.dumps(declared.model_dump(mode="json")))
    assert "artifact" not in dumped
    again = DeploymentSpec.model_validate(dumped)
    assert again == declared
    assert spec_hash(again, "d" * 64) == spec_hash(declared, "d" * 64)


def test_the_hash_covers_the_statements_and_a_jar_specs_hash_is_unchanged() -> None:
    one = DeploymentSpec.model_validate(spec(sql={"statements": SQL}))
    two = DeploymentSpec.model_validate(spec(sql={"statements": SQL + "-- a comment\n"}))
    assert spec_hash(one, "d" * 64) != spec_hash(two, "d" * 64)
    jar = DeploymentSpec.model_validate(
        spec(
            artifact={"jar": "/j.jar"},
            entry_class="x.Main",
            args=["--a", "1"],
            parallelism=2,
            flink_config={"k": "v"},
        )
    )
    # Computed before SQL deployments existed: a provider upgrade restarts no jar deployment.
    assert spec_hash(jar, "d" * 64) == "ba094ec6cead860355a7db4c8e7611b7a13c33ee406e10a230d948b90dd08484"
    assert "artifact" in jar.model_dump()


# ------------------------------------------------------------------ the operator
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            "FlinkSqlJobOperator needs exactly one of sql= (the statements, or a .sql template file) and "
            "sql_file= (a SQL file's absolute path or URI, read when the task runs); got neither",
        ),
        ({"sql": SQL, "sql_file": "/q.sql"}, "FlinkSqlJobOperator needs exactly one of sql="),
        (
            {"sql": SQL, "jar": "/j.jar", "entry_class": "x.Main"},
            "FlinkSqlJobOperator takes no jar, entry_class: it runs the provider's own SQL runner jar. Give the "
            "statements in sql= (or sql_file=), or use FlinkDeployJobOperator for a jar of your own",
        ),
    ],
)
def test_operator_arguments_are_checked_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"^FlinkSqlJobOperator ") as info:
        FlinkSqlJobOperator(task_id="sql", **kwargs)
    assert str(info.value).startswith(message)


def test_operator_templates_the_sql_and_reads_sql_template_files() -> None:
    op = FlinkSqlJobOperator(task_id="sql", sql="queries/clicks.sql")
    assert {"sql", "sql_file", "parallelism", "flink_config", "savepoint_path"} <= set(op.template_fields)
    assert "jar" not in op.template_fields
    assert tuple(op.template_ext) == (".sql",)


@pytest.fixture
def flink_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-sql.test")


@responses.activate
@pytest.mark.usefixtures("flink_conn")
def test_operator_submits_the_runner_with_the_rendered_sql() -> None:
    without_applications(URL)
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["not found"]})
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/7_runner.jar", "status": "success"})
    sent: list[dict[str, Any]] = []

    def run(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(json.loads(request.body))
        return 200, {}, json.dumps({"jobid": J})

    responses.add_callback(responses.POST, f"{URL}/jars/7_runner.jar/run", callback=run)
    op = FlinkSqlJobOperator(
        task_id="sql", sql=SQL, parallelism="2", job_id=J, wait_until_running=False, deferrable=False
    )
    assert op.execute(task_context()) == J
    (body,) = sent
    assert body["entryClass"] == RUNNER_CLASS
    assert body["parallelism"] == 2
    assert script_of(body["programArgsList"]) == SQL


@responses.activate
@pytest.mark.usefixtures("flink_conn")
def test_a_refused_statement_fails_the_task_with_flinks_message_and_its_position() -> None:
    without_applications(URL)
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/7_runner.jar", "status": "success"})
    responses.post(f"{URL}/jars/7_runner.jar/run", status=400, json=refused_answer("2.3.0"))
    store = MemoryTaskState()
    op = FlinkSqlJobOperator(task_id="sql", sql=SQL, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context(store))
    shown = str(info.value)
    assert shown.startswith(f"Flink refused the SQL, and no job was started: {REFUSED}")
    assert shown.endswith(" more). Fix the statement and run the task again")
    # After the refusal, nothing else was asked of Flink (no wait, no cancel).
    assert [c.request.method + " " + c.request.url.removeprefix(URL) for c in responses.calls][-1] == (
        "POST /jars/7_runner.jar/run"
    )


@responses.activate
@pytest.mark.usefixtures("flink_conn")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sql": " \n"}, "sql is empty: give the SQL statements to run (CREATE TABLE ...; INSERT INTO ...;)"),
        ({"sql_file": ""}, "sql_file rendered empty (''): give the SQL file's path or URI"),
        (
            {"sql_file": "queries/q.sql"},
            "sql_file 'queries/q.sql' is a relative path, which depends on the worker's directory: give an "
            "absolute path or a URI, or put the file beside the DAG and pass sql='<name>.sql'",
        ),
        ({"sql_file": "/nowhere/q.sql"}, "SQL file /nowhere/q.sql does not exist (on this worker)"),
    ],
)
def test_bad_sql_fails_before_any_call_to_flink(kwargs: dict[str, Any], message: str) -> None:
    op = FlinkSqlJobOperator(task_id="sql", deferrable=False, **kwargs)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == message
    assert len(responses.calls) == 0


def test_a_sql_template_file_beside_the_dag_is_read_and_rendered(tmp_path: Path) -> None:
    from airflow.sdk import DAG

    (tmp_path / "clicks.sql").write_text("INSERT INTO per_day SELECT '{{ params.day }}' FROM clicks;\n")
    with DAG("sql_template", schedule=None, template_searchpath=str(tmp_path)) as dag:
        op = FlinkSqlJobOperator(
            task_id="sql", sql="clicks.sql", flink_config={"pipeline.name": "{{ params.day }}"}
        )
    op.render_template_fields({"params": {"day": "mon"}}, jinja_env=dag.get_template_env())
    assert op.sql == "INSERT INTO per_day SELECT 'mon' FROM clicks;"  # Jinja drops the last newline
    assert op.flink_config == {"pipeline.name": "mon"}


def test_a_sql_file_by_absolute_path_or_uri(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(SQL)
    assert read_sql(f"file://{tmp_path / 'q.sql'}") == SQL  # any ObjectStoragePath URI
    with pytest.raises(SqlError) as info:
        read_sql(f"file://{tmp_path / 'nope.sql'}")
    assert str(info.value) == f"SQL file file://{tmp_path / 'nope.sql'} does not exist (on this worker)"
    folder = tmp_path / "deployments"
    folder.mkdir()
    (folder / "clicks.yaml").write_text(yaml.safe_dump(spec(sql={"file": str(tmp_path / "q.sql")})))
    (loaded,), problems = load_specs(folder)
    assert problems == []
    assert loaded.sql is not None
    assert loaded.sql.statements == SQL


def test_a_spec_whose_file_was_not_read_says_so_instead_of_running_nothing() -> None:
    # Only load_specs() reads a spec's file; a spec validated another way cannot run or be hashed.
    unread = DeploymentSpec.model_validate(spec(sql={"file": "clicks.sql"}))
    for use in (unread.definition, lambda: spec_hash(unread, "d" * 64)):
        with pytest.raises(SqlError) as info:
            use()
        assert str(info.value) == "sql.file clicks.sql was not read: load the spec with load_specs()"


def test_a_sql_file_that_is_a_folder_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SqlError) as info:
        read_sql(str(tmp_path))
    assert str(info.value) == f"SQL file {tmp_path} cannot be read: [Errno 21] Is a directory: '{tmp_path}'"


@responses.activate
@pytest.mark.usefixtures("flink_conn")
def test_a_failure_that_is_not_the_runners_refusal_is_not_dressed_as_one() -> None:
    without_applications(URL)
    from airflow_provider_flink.client import FlinkApiError

    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/7_runner.jar", "status": "success"})
    gone = "java.lang.NoClassDefFoundError: org/apache/flink/table/api/bridge/java/StreamTableEnvironment"
    responses.post(f"{URL}/jars/7_runner.jar/run", status=500, json={"errors": [gone]})
    op = FlinkSqlJobOperator(task_id="sql", sql=SQL, deferrable=False)
    with pytest.raises(FlinkApiError) as info:
        op.execute(task_context())
    assert str(info.value).endswith(f": {gone}.")
