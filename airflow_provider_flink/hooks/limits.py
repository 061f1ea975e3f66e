"""Caps and policy a platform team puts on a Flink connection, checked before anything is deployed.

Connection extras (all optional):

* ``max_parallelism``: the largest parallelism a job on this cluster may ask for;
* ``allowed_jar_sources``: jar locations allowed, as prefixes or glob patterns
  (``["s3://platform-jars/", "/opt/flink/usrlib/*.jar"]``);
* ``allowed_entry_classes``: regular expressions an entry class must match in full
  (``["com\\\\.example\\\\..*"]``);
* ``require_verified_artifacts``: jars must have a pinned SHA-256 or a signature (see artifacts);
* ``max_artifact_bytes``: downloads of larger jars are aborted.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_flink.exceptions import LimitError
from airflow_provider_flink.locations import normalised, normalised_rule
from airflow_provider_flink.values import parse_bool

__all__ = ["ClusterLimits", "LimitError"]


def _as_list(value: Any) -> tuple[str, ...]:
    if value in (None, "", []):
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def _whole_number(extra: dict[str, Any], name: str) -> int | None:
    raw = extra.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise LimitError(f"Flink connection field {name!r} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class ClusterLimits:
    max_parallelism: int | None = None
    allowed_jar_sources: tuple[str, ...] = ()
    allowed_entry_classes: tuple[str, ...] = ()
    require_verified_artifacts: bool = False
    max_artifact_bytes: int | None = None

    @classmethod
    def from_connection(cls, conn: Any) -> ClusterLimits:
        return cls.from_extra(conn.extra_dejson)

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> ClusterLimits:
        try:
            verified = parse_bool(
                extra.get("require_verified_artifacts"), "Flink connection field 'require_verified_artifacts'"
            )
        except ValueError as err:
            raise LimitError(str(err)) from None
        return cls(
            _whole_number(extra, "max_parallelism"),
            _as_list(extra.get("allowed_jar_sources")),
            _as_list(extra.get("allowed_entry_classes")),
            verified,
            _whole_number(extra, "max_artifact_bytes"),
        )

    def check_parallelism(self, cluster: str, parallelism: int | None) -> None:
        """The cap on parallelism, for a deploy and for a rescale in place alike."""
        if self.max_parallelism is not None and (parallelism or 1) > self.max_parallelism:
            raise LimitError(
                f"parallelism {parallelism} is over the cap of {self.max_parallelism} set on connection {cluster}"
            )

    def check(
        self, cluster: str, jar: str, entry_class: str | None, parallelism: int | None, what: str = "jar"
    ) -> None:
        """The caps on a job, ``jar`` compared in its normal form (``..`` and symlinks resolved:
        artifacts.location), which is also the form that is read."""
        self.check_parallelism(cluster, parallelism)
        if self.allowed_jar_sources and not self.jar_allowed(jar):
            where = normalised(jar)
            shown = jar if where == jar else f"{jar} (that is {where})"
            raise LimitError(
                f"{what} {shown} is not from an allowed source of connection {cluster} "
                f"({', '.join(self.allowed_jar_sources)})"
            )
        if self.allowed_entry_classes:
            if not entry_class:
                raise LimitError(f"connection {cluster} allows only listed entry classes: give entry_class")
            if not any(re.fullmatch(rule, entry_class) for rule in self.allowed_entry_classes):
                raise LimitError(
                    f"entry class {entry_class} is not allowed on connection {cluster} "
                    f"(allowed: {', '.join(self.allowed_entry_classes)})"
                )

    def jar_allowed(self, jar: str) -> bool:
        try:
            where = normalised(jar)
            rules = [normalised_rule(rule) for rule in self.allowed_jar_sources]
        except ValueError as err:
            raise LimitError(str(err)) from None
        return any(where.startswith(rule) or fnmatch.fnmatchcase(where, rule) for rule in rules)
