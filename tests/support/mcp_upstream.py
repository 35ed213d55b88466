"""A small MCP server for Gatehouse's upstream tests, written against the wire format so that it
can also misbehave on purpose. Standard library only.

    python3 mcp_upstream.py http <port-file>     Streamable HTTP on an ephemeral port at /mcp
    python3 mcp_upstream.py http-modern <port-file>   the same, speaking only 2026-07-28: no
                                                 initialize, `_meta` required, server/discover,
                                                 and a `confirm` tool asking for input by MRTR
    python3 mcp_upstream.py http-oauth <port-file>    the same behind OAuth: the process is also its
                                                 own authorization server (metadata, dynamic
                                                 registration, authorize with PKCE S256, token
                                                 and refresh); /mcp wants a Bearer token it issued.
                                                 The browser names the account it signs in as
                                                 with `user=` on the authorization URL; the
                                                 `caller` tool says whose token a call carried.
                                                 It also trades a JWT assertion for a token
                                                 (RFC 8693 token exchange) once told which
                                                 issuer to trust; that check needs PyJWT
    python3 mcp_upstream.py stdio                newline-delimited JSON on stdin/stdout

Tools: echo, add, headers (the HTTP headers this request arrived with), login/whoami (state
kept per upstream session), slow (sleeps `ms`), die (the process exits mid-call).
GET /stats: OAuth refreshes, the params of each `notifications/cancelled` received, and how many
`slow` calls (and completions of the value "slow", which take as long) started and ran to
their end.
Control (HTTP only): POST /control {"description": "..."} changes echo's description,
{"mode": "garbage" | "wrong_id" | "not_jsonrpc" | "hang" | "close_mid_stream" | "huge_list" |
"normal"} changes behaviour,
{"sse": true} answers calls as SSE streams with a progress notification first,
{"description_for": {"<user>": "..."}} changes echo's description for one user only,
{"revoke_user": "<user>"} revokes a user's access and refresh tokens, {"expire_user": "<user>"}
only their access tokens,
{"trust": {"issuer", "jwks_uri", "client_id", "client_secret"}} makes the token endpoint trade
assertions that issuer signed (keys from jwks_uri) for tokens of the user named by `sub`,
to that confidential client only ({"trust": null}: to nobody). GET /stats lists the claims
of each assertion traded ("exchanges").
"""

import base64
import hashlib
import json
import os
import secrets
import urllib.parse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"description": "Echo back the message", "mode": "normal", "sse": False, "modern": False,
         "max_version": None}
ASKED = {}  # id of a request this server sent → [threading.Event, answer]
MODERN = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
SESSIONS = {}
DESCRIPTIONS = {}  # user → echo's description as that user sees it (POST /control {"description_for": …})
EVENTS = {"cancelled": [], "slowStarted": 0, "slowDone": 0, "exchanges": []}
TRUST = {"issuer": None}  # the token exchange's trusted issuer, its JWKS and the one client allowed
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # what GET /stats reports besides OAuth refreshes
# access and refresh: token → the user it was issued to (the `user` the browser chose at /authorize)
OAUTH = {"on": False, "clients": {}, "codes": {}, "access": {}, "refresh": {}, "refreshes": 0, "base": ""}
LOCK = threading.Lock()
VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]


