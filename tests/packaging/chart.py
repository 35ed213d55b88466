"""The Helm chart's part of the packaging check (see check.py)."""

import base64
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import yaml

from common import CHART, KUBERNETES, TOOLS, check_documented, run, step
from node import Node

KEY = base64.b64encode(os.urandom(32)).decode()
PUBLIC_URL = "https://mcp.example.com"

# The chart makes the Secret from values: every optional key given.
CREATED = {
    "publicUrl": PUBLIC_URL,
    "secret": {"create": {"databaseUrl": "postgres://gatehouse:pw@db:5432/gatehouse", "masterKey": KEY,
                          "setupToken": "setup-token-value", "metricsToken": "metrics-token-value"}},
}
# A Secret made beforehand, fixed replicas, an Ingress, traces, one more variable.
EXISTING = {
    "publicUrl": "https://mcp.example.com:8443/",
    "secret": {"existingSecret": "gatehouse-credentials"},
    "autoscaling": {"enabled": False},
    "replicaCount": 3,
    "ingress": {"enabled": True, "className": "nginx",
                "tls": [{"secretName": "gatehouse-tls", "hosts": ["mcp.example.com"]}]},
    "config": {"otlpEndpoint": "http://otel-collector:4318"},
    "extraEnv": [{"name": "GATEHOUSE_HEADER_TIMEOUT_SECS", "value": "20"}],
}
# Values the chart must refuse, and the words its refusal must contain.
REFUSED = [
    ({}, "publicUrl is required"),
    ({**CREATED, "publicUrl": "https://mcp.example.com/mcp"}, "without a path"),
    ({"publicUrl": PUBLIC_URL, "secret": {}}, "give secret.existingSecret"),
    ({"publicUrl": PUBLIC_URL, "secret": {"create": {"databaseUrl": "sqlite://x.db", "masterKey": KEY}}},
     "must be a postgres:// URL"),
    ({"publicUrl": PUBLIC_URL, "secret": {"create": {"databaseUrl": "postgres://db/g", "masterKey": "c2hvcnQ="}}},
     "exactly 32 bytes"),
    ({**CREATED, "config": {"logFormt": "json"}}, "logFormt"),
]


def render(values, tmp, kube=KUBERNETES[-1]):
    path = Path(tmp) / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    out = run([TOOLS / "helm", "template", "gh", CHART, "-f", path, "--kube-version", kube])
    return [doc for doc in yaml.safe_load_all(out) if doc], out


def validate(values, tmp):
    path = Path(tmp) / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    run([TOOLS / "helm", "lint", "--strict", CHART, "-f", path])
    for kube in KUBERNETES:
        _, text = render(values, tmp, kube)
        manifest = Path(tmp) / f"rendered-{kube}.yaml"
        manifest.write_text(text)
        run([TOOLS / "kubernetes-validate", "--strict", "--quiet", "-k", kube, manifest])
    return {doc["kind"]: doc for doc in render(values, tmp)[0]}


def container_of(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container, secret, secret_name):
    """The container's environment as the kubelet would give it, Secret references resolved."""
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret_name, ref
        if ref["key"] in secret.get("data", {}):
            env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        else:
            assert ref.get("optional"), f"{item['name']}: key {ref['key']} missing and not optional"
    return env


