"""OpenLineage events of Flink jobs, through Airflow's OpenLineage provider when it is installed.

Two kinds of lineage, both only while the provider (``apache-airflow-providers-openlineage``, the
``[openlineage]`` extra) is installed and not disabled:

- **the Airflow task's own events** (START, COMPLETE, FAIL), emitted by the OpenLineage listener:
  every Flink operator answers ``get_openlineage_facets_on_complete`` with the Flink job's inputs and
  outputs and a ``flink`` run facet (job id, name, state, the job's page in the Flink UI);
- **the Flink job as a run of its own** (its OpenLineage run id is its Flink job id as a UUID), a
  child of the Airflow task run that started it (``parent`` run facet, with the DAG run as root):
  START when it runs, COMPLETE / ABORT / FAIL when a task saw it end. Its OpenLineage job is named
  after the deployment key (``flink.<key>``, the reconcile's ``flink.<deployment>``) or the task
  (``<dag_id>.<task_id>.flink``), so every run of one deployment is a run of one OpenLineage job.

The job's configuration gets the same names and the parent run (:func:`parent_config`), so a
cluster whose OpenLineage Flink listener reads ``openlineage.*`` options names its own events alike.

Lineage never fails a task: an event that cannot be built or sent is logged and skipped.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from airflow_provider_flink import __version__
from airflow_provider_flink.lineage.datasets import Dataset, JobEndpoints, redacted_sql

log = logging.getLogger(__name__)

# Only the provider's configuration is imported here (2 ms): its events, facets, macros and
# listener (0.6 s, most of a DAG file's parse) when a task first sends or names something. Every
# parse of a DAG that imports the operators pays for what is imported here.
try:
    from airflow.providers.openlineage import conf as _ol_conf

    INSTALLED = importlib.util.find_spec("openlineage.client") is not None
except ImportError:  # the provider works without lineage; the extra brings it
    INSTALLED = False

__all__ = [
    "INSTALLED",
    "FlinkRun",
    "TaskRun",
    "active",
    "emit_runs",
    "flink_job_name",
    "job_name_in",
    "operator_lineage",
    "parent_config",
    "run_id_of",
    "task_run",
]

# Who made the events of Flink runs (the task's own events are the OpenLineage provider's).
PRODUCER = f"https://pypi.org/project/airflow-provider-flink/{__version__}/"

# The global job parameter that names a job's OpenLineage job (beside the ``airflow.*`` origin), so
# a task that did not start it (a stop, a cancel) sends its end under the same name.
LINEAGE_JOB_PARAM = "airflow.openlineage-job"
DEPLOYMENT_PARAM = "airflow.deployment"  # a reconcile's job: its OpenLineage job is flink.<deployment>

# The states a Flink job ends in, as an OpenLineage run's end.
END_EVENTS = {"FINISHED": "COMPLETE", "CANCELED": "ABORT", "FAILED": "FAIL"}
STOPPED = "COMPLETE"  # a job stopped with a savepoint (FINISHED, or CANCELED on old Flinks)


def active() -> bool:
    """The OpenLineage provider is installed and enabled (a transport is configured)."""
    if not INSTALLED:
        return False
    try:
        return not _ol_conf.is_disabled()
    except Exception as err:  # a broken configuration is the lineage's problem, not the task's
        log.warning("OpenLineage configuration unreadable, no lineage: %s", err)
        return False


@dataclass(frozen=True)
class TaskRun:
    """The Airflow task run that acts on a Flink job: the Flink run's parent (the DAG run its root)."""

    namespace: str
    job_name: str
    run_id: str
    root_namespace: str
    root_job_name: str
    root_run_id: str


def get_openlineage_listener() -> Any:
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener as listener

    return listener()


