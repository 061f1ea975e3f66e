"""Find a lost job's latest retained checkpoint, wherever the cluster keeps checkpoints.

After a JobManager restart without high availability Flink forgets its jobs, but retained
checkpoints stay in ``<checkpoint dir>/<job id>/chk-<n>/_metadata``. Listing goes through
Airflow's ``ObjectStoragePath``, so file://, s3://, gs://, abfs:// ... all work with the matching
provider installed. Only the lost job's own directory is looked at, and only complete checkpoints
(with ``_metadata``) count: never "the newest directory" of some other job.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)
_CHK = re.compile(r"^chk-(\d+)$")


def latest_retained_checkpoint(checkpoint_dir: str, job_id: str) -> str | None:
    """The path of the job's highest-numbered complete checkpoint, or None."""
    from airflow.sdk import ObjectStoragePath

    base = ObjectStoragePath(checkpoint_dir.rstrip("/")) / job_id
    try:
        if not base.exists():
            return None
        candidates = []
        for entry in base.iterdir():
            match = _CHK.match(entry.name)
            if match and (entry / "_metadata").exists():
                candidates.append((int(match.group(1)), entry))
    except OSError as err:
        log.warning("Cannot list checkpoints of job %s under %s: %s", job_id, checkpoint_dir, err)
        return None
    if not candidates:
        return None
    number, path = max(candidates, key=lambda c: c[0])
    log.info("Latest retained checkpoint of job %s: chk-%d at %s", job_id, number, path)
    return str(path)
