package flinkprovider.sql;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.api.internal.TableEnvironmentInternal;
import org.apache.flink.table.operations.ModifyOperation;
import org.apache.flink.table.operations.Operation;
import org.apache.flink.table.operations.QueryOperation;
import org.apache.flink.table.operations.StatementSetOperation;
import org.apache.flink.table.operations.command.SetOperation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a SQL script as one Flink job: the SQL runner of airflow-provider-flink (the way the Flink
 * Kubernetes operator's SQL runner works, with the provider's own rules).
 *
 * <p>Argument: {@code --statements-base64 <base64 of the script's UTF-8 text>} (one argument
 * survives any quoting of program arguments).
 *
 * <p>Every statement is checked before any job starts. In order, each one is parsed and validated
 * by Flink's own parser against the catalog as the statements before it left it. Catalog
 * statements (CREATE/DROP/ALTER TABLE, VIEW, FUNCTION, USE ...) change the session's in-memory
 * catalog at once, because the statements after them are validated against it; {@code SET 'k' =
 * 'v'} sets a table option; every INSERT (also inside {@code EXECUTE STATEMENT SET BEGIN ... END}
 * and {@code BEGIN STATEMENT SET; ... END;}) is collected. Only when every statement passed are
 * the INSERTs translated and submitted together, as ONE job (a statement set): a script never
 * leaves half of its jobs running. A statement that fails throws a {@link SqlScriptException}
 * naming it, with Flink's message and every line and column in it counted in the whole script.
 *
 * <p>The job's configuration (the run request's {@code flinkConfiguration}) applies: the runtime
 * mode ({@code execution.runtime-mode}), the job name ({@code pipeline.name}) and table options
 * can be given there.
 */
public final class SqlRunner {
    private static final Logger LOG = LoggerFactory.getLogger(SqlRunner.class);
    static final String ARG = "--statements-base64";
    /** Operations that would start a job on their own, outside the one statement set. */
    private static final List<String> JOB_STARTING =
            List.of("ExecutePlanOperation", "CompileAndExecutePlanOperation", "CallProcedureOperation");

    private SqlRunner() {}

