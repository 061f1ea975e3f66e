"""Jar locations in one normal form, and the caps compared in that form (I6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_flink.exceptions import LimitError
from airflow_provider_flink.hooks.limits import ClusterLimits
from airflow_provider_flink.locations import beside, normalised, normalised_rule, without_dot_segments


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c", "/a/b/c"),
        ("/a/b/../c", "/a/c"),
        ("/a/./b", "/a/b"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/a//b", "/a//b"),  # an object key may hold "//": kept
        ("", "/"),
        ("/", "/"),
    ],
)
def test_dot_segments(path: str, expected: str) -> None:
    assert without_dot_segments(path) == expected


def test_local_paths_are_absolute_and_resolved(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (tmp_path / "outside").mkdir()
    (allowed / "link.jar").symlink_to(tmp_path / "outside" / "evil.jar")
    assert normalised(f"{allowed}/../outside/evil.jar") == str(tmp_path / "outside" / "evil.jar")
    assert normalised(f"{allowed}/link.jar") == str(tmp_path / "outside" / "evil.jar")
    assert normalised("~/x.jar") == os.path.realpath(Path.home() / "x.jar")
    assert normalised(f"file://{allowed}/../x.jar") == f"file://{tmp_path}/x.jar"
    assert normalised("https://u@h:1/a/../b.jar?q=1") == "https://u@h:1/b.jar?q=1"
    assert normalised("s3://bucket/jars/../../other/x.jar") == "s3://bucket/other/x.jar"


def test_a_relative_path_is_refused_without_a_folder() -> None:
    with pytest.raises(ValueError, match=r"^jar jobs/x.jar is a relative path: give an absolute path"):
        normalised("jobs/x.jar")


def test_beside_a_spec_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert beside("specs", "x.jar") == str(tmp_path / "specs" / "x.jar")
    assert beside("/specs", "/opt/x.jar") == "/opt/x.jar"
    assert beside("/specs", "s3://b/x.jar") == "s3://b/x.jar"
    assert beside("s3://b/specs/", "jars/x.jar") == "s3://b/specs/jars/x.jar"


def test_rules_keep_their_folder_slash() -> None:
    assert normalised_rule("/opt/jobs/") == "/opt/jobs/"
    assert normalised_rule("/opt/jobs/../jobs/*.jar") == "/opt/jobs/*.jar"
    assert normalised_rule("s3://platform-jars/") == "s3://platform-jars/"
    assert normalised_rule("platform") == "platform"


def _capped(*rules: str) -> ClusterLimits:
    return ClusterLimits.from_extra({"allowed_jar_sources": list(rules)})


def test_escapes_from_an_allowed_folder_are_refused(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "link.jar").symlink_to("/etc/passwd")
    limits = _capped(f"{allowed}/")
    assert limits.jar_allowed(f"{allowed}/job.jar")
    assert limits.jar_allowed(f"{allowed}/sub/../job.jar")
    for escape in (
        f"{allowed}/../../outside/evil.jar",
        f"{allowed}/../../../../../../etc/passwd",
        f"{allowed}/link.jar",
        f"{allowed}-other/job.jar",
        f"file://{allowed}/../evil.jar",
    ):
        assert not limits.jar_allowed(escape), escape
    with pytest.raises(LimitError) as info:
        limits.check("flink_capped", f"{allowed}/../evil.jar", None, 1)
    assert str(info.value) == (
        f"jar {allowed}/../evil.jar (that is {tmp_path}/evil.jar) is not from an allowed source of "
        f"connection flink_capped ({allowed}/)"
    )


def test_uri_and_glob_rules_compare_normal_forms(tmp_path: Path) -> None:
    s3 = _capped("s3://platform-jars/team-a/")
    assert s3.jar_allowed("s3://platform-jars/team-a/x.jar")
    assert not s3.jar_allowed("s3://platform-jars/team-a/../team-b/x.jar")
    assert not _capped("https://repo/jars/").jar_allowed("https://repo/jars/../private/x.jar")
    glob = _capped(f"{tmp_path}/*.jar")
    assert glob.jar_allowed(f"{tmp_path}/x.jar")
    assert not glob.jar_allowed(f"{tmp_path}/x.jar/../../y.jar")


def test_a_relative_jar_on_a_capped_connection_is_one_clear_error() -> None:
    with pytest.raises(LimitError, match=r"^jar x.jar is a relative path"):
        _capped("/opt/").check("c", "x.jar", None, 1)
