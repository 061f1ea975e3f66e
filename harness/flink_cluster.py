"""A real Flink session cluster on loopback, from the PyPI Flink libraries and Java.

Tests, benchmarks and the demo all start Flink through this module. It installs
``apache-flink-libraries`` (the jars) plus ``apache-flink --no-deps`` (conf and the ``flink``
CLI) into a per-version cache, writes a loopback-only config with free ports, launches one
JobManager and one TaskManager JVM directly (about 3x faster than Flink's shell scripts) and
stops them by pid. No Airflow and no provider import: it only needs the standard library.

Command line::

    python -m harness.flink_cluster start --version 2.3.0 --dir .run/flink-2.3.0
    python -m harness.flink_cluster status --dir .run/flink-2.3.0
    python -m harness.flink_cluster stop --dir .run/flink-2.3.0
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "2.3.0"
SUPPORTED_VERSIONS = ("2.3.0", "1.20.5")
CACHE_ROOT = Path(os.environ.get("FLINK_PROVIDER_CACHE", Path.home() / ".cache" / "airflow-provider-flink"))
STATE_FILE = "cluster.json"
# The entry class that runs a Python program (``-py FILE`` / ``-pym MODULE``) from any uploaded jar.
PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"

JAVA_HELP = (
    "Java 17 or newer is needed to run the local Flink cluster (and javac to build the test jobs), "
    "but {problem}. Install a JDK, e.g. on Debian/Ubuntu: "
    "`sudo apt-get install -y openjdk-17-jdk-headless`; on macOS: `brew install openjdk@17`; "
    "then make sure `java` and `javac` are on PATH or set JAVA_HOME."
)

LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-50c{1.} - %m%n
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = OFF
"""


class HarnessError(RuntimeError):
    """Something this machine lacks or a cluster that did not come up; the message says what to do."""


