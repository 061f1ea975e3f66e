"""nginx in front of a local Flink, requiring basic auth or a bearer token, as teams run it.

Two listeners on loopback: one checks HTTP basic auth against an htpasswd file, the other a fixed
bearer token; both proxy to Flink's REST endpoint (uploads included). Started and stopped by pid.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from harness.flink_cluster import HarnessError, _wait_gone, free_port

CONF = """\
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  client_max_body_size 512m;
  proxy_request_buffering off;
  server {{
    listen 127.0.0.1:{basic_port};
    location / {{
      auth_basic "Flink";
      auth_basic_user_file {dir}/htpasswd;
      proxy_set_header Authorization "";
      proxy_pass {upstream};
    }}
  }}
  server {{
    listen 127.0.0.1:{bearer_port};
    location / {{
      if ($http_authorization = "Bearer forbidden") {{ return 403 '{{"errors": ["this token may not use Flink"]}}'; }}
      if ($http_authorization != "Bearer {token}") {{ return 401 '{{"errors": ["bearer token required"]}}'; }}
      proxy_set_header Authorization "";
      proxy_pass {upstream};
    }}
  }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise HarnessError("nginx is needed for the reverse-proxy tests: sudo apt-get install -y nginx-light")
    return found


@dataclass
class AuthProxy:
    upstream: str
    folder: Path
    user: str
    password: str
    token: str
    basic_port: int = 0
    bearer_port: int = 0
    pid: int | None = None

    @property
    def basic_url(self) -> str:
        return f"http://127.0.0.1:{self.basic_port}"

    @property
    def bearer_url(self) -> str:
        return f"http://127.0.0.1:{self.bearer_port}"

    def start(self) -> AuthProxy:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.basic_port, self.bearer_port = free_port(), free_port()
        sha = base64.b64encode(hashlib.sha1(self.password.encode()).digest()).decode()  # noqa: S324 - nginx {SHA}
        (self.folder / "htpasswd").write_text(f"{self.user}:{{SHA}}{sha}\n")
        conf = CONF.format(
            dir=self.folder,
            basic_port=self.basic_port,
            bearer_port=self.bearer_port,
            upstream=self.upstream,
            token=self.token,
        )
        (self.folder / "nginx.conf").write_text(conf)
        proc = subprocess.Popen(
            [
                nginx_binary(),
                "-p",
                str(self.folder),
                "-c",
                str(self.folder / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = proc.pid
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.bearer_url}/overview", timeout=1)  # noqa: S310 - loopback
            except urllib.error.HTTPError:
                return self  # 401: nginx answers
            except OSError:
                time.sleep(0.1)
                continue
            return self
        self.stop()
        raise HarnessError(f"nginx did not start; see {self.folder / 'error.log'}")

    def stop(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            _wait_gone(self.pid, 10)
            self.pid = None
