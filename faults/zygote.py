"""Reconcile runs forked from one process that has already imported Airflow and the provider.

A reconcile process spends about 3-4 s importing Airflow before it does anything; a trial runs
five or six of them. The zygote imports once, then forks a child per run: each child is still its
own process with its own environment, killed by SIGKILL at a crash point exactly like a fresh one,
leaving behind only what it wrote. The zygote is single-threaded, so forking it is safe.

Protocol (lines of JSON on stdin / stdout)::

    -> {"id": 1, "folder": ..., "records": ..., "out": ..., "env": {...}}   start a run
       ("records": a JSON file, or a database URL with "schema" and "lease_seconds": the SQL store)
    -> {"id": 2, "airflow": ["tasks", "test", ...], "out": ..., "env": {...}}  an Airflow command
    <- {"id": 1, "pid": 1234}                                             started
    <- {"id": 1, "exit": 0}                                               ended (-9: killed)

The child's pid is also written to ``out + ".pid"`` before "started" is said. ``FLINK_CAMPAIGN_ASKED``
takes any field of ``Asked``: ``suspend``, ``resume``, ``savepoint_now``, ``retry_failed``.

The child writes the run's report (JSON) to ``out``. An ``airflow`` request runs that Airflow CLI
command in the child instead, as ``airflow ...`` would (``tasks test``: a real task process with
its in-process supervisor, records in Airflow Variables, the task state store in the metadata DB);
what the task returns reaches ``out`` through the campaign DAG (``faults/dags/flink_campaign.py``).
"""

from __future__ import annotations

import json
import os
import select
import sys
from pathlib import Path
from typing import Any


def _child(request: dict[str, Any]) -> None:
    # The run's output goes to its own log: the zygote's stdout is the protocol pipe.
    log = os.open(request["out"] + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.clear()
    os.environ.update(request["env"])
    if "airflow" in request:
        from airflow.cli import cli_parser

        args = cli_parser.get_parser().parse_args(request["airflow"])
        args.func(args)
        return
    from airflow_provider_flink.deployments import Asked, reconcile
    from airflow_provider_flink.deployments.stores import RecordStore, SqlRecordStore
    from faults.once import FileRecordStore

    # What a person asked of this run ("suspend=name"): the Flink page's requests, as a conf gives them.
    what, _, names = request["env"].get("FLINK_CAMPAIGN_ASKED", "").partition("=")
    records = request["records"]
    store: RecordStore = (
        SqlRecordStore(records, schema=request.get("schema"), name="campaign")
        if "://" in records
        else FileRecordStore(Path(records))
    )
    report = reconcile(
        Path(request["folder"]),
        store,
        wait_for_health=request.get("wait_for_health", True),
        asked=Asked(**({what: frozenset(names.split(","))} if what else {})),
        lease_seconds=float(request.get("lease_seconds", 30.0)),
        run=request.get("run"),
    )
    Path(request["out"]).write_text(json.dumps(report.as_dict()))


def main() -> int:
    # The protocol gets the pipe; anything else printed (Airflow logs while importing) goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    # Import once, before any fork: what every run would otherwise import again.
    from airflow.api_fastapi.execution_api.app import create_task_execution_api_app  # noqa: F401
    from airflow.cli import cli_parser
    from airflow.cli.commands import dag_command, task_command  # noqa: F401

    import faults.once  # noqa: F401
    from airflow_provider_flink.deployments import reconcile  # noqa: F401
    from airflow_provider_flink.operators import FlinkReconcileOperator  # noqa: F401

    cli_parser.get_parser()

    running: dict[int, int] = {}  # pid -> request id
    stdin = sys.stdin.fileno()
    buffer = b""
    while True:
        readable, _, _ = select.select([stdin], [], [], 0.05)
        if readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return 0
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:  # the child: one reconcile run, then out without cleanup of the parent's
                    protocol.close()
                    code = 0
                    try:
                        _child(request)
                    except BaseException as err:  # reported as the run's failure, like a crashed process
                        print(f"reconcile run failed: {type(err).__name__}: {err}", file=sys.stderr)
                        code = 1
                    finally:
                        sys.stdout.flush()
                        sys.stderr.flush()
                        os._exit(code)
                running[pid] = request["id"]
                # The child's pid beside its report, before "started" is said: a caller that kills
                # runs at random moments (faults/histories) finds it there.
                Path(request["out"] + ".pid").write_text(str(pid))
                print(json.dumps({"id": request["id"], "pid": pid}), file=protocol, flush=True)
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                print(json.dumps({"id": running.pop(pid), "exit": code}), file=protocol, flush=True)


if __name__ == "__main__":
    sys.exit(main())