def task_run(context: Any) -> TaskRun | None:
    """This task run as OpenLineage names it (the provider's own macros); None without lineage."""
    ti = context.get("ti") if context else None
    if ti is None or not active():
        return None
    try:
        from airflow.providers.openlineage.plugins import macros as _macros

        return TaskRun(
            namespace=str(_ol_conf.namespace()),
            job_name=str(_macros.lineage_job_name(ti)),
            run_id=str(_macros.lineage_run_id(ti)),
            # The DAG run, or what its conf names as its own root (a run another system started)
            root_namespace=str(_macros.lineage_root_job_namespace(ti)),
            root_job_name=str(_macros.lineage_root_job_name(ti)),
            root_run_id=str(_macros.lineage_root_run_id(ti)),
        )
    except Exception as err:
        log.warning("Cannot name this task run for OpenLineage, no lineage: %s", err)
        return None


def flink_job_name(parent: TaskRun, key: str | None = None) -> str:
    """The OpenLineage job of the Flink jobs a task starts: ``flink.<key>`` for a deployment key or
    deployment (every run of it one job), else ``<dag_id>.<task_id>.flink``."""
    return f"flink.{key}" if key else f"{parent.job_name}.flink"


def job_name_in(parameters: Mapping[str, str]) -> str | None:
    """The OpenLineage job a job's global parameters name (None: a job started without lineage)."""
    if parameters.get(LINEAGE_JOB_PARAM):
        return parameters[LINEAGE_JOB_PARAM]
    return f"flink.{parameters[DEPLOYMENT_PARAM]}" if parameters.get(DEPLOYMENT_PARAM) else None


def parent_config(parent: TaskRun, job_name: str) -> dict[str, str]:
    """``openlineage.*`` options for the job's configuration: its OpenLineage job (what the
    OpenLineage Flink listener names its events by) and its parent and root runs (the names the
    Spark integration reads, under Flink's ``openlineage.`` prefix). Nothing secret: no transport."""
    return {
        "openlineage.job.namespace": parent.namespace,
        "openlineage.job.name": job_name,
        "openlineage.parentJobNamespace": parent.namespace,
        "openlineage.parentJobName": parent.job_name,
        "openlineage.parentRunId": parent.run_id,
        "openlineage.rootParentJobNamespace": parent.root_namespace,
        "openlineage.rootParentJobName": parent.root_job_name,
        "openlineage.rootParentRunId": parent.root_run_id,
    }


def with_parent_config(config: Mapping[str, Any], parent: TaskRun | None, job_name: str) -> dict[str, Any]:
    """``config`` with :func:`parent_config` added; an ``openlineage.*`` option given wins."""
    merged = dict(config)
    if parent is not None:
        for key, value in parent_config(parent, job_name).items():
            merged.setdefault(key, value)
    return merged


def run_id_of(job_id: str) -> str:
    """The Flink job's OpenLineage run id: its 32-hex job id as a UUID (the same from any task)."""
    return str(uuid.UUID(hex=job_id))


