package org.otelmon.nifi;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/** A loopback OTLP/HTTP receiver that keeps every span it is sent, so tests can wait for one. */
final class OtlpSink implements AutoCloseable {
    private final HttpServer server;
    private final List<Span> spans = new ArrayList<>();

    OtlpSink() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/traces", exchange -> {
            try (InputStream raw = exchange.getRequestBody()) {
                String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
                InputStream body = "gzip".equalsIgnoreCase(encoding) ? new GZIPInputStream(raw) : raw;
                ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(body);
                synchronized (spans) {
                    for (ResourceSpans resourceSpans : request.getResourceSpansList()) {
                        for (ScopeSpans scopeSpans : resourceSpans.getScopeSpansList()) {
                            spans.addAll(scopeSpans.getSpansList());
                        }
                    }
                    spans.notifyAll();
                }
                byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
                exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, answer.length);
                exchange.getResponseBody().write(answer);
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The first span matching, waiting for it to arrive at most timeoutMillis. */
    Optional<Span> await(Predicate<Span> wanted, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        synchronized (spans) {
            while (true) {
                Optional<Span> found = spans.stream().filter(wanted).findFirst();
                long left = deadline - System.currentTimeMillis();
                if (found.isPresent() || left <= 0) {
                    return found;
                }
                spans.wait(left);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
