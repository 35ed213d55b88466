"""Drives a Gatehouse MCP endpoint with the official Python SDK (`mcp` 2.3.0).

usage: py_client.py <url> <api key> <tool> <json arguments> <mode: auto|legacy>
  auto   = what the SDK does by default: a stateless server/discover (2026-07-28),
           falling back to initialize only if that fails
  legacy = the initialize handshake
Prints one JSON object: {protocolVersion, serverInfo, tools, call} or {error}.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main(url, key, tool, args, mode):
    http = httpx2.AsyncClient(headers={"X-API-Key": key})
    try:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            tools, cursor = [], None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools += [t.name for t in page.tools]
                cursor = page.next_cursor
                if not cursor:
                    break
            call = await client.call_tool(tool, json.loads(args))
            info = client.server_info
            print(json.dumps({
                "protocolVersion": client.protocol_version,
                "serverInfo": info.model_dump(mode="json") if info else None,
                "tools": tools,
                "call": call.model_dump(mode="json", by_alias=True, exclude_none=True),
            }))
    except BaseException as e:  # noqa: BLE001 - report anything as the driver's answer
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
