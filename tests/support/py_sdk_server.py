"""An MCP server written with the official Python SDK (`mcp` 2.3.0), as a third-party upstream
for the bench: one `echo` tool, served over Streamable HTTP at /mcp or the legacy HTTP+SSE
transport at /sse.

    python3 py_sdk_server.py streamable-http <port>
    python3 py_sdk_server.py sse <port>
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("bench-python-sdk", log_level="WARNING")


@server.tool()
def echo(message: str) -> str:
    """Echo back the message."""
    return message


if __name__ == "__main__":
    transport, port = sys.argv[1], int(sys.argv[2])
    server.run(transport, host="127.0.0.1", port=port)
