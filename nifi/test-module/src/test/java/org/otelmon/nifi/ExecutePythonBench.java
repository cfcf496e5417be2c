package org.otelmon.nifi;

import org.apache.nifi.processors.script.ExecuteScript;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Not a test (Surefire's default patterns skip it): benchmarks/nifi_flowfile.py runs it by name and reads the
 * BENCH lines. Time per FlowFile through ExecuteScript + ExecutePython.py + nifi.py, against nifi.py alone.
 */
class ExecutePythonBench {
    private static final Path SCRIPTS = Path.of(System.getProperty("otelmon.scripts.dir")).toAbsolutePath();
    private static final String PYTHON = System.getProperty("otelmon.python");
    private static final int FLOWFILES = Integer.getInteger("bench.flowfiles", 20);
    private static final byte[] CSV = "id,amount\n1,9.50\n2,3.20\n".getBytes(StandardCharsets.UTF_8);

    private static TestRunner runner(String endpoint) {
        TestRunner runner = TestRunners.newTestRunner(ExecuteScript.class, "bench");
        runner.setProperty("Script Engine", "python");
        runner.setProperty("Script File", SCRIPTS.resolve("ExecutePython.py").toString());
        runner.setProperty("otelmon.script", SCRIPTS.resolve("example_transform.py").toString());
        runner.setProperty("otelmon.python", PYTHON);
        runner.setProperty("otelmon.group", "bench");
        runner.setProperty("otelmon.otlp.endpoint", endpoint);
        return runner;
    }

    private static double millisPerFlowFile(String endpoint, int count) {
        TestRunner runner = runner(endpoint);
        runner.enqueue(CSV);
        runner.run(); // Jython start-up, not counted
        runner.clearTransferState();
        for (int i = 0; i < count; i++) {
            runner.enqueue(CSV, Map.of("filename", "f" + i));
        }
        long started = System.nanoTime();
        runner.run(count);
        double millis = (System.nanoTime() - started) / 1e6;
        runner.assertAllFlowFilesTransferred(ExecuteScript.REL_SUCCESS, count);
        return millis / count;
    }

    private static double runnerAloneMillis(String endpoint, int count) throws IOException, InterruptedException {
        String header = "{\"v\": 1, \"script\": \"" + SCRIPTS.resolve("example_transform.py") + "\", \"timeout\": 30,"
                + " \"processor\": \"bench\", \"group\": \"bench\", \"attributes\": {\"uuid\": \"b\"},"
                + " \"content_length\": " + CSV.length + "}\n";
        long started = 0;
        for (int i = -1; i < count; i++) { // run -1 warms the page cache, not counted
            if (i == 0) {
                started = System.nanoTime();
            }
            ProcessBuilder builder = new ProcessBuilder(PYTHON, SCRIPTS.resolve("nifi.py").toString());
            builder.environment().put("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
            builder.redirectError(ProcessBuilder.Redirect.DISCARD);
            Process process = builder.start();
            try (OutputStream in = process.getOutputStream()) {
                in.write(header.getBytes(StandardCharsets.US_ASCII));
                in.write(CSV);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            process.getInputStream().transferTo(out);
            assertEquals(0, process.waitFor());
        }
        return (System.nanoTime() - started) / 1e6 / count;
    }

    @Test
    void timePerFlowFile() throws Exception {
        try (OtlpSink sink = new OtlpSink()) {
            double alone = runnerAloneMillis(sink.endpoint(), FLOWFILES);
            double full = millisPerFlowFile(sink.endpoint(), FLOWFILES);
            double down = millisPerFlowFile("http://127.0.0.1:9", 3);
            System.out.printf("BENCH nifi.py alone (CPython start, transform, span export): %.1f ms per FlowFile%n", alone);
            System.out.printf("BENCH ExecuteScript + ExecutePython.py + nifi.py: %.1f ms per FlowFile (%d FlowFiles)%n",
                    full, FLOWFILES);
            System.out.printf("BENCH   of which ExecuteScript/Jython side: %.1f ms%n", full - alone);
            System.out.printf("BENCH collector down (connection refused): %.0f ms per FlowFile%n", down);
        }
    }
}
