"""Deployment spec files: validation errors per file and field, the canonical hash, the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_flink.deployments.records import record_key
from airflow_provider_flink.deployments.spec import DeploymentSpec, json_schema, load_specs, spec_hash
from airflow_provider_flink.deployments.stores import MemoryRecordStore

ROOT = Path(__file__).resolve().parents[2]
GOOD = "name: orders\nartifact: {jar: /j.jar}\nentry_class: x.Main\nparallelism: 2\n"


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_one_error_per_problem_naming_file_and_field(tmp_path: Path) -> None:
    write(tmp_path, "a-good.yaml", GOOD)
    write(
        tmp_path,
        "b-bad.yaml",
        "name: Bad Name\nartifact: {jar: /j.jar, sha256: nothex}\nparallelism: zero\n"
        "upgrade_mode: yolo\nsavepoint_policy: {keep_last: 0}\n",
    )
    write(tmp_path, "c-broken.json", "{not json")
    write(tmp_path, "d-list.yaml", "- name: x\n")
    write(tmp_path, "e-other.yml", GOOD.replace("orders", "billing"))
    write(tmp_path, "notes.txt", "ignored")
    specs, problems = load_specs(tmp_path)
    assert [s.name for s in specs] == ["orders", "billing"]
    texts = [str(p) for p in problems]
    assert texts[:5] == [
        "b-bad.yaml: name: String should match pattern '^[a-z0-9][a-z0-9._-]{0,62}$'",
        "b-bad.yaml: artifact.sha256: String should match pattern '^[0-9a-f]{64}$'",
        "b-bad.yaml: parallelism: Input should be a valid integer, unable to parse string as an integer",
        "b-bad.yaml: upgrade_mode: Input should be 'stateless', 'savepoint' or 'last-state'",
        "b-bad.yaml: savepoint_policy.keep_last: Input should be greater than or equal to 1",
    ]
    assert texts[5].startswith("c-broken.json: (file): cannot be read as JSON: ")
    assert texts[6] == "d-list.yaml: (file): must hold one deployment (a mapping of fields)"
    assert len(texts) == 7


@pytest.mark.parametrize("names", [("a.yaml", "b.yaml"), ("z.yaml", "b.yaml")])
def test_a_name_declared_twice_applies_neither(tmp_path: Path, names: tuple[str, str]) -> None:
    """Which declaration wins must not depend on the files' names (a rename would switch the job)."""
    write(tmp_path, names[0], GOOD)
    write(tmp_path, names[1], GOOD.replace("parallelism: 2", "parallelism: 3"))
    write(tmp_path, "c.yaml", GOOD.replace("orders", "billing"))
    specs, problems = load_specs(tmp_path)
    assert [s.name for s in specs] == ["billing"]
    first, second = sorted(names)
    assert [str(p) for p in problems] == [
        f"{first}, {second}: name: 'orders' is declared in 2 files: none of them is applied and its running "
        "job is left as it is until one declaration remains (rename or remove the others)"
    ]


def test_an_oversize_file_is_refused_unread(tmp_path: Path) -> None:
    args = "".join(f"  - '{i:07d}'\n" for i in range(260_000))
    write(tmp_path, "huge.yaml", GOOD + "args:\n" + args)
    write(tmp_path, "good.yaml", GOOD.replace("orders", "billing"))
    specs, problems = load_specs(tmp_path)
    assert [s.name for s in specs] == ["billing"]
    assert [str(p) for p in problems] == [
        "huge.yaml: (file): is larger than 1048576 bytes, the limit of a deployment file: a deployment needs "
        "a few kB (put large inputs in a file the job reads)"
    ]


def test_too_many_arguments_are_refused_by_field(tmp_path: Path) -> None:
    write(tmp_path, "many.yaml", GOOD + "args: [" + ", ".join(["x"] * 1001) + "]\n")
    write(tmp_path, "long.yaml", GOOD.replace("orders", "long") + f"args: [{'y' * 300_000}]\n")
    write(tmp_path, "fine.yaml", GOOD.replace("orders", "fine") + "args: [" + ", ".join(["x"] * 1000) + "]\n")
    specs, problems = load_specs(tmp_path)
    assert [s.name for s in specs] == ["fine"]
    assert [str(p) for p in problems] == [
        "long.yaml: args: 1 arguments of 300000 characters, over the limit of 1000 arguments and 262144 "
        "characters: let the job read large input from a file",
        "many.yaml: args: 1001 arguments of 1001 characters, over the limit of 1000 arguments and 262144 "
        "characters: let the job read large input from a file",
    ]


