#!/usr/bin/env bash
# Installs the real peers the integration tests talk to, pinned, into .test-deps/:
#   - a Python virtualenv with aiosmtpd (the SMTP sink the login tests read mail from),
#     and PyJWT + cryptography (the fake Google OAuth/FCM server that checks signed assertions).
# Idempotent: re-running only installs what is missing. CI (.ci/run) calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS="$PWD/.test-deps"
mkdir -p "$DEPS"

PY_PINS=(
  "aiosmtpd==1.4.6"
  "PyJWT==2.10.1"
  "cryptography==44.0.3"
)

if [ ! -x "$DEPS/venv/bin/python" ]; then
  python3 -m venv "$DEPS/venv"
fi
if ! "$DEPS/venv/bin/python" -c "import aiosmtpd, jwt, cryptography" 2>/dev/null; then
  "$DEPS/venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PINS[@]}"
fi
echo "test dependencies ready in $DEPS"
