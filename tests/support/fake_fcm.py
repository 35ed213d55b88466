"""A real fake of Google's OAuth token endpoint and the FCM HTTP v1 send API, for tests.

At start it makes a throwaway RSA key for a test service account (and a second key, under the
same account name, that Google would not know: the "impostor"), then prints one JSON line:
{"port", "serviceAccount", "impostorAccount"}. Both accounts' token_uri point here.

POST /token                 RFC 7523 jwt-bearer grant: the assertion must be an RS256 JWT signed
                            with the account's key (checked with PyJWT), iss = client_email,
                            aud = token_uri, the firebase.messaging scope, iat/exp sane.
                            Answers an access token valid ACCESS_TOKEN_TTL seconds.
POST /v1/projects/{p}/messages:send
                            Bearer token must be one it issued (and unexpired) for project p;
                            the body must be {"message": {...}} with exactly one token target and
                            string data values. Token "unregistered-token" (or "stale-…") is
                            answered 404 UNREGISTERED, "invalid-token" 400 INVALID_ARGUMENT.
GET  /stats                 {"tokenRequests", "rejectedAssertions", "sends": [every accepted
                            message body], "unauthorized"}
Exits when stdin closes.
"""

import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PROJECT = "gatehouse-test"
CLIENT_EMAIL = "push@gatehouse-test.iam.gserviceaccount.com"
ACCESS_TOKEN_TTL = 3600

lock = threading.Lock()
state = {"tokenRequests": 0, "rejectedAssertions": 0, "unauthorized": 0, "sends": []}
tokens = {}  # access token -> (project, expires_at)


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


KEY = new_key()
PUBLIC = KEY.public_key()


def account(key, token_uri, key_id):
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": key_id,
        "private_key": pem(key),
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self.answer(200, state)
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self):
        raw = self.body()
        if self.path == "/token":
            return self.token(raw)
        prefix, suffix = "/v1/projects/", "/messages:send"
        if self.path.startswith(prefix) and self.path.endswith(suffix):
            return self.send_message(self.path[len(prefix):-len(suffix)], raw)
        self.answer(404, {"error": "not found"})

    def token(self, raw):
        with lock:
            state["tokenRequests"] += 1
        form = parse_qs(raw.decode())
        if form.get("grant_type") != [GRANT] or len(form.get("assertion", [])) != 1:
            return self.answer(400, {"error": "unsupported_grant_type"})
        token_uri = f"http://127.0.0.1:{self.server.server_port}/token"
        try:
            claims = jwt.decode(
                form["assertion"][0],
                PUBLIC,
                algorithms=["RS256"],
                audience=token_uri,
                issuer=CLIENT_EMAIL,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
            now = time.time()
            if claims.get("scope") != SCOPE or not (now - 300 <= claims["iat"] <= now + 300):
                raise jwt.InvalidTokenError("bad scope or iat")
            if claims["exp"] - claims["iat"] > 3600:
                raise jwt.InvalidTokenError("assertion lives too long")
        except jwt.InvalidTokenError as e:
            with lock:
                state["rejectedAssertions"] += 1
            return self.answer(400, {"error": "invalid_grant", "error_description": f"Invalid JWT Signature. ({type(e).__name__})"})
        access = "ya29.fake-" + secrets.token_urlsafe(24)
        with lock:
            tokens[access] = (PROJECT, time.time() + ACCESS_TOKEN_TTL)
        self.answer(200, {"access_token": access, "expires_in": ACCESS_TOKEN_TTL, "token_type": "Bearer"})

    def fcm_error(self, status, code, message, status_text, error_code=None):
        error = {"code": status, "message": message, "status": status_text}
        if error_code:
            error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}]
        self.answer(status, {"error": error})

    def send_message(self, project, raw):
        auth = self.headers.get("Authorization", "")
        granted = tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if granted is None or granted[0] != project or granted[1] < time.time():
            with lock:
                state["unauthorized"] += 1
            return self.fcm_error(401, 401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self.fcm_error(400, 400, "Invalid content type", "INVALID_ARGUMENT")
        try:
            body = json.loads(raw)
            message = body["message"]
            assert set(body) == {"message"}
            targets = [k for k in ("token", "topic", "condition") if k in message]
            assert targets == ["token"] and isinstance(message["token"], str)
            data = message.get("data", {})
            assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
        except (ValueError, KeyError, TypeError, AssertionError):
            return self.fcm_error(400, 400, "Invalid JSON payload received.", "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        token = message["token"]
        if token == "unregistered-token" or token.startswith("stale-"):
            return self.fcm_error(404, 404, "Requested entity was not found.", "NOT_FOUND", "UNREGISTERED")
        if token == "invalid-token":
            return self.fcm_error(400, 400, "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        with lock:
            state["sends"].append(body)
            n = len(state["sends"])
        self.answer(200, {"name": f"projects/{project}/messages/0:{n}%fake{secrets.token_hex(4)}"})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_port
    token_uri = f"http://127.0.0.1:{port}/token"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({
        "port": port,
        "serviceAccount": account(KEY, token_uri, "key-1"),
        "impostorAccount": account(new_key(), token_uri, "key-2"),
    }), flush=True)
    try:
        while sys.stdin.read(1):
            pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
