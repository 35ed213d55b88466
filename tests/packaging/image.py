"""The Dockerfile's part of the packaging check (see check.py)."""

import os
import shutil
import tempfile
from pathlib import Path

import dockerfile
from common import ROOT, TOOLS, check_documented, run, step
from node import Node


def check_dockerfile():
    step("hadolint Dockerfile")
    run([TOOLS / "hadolint", ROOT / "Dockerfile"])
    stages = dockerfile.stages((ROOT / "Dockerfile").read_text())
    build, image = stages[0], stages[-1]
    config = dockerfile.image_config(image)
    assert config["user"] and not config["user"].startswith(("0", "root")), "the image must not run as root"
    check_documented(config["env"], "the Dockerfile")

    step("the build stage on exactly the files it copies")
    cargo = [line for line in dockerfile.run_steps(build) if "cargo build" in line]
    assert cargo, "the build stage runs no cargo build"
    words = cargo[0].split("cargo build", 1)[1].split("&&")[0].split()
    assert "--locked" in words, "the image must build from Cargo.lock (--locked)"
    # The debug profile: which files the build reads does not depend on the profile.
    words = [w for w in words if w != "--release"]
    work = ROOT / "target" / "packaging"
    context = work / "context"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    ignore = dockerfile.Ignore((ROOT / ".dockerignore").read_text())
    dockerfile.stage_context(ROOT, build, ignore, context)
    # A target directory of its own, so that no file outside the context can satisfy the build.
    run(["cargo", "build", *words, "--target-dir", work / "target"], cwd=context)
    binary = work / "target" / "debug" / "gatehouse"

    step("the image's binary run as the image runs it (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bin_dir, data = tmp / "bin", tmp / "data"
        bin_dir.mkdir()
        shutil.copy2(binary, bin_dir / "gatehouse")
        data.mkdir()
        uid, gid = (int(x) for x in config["user"].split(":"))
        as_user = os.getuid() == 0
        if as_user:
            os.chmod(tmp, 0o755)
            os.chown(data, uid, gid)
        paths = {config["env"]["GATEHOUSE_DATA_DIR"]: str(data)}
        node = Node(
            image_env=config["env"],
            env={},
            argv=config["entrypoint"] + config["cmd"],
            bin_dir=bin_dir,
            paths=paths,
            cwd=data,
            user=(uid, gid) if as_user else None,
            port=config["expose"][0],
        )
        with node:
            node.wait_ready("/ready", timeout=30)
            health = node.exec(config["healthcheck"]["cmd"])
            assert health.returncode == 0, f"HEALTHCHECK failed: {health.stdout}{health.stderr}"
            node.expect_json_logs()
            assert (data / "gatehouse.db").exists(), "the SQLite database is not in the data volume"
            if as_user:
                assert (data / "gatehouse.db").stat().st_uid == uid
            node.stop(config["stopsignal"], within=10 + 5)
    return binary, config