    public static void main(String[] args) {
        String script = script(args);
        List<SqlSplitter.Statement> statements = SqlSplitter.split(script);
        if (statements.isEmpty()) {
            throw new SqlScriptException("the SQL holds no statement (only blanks or comments): nothing to run");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The bridge environment takes the runtime mode and options from the job's configuration.
        TableEnvironmentInternal tables = (TableEnvironmentInternal) StreamTableEnvironment.create(env);
        List<ModifyOperation> inserts = new ArrayList<>();
        List<SqlSplitter.Statement> insertedBy = new ArrayList<>();
        for (SqlSplitter.Statement statement : statements) {
            LOG.info("SQL {}: {}", statement.describe(), firstWords(statement.text));
            List<Operation> operations;
            try {
                operations = tables.getParser().parse(statement.text);
            } catch (RuntimeException e) {
                throw failure(statement, e);
            }
            for (Operation operation : operations) {
                String kind = operation.getClass().getSimpleName();
                if (operation instanceof ModifyOperation) {
                    inserts.add((ModifyOperation) operation);
                    insertedBy.add(statement);
                } else if (operation instanceof StatementSetOperation) {
                    for (ModifyOperation inner : ((StatementSetOperation) operation).getOperations()) {
                        inserts.add(inner);
                        insertedBy.add(statement);
                    }
                } else if (kind.equals("BeginStatementSetOperation") || kind.equals("EndStatementSetOperation")) {
                    continue; // every INSERT of the script goes into the one statement set anyway
                } else if (operation instanceof QueryOperation) {
                    throw problem(
                            statement,
                            "a query (SELECT) returns rows to a client, and a deployed job has none: write them to a"
                                    + " table with INSERT INTO <sink> SELECT ... (the 'print' or 'blackhole'"
                                    + " connector for a test)");
                } else if (JOB_STARTING.contains(kind)) {
                    throw problem(
                            statement,
                            kind.replace("Operation", "")
                                    + " would start a job of its own: the runner runs the script's INSERTs as one"
                                    + " job; write INSERT statements instead");
                } else if (operation instanceof SetOperation) {
                    set(tables, statement, (SetOperation) operation);
                } else {
                    try {
                        tables.executeInternal(operation);
                    } catch (RuntimeException e) {
                        throw failure(statement, e);
                    }
                }
            }
        }
        if (inserts.isEmpty()) {
            throw new SqlScriptException(
                    "the SQL has no INSERT, so there is no job to run: add INSERT INTO <sink> SELECT ... (its "
                            + statements.size() + " statement(s) were checked)");
        }
        LOG.info("SQL: all {} statement(s) valid; submitting {} INSERT(s) as one job", statements.size(), inserts.size());
        try {
            tables.executeInternal(inserts);
        } catch (RuntimeException e) {
            // Translation (the sink's schema against the query's, the connectors' options) happens
            // here for all INSERTs at once: find the one that fails alone, to name it.
            for (int i = 0; i < inserts.size(); i++) {
                try {
                    tables.explainInternal(Collections.singletonList(inserts.get(i)));
                } catch (RuntimeException alone) {
                    throw failure(insertedBy.get(i), alone);
                }
            }
            LOG.error("SQL: submitting the job failed", e);
            throw new SqlScriptException("submitting the SQL job failed: " + message(e));
        }
    }

    static String script(String[] args) {
        if (args.length != 2 || !args[0].equals(ARG)) {
            throw new SqlScriptException(
                    "the SQL runner takes exactly two arguments, " + ARG + " <base64 of the SQL>, got " + args.length
                            + ": let the provider build them (FlinkSqlJobOperator, a deployment's sql:)");
        }
        try {
            return new String(Base64.getDecoder().decode(args[1]), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new SqlScriptException("the SQL runner's argument is not base64: " + e.getMessage());
        }
    }

    private static void set(TableEnvironmentInternal tables, SqlSplitter.Statement statement, SetOperation set) {
        Optional<String> key = set.getKey();
        if (key.isEmpty() || set.getValue().isEmpty()) {
            return; // "SET;" lists the options in the SQL client; nothing to do in a job
        }
        if (key.get().equals("execution.runtime-mode")) {
            // The planner is chosen when the environment is created, before the first statement.
            throw problem(
                    statement,
                    "SET 'execution.runtime-mode' comes too late here: give it in the job's Flink configuration"
                            + " (flink_config) instead");
        }
        tables.getConfig().set(key.get(), set.getValue().get());
    }

    private static SqlScriptException problem(SqlSplitter.Statement statement, String what) {
        return new SqlScriptException(statement.describe() + ": " + what);
    }

    /**
     * Flink's message about a statement, positions translated, as one line; the full trace to the
     * log. Not the statement's text: its WITH options may hold credentials (only Flink's own
     * messages, which mask sensitive options, are passed on).
     */
    private static SqlScriptException failure(SqlSplitter.Statement statement, Throwable e) {
        LOG.error("SQL {} failed", statement.describe(), e);
        return problem(statement, statement.translate(message(e)));
    }

    /**
     * The top message and, when it adds something, the root cause's (Flink often wraps "Cannot
     * discover a connector ..." in "Unable to create a source ..."), on one line. The parser's
     * list of every token it expected is cut to its first few.
     */
    static String message(Throwable e) {
        String top = String.valueOf(e.getMessage());
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = clean(top);
        if (root != e && root.getMessage() != null) {
            String cause = clean(root.getMessage());
            if (!text.contains(cause)) {
                text = text + " (cause: " + cause + ")";
            }
        }
        return text;
    }

    private static String clean(String message) {
        String text = message;
        int expecting = text.indexOf("Was expecting");
        if (expecting >= 0) {
            // One token per line, each followed by " ..." (Calcite's way of saying "and more").
            List<String> options = new ArrayList<>();
            for (String option : text.substring(expecting).split("\\s*\\n\\s*")) {
                String token = option.trim().replaceAll("\\s*\\.\\.\\.$", "");
                if (!token.isEmpty() && !token.startsWith("Was expecting")) {
                    options.add(token);
                }
            }
            StringBuilder kept = new StringBuilder(text.substring(0, expecting));
            kept.append("Was expecting one of: ");
            kept.append(String.join(", ", options.subList(0, Math.min(8, options.size()))));
            if (options.size() > 8) {
                kept.append(" (and ").append(options.size() - 8).append(" more)");
            }
            text = kept.toString();
        }
        // Flink wraps some causes in an exception that repeats their first sentence
        // ("SQL validation failed. SQL validation failed. From line ..."): said once.
        return text.replaceAll("\\s*\\n\\s*", " ").replaceAll("([^.]{8,}\\.\\s)\\1+", "$1").trim();
    }

    /** The statement's kind and object for the log ("CREATE TABLE clicks ..."), never its options. */
    private static String firstWords(String text) {
        String[] words = text.split("[\\s(]+", 4);
        return String.join(" ", java.util.Arrays.copyOf(words, Math.min(3, words.length))) + " ...";
    }
}
