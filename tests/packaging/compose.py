"""The compose file's part of the packaging check (see check.py)."""

import base64
import os
import secrets
import subprocess
import tempfile

import yaml

from common import COMPOSE, check_documented, run, step
from node import Node


def compose_env():
    values = {
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "GATEHOUSE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "GATEHOUSE_SETUP_TOKEN": secrets.token_hex(12),
    }
    example = {}
    for line in (COMPOSE / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = values.get(key, value)
    missing = set(values) - set(example)
    assert not missing, f"env.example does not name {missing}"
    return example


def check_compose(binary, image, database):
    step("docker-compose config, haproxy -c")
    env = {**os.environ, **compose_env()}
    rendered = yaml.safe_load(run(["docker-compose", "-f", COMPOSE / "compose.yaml", "config"], env=env))
    # Without the secrets it must refuse, naming what is missing.
    bare = {k: v for k, v in os.environ.items() if k not in compose_env()}
    refused = subprocess.run(["docker-compose", "-f", COMPOSE / "compose.yaml", "config", "-q"],
                             env=bare, capture_output=True, text=True)
    assert refused.returncode != 0 and ".env" in refused.stderr, refused.stderr
    run(["haproxy", "-c", "-f", COMPOSE / "haproxy.cfg"])
    node_service = rendered["services"]["gatehouse"]
    assert node_service["deploy"]["replicas"] >= 3
    node_env = node_service["environment"]
    check_documented(node_env, "compose.yaml")
    grace = node_service["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) >= int(node_env["GATEHOUSE_DRAIN_DELAY_SECS"]) + int(
        node_env["GATEHOUSE_DRAIN_TIMEOUT_SECS"]), "stop_grace_period is shorter than the drain"
    haproxy = (COMPOSE / "haproxy.cfg").read_text()
    assert f"gatehouse:{image['expose'][0]}" in haproxy and "/ready" in haproxy

    step("a node with the compose file's environment (PostgreSQL)")
    if database is None:
        return
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        env = {**node_env, "GATEHOUSE_DATABASE_URL": url}
        node = Node(image_env=image["env"], env=env, argv=image["entrypoint"] + image["cmd"],
                    bin_dir=binary.parent, paths={image["env"]["GATEHOUSE_DATA_DIR"]: tmp}, cwd=tmp,
                    user=None, port=image["expose"][0])
        with node:
            node.wait_ready("/ready", timeout=30)
            # Enterprise and not initialised: claiming it needs the setup token.
            status, _ = node.request("POST", "/init", {"mode": "enterprise", "adminEmail": "a@example.com"})
            assert status in (401, 403), status
            status, body = node.request("POST", "/init", {"mode": "enterprise", "adminEmail": "a@example.com"},
                                        {"X-Setup-Token": node_env["GATEHOUSE_SETUP_TOKEN"]})
            assert status == 201 and body["adminToken"].startswith("gh_pt_"), (status, body)
            node.stop("SIGTERM", within=int(node_service["stop_grace_period"][:-1]))
