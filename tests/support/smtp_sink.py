"""A real SMTP server for tests: accepts every message on 127.0.0.1 and prints each one as a
JSON line on stdout ({"from", "to", "from_header", "subject", "body"}). The first line is {"port": N}."""

import json
import socket
import sys
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "from_header": str(msg.get("from", "")),
            "subject": str(msg.get("subject", "")),
            "body": body.get_content() if body is not None else "",
        }), flush=True)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print(json.dumps({"port": port}), flush=True)
    try:
        # Exit when the test closes our stdin (or dies).
        while sys.stdin.read(1):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
