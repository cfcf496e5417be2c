package org.otelmon.nifi;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processors.script.ExecuteScript;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs NiFi's real ExecuteScript processor (Jython engine) on ExecutePython.py, which hands each FlowFile to the
 * CPython runner nifi.py; the runner's spans go to a loopback OTLP/HTTP sink and are checked as exported.
 */
class ExecutePythonTest {
    private static final String PROCESSOR_NAME = "Upper-case CSV";
    private static final String GROUP = "ingest-orders";
    private static final long SPAN_WAIT_MILLIS = 15_000;

    private static final Path SCRIPTS = Path.of(System.getProperty("otelmon.scripts.dir")).toAbsolutePath();
    private static final String PYTHON = System.getProperty("otelmon.python");

    private static OtlpSink sink;

    @TempDir
    static Path userScripts;

    @BeforeAll
    static void startSink() throws IOException {
        sink = new OtlpSink();
        Files.writeString(userScripts.resolve("sleeps.py"),
                "import time\n\ndef transform(content, attributes):\n    time.sleep(60)\n");
    }

    @AfterAll
    static void stopSink() {
        sink.close();
    }

    private static TestRunner runner(String userScript, String timeoutSeconds) {
        TestRunner runner = TestRunners.newTestRunner(ExecuteScript.class, PROCESSOR_NAME);
        runner.setProperty("Script Engine", "python");
        runner.setProperty("Script File", SCRIPTS.resolve("ExecutePython.py").toString());
        runner.setProperty("otelmon.script", userScript);
        runner.setProperty("otelmon.python", PYTHON);
        runner.setProperty("otelmon.timeout", timeoutSeconds);
        runner.setProperty("otelmon.group", GROUP);
        runner.setProperty("otelmon.otlp.endpoint", sink.endpoint());
        return runner;
    }

    private static String example() {
        return SCRIPTS.resolve("example_transform.py").toString();
    }

    private static String attribute(Span span, String key) {
        return span.getAttributesList().stream()
                .filter(kv -> kv.getKey().equals(key))
                .map(KeyValue::getValue)
                .map(value -> value.hasStringValue() ? value.getStringValue() : value.toString())
                .findFirst().orElse(null);
    }

    private static String hex(ByteString id) {
        return HexFormat.of().formatHex(id.toByteArray());
    }

    private static Span spanOf(MockFlowFile flowFile) throws InterruptedException {
        String uuid = flowFile.getAttribute("uuid");
        return sink.await(span -> uuid.equals(attribute(span, "nifi.flowfile.uuid")), SPAN_WAIT_MILLIS)
                .orElseThrow(() -> new AssertionError("no span exported for FlowFile " + uuid));
    }

    private static void assertIdentifies(Span span) {
        assertEquals(PROCESSOR_NAME, span.getName());
        assertEquals("nifi", attribute(span, "otelmon.platform"));
        assertEquals(GROUP, attribute(span, "otelmon.group"));
        assertEquals(PROCESSOR_NAME, attribute(span, "otelmon.process"));
    }

    /** Runs one FlowFile through the processor; the FlowFile it routed to {@code expected}. */
    private static MockFlowFile runOne(TestRunner runner, String content, Map<String, String> attributes,
                                       Relationship expected) {
        runner.enqueue(content.getBytes(StandardCharsets.UTF_8), attributes);
        runner.run();
        runner.assertAllFlowFilesTransferred(expected, 1);
        return runner.getFlowFilesForRelationship(expected).get(0);
    }

    @Test
    void successWritesContentAndAttributesBackAndExportsAnOkSpan() throws InterruptedException {
        MockFlowFile out = runOne(runner(example(), "10"), "id,amount\n1,9.50\n2,3.20\n",
                Map.of("filename", "orders.csv"), ExecuteScript.REL_SUCCESS);
        out.assertContentEquals("ID,AMOUNT\n1,9.50\n2,3.20\n");
        out.assertAttributeEquals("csv.row.count", "2");
        out.assertAttributeEquals("filename", "orders.csv");
        out.assertAttributeNotExists("otelmon.error.type");

        Span span = spanOf(out);
        assertIdentifies(span);
        assertNotEquals(Status.StatusCode.STATUS_CODE_ERROR, span.getStatus().getCode());
        assertEquals("00-" + hex(span.getTraceId()) + "-" + hex(span.getSpanId()) + "-"
                + out.getAttribute("traceparent").substring(53), out.getAttribute("traceparent"));
    }

