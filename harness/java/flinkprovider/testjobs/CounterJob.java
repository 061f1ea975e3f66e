package flinkprovider.testjobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.util.Collector;

/**
 * Unbounded stateful streaming job used by the integration tests.
 *
 * <p>A rate-limited generator feeds a keyed counter. The counter lives in keyed ValueState, so it
 * survives a savepoint or checkpoint restore; its latest value is exposed as the operator gauge
 * {@code counter} (read it as the vertex subtask metric {@code count.counter}, aggregated with max).
 * After a restore the gauge continues from the restored count instead of starting again at 1.
 *
 * <p>Args: {@code --rate N} records per second (default 20), {@code --keys N} (default 1),
 * {@code --name NAME} job name (default "counter"), {@code --fail-after-seconds S} to throw
 * "counter failing on purpose" S seconds after each start (with restart strategy "none", so the
 * job ends FAILED with its checkpoints retained: for restart-from-checkpoint tests),
 * {@code --open-delay-seconds S} to take S seconds to open the counting operator at each start (its
 * task stays INITIALIZING meanwhile: a job that takes a while to become healthy, as real jobs that
 * load state or warm caches do), {@code --snapshot-delay-seconds S} to take S seconds over each
 * checkpoint and savepoint (a job with a lot of state), {@code --source-name} / {@code --sink-name}
 * (the plan's names), {@code --name-from-config KEY} (see {@link #name}), {@code --fail-when-file P}
 * to throw "counter failing on purpose" while the file P exists (looked at every 10th record: a
 * soak fails a running job on demand; Flink's restart strategy then restarts it).
 */
public class CounterJob {
    public static void main(String[] args) throws Exception {
        Args a = new Args(args);
        Configuration conf = new Configuration();
        if (a.getInt("fail-after-seconds", 0) > 0) {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        build(env, a);
        env.execute(name(env, a));
    }

    /**
     * The job's name: {@code --name}, or with {@code --name-from-config KEY} the value of that option
     * of the job's configuration (what the REST run request's flinkConfiguration gave it: the tests
     * read it back from the job's name, which Flink's REST API shows, where it shows no job option).
     */
    static String name(StreamExecutionEnvironment env, Args a) {
        String fallback = a.get("name", "counter");
        if (!a.has("name-from-config")) {
            return fallback;
        }
        ConfigOption<String> option =
                ConfigOptions.key(a.get("name-from-config", "")).stringType().noDefaultValue();
        return env.getConfiguration().getOptional(option).orElse(fallback);
    }

    /** The counting pipeline on {@code env} (shared with {@link CounterJobs}). */
    static void build(StreamExecutionEnvironment env, Args a) {
        final int rate = a.getInt("rate", 20);
        final long keys = a.getInt("keys", 1);
        final long failAfterMs = a.getInt("fail-after-seconds", 0) * 1000L;
        final long openDelayMs = a.getInt("open-delay-seconds", 0) * 1000L;
        final long snapshotDelayMs = a.getInt("snapshot-delay-seconds", 0) * 1000L;
        env.enableCheckpointing(a.getInt("checkpoint-interval-ms", 2000));
        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(
                        i -> i, Long.MAX_VALUE, RateLimiterStrategy.perSecond(rate), Types.LONG);
        // --source-name / --sink-name: the names the plan shows (lineage reads them); the uids,
        // which state is mapped by, stay.
        env.fromSource(source, WatermarkStrategy.noWatermarks(), a.get("source-name", "ticks"))
                .uid("ticks")
                .keyBy(i -> i % keys)
                .process(new Count(failAfterMs, openDelayMs, snapshotDelayMs, a.get("fail-when-file", "")))
                .uid("count")
                .name("count")
                .sinkTo(new DiscardingSink<>())
                .uid("sink")
                .name(a.get("sink-name", "sink"));
    }

    /** Counts the records of each key in keyed state and exposes the latest count. */
    static class Count extends KeyedProcessFunction<Long, Long, Long> implements CheckpointedFunction {
        private final long failAfterMs;
        private final long openDelayMs;
        private final long snapshotDelayMs;
        private final String failWhenFile;
        private transient ValueState<Long> count;
        private transient long seen;
        private transient long openedAt;
        private volatile long latest;

        Count(long failAfterMs, long openDelayMs, long snapshotDelayMs, String failWhenFile) {
            this.failAfterMs = failAfterMs;
            this.failWhenFile = failWhenFile;
            this.openDelayMs = openDelayMs;
            this.snapshotDelayMs = snapshotDelayMs;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            if (snapshotDelayMs > 0) {
                Thread.sleep(snapshotDelayMs);
            }
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}

        @Override
        public void open(OpenContext openContext) throws Exception {
            if (openDelayMs > 0) {
                Thread.sleep(openDelayMs);
            }
            openedAt = System.currentTimeMillis();
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            getRuntimeContext().getMetricGroup().gauge("counter", () -> latest);
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Long> out) throws Exception {
            if (failAfterMs > 0 && System.currentTimeMillis() - openedAt > failAfterMs) {
                throw new IllegalStateException("counter failing on purpose after " + failAfterMs / 1000 + " s");
            }
            // Looked at every 10th record: a soak fails a running job on demand by creating the file.
            if (!failWhenFile.isEmpty() && ++seen % 10 == 0 && java.nio.file.Files.exists(java.nio.file.Paths.get(failWhenFile))) {
                throw new IllegalStateException("counter failing on purpose: " + failWhenFile + " exists");
            }
            Long current = count.value();
            long next = current == null ? 1L : current + 1L;
            count.update(next);
            latest = next;
            out.collect(next);
        }
    }
}
