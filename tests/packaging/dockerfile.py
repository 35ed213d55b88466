"""Reads a Dockerfile and a .dockerignore the way the builder does, as far as the packaging
check needs: stages and their instructions, the final image's configuration, and which files a
COPY sends to the builder."""

import json
import os
import re
import shlex
import shutil
from pathlib import Path


def instructions(text):
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        op, _, rest = pending.partition(" ")
        out.append((op.upper(), rest.strip()))
        pending = ""
    return out


def stages(text):
    """Each stage: {'from', 'name', 'steps': [(op, args)]}."""
    result = []
    for op, args in instructions(text):
        if op == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append({"from": words[0], "name": name, "steps": []})
        elif result:
            result[-1]["steps"].append((op, args))
    return result


def _exec_form(args):
    args = args.strip()
    return json.loads(args) if args.startswith("[") else ["/bin/sh", "-c", args]


def _flags(words):
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words


def image_config(stage):
    """What a container of this stage starts with: env, user, workdir, entrypoint, cmd, ports,
    healthcheck command, stop signal, volumes."""
    config = {"env": {}, "user": None, "workdir": "/", "entrypoint": [], "cmd": [], "expose": [],
              "healthcheck": None, "stopsignal": "SIGTERM", "volumes": [], "copies": []}
    for op, args in stage["steps"]:
        if op == "ENV":
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                config["env"][key] = value
        elif op == "USER":
            config["user"] = args
        elif op == "WORKDIR":
            config["workdir"] = args
        elif op == "ENTRYPOINT":
            config["entrypoint"] = _exec_form(args)
        elif op == "CMD":
            config["cmd"] = _exec_form(args)
        elif op == "EXPOSE":
            config["expose"] += [int(p.split("/")[0]) for p in args.split()]
        elif op == "HEALTHCHECK":
            flags, text = {}, args
            while text.startswith("--"):
                flag, _, text = text.partition(" ")
                key, _, value = flag[2:].partition("=")
                flags[key], text = value, text.lstrip()
            assert text.startswith("CMD "), f"HEALTHCHECK without CMD: {args}"
            config["healthcheck"] = {"cmd": _exec_form(text[4:]), **flags}
        elif op == "STOPSIGNAL":
            config["stopsignal"] = args
        elif op == "VOLUME":
            config["volumes"] += _exec_form(args) if args.startswith("[") else args.split()
        elif op == "COPY":
            flags, words = _flags(shlex.split(args))
            config["copies"].append({"flags": flags, "sources": words[:-1], "dest": words[-1]})
    return config


def copies(stage):
    """The stage's COPY instructions from the build context: (sources, dest)."""
    out = []
    for op, args in stage["steps"]:
        if op == "COPY":
            flags, words = _flags(shlex.split(args))
            if "from" not in flags:
                out.append((words[:-1], words[-1]))
    return out


def run_steps(stage):
    return [args for op, args in stage["steps"] if op == "RUN"]


class Ignore:
    """.dockerignore: the last pattern that matches a path or one of its parents decides."""

    def __init__(self, text):
        self.rules = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line.lstrip("!").strip("/")
            self.rules.append((negated, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern):
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return "^" + out + "$"

    def excluded(self, path):
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for negated, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                verdict = not negated
        return verdict


def stage_context(root: Path, stage, ignore: Ignore, into: Path):
    """Copies what the stage's COPY instructions take from the context into `into`, minus what
    .dockerignore leaves out; the files copied."""
    copied = []
    for sources, dest in copies(stage):
        for source in sources:
            base = root / source
            assert base.exists(), f"COPY {source}: not in the build context"
            files = [base] if base.is_file() else [Path(d) / f for d, _, fs in os.walk(base) for f in fs]
            for file in files:
                rel = file.relative_to(root).as_posix()
                if ignore.excluded(rel):
                    continue
                target = into / rel if dest.endswith("/") or dest in (".", "./") or base.is_dir() else into / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)
                copied.append(rel)
    return copied
