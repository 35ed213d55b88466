"""A loopback OTLP/HTTP trace collector for Gatehouse's tests: it accepts OTLP/JSON at
POST /v1/traces (as the OpenTelemetry Collector does) and lists every span it received at
GET /spans as {traceId, spanId, parentSpanId, name, kind, attributes}. Standard library only.

    python3 otlp_collector.py <port-file>
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SPANS = []
LOCK = threading.Lock()


def attributes(span):
    out = {}
    for a in span.get("attributes", []):
        value = a.get("value", {})
        out[a["key"]] = next(iter(value.values()), None) if value else None
    return out


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != "/v1/traces":
            return self.reply(404, {})
        if not (self.headers.get("content-type") or "").startswith("application/json"):
            return self.reply(415, {"error": "this collector takes OTLP/JSON"})
        doc = json.loads(body)
        with LOCK:
            for rs in doc.get("resourceSpans", []):
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        SPANS.append({"traceId": s.get("traceId"), "spanId": s.get("spanId"),
                                      "parentSpanId": s.get("parentSpanId", ""), "name": s.get("name"),
                                      "kind": s.get("kind"), "attributes": attributes(s)})
        return self.reply(200, {})

    def do_GET(self):
        if self.path != "/spans":
            return self.reply(404, {})
        with LOCK:
            return self.reply(200, SPANS)


def main(port_file):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
