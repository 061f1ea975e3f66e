"""PyFlink twin of ``harness/java/flinkprovider/testjobs/CounterJob.java``: an unbounded stateful job.

A rate-limited generator ("ticks") feeds a Python KeyedProcessFunction ("count") that counts the
records of each key in keyed ValueState, so the count survives a savepoint or checkpoint restore,
and exposes the latest count as the gauge ``counter`` (REST: vertex metric ``count.counter`` of the
vertex whose name starts with "count", as for the Java job); a discarding sink ("sink") ends it.
The operators have stable uids "ticks", "count" and "sink".

Run by Flink's PythonDriver from any uploaded jar: entry class
``org.apache.flink.client.python.PythonDriver``, program args ``["-py", "<this file>", ...]``.

Args: ``--rate N`` records per second (default 20), ``--keys N`` (default 1), ``--name NAME``
job name (default "py-counter"), ``--checkpoint-interval-ms MS`` (default 2000), ``--tag X`` a
harmless label (printed, kept by the counting function): a new version of the same job;
``--with-package``: the counting function imports ``pyjobs.common`` when it opens, in the
TaskManager (the job fails there unless the package was shipped with it, in ``python.files``).
Imports only pyflink and the standard library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from pyflink.common import Types
from pyflink.datastream import KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import Sink
from pyflink.datastream.functions import SourceFunction
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.java_gateway import get_gateway


class Count(KeyedProcessFunction):
    """Counts the records of each key in keyed state and exposes the latest count."""

    def __init__(self, tag: str, with_package: bool = False) -> None:
        self.tag = tag
        self.with_package = with_package
        self.latest = 0

    def open(self, runtime_context: RuntimeContext) -> None:
        if self.with_package:
            # Imported here, in the TaskManager's Python worker: only a package shipped with the
            # job (python.files) is there.
            from pyjobs.common import Label

            self.label = Label(self.tag)
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        runtime_context.get_metrics_group().gauge("counter", lambda: self.latest)

    def process_element(self, value: int, ctx: KeyedProcessFunction.Context) -> Iterator[int]:
        current = self.count.value()
        latest = 1 if current is None else current + 1
        self.count.update(latest)
        self.latest = latest
        yield latest


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="counter_job.py")
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--keys", type=int, default=1)
    parser.add_argument("--name", default="py-counter")
    parser.add_argument("--checkpoint-interval-ms", type=int, default=2000)
    parser.add_argument("--tag", default="v1")
    parser.add_argument("--with-package", action="store_true", help="import pyjobs in the TaskManager")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    keys = args.keys
    print(f"py-counter: name={args.name} rate={args.rate} keys={keys} tag={args.tag}", flush=True)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.enable_checkpointing(args.checkpoint_interval_ms)
    jvm = get_gateway().jvm
    # Flink's rate-limited generator (the legacy SourceFunction: the same class in 1.20 and 2.x;
    # PyFlink has no rate-limited source of its own). Random longs: a stateless generator.
    datagen = jvm.org.apache.flink.streaming.api.functions.source.datagen
    generator = datagen.RandomGenerator.longGenerator(0, 2**62)
    ticks = env.add_source(
        SourceFunction(datagen.DataGeneratorSource(generator, args.rate, None)), "ticks", Types.LONG()
    ).uid("ticks")
    counted = (
        ticks.key_by(lambda i: i % keys, key_type=Types.LONG())
        .process(Count(args.tag, args.with_package), output_type=Types.LONG())
        .uid("count")
        .name("count")
    )
    discard = Sink(jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())
    counted.sink_to(discard).uid("sink").name("sink")
    env.execute(args.name)


if __name__ == "__main__":
    main(sys.argv[1:])
