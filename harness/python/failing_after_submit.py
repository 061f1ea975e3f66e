"""A PyFlink program that starts an unbounded job with ``execute_async`` and then raises.

Flink answers the run with HTTP 400 although the job was submitted and keeps running (with the
caller's chosen job id): look at ``GET /jobs/<jobId>`` after a 400. Args: ``--name NAME`` (default
"py-failing-after-submit"), ``--rate N`` (default 5). Plain Java operators built from Python (no
Python function: no Python worker in the TaskManager).
"""

from __future__ import annotations

import argparse
import sys

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.base import Sink
from pyflink.datastream.functions import SourceFunction
from pyflink.java_gateway import get_gateway

MESSAGE = "py main failing on purpose after submitting its job"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="failing_after_submit.py")
    parser.add_argument("--name", default="py-failing-after-submit")
    parser.add_argument("--rate", type=int, default=5)
    args = parser.parse_args(argv)
    env = StreamExecutionEnvironment.get_execution_environment()
    jvm = get_gateway().jvm
    datagen = jvm.org.apache.flink.streaming.api.functions.source.datagen
    source = datagen.DataGeneratorSource(datagen.RandomGenerator.longGenerator(0, 1000), args.rate, None)
    ticks = env.add_source(SourceFunction(source), "ticks", Types.LONG()).uid("ticks")
    discard = Sink(jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())
    ticks.sink_to(discard).uid("sink").name("sink")
    client = env.execute_async(args.name)
    print(f"submitted {args.name} as {client.get_job_id()}", flush=True)
    raise RuntimeError(MESSAGE)


if __name__ == "__main__":
    main(sys.argv[1:])
