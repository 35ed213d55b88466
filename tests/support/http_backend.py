"""A small real HTTP API for tests: it answers every request with what it received, so a test
can check exactly what Gatehouse sent. Prints {"port": N} first.

  /status/<code>   answers with that status and a short text body
  /slow            answers after 3 seconds
  /big             answers 8 MiB
  /redirect?to=U   302 to U
  anything else    200 {"method", "path", "query", "headers", "body"}
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qsl


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body, content_type="application/json", extra=None):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            return self._answer(code, "city not found" if code == 404 else f"status {code}", "text/plain")
        if url.path == "/slow":
            time.sleep(3)
        if url.path == "/big":
            return self._answer(200, b"x" * (8 * 1024 * 1024), "text/plain")
        if url.path == "/redirect":
            to = dict(parse_qsl(url.query)).get("to", "/")
            return self._answer(302, "", "text/plain", {"Location": to})
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        echo = {
            "method": self.command,
            "path": url.path,
            "rawPath": self.path.split("?", 1)[0],
            "query": dict(parse_qsl(url.query)),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        self._answer(200, json.dumps(echo))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out and hang up are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