def check_objects(objects, image):
    deployment = objects["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = container_of(deployment)
    names = {item["name"] for item in container["env"]}
    check_documented(names, "the Helm chart")
    assert {"GATEHOUSE_DATABASE_URL", "GATEHOUSE_MASTER_KEY"} <= names
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    (port,) = container["ports"]
    assert port["containerPort"] == image["expose"][0] and port["name"] == "http"
    uid = int(image["user"].split(":")[0])
    assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"]
    assert container["securityContext"]["readOnlyRootFilesystem"]
    # A read-only root: the image's data directory must be a volume.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert image["env"]["GATEHOUSE_DATA_DIR"] in mounts, mounts
    values = {item["name"]: item.get("value") for item in container["env"]}
    drain = int(values["GATEHOUSE_DRAIN_DELAY_SECS"]) + int(values["GATEHOUSE_DRAIN_TIMEOUT_SECS"])
    assert pod["terminationGracePeriodSeconds"] > drain
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert objects["Service"]["spec"]["selector"] == selector
    assert objects["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    if "PodDisruptionBudget" in objects:
        assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    return container


def check_chart(binary, image, database):
    with tempfile.TemporaryDirectory() as tmp:
        step("helm lint and template, validated against Kubernetes " + " and ".join(KUBERNETES))
        created = validate(CREATED, tmp)
        assert set(created) == {"Secret", "ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler",
                                "PodDisruptionBudget"}, set(created)
        assert "replicas" not in created["Deployment"]["spec"], "with autoscaling the HPA owns replicas"
        assert created["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == \
            created["Deployment"]["metadata"]["name"]
        check_objects(created, image)

        existing = validate(EXISTING, tmp)
        assert set(existing) == {"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "Ingress"}
        assert existing["Deployment"]["spec"]["replicas"] == 3
        assert existing["Ingress"]["spec"]["rules"][0]["host"] == "mcp.example.com"
        container = check_objects(existing, image)
        env = {item["name"]: item for item in container["env"]}
        assert env["GATEHOUSE_PUBLIC_URL"]["value"] == "https://mcp.example.com:8443"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector:4318"
        assert env["GATEHOUSE_HEADER_TIMEOUT_SECS"]["value"] == "20"
        assert env["GATEHOUSE_MASTER_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "gatehouse-credentials"

        step("wrong values refused with a message")
        for values, words in REFUSED:
            path = Path(tmp) / "values.yaml"
            path.write_text(yaml.safe_dump(values))
            refused = subprocess.run([str(TOOLS / "helm"), "template", "gh", str(CHART), "-f", str(path)],
                                     capture_output=True, text=True)
            assert refused.returncode != 0 and words in refused.stderr, (values, refused.stderr)

        step("a node as the rendered Deployment runs it (PostgreSQL)")
        if database is None:
            return
        run_rendered(created, binary, image, database, Path(tmp))


def run_rendered(objects, binary, image, database, tmp):
    deployment, secret = objects["Deployment"], objects["Secret"]
    container = container_of(deployment)
    pod = deployment["spec"]["template"]["spec"]
    env = env_of(container, secret, secret["metadata"]["name"])
    uid = pod["securityContext"]["runAsUser"]
    gid = pod["securityContext"]["runAsGroup"]
    as_user = os.getuid() == 0
    paths = {}
    for mount in container["volumeMounts"]:
        here = tmp / mount["name"]
        here.mkdir()
        if as_user:
            os.chown(here, uid, gid)
        paths[mount["mountPath"]] = here
    if as_user:
        os.chmod(tmp, 0o755)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "gatehouse").write_bytes(binary.read_bytes())
    (bin_dir / "gatehouse").chmod(0o755)
    argv = container.get("command", image["entrypoint"]) + container.get("args", image["cmd"])
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "gatehouse init --admin-email" in notes
    with database() as url:
        # The one substitution: the Secret's database is this machine's test server.
        env["GATEHOUSE_DATABASE_URL"] = url
        node = Node(image_env=image["env"], env=env, argv=argv, bin_dir=bin_dir, paths=paths,
                    cwd=paths[image["env"]["GATEHOUSE_DATA_DIR"]], user=(uid, gid) if as_user else None,
                    port=container["ports"][0]["containerPort"])
        with node:
            startup = container["startupProbe"]
            node.wait_ready(startup["httpGet"]["path"], startup["periodSeconds"] * startup["failureThreshold"])
            for probe in ("livenessProbe", "readinessProbe"):
                node.wait_ready(container[probe]["httpGet"]["path"], container[probe]["timeoutSeconds"] * 5)
            # NOTES.txt's first step: `kubectl exec … -- gatehouse init --admin-email …`.
            init = node.exec(["gatehouse", "init", "--admin-email", "admin@example.com"], timeout=30)
            assert init.returncode == 0 and init.stdout.strip().startswith("gh_pt_"), init.stdout + init.stderr
            status, body = node.request("GET", "/api/orgs", headers={"authorization": f"Bearer {init.stdout.strip()}"})
            assert status == 200, (status, body)
            metrics = urllib.request.Request(f"http://127.0.0.1:{node.port}/metrics",
                                             headers={"authorization": f"Bearer {env['GATEHOUSE_METRICS_TOKEN']}"})
            with urllib.request.urlopen(metrics, timeout=10) as response:
                assert b"gatehouse_node_info" in response.read()
            node.expect_json_logs()
            node.stop("SIGTERM", within=pod["terminationGracePeriodSeconds"])
