"""OtelMon for NiFi 2.x: a native Python processor that runs a user's transform inside a span.

Same user script, span and attributes as ExecutePython.py on NiFi 1.x, but in-process: NiFi 2 has no
Jython, and its Python processors already run in CPython. The work is done by the OtelMon runner
module (nifi.py), which NiFi loads beside this file; spans are exported over OTLP/HTTP as the standard
OTEL_* variables of NiFi's environment say (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
"""

from nifiapi.flowfiletransform import FlowFileTransform, FlowFileTransformResult
from nifiapi.properties import ExpressionLanguageScope, PropertyDescriptor, StandardValidators

import nifi as runner


class OtelMonTransform(FlowFileTransform):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileTransform"]

    class ProcessorDetails:
        version = "0.1.0"
        description = (
            "Runs a Python script's transform(content, attributes) on each FlowFile inside an "
            "OpenTelemetry span (otelmon.platform=nifi), continuing and updating the FlowFile's "
            "traceparent. Errors and timeouts become ERROR spans that OtelMon alerts on, and the "
            "FlowFile goes to failure."
        )
        tags = ["otelmon", "opentelemetry", "tracing", "python", "script"]
        dependencies = ["opentelemetry-sdk==1.45.2", "opentelemetry-exporter-otlp-proto-http==1.45.2"]

    SCRIPT_FILE = PropertyDescriptor(
        name="Script File",
        description="Path of the Python script that defines transform(content, attributes).",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
        expression_language_scope=ExpressionLanguageScope.FLOWFILE_ATTRIBUTES,
    )
    TIMEOUT = PropertyDescriptor(
        name="Timeout Seconds",
        description="How long transform() may run for one FlowFile before it fails with a TimeoutError.",
        required=True,
        default_value="30",
        validators=[StandardValidators.POSITIVE_INTEGER_VALIDATOR],
    )
    PROCESS_GROUP = PropertyDescriptor(
        name="Process Group Name",
        description="Reported as otelmon.group (the Python API does not expose the process group); "
        "e.g. a parameter such as #{otelmon.group}.",
        required=False,
        expression_language_scope=ExpressionLanguageScope.FLOWFILE_ATTRIBUTES,
    )
    MAX_CONTENT_BYTES = PropertyDescriptor(
        name="Max Content Bytes",
        description="Largest FlowFile content handed to, or accepted from, the script.",
        required=True,
        default_value="67108864",  # literal: NiFi reads property docs from the source without running it
        validators=[StandardValidators.POSITIVE_LONG_VALIDATOR],
    )
    PROPERTIES = [SCRIPT_FILE, TIMEOUT, PROCESS_GROUP, MAX_CONTENT_BYTES]

    def __init__(self, **kwargs):  # NiFi passes jvm=...; FlowFileTransform takes nothing
        super().__init__()

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def onStopped(self, context):
        # Spans are exported in batches as FlowFiles pass; stopping sends what is queued, within the bound.
        runner.flush()

    def transform(self, context, flowfile):
        max_bytes = context.getProperty(self.MAX_CONTENT_BYTES).asInteger()
        if flowfile.getSize() > max_bytes:
            # Refused before reading: the content never enters this process.
            message = f"FlowFile has {flowfile.getSize()} bytes, over Max Content Bytes={max_bytes}"
            return FlowFileTransformResult(
                "failure",
                attributes={runner.FF_ERROR_TYPE: "ContentTooLarge", runner.FF_ERROR_MESSAGE: message},
            )
        result = runner.process_flowfile(
            context.getProperty(self.SCRIPT_FILE).evaluateAttributeExpressions(flowfile).getValue(),
            bytes(flowfile.getContentsAsBytes() or b""),
            {str(k): str(v) for k, v in dict(flowfile.getAttributes()).items()},
            processor=context.getName() or "OtelMonTransform",
            group=context.getProperty(self.PROCESS_GROUP).evaluateAttributeExpressions(flowfile).getValue() or None,
            timeout_s=float(context.getProperty(self.TIMEOUT).asInteger()),
            max_content_bytes=max_bytes,
        )
        if not result.ok:
            if self.logger is not None:
                self.logger.error(f"OtelMon transform failed: {result.error_type}: {result.error_message}")
            return FlowFileTransformResult("failure", attributes=result.attributes)
        return FlowFileTransformResult("success", attributes=result.attributes, contents=result.content)