def java_tool(name: str) -> str:
    """Path of ``java`` or ``javac``, from JAVA_HOME or PATH, checked to be version 17+."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / name) if home else shutil.which(name)
    if not candidate or not Path(candidate).exists():
        raise HarnessError(JAVA_HELP.format(problem=f"`{name}` was not found"))
    out = subprocess.run([candidate, "-version"], capture_output=True, text=True, check=False)
    text = out.stderr + out.stdout
    match = re.search(r'(?:version "|javac )(\d+)', text)
    if not match or int(match.group(1)) < 17:
        raise HarnessError(JAVA_HELP.format(problem=f"`{candidate}` reports {text.strip()!r}"))
    return candidate


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` exclusively: processes filling the same cache entry at once (the
    suite's lanes start together on a fresh machine) take turns; the second finds it done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install_flink(version: str) -> Path:
    """Install the Flink distribution for ``version`` once into the cache; return FLINK_HOME."""
    target = CACHE_ROOT / "flink" / version
    home = target / "pyflink"

    def installed() -> bool:
        return (home / "lib" / f"flink-dist-{version}.jar").exists() and (home / "bin" / "flink").exists()

    if installed():
        return home
    with cache_lock(target):
        if installed():
            return home
        return _install_flink(version, target, home)


def _install_flink(version: str, target: Path, home: Path) -> Path:
    tmp = target.with_name(f"{version}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    packages = [f"apache-flink-libraries=={version}", f"apache-flink=={version}"]
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "pip", "install", "--quiet", "--python", sys.executable]
    else:
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["--no-deps", "--target", str(tmp), *packages]
    print(f"installing Flink {version} from PyPI into {target} ...", file=sys.stderr)
    subprocess.run(cmd, check=True)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _java_opts_all(home: Path, version: str) -> str:
    """The ``--add-opens/--add-exports`` list Flink needs on Java 17, from its own default config."""
    conf = home / "conf" / "config.yaml"
    if conf.exists():
        text = conf.read_text()
    else:
        with zipfile.ZipFile(home / "lib" / f"flink-dist-{version}.jar") as jar:
            text = jar.read("config.yaml").decode()
    match = re.search(r"^\s*all:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


# The adaptive scheduler's wait before it rescales a running job, cut for tests: by default it
# rescales at most every 30 s after the job's start or its last rescale (1.20 reads
# scaling-interval.min, 2.x executing.cooldown-after-rescaling; both are set to the same value).
# Not a change of what a rescale does, only of when it may begin.
QUICK_RESCALE: dict[str, str] = {
    "jobmanager.adaptive-scheduler.scaling-interval.min": "1 s",
    "jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling": "1 s",
}


@dataclass
class LocalFlink:
    """One JobManager + one TaskManager on 127.0.0.1, all files under ``workdir``.

    ``adaptive_scheduler``: run Flink's adaptive scheduler (``jobmanager.scheduler: adaptive``),
    the one that can change a running job's parallelism in place; add :data:`QUICK_RESCALE` to
    ``extra_config`` for a cluster that rescales without its 30 s cooldown.

    ``python``: also run PyFlink (Python) jobs. :meth:`start` installs a Python environment with
    ``apache-flink`` of this version (:mod:`harness.pyflink_env`, once per version), points
    ``python.client.executable`` and ``python.executable`` at it and gives the JobManager
    ``FLINK_OPT_DIR`` (where Flink finds ``flink-python-*.jar`` for a Python program). Submit a
    Python job as any uploaded jar with entry class :data:`PYTHON_DRIVER` and program arguments
    ``["-py", "/path/job.py", ...]``, or ``["-pym", "module", ...]`` with the module's folder in
    the run's ``flinkConfiguration`` ``python.files`` (``-pyfs /dir`` through REST reaches only the
    JobManager's Python, not the TaskManager's). The Python program's output and traceback land
    in the JobManager's stdout (``log/jobmanager.out``, ``GET /jobmanager/stdout``).
    """

    version: str = DEFAULT_VERSION
    workdir: Path = field(default_factory=lambda: Path(".run") / "flink")
    slots: int = 4
    extra_config: dict[str, str] = field(default_factory=dict)
    adaptive_scheduler: bool = False
    python: bool = False
    rest_port: int = 0
    tls: Any = None  # harness.tls.RestTls: REST over TLS with client certificates
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return CACHE_ROOT / "flink" / self.version / "pyflink"

    @property
    def rest_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        host = "localhost" if self.tls is not None else "127.0.0.1"  # the name in the server certificate
        return f"{scheme}://{host}:{self.rest_port}"

    @property
    def python_executable(self) -> Path:
        """The Python that runs this cluster's PyFlink jobs (installed by :meth:`start` when ``python``)."""
        from harness.pyflink_env import env_python

        return env_python(self.version)

    @property
    def conf_dir(self) -> Path:
        return self.workdir / "conf"

    @property
    def checkpoint_dir(self) -> Path:
        return self.workdir / "checkpoints"

    @property
    def savepoint_dir(self) -> Path:
        return self.workdir / "savepoints"

    # ---------------------------------------------------------------- config
    def write_config(self) -> None:
        """Loopback-only config with free ports and the settings that make tests fast."""
        self.workdir = self.workdir.resolve()
        for sub in ("conf", "log", "upload", "tmp", "web-tmp", "checkpoints", "savepoints"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if not self.rest_port:
            self.rest_port = free_port()
        rpc_port = free_port()
        w = self.workdir
        settings: dict[str, str] = {
            "env.java.opts.all": _java_opts_all(self.home, self.version),
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": str(rpc_port),
            "jobmanager.bind-host": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": str(self.rest_port),
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.memory.process.size": "1536m",
            "taskmanager.numberOfTaskSlots": str(self.slots),
            "parallelism.default": "1",
            "web.upload.dir": str(w / "upload"),
            "web.tmpdir": str(w / "web-tmp"),
            "io.tmp.dirs": str(w / "tmp"),
            "execution.checkpointing.dir": f"file://{w / 'checkpoints'}",
            "execution.checkpointing.savepoint-dir": f"file://{w / 'savepoints'}",
            "state.checkpoints.dir": f"file://{w / 'checkpoints'}",
            "state.savepoints.dir": f"file://{w / 'savepoints'}",
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
            "execution.checkpointing.num-retained": "3",
            "web.refresh-interval": "500",
            "cluster.registration.error-delay": "1000",
            "heartbeat.interval": "2000",
            "heartbeat.timeout": "15000",
            "metrics.fetcher.update-interval": "1000",
            "blob.server.port": "0",
            "taskmanager.rpc.port": "0",
            "taskmanager.data.port": "0",
        }
        if self.adaptive_scheduler:
            settings["jobmanager.scheduler"] = "adaptive"
        if self.tls is not None:
            settings.update(self.tls.flink_config())
        if self.python:
            settings["python.client.executable"] = str(self.python_executable)
            settings["python.executable"] = str(self.python_executable)
            # Every Python job loads flink-python's classes anew (in the JobManager for its main,
            # in the TaskManager for its operators) and they stay: on 1.20.5 the TaskManager died
            # with "OutOfMemoryError: Metaspace" (default 256m) after about twenty Python job
            # starts. The Python workers' gRPC channels use the TaskManager's direct memory and
            # keep some of it: 1.20.5 failed "OutOfMemoryError: Direct buffer memory" (then every
            # Python worker died at start) after about fifteen Python jobs at the default. More of
            # both, and the processes grown by as much.
            settings["taskmanager.memory.jvm-metaspace.size"] = "768m"
            settings["jobmanager.memory.jvm-metaspace.size"] = "768m"
            settings["taskmanager.memory.task.off-heap.size"] = "512m"
            settings["taskmanager.memory.process.size"] = "3072m"
            settings["jobmanager.memory.process.size"] = "1536m"
        settings.update(self.extra_config)
        lines = [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
        (self.conf_dir / "config.yaml").write_text("\n".join(lines) + "\n")
        (self.conf_dir / "log4j.properties").write_text(LOG4J)

    # ---------------------------------------------------------------- processes
    def _resource_params(self, java: str, kind: str) -> tuple[list[str], list[str]]:
        """JVM flags and -D memory settings as Flink's own start scripts would compute them."""
        classpath = f"{self.home / 'bin' / 'bash-java-utils.jar'}:{self._dist_jar()}"
        out = subprocess.run(
            [
                java,
                "-cp",
                classpath,
                "org.apache.flink.runtime.util.bash.BashJavaUtils",
                kind,
                "--configDir",
                str(self.conf_dir),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        results = [
            line.split("BASH_JAVA_UTILS_EXEC_RESULT:", 1)[1].strip()
            for line in out.stdout.splitlines()
            if line.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")
        ]
        if len(results) < 2:
            raise HarnessError(f"BashJavaUtils {kind} failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        return results[0].split(), results[1].split()

    def _dist_jar(self) -> Path:
        return self.home / "lib" / f"flink-dist-{self.version}.jar"

    def _classpath(self) -> str:
        jars = sorted(p for p in (self.home / "lib").glob("*.jar") if "flink-dist" not in p.name)
        return ":".join([*map(str, jars), str(self._dist_jar())])

    def _launch(self, role: str) -> int:
        java = java_tool("java")
        if role == "jobmanager":
            kind, main = (
                "GET_JM_RESOURCE_PARAMS",
                ("org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"),
            )
        else:
            kind, main = "GET_TM_RESOURCE_PARAMS", ("org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
        jvm_flags, dynamic = self._resource_params(java, kind)
        opts = _java_opts_all(self.home, self.version).split()
        log = self.workdir / "log" / f"{role}.log"
        cmd = [
            java,
            *jvm_flags,
            *opts,
            f"-Dlog.file={log}",
            f"-Dlog4j.configurationFile=file:{self.conf_dir / 'log4j.properties'}",
            "-classpath",
            self._classpath(),
            main,
            "--configDir",
            str(self.conf_dir),
            *dynamic,
        ]
        env = dict(
            os.environ, FLINK_PLUGINS_DIR=str(self.home / "plugins"), FLINK_CONF_DIR=str(self.conf_dir)
        )
        if self.python and role == "jobmanager":
            # Without it every Python program's run is HTTP 500 (an NPE in PackagedProgramUtils.getOptJar).
            env["FLINK_OPT_DIR"] = str(self.home / "opt")
        with open(self.workdir / "log" / f"{role}.out", "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.pids[role] = proc.pid
        self._save()
        return proc.pid

    def start(self, timeout: float = 120.0) -> LocalFlink:
        """Install if needed, configure, launch both JVMs and wait for free task slots."""
        java_tool("java")
        install_flink(self.version)
        if self.python:
            from harness.pyflink_env import install_pyflink_env

            install_pyflink_env(self.version)
        self.write_config()
        try:
            # Inside: a TaskManager that cannot be launched (its memory settings refused) must not
            # leave the JobManager running (seen: one outlived its failed start by 40 minutes).
            self._launch("jobmanager")
            self._launch("taskmanager")
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_jobmanager(self, timeout: float = 120.0, ready: bool = True) -> None:
        """Start the JobManager again with the same config (after :meth:`kill_jobmanager`).
        ``ready=False``: do not wait for a free slot (the TaskManager may be down too)."""
        self._launch("jobmanager")
        if ready:
            self.wait_ready(timeout)

    def kill_jobmanager(self) -> None:
        """SIGKILL the JobManager, as a crash would; the TaskManager keeps running."""
        self._kill("jobmanager")

    def kill_taskmanager(self) -> None:
        """SIGKILL the TaskManager: its jobs lose their slots and restart until one comes back."""
        self._kill("taskmanager")

    def start_taskmanager(self, timeout: float = 120.0, ready: bool = True) -> None:
        """Start the TaskManager again (after :meth:`kill_taskmanager`); ``ready=False``: do
        not wait for its slots (the JobManager may be down)."""
        self._launch("taskmanager")
        if ready:
            self.wait_ready(timeout)

    def taskmanager_alive(self) -> bool:
        pid = self.pids.get("taskmanager")
        return pid is not None and _alive(pid)

    def _kill(self, role: str) -> None:
        pid = self.pids.pop(role, None)
        if pid:
            _signal(pid, signal.SIGKILL)
            _wait_gone(pid, 15)
            _kill_group(pid)
        self._save()

    def overview(self) -> dict[str, object] | None:
        try:
            url = f"{self.rest_url}/overview"
            context = self.tls.client_context() if self.tls is not None else None
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:  # noqa: S310 - our own URL
                return dict(json.load(resp))
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.overview()
            if info and int(info.get("slots-available", 0)) > 0:  # type: ignore[call-overload]
                return
            for role, pid in self.pids.items():
                if not _alive(pid):
                    raise HarnessError(
                        f"Flink {role} (pid {pid}) exited during start-up; see "
                        f"{self.workdir / 'log' / (role + '.log')} and {role}.out"
                    )
            time.sleep(0.25)
        raise HarnessError(
            f"Flink {self.version} at {self.rest_url} had no free task slot after {timeout:.0f} s; "
            f"see the logs in {self.workdir / 'log'}"
        )

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the TaskManager then the JobManager, SIGKILL what is left after ``grace``."""
        for role in ("taskmanager", "jobmanager"):
            pid = self.pids.get(role)
            if pid and _alive(pid):
                _signal(pid, signal.SIGTERM)
                if not _wait_gone(pid, grace):
                    _signal(pid, signal.SIGKILL)
                    _wait_gone(pid, 10)
            if pid:
                _kill_group(pid)
        self.pids.clear()
        self._save()

    # ---------------------------------------------------------------- state file
    def _save(self) -> None:
        state = {
            "version": self.version,
            "rest_port": self.rest_port,
            "pids": self.pids,
            "workdir": str(self.workdir),
            "slots": self.slots,
            "adaptive_scheduler": self.adaptive_scheduler,
            "python": self.python,
        }
        (self.workdir / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, workdir: Path) -> LocalFlink:
        state = json.loads((workdir / STATE_FILE).read_text())
        return cls(
            version=state["version"],
            workdir=Path(state["workdir"]),
            slots=state["slots"],
            rest_port=state["rest_port"],
            pids={k: int(v) for k, v in state["pids"].items()},
            adaptive_scheduler=bool(state.get("adaptive_scheduler", False)),
            python=bool(state.get("python", False)),
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _kill_group(pid: int) -> None:
    """What a JVM started and left behind: each JVM leads a process group of its own
    (``start_new_session``), and the TaskManager's Python workers (PyFlink's ``beam_boot``) stay in
    it. Without this they outlived every stopped cluster."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.flink_cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["install", "start", "stop", "status"])
    parser.add_argument("--version", default=os.environ.get("FLINK_VERSION", DEFAULT_VERSION))
    parser.add_argument("--dir", type=Path, default=None, help="work dir (default .run/flink-VERSION)")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument(
        "--adaptive", action="store_true", help="run the adaptive scheduler (rescale jobs in place)"
    )
    parser.add_argument(
        "--python", action="store_true", help="also run PyFlink jobs (installs a Python env once)"
    )
    args = parser.parse_args(argv)
    workdir = args.dir or Path(".run") / f"flink-{args.version}"
    try:
        if args.command == "install":
            print(install_flink(args.version))
        elif args.command == "start":
            if (workdir / STATE_FILE).exists():
                old = LocalFlink.load(workdir)
                if any(_alive(p) for p in old.pids.values()):
                    print(f"already running: {old.rest_url} (pids {old.pids})")
                    return 0
            began = time.monotonic()
            flink = LocalFlink(
                version=args.version,
                workdir=workdir,
                slots=args.slots,
                adaptive_scheduler=args.adaptive,
                python=args.python,
            ).start()
            print(
                f"Flink {flink.version} ready at {flink.rest_url} in {time.monotonic() - began:.1f} s "
                f"(pids {flink.pids}; logs in {flink.workdir / 'log'})"
            )
        elif args.command == "stop":
            if not (workdir / STATE_FILE).exists():
                print(f"no cluster recorded in {workdir}")
                return 0
            flink = LocalFlink.load(workdir)
            flink.stop()
            print(f"stopped Flink {flink.version} in {workdir}")
        else:
            if not (workdir / STATE_FILE).exists():
                print(f"no cluster recorded in {workdir}")
                return 1
            flink = LocalFlink.load(workdir)
            info = flink.overview()
            print(json.dumps({"rest_url": flink.rest_url, "pids": flink.pids, "overview": info}))
            return 0 if info else 1
    except HarnessError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
