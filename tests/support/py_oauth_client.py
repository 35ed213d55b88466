"""Connects to a Gatehouse MCP endpoint with the official Python SDK's `OAuthClientProvider`.

The SDK discovers the authorization server from the 401, registers (dynamically, or by its
Client ID Metadata Document URL when one is given), and hands over the authorization URL; the
test signs in and consents like a browser and writes the redirect it got back on stdin.

usage: py_oauth_client.py <url> <transport: streamable-http|sse> <tool> <json arguments> [client metadata URL]
Prints {"authorize": url} when it needs the person, then one JSON object:
{tools, call, clientId, scope} or {error}.
"""

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT = "http://127.0.0.1:53682/callback"


class Memory:
    """Tokens and client information kept for the run."""

    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def redirect_handler(url: str) -> None:
    print(json.dumps({"authorize": url}), flush=True)


async def callback_handler() -> AuthorizationCodeResult:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    query = parse_qs(urlparse(line.strip()).query)
    if "error" in query:
        raise RuntimeError(f"authorization refused: {query['error'][0]}")
    return AuthorizationCodeResult(
        code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
    )


async def main(url, kind, tool, args, metadata_url=None):
    memory = Memory()
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Python SDK story",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=memory,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=metadata_url or None,
    )
    try:
        if kind == "sse":
            transport = sse_client(url, auth=auth)
        else:
            transport = streamable_http_client(url, http_client=httpx2.AsyncClient(auth=auth))
        async with Client(transport, mode="legacy" if kind == "sse" else "auto") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            call = await client.call_tool(tool, json.loads(args))
            print(
                json.dumps(
                    {
                        "tools": tools,
                        "call": call.model_dump(mode="json", by_alias=True, exclude_none=True),
                        "clientId": memory.client.client_id if memory.client else None,
                        "scope": memory.tokens.scope if memory.tokens else None,
                    }
                ),
                flush=True,
            )
    except BaseException as e:  # noqa: BLE001 - report anything as the driver's answer
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
