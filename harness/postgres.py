"""A private PostgreSQL server on 127.0.0.1 for Airflow's metadata DB, from Debian's package.

``LocalPostgres(...).start()`` creates a fresh cluster (``initdb``) in its own directory, starts
``postgres`` on a free loopback port and creates the database; ``stop()`` shuts it down by its own
pid (fast shutdown, then SIGKILL) and removes the directory. PostgreSQL refuses to run as root, so
when this process is root the server runs as the ``postgres`` user (the Debian package creates it).

Settings are for tests: no fsync (a crash loses the DB, which the next run recreates anyway) and
enough connections for four Airflow components and their workers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.flink_cluster import _alive, _signal, _wait_gone, free_port

INSTALL_HINT = "sudo apt-get install -y postgresql (or put initdb and postgres on PATH)"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps them off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(f"PostgreSQL is not installed: no initdb found. {INSTALL_HINT}")


@dataclass
class LocalPostgres:
    database: str = "airflow"
    user: str = "airflow"
    port: int = 0
    workdir: Path | None = None
    pid: int | None = None
    # Committed means on disk as far as a crash of the server goes (synchronous_commit on): what a
    # test that crashes it needs. Off (the default, for speed), a commit returns before its WAL is
    # written and a SIGKILL loses the last ones (measured: a table created just before was gone).
    durable: bool = False
    _owned: bool = field(default=False, repr=False)
    _argv: list[str] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg2); Airflow derives the asyncpg one from it."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _as_server_user(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as err:
            raise RuntimeError(
                f"PostgreSQL cannot run as root and there is no postgres user. {INSTALL_HINT}"
            ) from err
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        binaries = bin_dir()
        as_user = self._as_server_user()
        if self.workdir is None:
            # Not under pytest's tmp (mode 700, owned by root): the server user must reach it.
            self.workdir = Path(tempfile.mkdtemp(prefix="flink-provider-pg-"))
            self._owned = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        if as_user:
            os.chown(self.workdir, int(as_user["user"]), int(as_user["group"]))  # type: ignore[call-overload]
        data = self.workdir / "data"
        done = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, check=False, cwd=self.workdir, **as_user,  # type: ignore[call-overload]
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        self.port = self.port or free_port()
        (self.workdir / "postgres.log").touch()
        if as_user:
            os.chown(self.workdir / "postgres.log", int(as_user["user"]), int(as_user["group"]))  # type: ignore[call-overload]
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.workdir),
            "fsync": "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "off",
            "max_connections": "300",
        }
        argv = [str(binaries / "postgres"), "-D", str(data)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        self._argv = argv
        self._launch(timeout)
        created = subprocess.run(
            [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if created.returncode:
            self.stop()
            raise RuntimeError(f"createdb failed: {created.stderr[-2000:]}")
        return self

    def _launch(self, timeout: float) -> None:
        assert self.workdir is not None
        log = (self.workdir / "postgres.log").open("ab")
        server = subprocess.Popen(
            self._argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
            **self._as_server_user(),  # type: ignore[call-overload]
        )  # fmt: skip
        self.pid = server.pid
        self._wait_ready(timeout)

    def crash(self) -> None:
        """The server killed (SIGKILL, its backends with it): what a crashed host does to it."""
        if self.pid and _alive(self.pid):
            os.killpg(self.pid, signal.SIGKILL)
            _wait_gone(self.pid, 10)

    def restart(self, timeout: float = 60.0) -> None:
        """Start the server again on its port and data (after :meth:`crash`): crash recovery runs."""
        self._launch(timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Until it accepts connections: listening is not enough, a server in crash recovery
        listens and refuses them ("the database system is not yet accepting connections"; a test
        that connected once the port answered failed under load)."""
        deadline = time.monotonic() + timeout
        ready = [str(bin_dir() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
        while time.monotonic() < deadline:
            if self.pid and not _alive(self.pid):
                raise RuntimeError(f"postgres exited at start: {self.log_tail()}")
            if subprocess.run(ready, check=False).returncode == 0:  # 0: accepting connections
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"postgres did not accept connections on {self.port} within {timeout:.0f} s: {self.log_tail()}"
        )

    def log_tail(self) -> str:
        log = (self.workdir or Path()) / "postgres.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def stop(self, grace: float = 20.0) -> None:
        """Fast shutdown (SIGINT) by pid, SIGKILL after ``grace``; the directory goes if it was ours."""
        if self.pid and _alive(self.pid):
            _signal(self.pid, signal.SIGINT)
            if not _wait_gone(self.pid, grace):
                _signal(self.pid, signal.SIGKILL)
                _wait_gone(self.pid, 10)
        self.pid = None
        if self._owned and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
