"""The receivers-and-routes file named by ``OTELMON_NOTIFY_CONFIG`` (docs/design.md "Notification channels"):
read safely, ``${VAR}`` filled in from the environment, validated; every error is one line naming the file,
the line and the key path, and never shows a value (a value may be a secret).

YAML safety: PyYAML's safe loader only (plain data, no Python objects), at most 1 MiB read, and aliases
(``*name``) refused: within 1 MiB an alias bomb still expands to billions of nodes, so refusing aliases is
what bounds the work. Nesting deeper than the parser's recursion allows is an error too.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from dotenv import dotenv_values
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from otelmon.alerting.notify import registry
from otelmon.config import ConfigurationError

MAX_BYTES = 1024 * 1024
MATCH_KEYS = ("platform", "group", "process", "owner", "tag")
# Shown for an unknown key: what may stand there instead.
_TOP_KEYS = ("receivers", "routes", "default_receiver")
_ROUTE_KEYS = ("match", "receiver", "continue", "repeat_interval", "storm_cap_per_minute", "send_resolved")
_MAX_ERRORS_SHOWN = 5
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

KeyPath = tuple[str | int, ...]


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number of seconds, or text such as ``30s``, ``5m``, ``1h``, ``1d``, ``1h30m``."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            if text and _DURATION_PART.sub("", text) == "":
                seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError("expected a duration such as 30s, 5m, 1h, 1d, or a number of seconds")
    return seconds


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("expected a name of letters, digits, '-', '_' and '.' (it appears in URLs)")
    return value


def _address(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError("expected an email address")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, AfterValidator(_name)]
Address = Annotated[str, AfterValidator(_address)]


class Match(BaseModel):
    """Glob patterns (``fnmatchcase``); every one given must match. None given: every alert matches."""

    model_config = ConfigDict(extra="forbid")

    platform: str | None = None
    group: str | None = None
    process: str | None = None
    owner: str | None = None
    tag: str | None = None


class RouteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: Match = Field(default_factory=Match)
    receiver: str
    continue_: bool = Field(False, alias="continue")
    repeat_interval: Duration | None = None
    storm_cap_per_minute: int | None = Field(None, ge=1)
    send_resolved: bool = True


@dataclass(frozen=True)
class ReceiverConfig:
    """A receiver's targets: (integration, index among that integration's entries, its config), in
    ``registry.INTEGRATIONS`` order. ``email`` is one target whatever the number of addresses."""

    name: str
    targets: tuple[tuple[str, int, BaseModel], ...]


@dataclass(frozen=True)
class NotifyConfig:
    path: Path
    receivers: tuple[ReceiverConfig, ...]
    routes: tuple[RouteConfig, ...]
    default_receiver: str | None


def environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """Where ``${VAR}`` is looked up: the environment, over ``.env`` in the working directory (as for every
    ``OTELMON_*`` setting)."""
    found = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file else {}
    return {**found, **os.environ}


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> NotifyConfig:
    """The validated file at ``path``; raises ``ConfigurationError`` (one line) for anything wrong with it."""
    path = Path(path)
    document = _Document(path, environment() if environ is None else environ)
    data = document.read()
    return document.validate(data)


class _Problem(Exception):
    def __init__(self, where: KeyPath, text: str) -> None:
        super().__init__(text)
        self.where = where
        self.text = text


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: object) -> Node:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported here",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


class _Document:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.marks: dict[KeyPath, yaml.Mark] = {}
        self.substituted: list[str] = []  # values read from the environment: never shown in a message

    # ------------------------------------------------------------------ reading
    def read(self) -> Any:
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ConfigurationError(f"OTELMON_NOTIFY_CONFIG: cannot read {self.path}: {exc.strerror}") from None
        if len(raw) > MAX_BYTES:
            raise ConfigurationError(f"{self.path}: larger than {MAX_BYTES // 1024} KiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(f"{self.path}: not UTF-8 text (byte {exc.start})") from None
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise ConfigurationError(f"{self.path}: empty; expected receivers and routes")
            self.marks[()] = root.start_mark
            return self._value(loader, root, ())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            # The problem text only: str(exc) quotes the offending line, which may hold a secret.
            problem = " ".join(filter(None, (exc.context, exc.problem)))
            where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
            raise ConfigurationError(f"{self.path}{where}: invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{self.path}: invalid YAML: {type(exc).__name__}") from None
        except RecursionError:
            raise ConfigurationError(f"{self.path}: nested too deeply") from None
        except _Problem as problem:
            raise ConfigurationError(self._line(problem.where, problem.text)) from None
        finally:
            loader.dispose()

    def _value(self, loader: _Loader, node: Node, where: KeyPath) -> Any:
        if isinstance(node, (MappingNode, SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise _Problem(where, f"the YAML tag {node.tag} is not supported here")
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _Problem(where, "a key must be plain text")
                key = key_node.value  # as written: YAML 1.1 would read a key `on` as true
                if key in result:
                    self.marks[where + (key,)] = key_node.start_mark
                    raise _Problem(where + (key,), "given twice")
                self.marks[where + (key,)] = key_node.start_mark
                result[key] = self._value(loader, value_node, where + (key,))
            return result
        if isinstance(node, SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.marks[where + (index,)] = item.start_mark
                items.append(self._value(loader, item, where + (index,)))
            return items
        value = loader.construct_object(node, deep=True)
        return self._substitute(value, where) if isinstance(value, str) else value

    def _substitute(self, text: str, where: KeyPath) -> str:
        def replace(match: re.Match) -> str:
            escaped, name = match.groups()
            if escaped:
                return "${" + name + "}"
            if not _VARIABLE_NAME.fullmatch(name):
                raise _Problem(where, f"${{{name}}} is not a variable name (write $${{...}} for a literal ${{...}})")
            value = self.environ.get(name)
            if value is None:
                raise _Problem(where, f"environment variable {name} is not set (named as ${{{name}}})")
            self.substituted.append(value)
            return value

        return _VARIABLE.sub(replace, text)

    # ------------------------------------------------------------------ validating
    def validate(self, data: Any) -> NotifyConfig:
        model = self._model(data)
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            errors = [self._error(error) for error in exc.errors(include_url=False)]
            raise ConfigurationError(self._lines(errors)) from None
        config = NotifyConfig(
            path=self.path,
            receivers=tuple(_receiver(receiver) for receiver in parsed.receivers),
            routes=tuple(parsed.routes),
            default_receiver=parsed.default_receiver,
        )
        problems = _references(config)
        if problems:
            raise ConfigurationError(self._lines(problems))
        return config

    def _model(self, data: Any) -> type[BaseModel]:
        """The file's model, with a field for each known integration the file uses: an integration's module
        is imported only when a receiver uses it (Apprise is an optional extra)."""
        used: dict[str, KeyPath] = {}
        receivers = data.get("receivers") if isinstance(data, dict) else None
        for index, receiver in enumerate(receivers if isinstance(receivers, list) else []):
            for key in receiver if isinstance(receiver, dict) else ():
                if key in registry.INTEGRATIONS:
                    used.setdefault(key, ("receivers", index, key))
        fields: dict[str, Any] = {"name": (Name, ...)}
        for integration in registry.INTEGRATIONS:
            if integration not in used:
                continue
            if integration == "email":
                fields["email"] = (list[Address], Field(default_factory=list))
                continue
            try:
                config = registry.config_model(integration)
            except ImportError as exc:
                raise ConfigurationError(self._line(
                    used[integration], f"the {integration} integration cannot be loaded ({exc}); for Apprise "
                    "install the extra: pip install 'otelmon[apprise]'")) from None
            fields[integration] = (list[config], Field(default_factory=list))
        receiver = create_model("Receiver", __config__=ConfigDict(extra="forbid"), **fields)
        return create_model(
            "NotifyFile", __config__=ConfigDict(extra="forbid"),
            receivers=(list[receiver], Field(default_factory=list)),
            routes=(list[RouteConfig], Field(default_factory=list)),
            default_receiver=(str | None, None),
        )

    def _error(self, error: dict[str, Any]) -> tuple[KeyPath, str]:
        loc: KeyPath = tuple(error["loc"])
        kind = error["type"]
        if kind == "missing":
            return loc[:-1], f"{loc[-1]} is required"
        if kind == "extra_forbidden":
            return loc, _unknown_key(loc)
        if kind == "value_error":
            text = str((error.get("ctx") or {}).get("error", error["msg"]))
        else:
            text = error["msg"].replace("Input should be", "expected", 1)
        shown = error.get("input")
        return loc, self._redact(text, shown if isinstance(shown, str) else None)

    def _redact(self, text: str, value: str | None) -> str:
        # pydantic's messages carry no input; an integration's own validator might. Values read from the
        # environment are secrets by design, so neither may appear.
        for secret in [*self.substituted, *([value] if value else [])]:
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _line(self, loc: KeyPath, text: str) -> str:
        return self._lines([(loc, text)])

    def _lines(self, problems: list[tuple[KeyPath, str]]) -> str:
        located = sorted((self._located(loc) + (text,) for loc, text in problems), key=lambda item: item[0])
        parts = [f"line {line}: {path}: {text}" if path else f"line {line}: {text}"
                 for line, path, text in located[:_MAX_ERRORS_SHOWN]]
        more = len(located) - _MAX_ERRORS_SHOWN
        return f"{self.path} " + "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

    def _located(self, loc: KeyPath) -> tuple[int, str]:
        """The line of ``loc``'s node (its key's line for a mapping entry) and the key path as shown: the
        longest part of ``loc`` that is in the file (pydantic adds names of union members and validators)."""
        known: KeyPath = ()
        for part in loc:
            if known + (part,) not in self.marks:
                break
            known += (part,)
        return self.marks[known].line + 1, _dotted(known)


def _receiver(parsed: BaseModel) -> ReceiverConfig:
    targets: list[tuple[str, int, BaseModel]] = []
    for integration in registry.INTEGRATIONS:
        entries = getattr(parsed, integration, None)
        if not entries:
            continue
        if integration == "email":
            targets.append(("email", 0, registry.config_model("email")(to=list(entries))))
            continue
        targets.extend((integration, index, entry) for index, entry in enumerate(entries))
    return ReceiverConfig(parsed.name, tuple(targets))


def _references(config: NotifyConfig) -> list[tuple[KeyPath, str]]:
    problems: list[tuple[KeyPath, str]] = []
    names: set[str] = set()
    for index, receiver in enumerate(config.receivers):
        if receiver.name in names:
            problems.append((("receivers", index, "name"), f"receiver {receiver.name!r} is defined twice"))
        names.add(receiver.name)
    known = ", ".join(sorted(names)) or "none defined"
    for index, route in enumerate(config.routes):
        if route.receiver not in names:
            problems.append((("routes", index, "receiver"), f"no receiver named {route.receiver!r} ({known})"))
    if config.default_receiver is not None and config.default_receiver not in names:
        problems.append((("default_receiver",), f"no receiver named {config.default_receiver!r} ({known})"))
    return problems


def _unknown_key(loc: KeyPath) -> str:
    key = loc[-1]
    parent = loc[:-1]
    if len(parent) == 2 and parent[0] == "receivers":
        return f"unknown integration {key!r} (known: name, {', '.join(registry.INTEGRATIONS)})"
    if parent == ():
        allowed: tuple[str, ...] = _TOP_KEYS
    elif len(parent) == 2 and parent[0] == "routes":
        allowed = _ROUTE_KEYS
    elif len(parent) == 3 and parent[0] == "routes" and parent[2] == "match":
        allowed = MATCH_KEYS
    elif len(parent) == 4 and parent[0] == "receivers" and str(parent[2]) in registry.INTEGRATIONS:
        allowed = tuple(registry.config_model(str(parent[2])).model_fields)
    else:
        return f"unknown key {key!r}"
    return f"unknown key {key!r} (expected one of {', '.join(allowed)})"


def _dotted(loc: KeyPath) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
