package flinkprovider.testjobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
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
 * once a subtask has seen {@code --fail-after N} records (default 20). With {@code --fail-in-open}
 * it throws "failing on purpose while opening" when its operator opens, so its task never leaves
 * INITIALIZING: a job that is never healthy, not even for a moment (one failing after N records
 * runs for a while first, and a health check may see it RUNNING). The restart strategy is
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
                .map(new FailAfter(failAfter, a.has("fail-in-open")))
                .name("fail")
                .sinkTo(new DiscardingSink<>());
        env.execute(a.get("name", "failing"));
    }

    /** Passes records through until it has seen enough, then throws (or throws when it opens). */
    static class FailAfter extends RichMapFunction<Long, Long> {
        private final long failAfter;
        private final boolean failInOpen;
        private long seen;

        FailAfter(long failAfter, boolean failInOpen) {
            this.failAfter = failAfter;
            this.failInOpen = failInOpen;
        }

        @Override
        public void open(OpenContext openContext) {
            if (failInOpen) {
                throw new IllegalStateException("failing on purpose while opening");
            }
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
