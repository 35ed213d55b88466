"""What the packaging check's parts share: where things are, and running a tool."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".test-deps" / "packaging" / "bin"
CHART = ROOT / "deploy" / "helm" / "gatehouse"
COMPOSE = ROOT / "deploy" / "compose"
KUBERNETES = ["1.25.0", "1.37.0"]  # the chart's kubeVersion floor, and the newest schemas
CI = os.environ.get("CI") == "true"


def step(text):
    print(f"== packaging: {text}", flush=True)


def run(args, **kw):
    """Runs a tool; its output, or the end of the check with what it said."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def documented_variables():
    readme = (ROOT / "README.md").read_text()
    return {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}


def check_documented(names, where):
    undocumented = sorted(n for n in names if n.startswith("GATEHOUSE_") and n not in documented_variables())
    assert not undocumented, f"{where} sets variables the README does not document: {undocumented}"
