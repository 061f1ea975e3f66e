package flinkprovider.testjobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Bounded job run in BATCH mode: it reaches FINISHED on its own in a second or two.
 *
 * <p>Args: {@code --count N} numbers to process (default 100000), {@code --name NAME}.
 */
public class BatchJob {
    public static void main(String[] args) throws Exception {
        Args a = new Args(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.BATCH);
        env.fromSequence(1, a.getInt("count", 100000))
                .map(x -> x * 2)
                .returns(Types.LONG)
                .name("double")
                .sinkTo(new DiscardingSink<>())
                .name("sink");
        env.execute(a.get("name", "batch"));
    }
}
