"""Every pinned image has recorded evidence that its tag exists, and every healthcheck runs only a program
that is provably in its image: one our own Dockerfile puts there (COPY, apt-get install), or one the pinned
upstream image is shown to ship (tests/stack/image_evidence.yaml, with the file at that tag that proves it).

This is the rule that would have caught Tempo's healthcheck: `wget` in a distroless image can never pass,
and every service waiting for a healthy Tempo never starts.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from tests.stack.dockerfiles import dockerfile_from_images, dockerfile_text, instructions

EVIDENCE = yaml.safe_load((Path(__file__).with_name("image_evidence.yaml")).read_text(encoding="utf-8"))


def final_base_image(build: dict) -> str:
    """The image the last stage starts from (following stage names back to an external image)."""
    stages: dict[str, str] = {}
    last = ""
    for op, args in instructions(dockerfile_text(build)):
        if op == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            last = stages.get(words[0], words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages[words[2]] = last
    return last


def programs_added_by(build: dict) -> set[str]:
    added: set[str] = set()
    for op, args in instructions(dockerfile_text(build)):
        if op in ("COPY", "ADD"):
            paths = [w for w in shlex.split(args) if not w.startswith("--")]
            added.add(paths[-1])
        elif op == "RUN":
            for match in re.finditer(r"apt-get install ([^&;|]+)", args):
                added.update(w for w in match.group(1).split() if not w.startswith("-"))
    return added


def healthcheck_programs(test: list[str]) -> list[str]:
    if test[0] == "CMD":
        return [test[1]]
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", shlex.split(test[1])[0]]
    raise AssertionError(f"unexpected healthcheck form {test[0]}")


def present(program: str, available: set[str]) -> bool:
    return program in available or Path(program).name in {Path(p).name for p in available}


def third_party_images(compose_model_all: dict) -> set[str]:
    images = set()
    for service in compose_model_all["services"].values():
        if service.get("build"):
            images.update(dockerfile_from_images(service["build"]))
        else:
            images.add(service["image"])
    return images


def test_every_pinned_image_has_evidence_that_its_tag_exists(compose_model_all: dict) -> None:
    images = third_party_images(compose_model_all)
    missing = sorted(image for image in images if not (EVIDENCE.get(image) or {}).get("tag"))
    assert missing == [], f"no recorded evidence for these tags in image_evidence.yaml: {missing}"


def test_no_stale_evidence(compose_model_all: dict) -> None:
    # Evidence for a tag no longer pinned would only mislead the next reader.
    assert set(EVIDENCE) - third_party_images(compose_model_all) == set()


def test_every_healthcheck_runs_a_program_its_image_provably_has(compose_model_all: dict) -> None:
    problems = []
    for name, service in sorted(compose_model_all["services"].items()):
        check = service.get("healthcheck")
        if not check or check.get("disable"):
            continue
        if service.get("build"):
            base = final_base_image(service["build"])
            available = programs_added_by(service["build"]) | set((EVIDENCE.get(base) or {}).get("ships") or {})
        else:
            base = service["image"]
            available = set((EVIDENCE.get(base) or {}).get("ships") or {})
        for program in healthcheck_programs(check["test"]):
            if not present(program, available):
                problems.append(f"{name}: {program} is not shown to be in {base} (has: {sorted(available)})")
    assert problems == []

