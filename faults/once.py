"""One reconcile run in its own process, records in a JSON file: what the campaign kills and reruns.

    python -m faults.once FOLDER RECORDS.json

Records live in a file here (a real deployment keeps them in Airflow Variables) so that a run
killed with SIGKILL leaves exactly what it had written, for the next process to find.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from airflow_provider_flink.deployments.records import DeploymentRecord, parse_record, record_key
from airflow_provider_flink.deployments.stores import UnfencedStore


class FileRecordStore(UnfencedStore):
    """Records in one JSON file, each write atomic (rename), as a Variable write is: like
    Variables, no compare-and-set (the revision read just before) and no leases."""

    describe = "record file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return parse_record(self._all().get(record_key(cluster, name)), cluster, name)

    def put(self, record: DeploymentRecord) -> None:
        records = self._all()
        records[record_key(record.cluster, record.name)] = record.model_dump_json()
        fd, partial = tempfile.mkstemp(dir=self.path.parent, prefix=".records-")
        with os.fdopen(fd, "w") as out:
            json.dump(records, out)
        os.replace(partial, self.path)


def main(argv: list[str]) -> int:
    from airflow_provider_flink.deployments import reconcile

    folder, records = Path(argv[0]), Path(argv[1])
    report = reconcile(folder, FileRecordStore(records))
    print(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