def tools(user=None):
    """The tool list, as `user` (the owner of the request's OAuth token, if any) sees it."""
    base = [
        {"name": "echo", "description": DESCRIPTIONS.get(user, STATE["description"]),
         "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}},
        {"name": "add", "description": "Add two numbers",
         "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
        {"name": "headers", "description": "Show the request headers", "inputSchema": {"type": "object"}},
        {"name": "login", "description": "Remember a user for this session",
         "inputSchema": {"type": "object", "properties": {"user": {"type": "string"}}}},
        {"name": "whoami", "description": "Who logged in on this session", "inputSchema": {"type": "object"}},
        {"name": "slow", "description": "Sleep", "inputSchema": {"type": "object", "properties": {"ms": {"type": "number"}}}},
        {"name": "die", "description": "Exit mid-call", "inputSchema": {"type": "object"}},
        {"name": "ask", "description": "Ask the user (elicitation) mid-call", "inputSchema": {"type": "object"}},
    ]
    if OAUTH["on"]:
        base.append({"name": "caller", "description": "Whose token this request carried, and on which session",
                     "inputSchema": {"type": "object"}})
    if STATE["modern"]:
        base.append({"name": "confirm", "description": "Ask the user before acting",
                     "inputSchema": {"type": "object", "properties": {"action": {"type": "string"}}}})
    if STATE["mode"] == "huge_list":
        base += [{"name": f"t{i}", "inputSchema": {"type": "object"}} for i in range(20000)]
    return base


def text(t, is_error=False):
    r = {"content": [{"type": "text", "text": t}]}
    if is_error:
        r["isError"] = True
    return r


def handle(msg, session, headers):
    """Returns the result object, or raises (code, message)."""
    method = msg.get("method")
    params = msg.get("params") or {}
    if method == "initialize":
        asked = params.get("protocolVersion")
        offered = [v for v in VERSIONS if STATE["max_version"] is None or v <= STATE["max_version"]]
        return {"protocolVersion": asked if asked in offered else offered[0],
                "capabilities": {"tools": {"listChanged": True}, "prompts": {}, "resources": {},
                                 "completions": {}},
                "serverInfo": {"name": "gatehouse-test-upstream", "version": "1.0.0"}}
    if method == "ping":
        return {}
    if method == "tools/list":
        token = ((headers or {}).get("authorization") or "")[len("Bearer "):]
        all_tools = tools(OAUTH["access"].get(token))
        start = int(params.get("cursor") or 0)
        page = all_tools[start:start + 100]
        result = {"tools": page}
        if start + 100 < len(all_tools):
            result["nextCursor"] = str(start + 100)
        return result
    if method == "completion/complete":
        value = (params.get("argument") or {}).get("value", "")
        if value == "slow":
            with LOCK:
                EVENTS["slowStarted"] += 1
            time.sleep(1.5)
            with LOCK:
                EVENTS["slowDone"] += 1
        return {"completion": {"values": [value + "-1"], "hasMore": False}}
    if method == "prompts/list":
        return {"prompts": [{"name": "greet", "description": "Say hello",
                             "arguments": [{"name": "who", "required": True}]}]}
    if method == "prompts/get":
        if params.get("name") != "greet":
            raise RpcError(-32602, "unknown prompt")
        who = (params.get("arguments") or {}).get("who", "you")
        return {"messages": [{"role": "user", "content": {"type": "text", "text": f"Hello, {who}!"}}]}
    if method == "resources/list":
        return {"resources": [{"uri": "test://static/one", "name": "one", "mimeType": "text/plain"}]}
    if method == "resources/templates/list":
        return {"resourceTemplates": [{"uriTemplate": "test://dynamic/{id}", "name": "dynamic"}]}
    if method == "resources/read":
        uri = params.get("uri", "")
        if uri == "test://static/one" or uri.startswith("test://dynamic/"):
            return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": f"content of {uri}"}]}
        raise RpcError(-32002, "Resource not found")
    if method == "tools/call":
        name = params.get("name")
        args = params.get("arguments") or {}
        if STATE["mode"] == "hang":
            time.sleep(3600)
        if name == "echo":
            return text(f"Echo: {args.get('message')}")
        if name == "add":
            total = args.get("a", 0) + args.get("b", 0)
            r = text(str(total))
            r["structuredContent"] = {"sum": total}
            return r
        if name == "headers":
            # On stdio there are no headers: what travels beside the call is its `_meta`.
            return text(json.dumps(headers if headers is not None else params.get("_meta") or {}))
        if name == "login":
            with LOCK:
                SESSIONS[session] = args.get("user")
            return text("ok")
        if name == "whoami":
            with LOCK:
                return text(str(SESSIONS.get(session)))
        if name == "caller":
            token = ((headers or {}).get("authorization") or "")[len("Bearer "):]
            with LOCK:
                return text(f"user={OAUTH['access'].get(token)} session={session}")
        if name == "slow":
            with LOCK:
                EVENTS["slowStarted"] += 1
            time.sleep(args.get("ms", 1000) / 1000)
            with LOCK:
                EVENTS["slowDone"] += 1
            return text("slept")
        if name == "die":
            os._exit(3)
        if name == "confirm" and STATE["modern"]:
            answers = params.get("inputResponses")
            if not answers:
                return {"resultType": "input_required", "requestState": "opaque-state-1", "inputRequests": {
                    "ask": {"method": "elicitation/create", "params": {
                        "mode": "form", "message": f"Proceed with {args.get('action')}?",
                        "requestedSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}
            if params.get("requestState") != "opaque-state-1":
                raise RpcError(-32602, "bad requestState")
            answer = answers.get("ask") or {}
            if answer.get("action") != "accept":
                return text("declined", True)
            return text("confirmed: " + json.dumps(answer.get("content"), sort_keys=True))
        raise RpcError(-32602, f"Unknown tool: {name}")
    raise RpcError(-32601, f"Method not found: {method}")


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def modern(msg, headers):
    """The 2026-07-28 checks: _meta on every request, Mcp-Method matching; no initialize."""
    method = msg.get("method")
    meta = (msg.get("params") or {}).get("_meta") or {}
    if method == "initialize":
        raise RpcError(-32601, "initialize is not supported: this server speaks 2026-07-28 only")
    if meta.get(META_VERSION) != MODERN:
        raise RpcError(-32022, "unsupported protocol version")
    if headers is not None and headers.get("mcp-method") != method:
        raise RpcError(-32020, "Mcp-Method does not match the body")
    if method == "server/discover":
        return {"supportedVersions": [MODERN], "resultType": "complete",
                "capabilities": {"tools": {}, "prompts": {}, "resources": {}},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "modern-upstream", "version": "2.0.0"}}}
    return None


def answer(msg, session, headers):
    try:
        if STATE["modern"]:
            early = modern(msg, headers)
            if early is not None:
                return {"jsonrpc": "2.0", "id": msg.get("id"), "result": early}
            result = handle(msg, session, headers)
            result.setdefault("resultType", "complete")
            return {"jsonrpc": "2.0", "id": msg.get("id"), "result": result}
        return {"jsonrpc": "2.0", "id": msg.get("id"), "result": handle(msg, session, headers)}
    except RpcError as e:
        return {"jsonrpc": "2.0", "id": msg.get("id"), "error": {"code": e.code, "message": e.message}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = [0]

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, data=b"", ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status, doc, extra=()):
        return self.send(status, json.dumps(doc).encode(), "application/json", extra)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        base = OAUTH["base"]
        if url.path.startswith("/.well-known/oauth-protected-resource"):
            return self.send_json(200, {"resource": base + "/mcp", "authorization_servers": [base],
                                        "scopes_supported": ["mcp:tools"]})
        if url.path == "/.well-known/oauth-authorization-server":
            return self.send_json(200, {
                "issuer": base, "authorization_endpoint": base + "/authorize", "token_endpoint": base + "/token",
                "registration_endpoint": base + "/register", "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
                "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["none"]})
        if url.path == "/authorize":
            q = dict(urllib.parse.parse_qsl(url.query))
            client = OAUTH["clients"].get(q.get("client_id"))
            if (client is None or q.get("redirect_uri") not in client["redirect_uris"]
                    or q.get("response_type") != "code" or q.get("code_challenge_method") != "S256"
                    or q.get("resource") != base + "/mcp" or not q.get("code_challenge")):
                return self.send_json(400, {"error": "invalid_request"})
            code = secrets.token_urlsafe(16)
            OAUTH["codes"][code] = q
            location = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
            return self.send(302, b"", "text/plain", [("location", location)])
        if url.path == "/stats":
            with LOCK:
                return self.send_json(200, {"refreshes": OAUTH["refreshes"], **EVENTS})
        return self.send(404, b"{}")

    def oauth_post(self, raw):
        if self.path == "/register":
            doc = json.loads(raw)
            client_id = "client-" + secrets.token_hex(4)
            OAUTH["clients"][client_id] = {"redirect_uris": doc.get("redirect_uris", [])}
            return self.send_json(201, {"client_id": client_id, "redirect_uris": doc.get("redirect_uris", []),
                                        "token_endpoint_auth_method": "none"})
        if self.path == "/token":
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            if form.get("grant_type") == "authorization_code":
                grant = OAUTH["codes"].pop(form.get("code"), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if (grant is None or grant["code_challenge"] != challenge or grant["redirect_uri"] != form.get("redirect_uri")
                        or grant["client_id"] != form.get("client_id")):
                    return self.send_json(400, {"error": "invalid_grant"})
                user = grant.get("user", "admin")
            elif form.get("grant_type") == TOKEN_EXCHANGE:
                user, refusal = self.exchanged_user(form)
                if user is None:
                    return self.send_json(400, {"error": refusal})
                access = "at-" + secrets.token_hex(8)
                OAUTH["access"][access] = user
                return self.send_json(200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                                            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
            elif form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in OAUTH["refresh"]:
                    return self.send_json(400, {"error": "invalid_grant"})
                user = OAUTH["refresh"].pop(form["refresh_token"])
                OAUTH["refreshes"] += 1
            else:
                return self.send_json(400, {"error": "unsupported_grant_type"})
            access, refresh = "at-" + secrets.token_hex(8), "rt-" + secrets.token_hex(8)
            OAUTH["access"][access] = user
            OAUTH["refresh"][refresh] = user
            return self.send_json(200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                                        "refresh_token": refresh})
        return None

    def exchanged_user(self, form):
        """The user a token exchange is for, or None and the OAuth error (RFC 8693 § 2.2.2)."""
        import jwt  # PyJWT: only this grant needs it

        basic = base64.b64encode(f"{TRUST.get('client_id')}:{TRUST.get('client_secret')}".encode()).decode()
        if not TRUST["issuer"] or self.headers.get("authorization") != "Basic " + basic:
            return None, "invalid_client"
        if (form.get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt"
                or form.get("resource") != OAUTH["base"] + "/mcp"):
            return None, "invalid_request"
        try:
            token = form.get("subject_token", "")
            key = jwt.PyJWKClient(TRUST["jwks_uri"]).get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=OAUTH["base"],
                                issuer=TRUST["issuer"], options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except Exception as e:  # noqa: BLE001 — any failure is a refused grant
            print(f"token exchange refused: {e}", file=sys.stderr, flush=True)
            return None, "invalid_grant"
        with LOCK:
            EVENTS["exchanges"].append(claims)
        return claims["sub"], None

    def do_POST(self):
        raw = self.body()
        if self.path == "/control":
            control = json.loads(raw)
            DESCRIPTIONS.update(control.pop("description_for", {}))
            if "trust" in control:
                TRUST.clear()
                TRUST.update(control.pop("trust") or {"issuer": None})
            if control.pop("revoke", False):
                OAUTH["access"].clear()
            # One user's tokens revoked (access and refresh), or only their access tokens expired.
            for kind, which in (("revoke_user", ("access", "refresh")), ("expire_user", ("access",))):
                user = control.pop(kind, None)
                for table in which if user else ():
                    for token in [t for t, u in OAUTH[table].items() if u == user]:
                        del OAUTH[table][token]
            STATE.update(control)
            return self.send(200, b"{}")
        if OAUTH["on"]:
            if self.path in ("/register", "/token"):
                return self.oauth_post(raw)
            token = (self.headers.get("authorization") or "")[len("Bearer "):]
            if token not in OAUTH["access"]:
                meta = OAUTH["base"] + "/.well-known/oauth-protected-resource/mcp"
                return self.send(401, b'{"error":"unauthorized"}', "application/json",
                                 [("www-authenticate", f'Bearer resource_metadata="{meta}"')])
        if self.path != "/mcp":
            return self.send(404, b"{}")
        msg = json.loads(raw)
        mode = STATE["mode"]
        if mode == "garbage" and "id" in msg:
            return self.send(200, b"<<<this is not json>>>")
        if mode == "wrong_id" and msg.get("method") == "tools/call":
            reply = {"jsonrpc": "2.0", "id": "someone-else", "result": text("not for you")}
            return self.send(200, json.dumps(reply).encode(), "application/json")
        if mode == "not_jsonrpc" and msg.get("method") == "tools/call":
            return self.send(200, b'{"hello": "world"}', "application/json")
        # The answer to a request this server sent on an open call's stream.
        if "id" in msg and "method" not in msg and str(msg["id"]) in ASKED:
            waiter = ASKED[str(msg["id"])]
            waiter[1] = msg
            waiter[0].set()
            return self.send(202, b"", "application/json")
        if mode == "huge_body" and msg.get("method") == "tools/call":
            reply = {"jsonrpc": "2.0", "id": msg.get("id"), "result": text("x" * (17 * 1024 * 1024))}
            return self.send(200, json.dumps(reply).encode(), "application/json")
        if msg.get("method") == "tools/call" and (msg.get("params") or {}).get("name") == "ask":
            return self.ask(msg)
        if STATE["modern"]:
            session = "stateless"
        elif msg.get("method") == "initialize":
            with LOCK:
                self.counter[0] += 1
                session = f"s-{self.counter[0]}"
        else:
            session = self.headers.get("mcp-session-id")
            if session is None or not session.startswith("s-"):
                return self.send(400, b'{"error":"missing session"}')
        if "id" not in msg:
            if msg.get("method") == "notifications/cancelled":
                with LOCK:
                    EVENTS["cancelled"].append(msg.get("params") or {})
            return self.send(202, b"", "application/json")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if mode == "close_mid_stream" and msg.get("method") == "tools/call":
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"event: message\ndata: {\"jsonrpc\":\"2.0\",")
            self.wfile.flush()
            self.close_connection = True
            return
        reply = answer(msg, session, headers)
        if STATE["modern"] and "error" in reply:
            return self.send(400, json.dumps(reply).encode())
        extra = [] if STATE["modern"] else [("mcp-session-id", session)]
        if STATE["sse"] and msg.get("method") == "tools/call":
            token = ((msg.get("params") or {}).get("_meta") or {}).get("progressToken")
            events = b""
            if token is not None:
                note = {"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": 1, "total": 2}}
                events += b"event: message\ndata: " + json.dumps(note).encode() + b"\n\n"
            events += b"event: message\ndata: " + json.dumps(reply).encode() + b"\n\n"
            return self.send(200, events, "text/event-stream", extra)
        return self.send(200, json.dumps(reply).encode(), "application/json", extra)

    def ask(self, msg):
        """Answers a call with an SSE stream: an elicitation request first (with the argument
        `{"also": "sampling"}`, a sampling request right after it), then, once the client has
        POSTed its answers, the result."""
        also_sampling = ((msg.get("params") or {}).get("arguments") or {}).get("also") == "sampling"
        asks = ["elicitation/create"] + (["sampling/createMessage"] if also_sampling else [])
        waiters = []
        for method in asks:
            with LOCK:
                self.counter[0] += 1
                ask_id = f"ask-{self.counter[0]}"
            waiter = [threading.Event(), None]
            ASKED[ask_id] = waiter
            waiters.append((ask_id, method, waiter))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for ask_id, method, _ in waiters:
            params = {"message": "Which color?",
                      "requestedSchema": {"type": "object", "properties": {"color": {"type": "string"}}}}
            if method == "sampling/createMessage":
                params = {"messages": [{"role": "user", "content": {"type": "text", "text": "x"}}], "maxTokens": 5}
            request = {"jsonrpc": "2.0", "id": ask_id, "method": method, "params": params}
            self.wfile.write(b"event: message\ndata: " + json.dumps(request).encode() + b"\n\n")
        self.wfile.flush()
        for _, _, waiter in waiters:
            waiter[0].wait(30)
        answer = (waiters[0][2][1] or {}).get("result") or {}
        said = "chosen: " + json.dumps(answer.get("content"), sort_keys=True)
        if also_sampling:
            sampled = waiters[1][2][1] or {}
            said += "; sampling: " + str((sampled.get("error") or {}).get("code", "answered"))
        reply = {"jsonrpc": "2.0", "id": msg.get("id"), "result": text(said)}
        self.wfile.write(b"event: message\ndata: " + json.dumps(reply).encode() + b"\n\n")
        self.wfile.flush()
        self.close_connection = True

    def do_DELETE(self):
        self.send(200, b"")


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that stopped waiting (a cancelled call's POST is dropped) is no error here.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve_http(port_file):
    server = Server(("127.0.0.1", 0), Handler)
    OAUTH["base"] = f"http://127.0.0.1:{server.server_address[1]}"
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


def serve_stdio():
    print("test upstream on stdio", file=sys.stderr, flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        if "id" not in msg or "method" not in msg:
            continue
        sys.stdout.write(json.dumps(answer(msg, "stdio", None)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1] in ("http", "http-modern", "http-oauth"):
        STATE["modern"] = sys.argv[1] == "http-modern"
        OAUTH["on"] = sys.argv[1] == "http-oauth"
        serve_http(sys.argv[2])
    else:
        serve_stdio()
