package flinkprovider.testjobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * A job that fails on purpose, so tests can see how a failure and its root cause are reported.
 *
 * <p>With {@code --fail-in-main} it throws while building the job graph (the submit request fails);
 * otherwise it runs and throws {@link IllegalStateException} "failing on purpose after N records"
 * once a subtask has seen {@code --fail-after N} records (default 20). The restart strategy is
 * "none", so the job goes straight to FAILED instead of restarting forever.
 */
public class FailingJob {
    public static final String MESSAGE = "failing on purpose after ";

    public static void main(String[] args) throws Exception {
        Args a = new Args(args);
        if (a.has("fail-in-main")) {
            throw new IllegalArgumentException("FailingJob refused its arguments on purpose");
        }
        final long failAfter = a.getInt("fail-after", 20);
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(
                        i -> i, Long.MAX_VALUE, RateLimiterStrategy.perSecond(20), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "ticks")
                .map(new FailAfter(failAfter))
                .name("fail")
                .sinkTo(new DiscardingSink<>());
        env.execute(a.get("name", "failing"));
    }

    /** Passes records through until it has seen enough, then throws. */
    static class FailAfter implements MapFunction<Long, Long> {
        private final long failAfter;
        private long seen;

        FailAfter(long failAfter) {
            this.failAfter = failAfter;
        }

        @Override
        public Long map(Long value) {
            seen++;
            if (seen >= failAfter) {
                throw new IllegalStateException(MESSAGE + seen + " records");
            }
            return value;
        }
    }
}
