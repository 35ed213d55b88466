"""A real API protected by OAuth 2.0 client credentials, with its own token endpoint, for tests
(standard library only). Prints {"port": N} first.

usage: client_credentials_api.py <client id> <client secret> <expires_in seconds>

  POST /oauth/token   grant_type=client_credentials, the client authenticated with HTTP Basic
                      (RFC 6749 section 2.3.1); answers {"access_token", "token_type",
                      "expires_in"} or 401 {"error": "invalid_client"}
  POST /control/revoke  forgets every token issued (the next API call with one is 401)
  GET  /control/stats   {"issued": n, "scopes": [...]}: tokens issued and the scope asked each time
  anything else       needs "Authorization: Bearer <an issued token>": 200 {"method", "path",
                      "token", "scope"}, else 401
"""

import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

CLIENT_ID, CLIENT_SECRET, EXPIRES_IN = sys.argv[1], sys.argv[2], int(sys.argv[3])
LOCK = threading.Lock()
TOKENS = {}
STATS = {"issued": 0, "scopes": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _client(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        return unquote(user), unquote(password)

    def do_POST(self):
        body = self._body()
        if self.path == "/oauth/token":
            form = dict(parse_qsl(body.decode()))
            if self._client() != (CLIENT_ID, CLIENT_SECRET):
                return self._answer(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
            if form.get("grant_type") != "client_credentials":
                return self._answer(400, {"error": "unsupported_grant_type"})
            with LOCK:
                STATS["issued"] += 1
                STATS["scopes"].append(form.get("scope"))
                token = f"tok-{STATS['issued']}"
                TOKENS[token] = form.get("scope")
            return self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": EXPIRES_IN})
        if self.path == "/control/revoke":
            with LOCK:
                TOKENS.clear()
            return self._answer(200, {"ok": True})
        return self._api()

    def do_GET(self):
        if self.path == "/control/stats":
            with LOCK:
                return self._answer(200, STATS)
        return self._api()

    def _api(self):
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        with LOCK:
            known = token in TOKENS
            scope = TOKENS.get(token)
        if not known:
            return self._answer(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return self._answer(200, {"method": self.command, "path": self.path, "token": token, "scope": scope})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
