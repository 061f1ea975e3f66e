"""A PyFlink program whose ``main`` raises before any job is built: the submission fails.

Flink answers the ``POST /jars/<id>/run`` with HTTP 400 ("Python process exits with code: 1", a
Java stack only); the Python traceback with :data:`MESSAGE` is in the JobManager's stdout
(``GET /jobmanager/stdout``).
"""

from __future__ import annotations

MESSAGE = "py main failing on purpose"


def main() -> None:
    raise ValueError(MESSAGE)


if __name__ == "__main__":
    main()
