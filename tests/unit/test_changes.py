"""What changed in a deployments folder (``deployments.changes``), on real files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.deployments.changes import FolderState, compare, jar_version, look
from airflow_provider_flink.deployments.spec import is_spec_file, spec_folder


def write_spec(folder: Path, file: str, name: str, jar: Path | str, **fields: object) -> None:
    spec = {"name": name, "artifact": {"jar": str(jar)}, "entry_class": "a.B", **fields}
    (folder / file).write_text(yaml.safe_dump(spec))


def test_editors_files_are_not_deployment_files() -> None:
    assert is_spec_file("orders.yaml")
    assert is_spec_file("orders.json")
    for name in (
        ".orders.yaml.swp",
        ".#orders.yaml",
        "orders.yaml~",
        "#orders.yaml#",
        ".orders.yaml",
        "x.txt",
    ):
        assert not is_spec_file(name), name


def test_edits_name_the_deployments_they_touch(tmp_path: Path) -> None:
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"v1")
    write_spec(tmp_path, "orders.yaml", "orders", jar)
    write_spec(tmp_path, "clicks.yaml", "clicks", jar)
    before = look(tmp_path)
    assert compare(before, look(tmp_path)) is None  # nothing changed: nothing to do

    write_spec(tmp_path, "orders.yaml", "orders", jar, parallelism=2)
    write_spec(tmp_path, "payments.yaml", "payments", "s3://jobs/payments.jar")
    (tmp_path / ".orders.yaml.swp").write_text("editor state")
    change = compare(before, look(tmp_path))
    assert change is not None
    assert change.deployments == ("orders", "payments")
    assert change.files == ("orders.yaml", "payments.yaml")
    assert change.invalid == ()


def test_a_removed_or_renamed_deployment_is_named_under_both_names(tmp_path: Path) -> None:
    write_spec(tmp_path, "a.yaml", "orders", "/jobs/a.jar")
    write_spec(tmp_path, "b.yaml", "clicks", "/jobs/a.jar")
    before = look(tmp_path)
    (tmp_path / "b.yaml").unlink()
    write_spec(tmp_path, "a.yaml", "orders-v2", "/jobs/a.jar")
    change = compare(before, look(tmp_path))
    assert change is not None
    assert change.deployments == ("clicks", "orders", "orders-v2")


def test_a_file_that_does_not_parse_is_invalid_not_guessed(tmp_path: Path) -> None:
    write_spec(tmp_path, "orders.yaml", "orders", "/jobs/a.jar")
    before = look(tmp_path)
    (tmp_path / "orders.yaml").write_text("name: orders\nartifact: {jar: /jobs/a.jar\n")  # half written
    change = compare(before, look(tmp_path))
    assert change is not None
    assert change.invalid == ("orders.yaml",)
    assert change.deployments == ("orders",)  # the deployment the file declared until now


def test_a_jar_replaced_in_place_names_the_deployments_that_run_it(tmp_path: Path) -> None:
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"v1")
    write_spec(tmp_path, "orders.yaml", "orders", jar)
    write_spec(tmp_path, "clicks.yaml", "clicks", tmp_path / "other.jar")
    before = look(tmp_path)
    jar.write_bytes(b"v2 is longer")
    os.utime(jar, ns=(1, 10**18))
    change = compare(before, look(tmp_path))
    assert change is not None
    assert change.deployments == ("orders",)
    assert change.jars == (str(jar),)
    assert change.files == ()


def test_the_state_round_trips_as_plain_json(tmp_path: Path) -> None:
    write_spec(tmp_path, "orders.yaml", "orders", tmp_path / "job.jar")
    (tmp_path / "broken.json").write_text("{")
    state = look(tmp_path)
    assert FolderState.from_dict(state.as_dict()) == state
    assert state.jars == {str(tmp_path / "job.jar"): ""}  # missing jar: no version


def test_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert look(tmp_path / "nope") == FolderState()


def test_object_storage_folders_are_read_the_same_way(tmp_path: Path) -> None:
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"v1")
    write_spec(tmp_path, "orders.yaml", "orders", f"file://{jar}")
    local, remote = look(tmp_path), look(spec_folder(f"file://{tmp_path}"))
    assert remote.files == local.files
    assert jar_version(f"file://{jar}") != ""
    assert jar_version("https://example.test/job.jar") == ""  # not watched


def test_a_sql_deployments_statements_file_edited_names_the_deployment(tmp_path: Path) -> None:
    (tmp_path / "clicks.sql").write_text("INSERT INTO sink SELECT * FROM src;")
    (tmp_path / "clicks.yaml").write_text(yaml.safe_dump({"name": "clicks", "sql": {"file": "clicks.sql"}}))
    before = look(tmp_path)
    (tmp_path / "clicks.sql").write_text("INSERT INTO sink SELECT id, n FROM src;")
    os.utime(tmp_path / "clicks.sql", ns=(1, 10**18))
    change = compare(before, look(tmp_path))
    assert change is not None
    assert (change.deployments, change.jars, change.files) == (
        ("clicks",),
        (str(tmp_path / "clicks.sql"),),
        (),
    )


@pytest.mark.parametrize("python", [{"file": "orders.py"}, {"module": "orders", "files": ["orders.py"]}])
def test_a_python_deployments_entry_file_edited_names_the_deployment(
    tmp_path: Path, python: dict[str, Any]
) -> None:
    (tmp_path / "orders.py").write_text("print(1)\n")
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump({"name": "orders", "python": python}))
    before = look(tmp_path)
    (tmp_path / "orders.py").write_text("print(2)\n")
    os.utime(tmp_path / "orders.py", ns=(1, 10**18))
    change = compare(before, look(tmp_path))
    assert change is not None
    assert (change.deployments, change.jars, change.files) == (
        ("orders",),
        (str(tmp_path / "orders.py"),),
        (),
    )
