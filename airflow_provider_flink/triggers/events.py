"""The wait event: what every wait ends with, deferred or in-process, for operators, sensors and
the reconcile executor alike.

A trigger yields it as a plain dict (:meth:`WaitEvent.payload`), because Airflow stores trigger
events as JSON; whoever resumes reads it back with :meth:`WaitEvent.from_payload`, so nobody
indexes an untyped dict. ``checked`` turns anything but success into one clear error.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.exceptions import FlinkOperatorError

UNKNOWN = JobState.UNKNOWN.value  # nothing observed yet: the state of a wait that saw nothing


class WaitEvent(BaseModel):
    """How a wait ended: ``success``, ``failed`` (Flink said so) or ``timeout`` (the deadline passed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["success", "failed", "timeout"]
    message: str
    state: str = UNKNOWN
    job_id: str | None = None
    trigger_id: str | None = None
    location: str | None = None  # a savepoint's location
    path: str | None = None  # the savepoint a disposal was for
    root_cause: str | None = None  # a FAILED job's root cause, from Flink
    taskmanagers: int | None = None
    free_slots: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def payload(self) -> dict[str, Any]:
        """Plain JSON values for ``TriggerEvent``."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def from_payload(cls, event: Any, task: str) -> WaitEvent:
        """The event a task resumed with; anything unreadable is a loud error, never a guess."""
        if isinstance(event, WaitEvent):
            return event
        if not isinstance(event, dict) or "status" not in event:
            raise FlinkOperatorError(
                f"{task} resumed with no usable trigger event ({event!r}); cannot tell the outcome"
            )
        if event["status"] not in ("success", "failed", "timeout"):
            raise FlinkOperatorError(
                f"{task} resumed with an unknown event status {event['status']!r}: {event}"
            )
        # An event written by an older provider version (a trigger deferred across an upgrade) may
        # hold fields this version does not know: they are dropped, never an error.
        known = {key: value for key, value in event.items() if key in cls.model_fields}
        try:
            return cls.model_validate({"message": "", **known})
        except ValidationError as err:
            raise FlinkOperatorError(f"{task} resumed with an unreadable event {event!r}: {err}") from None

    @classmethod
    def checked(cls, event: Any, task: str) -> WaitEvent:
        """The event of a wait that reached its goal; a failure or time-out raises its own message."""
        read = cls.from_payload(event, task)
        if not read.ok:
            raise FlinkOperatorError(read.message or str(event))
        return read
