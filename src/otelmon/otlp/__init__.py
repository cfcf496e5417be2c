"""OTLP/HTTP wire handling: bodies in, ``ExportTraceServiceRequest`` out, responses back."""
