"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The connection form is declared here (``conn-fields`` + ``ui-field-behaviour``) rather than with
the deprecated hook methods, so Airflow builds the ``flink`` form without importing the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flink import __version__

_STRING = ["string", "null"]


def _field(label: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": _STRING, **schema}}


CONN_FIELDS: dict[str, Any] = {
    "bearer_token": _field(
        "Bearer token",
        "Sent as 'Authorization: Bearer <token>' (e.g. to a proxy in front of Flink). "
        "Use this or login/password, not both. A password without a login is a bearer token too.",
        format="password",
    ),
    "verify_tls": {
        "label": "Verify TLS certificate",
        "description": "Check the server certificate on https. Leave on; turning it off is logged as a warning.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "ca_bundle": _field(
        "CA bundle",
        "PEM text of the CA certificate(s) that signed Flink's REST certificate, or a path on the workers.",
        format="multiline",
    ),
    "client_cert": _field(
        "Client certificate",
        "PEM text (or a path) of the client certificate for mutual TLS.",
        format="password",
    ),
    # Named so that Airflow masks it (its masking goes by the key's name); "client_key" is still read.
    "client_private_key": _field(
        "Client private key",
        "PEM text (or a path) of the private key of the client certificate.",
        format="password",
    ),
    "request_timeout": {
        "label": "Request timeout (seconds)",
        "description": "How long one REST call may take before it counts as unanswered.",
        "schema": {"type": ["number", "null"], "default": 30},
    },
    "circuit_breaker_failures": {
        "label": "Circuit breaker: failures",
        "description": "Consecutive failed calls (no answer or 5xx) after which calls to this cluster fail fast.",
        "schema": {"type": ["integer", "null"], "default": 5},
    },
    "circuit_breaker_cooldown": {
        "label": "Circuit breaker: cooldown (seconds)",
        "description": "How long calls fail fast before one probe call is let through.",
        "schema": {"type": ["number", "null"], "default": 30},
    },
    "require_verified_artifacts": {
        "label": "Require verified artifacts",
        "description": "Refuse jars without a pinned SHA-256 or a valid signature (e.g. on production).",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
    "max_parallelism": {
        "label": "Max parallelism",
        "description": "Largest parallelism a job deployed through this connection may ask for.",
        "schema": {"type": ["integer", "null"]},
    },
    "allowed_jar_sources": _field(
        "Allowed jar sources",
        "Comma-separated prefixes or glob patterns a jar location must match (e.g. s3://platform-jars/).",
    ),
    "allowed_entry_classes": _field(
        "Allowed entry classes",
        "Comma-separated regular expressions an entry class must match in full.",
    ),
    "max_artifact_bytes": {
        "label": "Max artifact size (bytes)",
        "description": "Downloads of larger jars are aborted (default 512 MiB).",
        "schema": {"type": ["integer", "null"]},
    },
    "python_staging_dir": _field(
        "Python staging folder",
        "Where the provider stages a Python job's verified files for this cluster: a folder its JobManager "
        "and TaskManagers read (a shared path, s3://..., hdfs://...).",
    ),
    "web_ui_url": _field(
        "Flink web UI URL",
        "Base URL of the Flink web UI for links, when it differs from the REST URL "
        "(e.g. behind an ingress). Defaults to the REST URL.",
    ),
}


def _reads_conn_fields() -> bool:
    """Whether this Airflow builds the form's own fields from ``conn-fields`` (3.3 does; 3.1 does
    not). Where it does not, the Extra field stays visible: the same settings go there as JSON."""
    try:
        from airflow.providers_manager import ProvidersManager
    except ImportError:  # pragma: no cover - a task-only environment: the UI is elsewhere
        return True
    return hasattr(ProvidersManager, "_to_api_format")


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-flink",
        "name": "Apache Flink (REST)",
        "description": "Deploy, savepoint, upgrade, stop and watch Apache Flink jobs through Flink's REST API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Apache Flink REST",
                "external-doc-url": "https://nightlies.apache.org/flink/flink-docs-stable/docs/ops/rest_api/",
                "tags": ["apache"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Apache Flink REST",
                "python-modules": ["airflow_provider_flink.hooks.flink"],
            }
        ],
        "operators": [
            {
                "integration-name": "Apache Flink REST",
                "python-modules": [
                    "airflow_provider_flink.operators.application",
                    "airflow_provider_flink.operators.approval",
                    "airflow_provider_flink.operators.job",
                    "airflow_provider_flink.operators.python",
                    "airflow_provider_flink.operators.reconcile",
                    "airflow_provider_flink.operators.rescale",
                    "airflow_provider_flink.operators.sql",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Apache Flink REST",
                "python-modules": ["airflow_provider_flink.sensors.flink"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Apache Flink REST",
                "python-modules": [
                    "airflow_provider_flink.triggers.flink",
                    "airflow_provider_flink.events.spec_changes",
                    "airflow_provider_flink.events.job_changes",
                ],
            }
        ],
        "extra-links": ["airflow_provider_flink.links.FlinkJobLink"],
        "plugins": [{"name": "flink", "plugin-class": "airflow_provider_flink.ui.plugin.FlinkPlugin"}],
        "connection-types": [
            {
                "connection-type": "flink",
                "hook-class-name": "airflow_provider_flink.hooks.flink.FlinkHook",
                "hook-name": "Apache Flink",
                "ui-field-behaviour": {
                    "hidden-fields": ["extra"] if _reads_conn_fields() else [],
                    "relabeling": {
                        "host": "REST host (or full URL)",
                        "port": "REST port",
                        "schema": "Protocol (http or https)",
                        "login": "Username (basic auth)",
                        "password": "Password (basic auth)",
                    },
                    "placeholders": {
                        "host": "flink-jobmanager or https://flink.example.com",
                        "port": "8081",
                        "schema": "http",
                        "login": "optional",
                        "password": "optional",
                        "bearer_token": "optional, instead of login/password",
                        "ca_bundle": "-----BEGIN CERTIFICATE-----",
                        "web_ui_url": "https://flink-ui.example.com",
                    },
                },
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
