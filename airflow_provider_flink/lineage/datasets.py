"""What a Flink job reads and writes, as OpenLineage dataset names, from what Flink and the SQL say.

Pure functions, no OpenLineage import: :mod:`~airflow_provider_flink.lineage.events` turns the
result into events. Names follow OpenLineage's naming conventions (the ``openlineage.client.naming``
classes): ``kafka://host:port`` + topic, ``file`` + absolute path, ``s3://bucket`` + key,
``hdfs://namenode:port`` + path, ``postgres://host:port`` + ``database.schema.table``.

Where they come from (measured on Flink 1.20.5 and 2.3.0, docs/lineage.md):

- the job plan (``plan.nodes[].description`` of ``GET /jobs/{id}``, HTML, one line per chained
  operator): a DataStream source shows as ``Source: <name>``, a sink as ``<name>: Writer`` (or
  ``Sink: <name>`` for the old sink functions), a SQL scan as
  ``TableSourceScan(table=[[catalog, database, table]], ...)``. A DataStream source or sink named
  with its dataset's URI (``kafka://broker:9092/orders``) is that dataset; any other name is an
  endpoint without a dataset name (reported by name, never guessed);
- a SQL job's statements: the tables it creates with their connector options, the tables it
  writes (``INSERT INTO``, ``CREATE TABLE ... AS``) and reads (``FROM``/``JOIN``). Flink's plan
  does not name a SQL sink's table (a filesystem sink shows as ``StreamingFileWriter``).

Credentials never become part of a name: user info in a URI is dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from airflow_provider_flink.client.models import JobPlan

__all__ = [
    "Dataset",
    "JobEndpoints",
    "SqlTables",
    "dataset_of_table",
    "dataset_of_uri",
    "job_endpoints",
    "plan_endpoints",
    "redacted_sql",
    "sql_tables",
]


@dataclass(frozen=True, order=True)
class Dataset:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if "://" in self.namespace else f"{self.namespace}:{self.name}"


@dataclass(frozen=True)
class JobEndpoints:
    """A job's sources and sinks: datasets where they could be named, the other names as Flink shows them."""

    inputs: tuple[Dataset, ...] = ()
    outputs: tuple[Dataset, ...] = ()
    unnamed_sources: tuple[str, ...] = ()
    unnamed_sinks: tuple[str, ...] = ()


# Object stores and databases name a dataset without the path's leading "/"; file systems keep it.
_PATH_KEEPS_SLASH = frozenset({"file", "hdfs", "viewfs"})
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3", "postgresql": "postgres", "gcs": "gs"}


def dataset_of_uri(uri: str) -> Dataset | None:
    """The dataset a URI names (``scheme://authority/path``, ``file:/path``, ``/path``), else None."""
    text = uri.strip()
    if text.startswith("/"):
        return Dataset("file", text)
    parts = urlsplit(text)
    if not parts.scheme or not re.fullmatch(r"[a-z][a-z0-9+.-]*", parts.scheme):
        return None
    scheme = _SCHEME_ALIASES.get(parts.scheme, parts.scheme)
    authority = parts.netloc.rpartition("@")[2]  # never user:password
    path = parts.path
    if scheme == "file":
        return Dataset("file", path) if path.startswith("/") else None
    if not authority or not path.strip("/"):
        return None
    name = path if scheme in _PATH_KEEPS_SLASH else path.lstrip("/")
    return Dataset(f"{scheme}://{authority}", name)


# ------------------------------------------------------------------------------------ job plan
_SOURCE = re.compile(r"^Source: (?P<name>.+)$")
_SCAN = re.compile(r"TableSourceScan\(table=\[\[(?P<parts>[^\]]+)\]\]")
_WRITER = re.compile(r"^(?P<name>.+?)(?:\[\d+\])?: (?:Writer|Committer)$")
_SINK = re.compile(r"^Sink: (?P<name>.+)$")
# What Flink shows for a sink nobody named ("Sink: Writer"): no name to report.
_ANONYMOUS = frozenset({"Sink", "Writer", "Committer", "end"})


