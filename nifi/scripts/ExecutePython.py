# -*- coding: utf-8 -*-
# OtelMon for NiFi 1.x: the Script File of an ExecuteScript processor (Script Engine: python).
#
# This file runs under Jython 2.7 inside NiFi: no f-strings, no Python 3 syntax, and only Java and
# Jython's standard library. For each FlowFile it starts the CPython runner nifi.py, hands it the
# FlowFile's attributes and content, and applies what comes back: new content, new attributes,
# success or failure. The runner makes the OpenTelemetry span; this side bounds everything (time,
# sizes) so a broken script or interpreter can never hold the processor.
#
# Dynamic properties (add them on the ExecuteScript processor; Expression Language is evaluated
# against the FlowFile):
#   otelmon.script             required  path of the user's CPython script (defines transform())
#   otelmon.python             $OTELMON_NIFI_PYTHON, else python3: a CPython with opentelemetry-sdk and
#                              opentelemetry-exporter-otlp-proto-http
#   otelmon.runner             $OTELMON_NIFI_SCRIPTS/nifi.py, else nifi.py beside the Script File
#   otelmon.timeout            30        seconds the user's transform may run
#   otelmon.group              the process group's name, else unset   (otelmon.group on the span)
#   otelmon.otlp.endpoint      inherited OTEL_EXPORTER_OTLP_ENDPOINT  (e.g. http://otelcol:4318)
#   otelmon.max.content.bytes  67108864  largest FlowFile content sent to, or accepted from, the script
#   otelmon.will_retry         false     "true" when the flow retries a failed FlowFile (e.g.
#                                        ${retry.count:lt(3)} behind RetryFlowFile): its failure is held
#
# Protocol with nifi.py: one line of ASCII JSON, then the raw content bytes, each way.

import json
import os

import jarray
from java.io import ByteArrayOutputStream, IOException
from java.lang import ProcessBuilder, Runnable, String, Thread, Throwable
from java.util import HashMap
from java.util.concurrent import TimeUnit
from org.apache.nifi.components import PropertyDescriptor
from org.apache.nifi.processor.io import InputStreamCallback, OutputStreamCallback

PROTOCOL_VERSION = 1
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_CONTENT_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
# On top of the transform's own timeout: interpreter start-up and the runner's bounded span flush.
# Past it the runner is killed; only then is there no span (the runner records all the other errors).
RUNNER_GRACE_SECONDS = 15.0
STDERR_TAIL_BYTES = 16 * 1024
MAX_ERROR_MESSAGE_CHARS = 1024
BUFFER_BYTES = 64 * 1024


class RunnerFailure(Exception):
    """The runner gave no usable answer (could not start, was killed, or broke the protocol)."""

    def __init__(self, error_type, message):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message


class _Feeder(Runnable):
    """Writes the request to the runner's stdin from its own thread, so a full pipe cannot deadlock us."""

    def __init__(self, stream, header_bytes, content):
        self.stream = stream
        self.header_bytes = header_bytes
        self.content = content

    def run(self):
        try:
            try:
                self.stream.write(self.header_bytes)
                if len(self.content):
                    self.stream.write(self.content)
                self.stream.flush()
            finally:
                self.stream.close()
        except IOException:
            pass  # the runner exited early; its exit status and response say why


