"""Helpers shipped with a PyFlink test job (python.files); imported in the TaskManager."""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream import DataStream, MapFunction, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import Sink
from pyflink.datastream.functions import SourceFunction
from pyflink.java_gateway import get_gateway


class Label(MapFunction):
    """Turns each tick into a labelled string (runs in the TaskManager's Python)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def map(self, value: int) -> str:
        return f"{self.label}:{value}"


def ticks(env: StreamExecutionEnvironment, rate: int) -> DataStream:
    """An unbounded rate-limited stream of random longs (uid "ticks")."""
    datagen = get_gateway().jvm.org.apache.flink.streaming.api.functions.source.datagen
    source = datagen.DataGeneratorSource(datagen.RandomGenerator.longGenerator(0, 1000), rate, None)
    return env.add_source(SourceFunction(source), "ticks", Types.LONG()).uid("ticks")


def discard(stream: DataStream) -> None:
    """End the stream in Flink's discarding sink (uid "sink")."""
    sink = Sink(get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink())
    stream.sink_to(sink).uid("sink").name("sink")
