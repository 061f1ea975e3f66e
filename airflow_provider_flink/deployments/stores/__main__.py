"""Move deployment records from one store to another, or look at a store.

    python -m airflow_provider_flink.deployments.stores copy --from variables --to flink_records
    python -m airflow_provider_flink.deployments.stores copy --from flink_records --to variables
    python -m airflow_provider_flink.deployments.stores show [--store flink_records]

A store is ``variables`` (Airflow Variables, read and written in the metadata DB: run this where
``airflow`` commands run) or the id of a connection of type postgres, sqlite or mysql (the SQL
store; its tables are created if missing). ``copy`` writes every record of the source into the
target, revision included; a record the target already holds at a newer revision is left alone
and named. The source is not changed. Pause the reconcile DAGs while records move, then set
``[flink] record_store_conn_id`` to the target (or unset it, for Variables).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from airflow_provider_flink.deployments.stores.base import RecordStore
from airflow_provider_flink.deployments.stores.choice import sql_store, store_conn_id
from airflow_provider_flink.deployments.stores.variables import MetadataVariableStore
from airflow_provider_flink.exceptions import RecordStoreError

VARIABLES = "variables"


def open_store(name: str, named_by: str) -> RecordStore:
    return MetadataVariableStore() if name.lower() == VARIABLES else sql_store(name, named_by)


def copy(source: RecordStore, target: RecordStore, dry_run: bool = False) -> tuple[int, list[str]]:
    """Every record of ``source`` into ``target``; returns how many were copied and the ones left
    alone (the target's revision is newer)."""
    copied, kept = 0, []
    for record in source.all_records():
        there = target.get(record.cluster, record.name)
        if there is not None and there.revision > record.revision:
            kept.append(
                f"{record.cluster}/{record.name} (revision {there.revision} there, {record.revision} here)"
            )
            continue
        if not dry_run:
            target.put(record)
        copied += 1
    return copied, kept


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_flink.deployments.stores", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    move = commands.add_parser("copy", help="copy every record from one store into another")
    move.add_argument("--from", dest="source", required=True, help="variables, or a connection id")
    move.add_argument("--to", dest="target", required=True, help="variables, or a connection id")
    move.add_argument("--dry-run", action="store_true", help="say what would be copied; write nothing")
    show = commands.add_parser("show", help="list the records of a store")
    show.add_argument("--store", help="variables, or a connection id (default: the configured store)")
    args = parser.parse_args(argv)
    try:
        if args.command == "show":
            store = open_store(args.store or store_conn_id() or VARIABLES, "--store")
            for record in sorted(store.all_records(), key=lambda r: (r.cluster, r.name)):
                print(
                    f"{record.cluster}/{record.name}\trevision {record.revision}\tjob {record.current_job_id or '-'}"
                )
            return 0
        if args.source.lower() == args.target.lower():
            parser.error("--from and --to name the same store")
        source, target = open_store(args.source, "--from"), open_store(args.target, "--to")
        copied, kept = copy(source, target, args.dry_run)
    except RecordStoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    verb = "would copy" if args.dry_run else "copied"
    print(f"{verb} {copied} record(s) from {source.describe} to {target.describe}")
    for line in kept:
        print(f"left alone, newer in the target: {line}")
    if not args.dry_run:
        option = "unset it" if args.target.lower() == VARIABLES else f"set it to {args.target}"
        print(f"next: [flink] record_store_conn_id: {option}, then unpause the reconcile DAGs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
