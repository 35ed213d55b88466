"""Real loopback stand-ins of three vendor APIs a server integrates with, for tests.

Prints one JSON line at start: {"port"}. Exits when stdin closes.

RevenueCat REST API v1
  GET  /v1/subscribers/{app_user_id}   Authorization: Bearer <secret key>. The key must be
       VALID_REVENUECAT_KEY (else 401 as RevenueCat answers). Answers the subscriber document
       with the entitlements set for that user (none by default), as RevenueCat shapes it.
  PUT  /control/subscribers/{app_user_id}   {"entitlements": {id: {"expires_date": iso|null}}}

PostHog capture API
  POST /batch/   {"api_key", "batch": [events]}: recorded; the next N requests fail with 503
       after POST /control/posthog-fail {"count": N}.

Firebase App Check
  GET  /v1/jwks   the public key tokens are signed with (Cache-Control max-age=21600).
  POST /control/app-check-token {"app_id", "project_number", "expires_in"?, "impostor"?}
       a token signed as Firebase signs them (RS256, kid, iss, aud, sub); "impostor" signs with
       a key the JWKS does not publish, under the published kid.

GET /stats   {"subscriberRequests": [{"user", "authorization"}], "batches": [bodies],
              "failedBatches", "jwksRequests"}
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

VALID_REVENUECAT_KEY = "sk_test_valid_revenuecat_key"
KID = "app-check-key-1"

lock = threading.Lock()
state = {"subscriberRequests": [], "batches": [], "failedBatches": 0, "jwksRequests": 0}
subscribers = {}
posthog_failures = {"count": 0}

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
IMPOSTOR = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    import base64
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


PUBLIC = KEY.public_key().public_numbers()
JWKS = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID, "n": b64(PUBLIC.n), "e": b64(PUBLIC.e)}]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self):
        if self.path.startswith("/v1/subscribers/"):
            user = unquote(self.path[len("/v1/subscribers/"):])
            auth = self.headers.get("Authorization", "")
            with lock:
                state["subscriberRequests"].append({"user": user, "authorization": auth})
                entitlements = subscribers.get(user, {})
            if auth != f"Bearer {VALID_REVENUECAT_KEY}":
                return self.answer(401, {"code": 7225, "message": "Invalid API Key."})
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            document = {
                "request_date": now,
                "request_date_ms": int(time.time() * 1000),
                "subscriber": {
                    "original_app_user_id": user,
                    "first_seen": now,
                    "entitlements": {
                        name: {
                            "expires_date": e.get("expires_date"),
                            "grace_period_expires_date": None,
                            "product_identifier": f"{name}_monthly",
                            "purchase_date": now,
                        }
                        for name, e in entitlements.items()
                    },
                    "subscriptions": {},
                    "non_subscriptions": {},
                },
            }
            return self.answer(200, document)
        if self.path == "/v1/jwks":
            with lock:
                state["jwksRequests"] += 1
            return self.answer(200, JWKS, {"Cache-Control": "public, max-age=21600"})
        if self.path == "/stats":
            with lock:
                return self.answer(200, state)
        self.answer(404, {"error": "not found"})

    def do_PUT(self):
        if self.path.startswith("/control/subscribers/"):
            user = unquote(self.path[len("/control/subscribers/"):])
            with lock:
                subscribers[user] = self.body().get("entitlements", {})
            return self.answer(200, {})
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path == "/batch/":
            body = self.body()
            with lock:
                if posthog_failures["count"] > 0:
                    posthog_failures["count"] -= 1
                    state["failedBatches"] += 1
                    return self.answer(503, {"error": "unavailable"})
                state["batches"].append(body)
            return self.answer(200, {"status": 1})
        if self.path == "/control/posthog-fail":
            with lock:
                posthog_failures["count"] = self.body()["count"]
            return self.answer(200, {})
        if self.path == "/control/app-check-token":
            body = self.body()
            now = int(time.time())
            number = body["project_number"]
            claims = {
                "iss": f"https://firebaseappcheck.googleapis.com/{number}",
                "aud": [f"projects/{number}", "projects/gatehouse-test"],
                "sub": body["app_id"],
                "iat": now,
                "exp": now + body.get("expires_in", 3600),
            }
            key = IMPOSTOR if body.get("impostor") else KEY
            token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID, "typ": "JWT"})
            return self.answer(200, {"token": token})
        self.answer(404, {"error": "not found"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_port}), flush=True)
    try:
        while sys.stdin.read(1):
            pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
