package flinkprovider.sql;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a SQL script into statements at the semicolons that end them, and maps positions inside
 * a statement back to the whole script.
 *
 * <p>A semicolon ends a statement only outside string literals ({@code '...'}, quotes doubled
 * inside), quoted identifiers ({@code `...`} and {@code "..."}), line comments ({@code --}) and
 * block comments ({@code /* ... *}{@code /}, hints included). {@code EXECUTE STATEMENT SET BEGIN
 * ... END;} is one statement although its INSERTs end with semicolons: inside it only the
 * {@code END} that closes the block (not one closing a {@code CASE}) followed by a semicolon ends
 * it. Lines and columns count as Flink's SQL parser counts them (1-based; {@code \r\n}, {@code \n}
 * and {@code \r} each end a line; a column counts UTF-16 chars), so a position Flink reports in a
 * statement maps to the script by {@link Statement#toScript}.
 *
 * <p>No Flink class is used here: the provider's tests run it alone ({@link #main}).
 */
public final class SqlSplitter {
    private static final Pattern POSITION = Pattern.compile("line (\\d+), column (\\d+)");

    private SqlSplitter() {}

    /** One statement: its text (without the ending semicolon) and where it starts in the script. */
    public static final class Statement {
        /** 1-based number among the script's statements. */
        public final int number;
        /** From the statement's first character that is not blank or comment, to its end. */
        public final String text;
        /** 1-based line and column of the text's first character in the script. */
        public final int line;
        public final int column;

        Statement(int number, String text, int line, int column) {
            this.number = number;
            this.text = text;
            this.line = line;
            this.column = column;
        }

        /** A position inside {@link #text} (1-based, as Flink reports it) in the whole script. */
        public int[] toScript(int statementLine, int statementColumn) {
            if (statementLine <= 1) {
                return new int[] {line, column + statementColumn - 1};
            }
            return new int[] {line + statementLine - 1, statementColumn};
        }

        /**
         * A message of Flink about this statement with every "line L, column C" in it rewritten to
         * the script's lines and columns: Flink parses one statement at a time and counts from it.
         */
        public String translate(String message) {
            Matcher m = POSITION.matcher(message);
            StringBuffer out = new StringBuffer();
            while (m.find()) {
                int[] at = toScript(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
                m.appendReplacement(out, "line " + at[0] + ", column " + at[1]);
            }
            m.appendTail(out);
            return out.toString();
        }

        /** "statement 2 (line 5, column 1)": how messages name it. */
        public String describe() {
            return "statement " + number + " (line " + line + ", column " + column + ")";
        }
    }

    private enum Mode {
        CODE,
        STRING,
        BACKTICK,
        DOUBLE_QUOTE,
        LINE_COMMENT,
        BLOCK_COMMENT
    }

    /** The statements of {@code script}, in order; blank or comment-only pieces are left out. */
    public static List<Statement> split(String script) {
        List<Statement> out = new ArrayList<>();
        Mode mode = Mode.CODE;
        int line = 1;
        int column = 1;
        // Where the open quote or comment began, for the message when it is never closed.
        int openLine = 0;
        int openColumn = 0;
        // The statement being read: its first significant char, its first words, the block state.
        int start = -1;
        int startLine = 0;
        int startColumn = 0;
        List<String> leading = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        int caseDepth = 0;
        boolean blockEnded = false;
        int n = script.length();
        for (int i = 0; i <= n; i++) {
            char c = i < n ? script.charAt(i) : '\n';
            char next = i + 1 < n ? script.charAt(i + 1) : '\0';
            if (mode == Mode.CODE) {
                boolean wordChar = Character.isLetterOrDigit(c) || c == '_' || c == '$';
                if (wordChar && i < n) {
                    word.append(c);
                } else if (word.length() > 0) {
                    String w = word.toString().toUpperCase(Locale.ROOT);
                    word.setLength(0);
                    if (leading.size() < 4) {
                        leading.add(w);
                    }
                    if (isBlock(leading)) {
                        if (w.equals("CASE")) {
                            caseDepth++;
                            blockEnded = false;
                        } else if (w.equals("END") && caseDepth > 0) {
                            caseDepth--;
                            blockEnded = false;
                        } else {
                            blockEnded = w.equals("END");
                        }
                    }
                }
                boolean significant = i < n && !Character.isWhitespace(c);
                if (c == '-' && next == '-') {
                    mode = Mode.LINE_COMMENT;
                    significant = false;
                } else if (c == '/' && next == '*') {
                    mode = Mode.BLOCK_COMMENT;
                    openLine = line;
                    openColumn = column;
                    significant = false;
                    i++; // the '*' opens, it cannot also close ("/*/")
                    column++;
                } else if (c == ';' && i < n && (!isBlock(leading) || blockEnded)) {
                    if (start >= 0) {
                        String text = script.substring(start, i).stripTrailing();
                        out.add(new Statement(out.size() + 1, text, startLine, startColumn));
                    }
                    start = -1;
                    leading.clear();
                    caseDepth = 0;
                    blockEnded = false;
                    significant = false;
                } else if (c == '\'' || c == '`' || c == '"') {
                    mode = c == '\'' ? Mode.STRING : c == '`' ? Mode.BACKTICK : Mode.DOUBLE_QUOTE;
                    openLine = line;
                    openColumn = column;
                }
                if (significant && start < 0) {
                    start = i;
                    startLine = line;
                    startColumn = column;
                }
                if (significant && !wordChar) {
                    blockEnded = false; // only a semicolon may follow the block's END
                }
            } else if (mode == Mode.LINE_COMMENT) {
                if (c == '\n' || c == '\r') {
                    mode = Mode.CODE;
                }
            } else if (mode == Mode.BLOCK_COMMENT) {
                if (c == '*' && next == '/') {
                    mode = Mode.CODE;
                    i++;
                    column++;
                }
            } else {
                char quote = mode == Mode.STRING ? '\'' : mode == Mode.BACKTICK ? '`' : '"';
                if (c == quote && i < n) {
                    if (next == quote) {
                        i++; // a doubled quote stands for one, inside
                        column++;
                    } else {
                        mode = Mode.CODE;
                    }
                }
            }
            // Advance the position past c, as Flink's parser counts.
            if (c == '\n' || (c == '\r' && next != '\n')) {
                line++;
                column = 1;
            } else if (c != '\r') {
                column++;
            }
        }
        switch (mode) {
            case STRING:
                throw unclosed("string literal", "'", openLine, openColumn);
            case BACKTICK:
                throw unclosed("quoted identifier", "`", openLine, openColumn);
            case DOUBLE_QUOTE:
                throw unclosed("quoted text", "\"", openLine, openColumn);
            case BLOCK_COMMENT:
                throw unclosed("comment", "*/", openLine, openColumn);
            default:
                break;
        }
        if (start >= 0) {
            if (isBlock(leading) && !blockEnded) {
                throw new SqlScriptException(
                        "statement " + (out.size() + 1) + " (line " + startLine + ", column " + startColumn
                                + "): EXECUTE STATEMENT SET BEGIN has no END: end the block with END;");
            }
            String text = script.substring(start).stripTrailing();
            out.add(new Statement(out.size() + 1, text, startLine, startColumn));
        }
        return Collections.unmodifiableList(out);
    }

    private static boolean isBlock(List<String> leading) {
        return leading.size() == 4
                && leading.get(0).equals("EXECUTE")
                && leading.get(1).equals("STATEMENT")
                && leading.get(2).equals("SET")
                && leading.get(3).equals("BEGIN");
    }

    private static SqlScriptException unclosed(String what, String closer, int line, int column) {
        return new SqlScriptException(
                "line " + line + ", column " + column + ": this " + what + " is never closed (no " + closer
                        + " after it): close it; nothing was run");
    }

    /**
     * For the provider's tests: reads a script (UTF-8) from stdin and prints one line per statement,
     * {@code line<TAB>column<TAB>text} with the text's backslashes, tabs and line ends escaped, or
     * {@code error<TAB>message} and exits 1. With {@code --message M}, each line also carries M as
     * Flink would have reported it about that statement, translated to the script's positions.
     */
    public static void main(String[] args) throws IOException {
        String script = new String(readAll(System.in), StandardCharsets.UTF_8);
        String message = args.length == 2 && args[0].equals("--message") ? args[1] : null;
        StringBuilder out = new StringBuilder();
        try {
            for (Statement s : split(script)) {
                out.append(s.line).append('\t').append(s.column).append('\t').append(escape(s.text));
                if (message != null) {
                    out.append('\t').append(s.translate(message));
                }
                out.append('\n');
            }
        } catch (SqlScriptException e) {
            System.out.print("error\t" + e.getMessage() + "\n");
            System.out.flush();
            System.exit(1);
        }
        System.out.write(out.toString().getBytes(StandardCharsets.UTF_8));
        System.out.flush();
    }

    static String escape(String text) {
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n");
    }

    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int read;
        while ((read = in.read(chunk)) > 0) {
            buffer.write(chunk, 0, read);
        }
        return buffer.toByteArray();
    }
}
