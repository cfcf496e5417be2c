"""Hosts the NiFi 2 processor OtelMonTransform as NiFi 2's Python framework does, in a process of its own.

The processor, nifiapi (NiFi's real Python API, from its Maven jar) and the OtelMon runner are the real
ones. Only the Java side that py4j would proxy is played here, by small classes with the same method
names: the JVM view, the Java ProcessContext, PropertyDescriptor and PropertyValue, and InputFlowFile
(org.apache.nifi.python.processor.InputFlowFile). Expression Language is NiFi's Java engine: only the
plain ${attribute} form, which nifiapi resolves in Python, is supported here.

Usage: python nifi2_host.py < job.json > results.json, where job.json says
{"nifiapi_jar", "processor_file", "runner_dir", "name", "properties": {...},
 "flowfiles": [{"content_b64", "attributes"}]}.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import sys


class _JavaView:
    """py4j's JVMView: any package path resolves lazily; java.util collections are real Python ones."""

    def __init__(self, path: str = "") -> None:
        self._path = path

    def __getattr__(self, name: str):
        path = f"{self._path}.{name}" if self._path else name
        if path == "java.util.HashMap":
            return _JavaHashMap
        if path == "java.util.ArrayList":
            return list
        return _JavaView(path)

    def __repr__(self) -> str:
        return f"<java {self._path}>"


class _Gateway:
    """py4j's JavaGateway: its JVM view and Java arrays (Python lists here)."""

    def __init__(self) -> None:
        self.jvm = _JavaView()

    def new_array(self, java_class, size: int) -> list:
        return [None] * size


class _JavaHashMap(dict):
    def put(self, key, value):
        self[key] = value


class _JavaMap(dict):
    def keySet(self):
        return list(self.keys())


class _ElScope:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class _JavaPropertyDescriptor:
    """org.apache.nifi.components.PropertyDescriptor, as NiFi builds it from the processor's own descriptor."""

    def __init__(self, descriptor) -> None:
        self._d = descriptor

    def getName(self):
        return self._d.name

    def getDescription(self):
        return self._d.description

    def isRequired(self):
        return self._d.required

    def isSensitive(self):
        return self._d.sensitive

    def getDisplayName(self):
        return self._d.displayName or self._d.name

    def getDefaultValue(self):
        return self._d.defaultValue

    def getAllowableValues(self):
        return None

    def getDependencies(self):
        return None

    def getResourceDefinition(self):
        return None

    def getExpressionLanguageScope(self):
        return _ElScope(self._d.expressionLanguageScope.name)

    def isExpressionLanguageSupported(self):
        return self._d.expressionLanguageScope.name != "NONE"

    def isDynamic(self):
        return False

    def getValidators(self):
        return self._d.validators

    def getControllerServiceDefinition(self):
        return None


class _JavaPropertyValue:
    def __init__(self, value: str | None) -> None:
        self._value = value

    def getValue(self):
        return self._value

    def isExpressionLanguagePresent(self):
        return self._value is not None and "${" in self._value

    def evaluateAttributeExpressions(self, attributes):
        raise NotImplementedError("only ${attribute} references are supported outside NiFi")


class _JavaProcessContext:
    def __init__(self, descriptors, values: dict[str, str], name: str) -> None:
        self._name = name
        self._values = {d.name: values.get(d.name, d.defaultValue) for d in descriptors}
        self._properties = _JavaMap({_JavaPropertyDescriptor(d): self._values[d.name] for d in descriptors})

    def getProperties(self):
        return self._properties

    def getName(self):
        return self._name

    def getProperty(self, name: str):
        return _JavaPropertyValue(self._values.get(name))


class _JavaInputFlowFile:
    """org.apache.nifi.python.processor.InputFlowFile."""

    def __init__(self, content: bytes, attributes: dict[str, str]) -> None:
        self._content = content
        self._attributes = attributes

    def getContentsAsBytes(self):
        return self._content

    def getContentsAsReader(self):
        import io

        return io.BufferedReader(io.BytesIO(self._content))

    def getSize(self):
        return len(self._content)

    def getAttribute(self, name: str):
        return self._attributes.get(name)

    def getAttributes(self):
        return _JavaMap(self._attributes)


def main() -> None:
    job = json.load(sys.stdin)
    sys.path[:0] = [job["nifiapi_jar"], job["runner_dir"]]
    from nifiapi.__jvm__ import JvmHolder
    from py4j import java_gateway

    # Set before nifiapi.properties is imported, as NiFi's Controller does.
    JvmHolder.gateway = _Gateway()
    JvmHolder.jvm = JvmHolder.gateway.jvm
    JvmHolder.java_gateway = java_gateway
    from nifiapi.properties import ProcessContext

    spec = importlib.util.spec_from_file_location("OtelMonTransform", job["processor_file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    processor = module.OtelMonTransform(jvm=JvmHolder.jvm)
    processor.logger = logging.getLogger("OtelMonTransform")
    java_context = _JavaProcessContext(processor.getPropertyDescriptors(), job["properties"], job["name"])

    # Like NiFi's PythonProcessorAdapter: lifecycle methods are optional and called when defined.
    if hasattr(processor, "onScheduled"):
        processor.onScheduled(ProcessContext(java_context))
    processor.setContext(java_context)
    results = []
    for flowfile in job["flowfiles"]:
        content = base64.b64decode(flowfile["content_b64"])
        result = processor.transformFlowFile(_JavaInputFlowFile(content, flowfile["attributes"]))
        contents = result.getContents()
        results.append(
            {
                "relationship": result.getRelationship(),
                "attributes": dict(result.getAttributes() or {}),
                "content_b64": None if contents is None else base64.b64encode(contents).decode(),
            }
        )
    if hasattr(processor, "onStopped"):
        processor.onStopped(ProcessContext(java_context))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