    @Test
    void incomingTraceparentIsContinued() throws InterruptedException {
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        String parentId = "00f067aa0ba902b7";
        MockFlowFile out = runOne(runner(example(), "10"), "a\n1\n",
                Map.of("traceparent", "00-" + traceId + "-" + parentId + "-01"), ExecuteScript.REL_SUCCESS);
        Span span = spanOf(out);
        assertEquals(traceId, hex(span.getTraceId()));
        assertEquals(parentId, hex(span.getParentSpanId()));
        assertTrue(out.getAttribute("traceparent").startsWith("00-" + traceId + "-" + hex(span.getSpanId())),
                out.getAttribute("traceparent"));
    }

    @Test
    void failingScriptRoutesToFailureWithAnErrorSpan() throws InterruptedException {
        MockFlowFile out = runOne(runner(example(), "10"), "a\n1\n", Map.of("fail", "true", "filename", "bad.csv"),
                ExecuteScript.REL_FAILURE);
        out.assertContentEquals("a\n1\n");
        out.assertAttributeEquals("otelmon.error.type", "ValueError");
        out.assertAttributeEquals("otelmon.error.message", "asked to fail by FlowFile bad.csv");
        assertTrue(out.getAttribute("traceparent").startsWith("00-"));

        Span span = spanOf(out);
        assertIdentifies(span);
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, span.getStatus().getCode());
        Span.Event exception = span.getEventsList().stream().filter(e -> e.getName().equals("exception"))
                .findFirst().orElseThrow();
        assertEquals("ValueError", eventAttribute(exception, "exception.type"));
        assertEquals("asked to fail by FlowFile bad.csv", eventAttribute(exception, "exception.message"));
        assertTrue(eventAttribute(exception, "exception.stacktrace").contains("example_transform.py"));
    }

    @Test
    void hangingScriptTimesOutToFailureWithAnErrorSpan() throws InterruptedException {
        TestRunner runner = runner(userScripts.resolve("sleeps.py").toString(), "1");
        runner.enqueue("x");
        long started = System.nanoTime();
        runner.run();
        long seconds = (System.nanoTime() - started) / 1_000_000_000L;

        runner.assertAllFlowFilesTransferred(ExecuteScript.REL_FAILURE, 1);
        assertTrue(seconds < 10, "a 1 s timeout took " + seconds + " s");
        MockFlowFile out = runner.getFlowFilesForRelationship(ExecuteScript.REL_FAILURE).get(0);
        out.assertAttributeEquals("otelmon.error.type", "TimeoutError");
        out.assertContentEquals("x");

        Span span = spanOf(out);
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, span.getStatus().getCode());
        Span.Event exception = span.getEventsList().stream().filter(e -> e.getName().equals("exception"))
                .findFirst().orElseThrow();
        assertEquals("TimeoutError", eventAttribute(exception, "exception.type"));
        assertTrue(eventAttribute(exception, "exception.stacktrace").contains("time.sleep(60)"),
                eventAttribute(exception, "exception.stacktrace"));
    }

    @Test
    void interpreterThatCannotStartRoutesToFailure() {
        TestRunner runner = runner(example(), "10");
        runner.setProperty("otelmon.python", userScripts.resolve("no-such-python").toString());
        runOne(runner, "a\n1\n", Map.of(), ExecuteScript.REL_FAILURE)
                .assertAttributeEquals("otelmon.error.type", "RunnerStartError");
    }

    private static String eventAttribute(Span.Event event, String key) {
        return event.getAttributesList().stream().filter(kv -> kv.getKey().equals(key))
                .map(kv -> kv.getValue().getStringValue()).findFirst().orElse(null);
    }
}