class _Drain(Runnable):
    """Reads a stream to its end, keeping at most `limit` bytes (the head, or the tail for stderr)."""

    def __init__(self, stream, limit, keep_tail):
        self.stream = stream
        self.limit = limit
        self.keep_tail = keep_tail
        self.buffer = ByteArrayOutputStream()
        self.overflowed = False

    def run(self):
        chunk = jarray.zeros(BUFFER_BYTES, 'b')
        try:
            while True:
                count = self.stream.read(chunk)
                if count < 0:
                    break
                if self.buffer.size() + count <= self.limit:
                    self.buffer.write(chunk, 0, count)
                elif self.keep_tail:
                    kept = self.buffer.toByteArray()
                    self.buffer = ByteArrayOutputStream()
                    self.buffer.write(kept, len(kept) // 2, len(kept) - len(kept) // 2)
                    fresh = min(count, self.limit // 2)
                    self.buffer.write(chunk, count - fresh, fresh)
                else:
                    self.overflowed = True
        except IOException:
            pass  # the process was killed; what was read so far is all there is

    def text(self):
        return String(self.buffer.toByteArray(), "UTF-8").toString()


class _ReadAll(InputStreamCallback):
    def __init__(self, size):
        self.size = size
        self.content = None

    def process(self, stream):
        out = ByteArrayOutputStream(max(self.size, 32))
        chunk = jarray.zeros(BUFFER_BYTES, 'b')
        while True:
            count = stream.read(chunk)
            if count < 0:
                break
            out.write(chunk, 0, count)
        self.content = out.toByteArray()


class _WriteSlice(OutputStreamCallback):
    def __init__(self, data, offset, length):
        self.data = data
        self.offset = offset
        self.length = length

    def process(self, stream):
        stream.write(self.data, self.offset, self.length)


def _property(context, flowfile, name, default):
    descriptor = PropertyDescriptor.Builder().name(name).dynamic(True).build()
    value = context.getProperty(descriptor)
    if value is None or value.getValue() is None:
        return default
    evaluated = value.evaluateAttributeExpressions(flowfile).getValue()
    if evaluated is None or evaluated.strip() == "":
        return default
    return evaluated.strip()


def _process_group_name(context):
    # NiFi 1.x gives scripts no process-group API; the framework's context holds its processor node.
    # Best effort only: the otelmon.group property is the supported way.
    try:
        node_field = context.getClass().getDeclaredField("procNode")
        node_field.setAccessible(True)
        return node_field.get(context).getProcessGroup().getName()
    except (Exception, Throwable):
        return None


def _settings(context, flowfile):
    scripts_dir = os.environ.get("OTELMON_NIFI_SCRIPTS") or os.path.dirname(
        context.getAllProperties().get("Script File") or "")
    default_runner = os.path.join(scripts_dir, "nifi.py")
    group = _property(context, flowfile, "otelmon.group", None)
    return {
        "script": _property(context, flowfile, "otelmon.script", None),
        "python": _property(context, flowfile, "otelmon.python", os.environ.get("OTELMON_NIFI_PYTHON") or "python3"),
        "runner": _property(context, flowfile, "otelmon.runner", default_runner),
        "timeout": float(_property(context, flowfile, "otelmon.timeout", str(DEFAULT_TIMEOUT_SECONDS))),
        "group": group if group is not None else _process_group_name(context),
        "endpoint": _property(context, flowfile, "otelmon.otlp.endpoint", None),
        "max_content": int(_property(context, flowfile, "otelmon.max.content.bytes", str(DEFAULT_MAX_CONTENT_BYTES))),
        "will_retry": _property(context, flowfile, "otelmon.will_retry", "false").lower() == "true",
    }


def _request_header(settings, processor, flowfile, content_length):
    attributes = {}
    for entry in flowfile.getAttributes().entrySet():
        attributes[entry.getKey()] = entry.getValue()
    header = {
        "v": PROTOCOL_VERSION,
        "script": settings["script"],
        "timeout": settings["timeout"],
        "processor": processor,
        "group": settings["group"],
        "attributes": attributes,
        "content_length": content_length,
        "max_content_bytes": settings["max_content"],
        "will_retry": settings["will_retry"],
    }
    # ensure_ascii keeps the line pure ASCII whatever the attributes hold.
    return String(json.dumps(header, ensure_ascii=True) + "\n").getBytes("US-ASCII")


def _start_thread(runnable, name):
    thread = Thread(runnable, name)
    thread.setDaemon(True)
    thread.start()
    return thread


def _run_runner(settings, header_bytes, content):
    """Runs nifi.py once; returns (response header dict, stdout bytes, offset of the content)."""
    builder = ProcessBuilder([settings["python"], settings["runner"]])
    if settings["endpoint"]:
        builder.environment().put("OTEL_EXPORTER_OTLP_ENDPOINT", settings["endpoint"])
    try:
        process = builder.start()
    except IOException as error:
        raise RunnerFailure("RunnerStartError", "cannot start %s: %s" % (settings["python"], error.getMessage()))
    stdout = _Drain(process.getInputStream(), settings["max_content"] + MAX_HEADER_BYTES, False)
    stderr = _Drain(process.getErrorStream(), STDERR_TAIL_BYTES, True)
    threads = [
        _start_thread(_Feeder(process.getOutputStream(), header_bytes, content), "otelmon-feed"),
        _start_thread(stdout, "otelmon-stdout"),
        _start_thread(stderr, "otelmon-stderr"),
    ]
    limit_ms = int((settings["timeout"] + RUNNER_GRACE_SECONDS) * 1000)
    finished = process.waitFor(limit_ms, TimeUnit.MILLISECONDS)
    if not finished:
        process.destroyForcibly()
        process.waitFor(5, TimeUnit.SECONDS)
    for thread in threads:
        thread.join(5000)
    if not finished:
        raise RunnerFailure("TimeoutError", "runner killed after %.0f s; stderr: %s"
                            % (limit_ms / 1000.0, stderr.text()))
    if stdout.overflowed:
        raise RunnerFailure("ContentTooLarge", "runner answered more than %d bytes" % stdout.limit)
    return _parse_response(stdout.buffer.toByteArray(), process.exitValue(), stderr)


def _header_end(data):
    # Decoding costs a copy, so look in a small window first: headers are usually short.
    for window in (BUFFER_BYTES, MAX_HEADER_BYTES):
        end = String(data, 0, min(len(data), window), "ISO-8859-1").indexOf("\n")
        if end >= 0 or window >= len(data):
            return end
    return -1


def _parse_response(data, exit_code, stderr):
    end = _header_end(data)
    if end < 0:
        raise RunnerFailure("RunnerError", "runner exited with %d and no answer; stderr: %s"
                            % (exit_code, stderr.text()))
    try:
        # A constructed Java String stays a Java object in Jython; toString() hands back a Python unicode.
        header = json.loads(String(data, 0, end, "UTF-8").toString())
    except ValueError as error:
        raise RunnerFailure("RunnerError", "runner answer is not JSON (%s); stderr: %s" % (error, stderr.text()))
    length = header.get("content_length")
    if length is not None and end + 1 + length != len(data):
        raise RunnerFailure("RunnerError", "runner announced %d content bytes, sent %d" % (length, len(data) - end - 1))
    return header, data, end + 1


def _put_attributes(session, flowfile, attributes):
    values = HashMap()
    for key, value in attributes.items():
        values.put(key, value)
    return session.putAllAttributes(flowfile, values)


def _fail(session, log, flowfile, rel_failure, error_type, message, attributes):
    attributes = dict(attributes)
    attributes["otelmon.error.type"] = error_type
    attributes["otelmon.error.message"] = (message or "")[:MAX_ERROR_MESSAGE_CHARS]
    flowfile = _put_attributes(session, flowfile, attributes)
    log.error("OtelMon transform failed for %s: %s: %s" % (flowfile, error_type, message))
    session.transfer(flowfile, rel_failure)


def on_trigger(session, context, log, rel_success, rel_failure):
    flowfile = session.get()
    if flowfile is None:
        return
    try:
        settings = _settings(context, flowfile)
        if not settings["script"]:
            raise RunnerFailure("ConfigurationError", "property otelmon.script is not set")
        if flowfile.getSize() > settings["max_content"]:
            raise RunnerFailure("ContentTooLarge", "FlowFile has %d bytes, over otelmon.max.content.bytes=%d"
                                % (flowfile.getSize(), settings["max_content"]))
        reader = _ReadAll(flowfile.getSize())
        session.read(flowfile, reader)
        processor = context.getName() or "ExecuteScript"
        header_bytes = _request_header(settings, processor, flowfile, len(reader.content))
        response, data, offset = _run_runner(settings, header_bytes, reader.content)
    except RunnerFailure as failure:
        _fail(session, log, flowfile, rel_failure, failure.error_type, failure.message, {})
        return
    except (Exception, Throwable) as error:
        _fail(session, log, flowfile, rel_failure, "ExecutePythonError", "%s" % (error,), {})
        return
    if not response.get("ok"):
        error = response.get("error") or {}
        _fail(session, log, flowfile, rel_failure, error.get("type") or "Error", error.get("message"),
              response.get("attributes") or {})
        return
    for stale in ("otelmon.error.type", "otelmon.error.message"):  # from an earlier failed try
        if flowfile.getAttribute(stale) is not None:
            flowfile = session.removeAttribute(flowfile, stale)
    if response.get("content_length") is not None:
        flowfile = session.write(flowfile, _WriteSlice(data, offset, response["content_length"]))
    flowfile = _put_attributes(session, flowfile, response.get("attributes") or {})
    session.transfer(flowfile, rel_success)


on_trigger(session, context, log, REL_SUCCESS, REL_FAILURE)  # noqa: F821 (ExecuteScript's bindings)
