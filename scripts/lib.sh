# Shared by scripts/test and scripts/demo: find or install what the project needs.
# Sourced, not run. Everything lands in .venv (Python) and ~/.cache/airflow-provider-flink (Flink, jars).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# The Airflow versions the suite runs on: the newest release (the main environment), and in
# environments of their own the oldest supported and the highest the index serves (a pre-release
# today): unit tests, the example DAGs and a reconcile through a real api-server against real Flink.
AIRFLOW_NEWEST="3.3.2"
AIRFLOW_OLDEST="3.1.8"
AIRFLOW_HIGHEST="3.4.0b2"
export PATH="$VENV/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Java 17+ (java and javac) runs the local Flink and builds the test jobs.
ensure_java() {
  local version=""
  if command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  fi
  if [ -n "$version" ] && [ "$version" -ge 17 ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Java 17+ not found: installing openjdk-17-jdk-headless with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless >/dev/null
    return 0
  fi
  cat >&2 <<'MSG'
error: Java 17 or newer (java and javac) is needed to run the local Flink cluster and build its test jobs.
  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jdk-headless
  macOS:         brew install openjdk@17
  then make sure `java -version` says 17 or newer (or set JAVA_HOME) and run this command again.
MSG
  exit 1
}

# A Debian package, installed with apt-get when run as root (else a warning says what fails).
apt_install() {
  local package="$1" why="$2" fails="$3"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "$package not found: installing it with apt-get ($why)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; }
    return 0
  fi
  echo "warning: $package is not installed (sudo apt-get install -y $package): $fails" >&2
}

# nginx, for the tests that put Flink behind an authenticating reverse proxy, as teams run it.
ensure_nginx() {
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then return 0; fi
  apt_install nginx-light "for the reverse-proxy auth tests" "the reverse-proxy tests will fail"
}

# docker-compose (Debian's, no daemon needed), to validate docker-compose.yml: there is no Docker
# engine on the CI machines, but `docker-compose config` checks the file as Compose reads it.
ensure_compose() {
  if command -v docker-compose >/dev/null 2>&1; then return 0; fi
  apt_install docker-compose "to validate docker-compose.yml" "the compose file test will fail"
}

# PostgreSQL (Debian's package), the metadata DB of the real-components suite: the tests start a
# private server of their own on a free loopback port (as the postgres user when run as root).
ensure_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then return 0; fi
  apt_install postgresql "for the real-components suite (Airflow's metadata DB)" \
    "tests/integration/test_real_components.py will fail"
  # The package starts a cluster of its own on port 5432; the tests do not use it.
}

# Chromium (Debian's package), for the Flink page's browser test: Playwright (from PyPI) drives
# /usr/bin/chromium; it never downloads a browser of its own (`playwright install` is not used).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  apt_install chromium "for the Flink page's browser test (Playwright drives /usr/bin/chromium)" \
    "the Flink page's browser test in tests/integration/test_real_components.py will fail"
  if [ "$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ]; then
    echo "error: apt-get did not install /usr/bin/chromium: run 'apt-get update && apt-get install -y chromium' and look at its message" >&2
    exit 1
  fi
}

# Node.js 18+ and npm, to build the Flink page's bundle (scripts/build-ui) and for the unit test that
# builds it again and compares it with the shipped file (tests/unit/test_ui_bundle.py). Packages come
# from the npm registry only (`npm ci` of the frontend's package-lock.json).
ensure_node() {
  local version=""
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    version=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
  fi
  if [ -n "$version" ] && [ "$version" -ge 18 ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Node.js 18+ and npm not found: installing nodejs and npm with apt-get (to build the Flink page's bundle)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
    version=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)
    if command -v npm >/dev/null 2>&1 && [ -n "$version" ] && [ "$version" -ge 18 ]; then
      return 0
    fi
    echo "error: apt-get installed Node.js ${version:-?}, older than 18 (or no npm): install Node.js 18+ from https://nodejs.org or your distribution's backports" >&2
    exit 1
  fi
  cat >&2 <<'MSG'
error: Node.js 18 or newer and npm are needed to build the Flink page's bundle (scripts/build-ui) and
for its test (tests/unit/test_ui_bundle.py).
  Debian/Ubuntu: sudo apt-get install -y nodejs npm   (check `node --version` says 18 or newer)
  macOS:         brew install node
  or https://nodejs.org; then run this command again.
MSG
  exit 1
}

# A Python 3.10+ virtualenv in .venv with the provider installed editable and its test/lint tools.
ensure_venv() {
  local python="${PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.12 python3.11 python3.10 python3; do
      if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        python="$candidate"; break
      fi
    done
  fi
  if [ -z "$python" ]; then
    echo "error: Python 3.10 or newer is needed (set PYTHON=/path/to/python3)." >&2
    exit 1
  fi
  if ! command -v uv >/dev/null 2>&1; then
    say "installing uv (fast Python package installer)"
    "$python" -m pip install --quiet --disable-pip-version-check uv >/dev/null 2>&1 || true
  fi
  local stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | cksum | cut -d' ' -f1)"
  if [ -f "$stamp" ]; then return 0; fi
  say "creating $VENV and installing the provider with its test and lint dependencies"
  if command -v uv >/dev/null 2>&1; then
    [ -x "$PY" ] || uv venv --quiet --python "$python" "$VENV"
    uv pip install --quiet --compile-bytecode --python "$PY" "apache-airflow==$AIRFLOW_NEWEST" -e "$ROOT[test,lint]"
  else
    [ -x "$PY" ] || "$python" -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "apache-airflow==$AIRFLOW_NEWEST" -e "$ROOT[test,lint]"
  fi
  rm -f "$VENV"/.installed-* && touch "$stamp"
}

# Another supported Airflow beside it (created from .venv's Python): `apache-airflow==X` and the
# provider, resolved fresh from the provider's own metadata (nothing pinned by hand), as a user's
# plain install would.
ensure_airflow_venv() {
  local airflow="$1" venv="$ROOT/.venv-airflow-$1" lock
  local stamp="$venv/.installed-$(cat "$ROOT/pyproject.toml" | cksum | cut -d' ' -f1)"
  if [ -f "$stamp" ]; then return 0; fi
  # One maker at a time: the suite makes these in the background and a later step may ask for one
  # before it is done (it waits here, then finds the stamp).
  mkdir -p "$ROOT/.run"
  exec {lock}>"$ROOT/.run/venv-airflow-$airflow.lock"
  flock "$lock"
  if [ -f "$stamp" ]; then flock -u "$lock"; exec {lock}>&-; return 0; fi
  say "creating $venv with Airflow $airflow"
  if command -v uv >/dev/null 2>&1; then
    [ -x "$venv/bin/python" ] || uv venv --quiet --python "$PY" "$venv"
    uv pip install --quiet --compile-bytecode --prerelease=if-necessary-or-explicit \
      --python "$venv/bin/python" "apache-airflow==$airflow" -e "$ROOT[test]"
  else
    [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      "apache-airflow==$airflow" -e "$ROOT[test]"
  fi
  rm -f "$venv"/.installed-* && touch "$stamp"
  flock -u "$lock"; exec {lock}>&-
}
