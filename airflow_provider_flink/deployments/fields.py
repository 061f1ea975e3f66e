"""The fields a deployment's job is made of, and how a declared spec differs from an applied one
in them ("parallelism: 2 -> 1 (declared)"): for the Flink page (deployments/drift.py) and for a
person asked to approve an upgrade (deployments/approvals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_flink.deployments.spec import DeploymentSpec

# The fields a job is made of: a change to one needs a new job (or a rescale), and shows as drift
# until it is applied. The others (policies, windows, the desired state) apply without touching
# the job. tests/unit/test_drift.py checks that each of these changes the spec hash.
JOB_FIELDS = ("artifact", "sql", "python", "entry_class", "args", "parallelism", "flink_config")
SHOWN_CHARS = 60  # a value longer than this (SQL statements, a long argument list) is cut


@dataclass(frozen=True)
class FieldChange:
    """One job field the declared spec changes: ``applied`` is what the job runs (None: absent)."""

    field: str
    applied: Any
    declared: Any

    @property
    def text(self) -> str:
        return f"{self.field}: {_show(self.applied)} -> {_show(self.declared)} (declared)"


def _show(value: Any) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def field_changes(declared: DeploymentSpec, applied: dict[str, Any] | None) -> list[FieldChange]:
    """The job fields in which ``declared`` differs from the ``applied`` spec (a record's dump);
    a mapping (the artifact, the Flink configuration) is compared key by key. None: the applied
    spec's fields are not known (a job adopted from an earlier run): no field is named."""
    if applied is None:
        return []
    now = declared.model_dump(mode="json")
    changes: list[FieldChange] = []
    for name in JOB_FIELDS:
        before, after = applied.get(name), now.get(name)
        if isinstance(before, dict) or isinstance(after, dict):
            old, new = before or {}, after or {}
            changes += [
                FieldChange(f"{name}.{key}", old.get(key), new.get(key))
                for key in sorted({*old, *new})
                if old.get(key) != new.get(key)
            ]
        elif before != after:
            changes.append(FieldChange(name, before, after))
    return changes
