"""Reading the stack's Dockerfiles: base images, build contexts, pip install lines."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

# An exact release: at least major.minor, with the patch where the project publishes one,
# optionally a variant (e.g. 3.3.2-python3.11, 1.37.0-musl, v3.13.3).
EXACT_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?(-[A-Za-z0-9.]+)*$")
# Images whose projects publish major.minor.patch: a two-part tag would float with patch releases.
NEEDS_PATCH = ("grafana/", "prom/", "otel/", "apache/", "axllent/", "mariadb", "python", "busybox")


def assert_pinned_tag(image: str, where: str) -> None:
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    assert tag, f"{where}: {image} has no tag"
    assert "placeholder" not in tag.lower(), f"{where}: {image} is still a placeholder"
    assert EXACT_TAG.match(tag), f"{where}: {image} is not pinned to an exact version"
    if name.startswith(NEEDS_PATCH):
        assert re.match(r"^v?\d+\.\d+\.\d+", tag), f"{where}: {image} lacks the patch version"


def dockerfile_text(build: dict) -> str:
    if build.get("dockerfile_inline"):
        return build["dockerfile_inline"]
    context = Path(build["context"])
    return (context / build.get("dockerfile", "Dockerfile")).read_text(encoding="utf-8")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    result = []
    for line in joined.splitlines():
        parts = line.strip().split(None, 1)
        if parts:
            result.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return result


def dockerfile_from_images(build: dict) -> list[str]:
    """External base images; a FROM naming an earlier stage is not one."""
    images, stages = [], set()
    for op, args in instructions(dockerfile_text(build)):
        if op != "FROM":
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        if words[0] not in stages:
            images.append(words[0])
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return images


def copy_sources(build: dict) -> list[str]:
    """Sources of COPY/ADD from the build context (not from another stage)."""
    sources = []
    for op, args in instructions(dockerfile_text(build)):
        if op in ("COPY", "ADD"):
            words = shlex.split(args)
            if any(w.startswith("--from=") for w in words):
                continue
            paths = [w for w in words if not w.startswith("--")]
            sources.extend(paths[:-1])
    return sources


def pip_install_args(build: dict) -> list[list[str]]:
    """The requirement arguments of each ``pip install`` in RUN lines (options dropped)."""
    found = []
    for op, args in instructions(dockerfile_text(build)):
        if op != "RUN":
            continue
        for command in re.split(r"&&|;", args):
            words = shlex.split(command)
            for i, word in enumerate(words):
                if word.endswith("pip") and words[i + 1 : i + 2] == ["install"]:
                    found.append([w for w in words[i + 2 :] if not w.startswith("-")])
    return found