def _plan_lines(plan: JobPlan) -> Iterable[str]:
    """Every operator's line of every node, unescaped, without the chain's "+- " drawing."""
    for node in plan.nodes:
        for line in html.unescape(node.description).split("<br/>"):
            text = line.strip().removeprefix("+-").strip()
            if text:
                yield text


def plan_endpoints(plan: JobPlan) -> tuple[list[str], list[str], list[str]]:
    """(source names, sink names, scanned tables "catalog.database.table") in plan order, once each."""
    sources: dict[str, None] = {}
    sinks: dict[str, None] = {}
    tables: dict[str, None] = {}
    for line in _plan_lines(plan):
        scan = _SCAN.search(line)
        if scan:
            tables[".".join(part.strip().strip("`") for part in scan["parts"].split(","))] = None
            continue
        source = _SOURCE.match(line)
        if source:
            sources[source["name"].strip()] = None
            continue
        sink = _WRITER.match(line) or _SINK.match(line)
        if sink and sink["name"].strip() not in _ANONYMOUS:
            sinks[sink["name"].strip()] = None
    return list(sources), list(sinks), list(tables)


# ------------------------------------------------------------------------------------ SQL
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_NAME = r"(?P<table>(?:`[^`]+`|[\w$]+)(?:\s*\.\s*(?:`[^`]+`|[\w$]+)){0,2})"
_CREATE = re.compile(r"\bCREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME, re.I)
_WITH = re.compile(r"\bWITH\s*\(", re.I)
_OPTION = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")
_INSERT = re.compile(r"\bINSERT\s+(?:INTO|OVERWRITE)\s+(?:TABLE\s+)?" + _NAME, re.I)
_CTAS = re.compile(r"\bAS\s+SELECT\b", re.I)
_READ = re.compile(r"\b(?:FROM|JOIN)\s+" + _NAME, re.I)
# Option names whose values are secrets: never in an event (SQL facet) or a name.
_SECRET = re.compile(r"password|secret|token|credential|jaas|private|access[-_.]?key", re.I)


def _statements(sql: str) -> list[str]:
    """The statements of a script, split at ``;`` outside quotes, comments removed."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in _COMMENT.sub(" ", sql):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'`\"":
            quote = char
        elif char == ";":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _table_key(name: str) -> str:
    """A table's name as the plan writes it: catalog.database.table (Flink's defaults filled in)."""
    parts = [part.strip().strip("`") for part in name.split(".")]
    defaults = ["default_catalog", "default_database"]
    return ".".join(defaults[: 3 - len(parts)] + parts)


def _unquote(value: str) -> str:
    return value.replace("''", "'")


@dataclass(frozen=True)
class SqlTables:
    """What a SQL script says about its tables: options by table, the ones written and read."""

    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    written: tuple[str, ...] = ()
    read: tuple[str, ...] = ()


def sql_tables(sql: str) -> SqlTables:
    """Tables created (with their ``WITH`` options), written and read, as catalog.database.table."""
    options: dict[str, dict[str, str]] = {}
    written: dict[str, None] = {}
    read: dict[str, None] = {}
    for statement in _statements(sql):
        create = _CREATE.search(statement)
        if create:
            key = _table_key(create["table"])
            with_clause = _WITH.search(statement, create.end())
            body = statement[with_clause.end() :] if with_clause else ""
            options[key] = {_unquote(k).strip(): _unquote(v) for k, v in _OPTION.findall(body)}
            if _CTAS.search(statement):
                written[key] = None
        for insert in _INSERT.finditer(statement):
            written[_table_key(insert["table"])] = None
        if create or _INSERT.search(statement):
            for source in _READ.finditer(statement):
                read[_table_key(source["table"])] = None
    return SqlTables(options, tuple(written), tuple(key for key in read if key not in written))


def redacted_sql(sql: str) -> str:
    """The script with the values of secret options (passwords, tokens, keys) and the user info of
    URLs replaced by ``***``: what may go into an event."""

    def option(match: re.Match[str]) -> str:
        key, value = match.group(1), match.group(2)
        value = "***" if _SECRET.search(key) else re.sub(r"(?<=://)[^/@'\s]+@", "***@", value)
        return f"'{key}' = '{value}'"

    return _OPTION.sub(option, sql)


# ------------------------------------------------------------------------------------ tables
def _kafka(options: Mapping[str, str]) -> list[Dataset]:
    servers = options.get("properties.bootstrap.servers", "").split(",")[0].strip()
    topics = [t.strip() for t in options.get("topic", "").split(";") if t.strip()]
    if not servers or not topics:
        return []
    server = servers.rpartition("@")[2]
    return [Dataset(f"kafka://{server}", topic) for topic in topics]


def _jdbc(options: Mapping[str, str]) -> list[Dataset]:
    match = re.match(r"jdbc:(?P<kind>[\w]+)://(?P<authority>[^/?;]+)/(?P<db>[^?;]*)", options.get("url", ""))
    table = options.get("table-name", "").strip()
    if not match or not table:
        return []
    kind = _SCHEME_ALIASES.get(match["kind"], match["kind"])
    if kind == "postgres" and "." not in table:
        table = f"public.{table}"
    name = f"{match['db']}.{table}" if match["db"] else table
    return [Dataset(f"{kind}://{match['authority'].rpartition('@')[2]}", name)]


def _filesystem(options: Mapping[str, str]) -> list[Dataset]:
    found = dataset_of_uri(options.get("path", ""))
    return [found] if found else []


_CONNECTORS = {
    "kafka": _kafka,
    "upsert-kafka": _kafka,
    "jdbc": _jdbc,
    "filesystem": _filesystem,
}
# Connectors that make or drop rows and hold no data: no dataset, and nothing unnamed either.
NOT_DATA = frozenset({"datagen", "blackhole", "print"})


def dataset_of_table(options: Mapping[str, str] | None) -> list[Dataset] | None:
    """The datasets of a table by its ``WITH`` options; [] for a connector that holds no data; None
    when they cannot be named (an unknown connector, a catalog's table the script does not create)."""
    if options is None:
        return None
    connector = options.get("connector", "").strip().lower()
    if connector in NOT_DATA:
        return []
    naming = _CONNECTORS.get(connector)
    found = naming(options) if naming else []
    return found or None


def _named(names: Iterable[str], sql: SqlTables, uris: bool) -> tuple[list[Dataset], list[str]]:
    """Datasets of source/sink names (a URI, or a table of the script) and the names that are neither."""
    found: dict[Dataset, None] = {}
    unnamed: list[str] = []
    for name in names:
        table = sql.options.get(name)
        datasets = dataset_of_table(table) if table is not None else None
        if datasets is None and uris:
            uri = dataset_of_uri(name)
            datasets = [uri] if uri else None
        if datasets is None:
            unnamed.append(name)
        found.update(dict.fromkeys(datasets or ()))
    return list(found), unnamed


def job_endpoints(plan: JobPlan | None, sql: str | None = None) -> JobEndpoints:
    """A job's inputs and outputs from its plan and (a SQL job) its statements."""
    sources, sinks, scanned = plan_endpoints(plan) if plan is not None else ([], [], [])
    tables = sql_tables(sql) if sql else SqlTables()
    inputs, unnamed_in = _named([*sources], tables, uris=True)
    scans, unnamed_scans = _named([*scanned, *tables.read], tables, uris=False)
    outputs, unnamed_out = _named([*sinks] if not sql else [], tables, uris=True)
    written, unnamed_written = _named(tables.written, tables, uris=False)
    return JobEndpoints(
        inputs=tuple(dict.fromkeys([*inputs, *scans])),
        outputs=tuple(dict.fromkeys([*outputs, *written])),
        unnamed_sources=tuple(dict.fromkeys([*unnamed_in, *unnamed_scans])),
        unnamed_sinks=tuple(dict.fromkeys([*unnamed_out, *unnamed_written])),
    )