def test_a_relative_jar_is_the_one_beside_the_spec_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    write(folder, "rel.yaml", GOOD.replace("/j.jar", "jobs/orders.jar") + "")
    write(folder, "abs.yaml", GOOD.replace("orders", "abs"))
    write(folder, "uri.yaml", GOOD.replace("orders", "uri").replace("/j.jar", "s3://b/j.jar"))
    monkeypatch.chdir(tmp_path)
    specs, _ = load_specs(Path("specs"))
    jars = {s.name: s.artifact.jar for s in specs}
    assert jars == {"abs": "/j.jar", "orders": str(folder / "jobs/orders.jar"), "uri": "s3://b/j.jar"}
    # the hash holds the jar's digest, not its path
    rel = next(s for s in specs if s.name == "orders")
    declared = DeploymentSpec.model_validate({**rel.model_dump(), "artifact": {"jar": "jobs/orders.jar"}})
    assert spec_hash(rel, "d") == spec_hash(declared, "d")


def test_missing_folder_is_one_problem(tmp_path: Path) -> None:
    specs, problems = load_specs(tmp_path / "nope")
    assert specs == []
    assert [str(p) for p in problems] == [f"{tmp_path / 'nope'}: (folder): does not exist or is not a folder"]


def test_hash_changes_only_with_what_the_job_is_made_of() -> None:
    base = DeploymentSpec.model_validate(
        {"name": "o", "artifact": {"jar": "/j"}, "flink_config": {"a": 1, "b": True}}
    )
    same_config_other_order = base.model_copy(update={"flink_config": {"b": "true", "a": "1"}})
    assert spec_hash(base, "d1") == spec_hash(same_config_other_order, "d1")
    for harmless in (
        {"savepoint_policy": {"keep_last": 9}},
        {"state": "suspended"},
        {"upgrade_mode": "stateless"},
        {"restart_policy": {"max_restarts": 0}},
        {"health_timeout_seconds": 5},
    ):
        other = DeploymentSpec.model_validate({**base.model_dump(), **harmless})
        assert spec_hash(other, "d1") == spec_hash(base, "d1"), harmless
    for change in (
        {"parallelism": 2},
        {"args": ["--x"]},
        {"entry_class": "y.Main"},
        {"flink_config": {"a": "2"}},
    ):
        other = DeploymentSpec.model_validate({**base.model_dump(), **change})
        assert spec_hash(other, "d1") != spec_hash(base, "d1"), change
    assert spec_hash(base, "d2") != spec_hash(base, "d1")  # a new artifact


def test_published_schema_is_current() -> None:
    published = json.loads((ROOT / "docs" / "deployment.schema.json").read_text())
    assert published == json_schema(), (
        "regenerate: python -m airflow_provider_flink.deployments.schema > docs/deployment.schema.json"
    )


def test_unreadable_record_is_rebuilt_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryRecordStore()
    store.raw[record_key("c", "orders")] = "{broken"
    assert store.get("c", "orders") is None
    assert "Record of deployment orders on c is unreadable" in caplog.text
    store.raw[record_key("c", "orders")] = json.dumps({"name": "orders"})  # missing fields
    assert store.get("c", "orders") is None


def test_spec_files_are_read_with_libyaml_and_only_its_safe_subset() -> None:
    """Parsing 10,000 files with the pure-Python loader took most of a reconcile run."""
    import yaml

    from airflow_provider_flink.deployments.spec import YAML_LOADER, parse_spec_text

    assert YAML_LOADER is yaml.CSafeLoader  # PyYAML's wheels are built with libyaml
    spec, problems = parse_spec_text("evil.yaml", "!!python/object/apply:os.system ['true']\n")
    assert spec is None
    assert [(p.file, p.field) for p in problems] == [("evil.yaml", "(file)")]
    assert problems[0].message.startswith("cannot be read as YAML: could not determine a constructor")
