"""Airflow as teams run it, on loopback: PostgreSQL, api-server, scheduler, dag-processor, triggerer.

``AirflowStack(home, dags, db_url).start()`` migrates the metadata DB and starts the four
components as separate processes (each in its own session, logs under ``home/logs/``), waits until
the api-server says all of them are healthy, and logs in through ``POST /auth/token`` (simple auth
manager, generated password). ``trigger()``, ``wait_run()`` and ``task_instances()`` use the public
REST API the way a user's tooling would; ``kill()``/``restart()`` act on one component by pid;
``stop()`` stops each component and whatever it started (process groups), also after failures.

Timings are tightened for tests, not changed in kind: a triggerer is taken for dead after 6 s
without a heartbeat (default 30 s), a task after 20 s (default 300 s), new DAG files are parsed
every 5 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from harness.flink_cluster import _alive, free_port

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
TERMINAL_RUN_STATES = {"success", "failed"}


@dataclass
class AirflowStack:
    home: Path
    dags: Path
    db_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    parallelism: int = 4
    port: int = 0
    pids: dict[str, int] = field(default_factory=dict)
    _token: str = field(default="", repr=False)
    _http: httpx.Client | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The components' environment: only this stack's settings, nothing from the caller's Airflow."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__WORKERS": "1",
                # One secret for every component: the workers' tokens are checked by the api-server.
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
                "AIRFLOW__API__SECRET_KEY": self._secret("api"),
                # An admin, and a viewer (may read, may not trigger): to test authorization.
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._port("worker-log")),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._port("trigger-log")),
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self._port("scheduler-health")),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            }
        )
        env.update(self.env_extra)
        return env

    _secrets: dict[str, str] = field(default_factory=dict, repr=False)
    _ports: dict[str, int] = field(default_factory=dict, repr=False)

    def _secret(self, name: str) -> str:
        return self._secrets.setdefault(name, secrets.token_urlsafe(32))

    def _port(self, name: str) -> int:
        return self._ports.setdefault(name, free_port())

    # ------------------------------------------------------------------ lifecycle
    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [AIRFLOW, *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def start(self, timeout: float = 180.0) -> AirflowStack:
        self.port = self.port or free_port()
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        try:
            for component in COMPONENTS:
                self.start_component(component)
            self.wait_healthy(timeout)
            self._login()
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, component: str) -> int:
        log = (self.home / "logs" / f"{component}.log").open("ab")
        process = subprocess.Popen(
            [AIRFLOW, component],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,  # its own process group: stop() reaches its workers too
        )
        self.pids[component] = process.pid
        return process.pid

    def kill(self, component: str, sig: int = signal.SIGKILL) -> None:
        """Kill one component and every process it started, as a crash would."""
        kill_tree(self.pids.pop(component), sig)

    def restart(self, component: str) -> int:
        return self.start_component(component)

    def stop(self, grace: float = 20.0) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        for component in reversed(COMPONENTS):
            pid = self.pids.pop(component, None)
            if pid is not None:
                kill_tree(pid, signal.SIGTERM, grace)

    def log_tail(self, component: str, chars: int = 3000) -> str:
        path = self.home / "logs" / f"{component}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for component, pid in self.pids.items():
                if not _alive(pid):
                    raise RuntimeError(f"airflow {component} exited at start: {self.log_tail(component)}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                last = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                parts = [
                    last.get(key, {}).get("status") for key in ("metadatabase", "scheduler", "triggerer")
                ]
                processor = last.get("dag_processor", {}).get("status")
                if all(status == "healthy" for status in parts) and processor == "healthy":
                    return
            time.sleep(0.5)
        raise RuntimeError(f"Airflow not healthy within {timeout:.0f} s: {last}")

    # ------------------------------------------------------------------ REST API
    def token(self, user: str = "admin") -> str:
        """A JWT for ``user`` (``admin`` or ``viewer``), from ``POST /auth/token``."""
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        answer = httpx.post(
            f"{self.url}/auth/token", json={"username": user, "password": passwords[user]}, timeout=30
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def _login(self) -> None:
        self._token = self.token("admin")
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {self._token}"}, timeout=30
        )

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self._http is not None, "start() the stack first"
        answer = self._http.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {answer.status_code}: {answer.text[:2000]}")
        return answer.json() if answer.content else None

    def wait_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Until the dag-processor has parsed ``dag_id``; then unpause it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
                return
            time.sleep(1)
        raise RuntimeError(
            f"DAG {dag_id} not parsed within {timeout:.0f} s: {self.log_tail('dag-processor')}"
        )

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        answer = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in TERMINAL_RUN_STATES:
                return state
            time.sleep(0.25)
        raise TimeoutError(
            f"run {run_id} of {dag_id} still {self.run_state(dag_id, run_id)} after {timeout:.0f} s: "
            f"{self.task_instances(dag_id, run_id)}"
        )

    def watch_states(self, dag_id: str, run_id: str, task_id: str, timeout: float = 180.0) -> Iterator[str]:
        """The task's state each time it changes, until the run ends."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            ti = self.task_instances(dag_id, run_id).get(task_id, {})
            if ti.get("state") != seen:
                seen = ti.get("state")
                yield str(seen)
            if self.run_state(dag_id, run_id) in TERMINAL_RUN_STATES:
                return
            time.sleep(0.2)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        answer = self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            headers={"Accept": "application/json"},
        )  # fmt: skip
        content = answer.get("content", "")
        if isinstance(content, list):
            return "\n".join(
                str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content
            )
        return str(content)


def kill_tree(pid: int, sig: int, grace: float = 0.0) -> None:
    """``sig`` to ``pid`` and all its descendants, SIGKILL to what is left after ``grace``.

    Descendants are collected first: task processes run in sessions of their own (a process group
    would miss them), and once their parent is gone they are no longer its children.
    """
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(sig)
    _, alive = psutil.wait_procs(family, timeout=grace or 5)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=10)


def parent_of(pid: int) -> int:
    return int(psutil.Process(pid).ppid())
