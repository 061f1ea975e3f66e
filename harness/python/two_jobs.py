"""A PyFlink program that starts two unbounded jobs (two ``execute_async`` calls), e.g. for
Flink 2.3 applications (one application, two jobs).

Args: ``--names A,B`` the two job names (default "py-first,py-second"), ``--rate N`` (default 5).
Plain Java operators built from Python (no Python function).
"""

from __future__ import annotations

import argparse
import sys

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.base import Sink
from pyflink.datastream.functions import SourceFunction
from pyflink.java_gateway import get_gateway


def build(env: StreamExecutionEnvironment, rate: int) -> None:
    jvm = get_gateway().jvm
    datagen = jvm.org.apache.flink.streaming.api.functions.source.datagen
    source = datagen.DataGeneratorSource(datagen.RandomGenerator.longGenerator(0, 1000), rate, None)
    ticks = env.add_source(SourceFunction(source), "ticks", Types.LONG()).uid("ticks")
    discard = Sink(jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())
    ticks.sink_to(discard).uid("sink").name("sink")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="two_jobs.py")
    parser.add_argument("--names", default="py-first,py-second")
    parser.add_argument("--rate", type=int, default=5)
    args = parser.parse_args(argv)
    names = args.names.split(",")
    if len(names) != 2:
        raise ValueError(f"--names needs two names separated by a comma, not {args.names!r}")
    for name in names:
        # A fresh environment per job: execute_async clears the transformations, but a new one
        # makes each job's graph plainly its own.
        env = StreamExecutionEnvironment.get_execution_environment()
        build(env, args.rate)
        client = env.execute_async(name)
        print(f"submitted {name} as {client.get_job_id()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
