package flinkprovider.testjobs;

import java.util.Optional;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A program that runs several {@link CounterJob} pipelines as separate jobs (a Flink 2.3
 * application of several jobs), each named after one of {@code --jobs a,b} (default
 * "first,second"); the other arguments are {@link CounterJob}'s, for every job.
 *
 * <p>It follows the provider's restore contract for programs of several jobs: Flink's one
 * {@code savepointPath} would be applied to every job, so the provider sends none and puts each
 * job's snapshot in the application's configuration as {@code airflow.restore.<job name>}; the
 * program starts that job from it ({@code execution.state-recovery.path} on the job's own
 * environment), and the others without state.
 */
public class CounterJobs {
    public static void main(String[] args) throws Exception {
        Args a = new Args(args);
        ReadableConfig submitted = StreamExecutionEnvironment.getExecutionEnvironment().getConfiguration();
        for (String name : a.get("jobs", "first,second").split(",")) {
            Configuration conf = new Configuration();
            Optional<String> restore =
                    submitted.getOptional(ConfigOptions.key("airflow.restore." + name).stringType().noDefaultValue());
            restore.ifPresent(path -> conf.set(StateRecoveryOptions.SAVEPOINT_PATH, path));
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            CounterJob.build(env, a);
            System.out.println("job " + name + " restoring from " + restore.orElse("nothing") + ": "
                    + env.executeAsync(name).getJobID());
        }
    }
}
