package flinkprovider.sql;

/**
 * What is wrong with a SQL script, in one line that names the statement and its position in the
 * whole script.
 *
 * <p>It is thrown without a cause on purpose: Flink's REST answer to {@code /jars/{id}/run} ends
 * with the innermost exception of the chain, and the provider shows that line to the user. The
 * exception it replaces is logged in full (the JobManager's log) before this one is thrown.
 */
public final class SqlScriptException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SqlScriptException(String message) {
        super(message);
    }
}