@dataclass(frozen=True)
class FlinkRun:
    """What events say about one Flink job (plain values: built where the job was seen)."""

    job_id: str
    job_name: str  # the OpenLineage job (flink_job_name)
    flink_name: str  # the name Flink shows
    state: str
    url: str  # its page in the Flink UI
    cluster: str  # the connection id
    processing: str = "STREAMING"  # or BATCH
    endpoints: JobEndpoints = field(default_factory=JobEndpoints)
    sql: str | None = None
    savepoint: str | None = None  # a savepoint a task took or restored


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@functools.cache
def _facet_type() -> Any:
    """The ``flink`` run facet's class (made on first use: its base is OpenLineage's)."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class FlinkJobRunFacet(RunFacet):
        """The Flink job behind a run: id, name, state, cluster and its page in the Flink UI."""

        jobId: str
        jobName: str
        state: str
        cluster: str
        url: str
        savepoint: str | None = attr.field(default=None)
        unnamedSources: list[str] = attr.field(factory=list)
        unnamedSinks: list[str] = attr.field(factory=list)
        _additional_skip_redact: ClassVar[list[str]] = ["jobId", "url", "cluster"]

        @staticmethod
        def _get_schema() -> str:
            return "urn:airflow-provider-flink:facets:FlinkJobRunFacet:1"

    return FlinkJobRunFacet


def _flink_facet(run: FlinkRun) -> Any:
    return _facet_type()(
        jobId=run.job_id,
        jobName=run.flink_name,
        state=run.state,
        cluster=run.cluster,
        url=run.url,
        savepoint=run.savepoint,
        unnamedSources=list(run.endpoints.unnamed_sources),
        unnamedSinks=list(run.endpoints.unnamed_sinks),
    )


def _inputs(datasets: Iterable[Dataset]) -> list[Any]:
    from openlineage.client.event_v2 import InputDataset

    return [InputDataset(namespace=d.namespace, name=d.name) for d in dict.fromkeys(datasets)]


def _outputs(datasets: Iterable[Dataset]) -> list[Any]:
    from openlineage.client.event_v2 import OutputDataset

    return [OutputDataset(namespace=d.namespace, name=d.name) for d in dict.fromkeys(datasets)]


def flink_event(run: FlinkRun, event_type: str, parent: TaskRun | None, namespace: str) -> Any:
    """One event of the Flink job's own run; ``parent`` None: an event from a task that did not
    start it (a stop): the run keeps the parent its START gave it."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import external_query_run, job_type_job, parent_run, sql_job

    run_facets: dict[str, Any] = {
        "flink": _flink_facet(run),
        "externalQuery": external_query_run.ExternalQueryRunFacet(
            externalQueryId=run.job_id, source=run.cluster
        ),
    }
    if parent is not None:
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent.run_id),
            job=parent_run.Job(namespace=parent.namespace, name=parent.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=parent.root_run_id),
                job=parent_run.RootJob(namespace=parent.root_namespace, name=parent.root_job_name),
            ),
        )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType=run.processing, integration="FLINK", jobType="JOB"
        )
    }
    if run.sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=redacted_sql(run.sql))
    return RunEvent(
        eventType=RunState(event_type),
        eventTime=_now(),
        run=Run(runId=run_id_of(run.job_id), facets=run_facets),
        job=Job(namespace=namespace, name=run.job_name, facets=job_facets),
        inputs=_inputs(run.endpoints.inputs),
        outputs=_outputs(run.endpoints.outputs),
        producer=PRODUCER,
    )


def emit_runs(
    runs: Sequence[tuple[FlinkRun, str]], parent: TaskRun | None, started_by_parent: bool = True
) -> None:
    """Send each ``(run, event type)`` as an event of the Flink run (best effort, never raises).
    ``started_by_parent``: the task that emits is the one that started the runs (their parent)."""
    if not runs or not active():
        return
    try:
        adapter = get_openlineage_listener().adapter
        namespace = parent.namespace if parent is not None else str(_ol_conf.namespace())
        for run, event_type in runs:
            adapter.emit(flink_event(run, event_type, parent if started_by_parent else None, namespace))
    except Exception as err:
        log.warning("OpenLineage events of Flink jobs not sent: %s", err)


def operator_lineage(
    runs: Sequence[FlinkRun],
    inputs: Iterable[Dataset] = (),
    outputs: Iterable[Dataset] = (),
    job_datasets: bool = True,
) -> Any:
    """The task's own lineage (``get_openlineage_facets_on_complete``): the datasets of the jobs it
    started (``job_datasets``; a stop or a savepoint moves none of their data) and ``inputs`` /
    ``outputs`` of its own (a savepoint), the first job's ``flink`` facet."""
    if not INSTALLED:
        return None
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.facet_v2 import external_query_run, sql_job

    run_facets: dict[str, Any] = {}
    if runs:
        run_facets["flink"] = _flink_facet(runs[0])
        run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
            externalQueryId=runs[0].job_id, source=runs[0].cluster
        )
    job_facets: dict[str, Any] = {}
    sqls = [run.sql for run in runs if run.sql]
    if sqls:
        job_facets["sql"] = sql_job.SQLJobFacet(query=redacted_sql(sqls[0]))
    return OperatorLineage(
        inputs=_inputs([*(d for run in runs if job_datasets for d in run.endpoints.inputs), *inputs]),
        outputs=_outputs([*(d for run in runs if job_datasets for d in run.endpoints.outputs), *outputs]),
        run_facets=run_facets,
        job_facets=job_facets,
    )
