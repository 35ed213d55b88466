// Drives a Gatehouse MCP endpoint with the official TypeScript SDK client.
// usage: node ts_client.mjs <url> <transport: streamable-http|sse> <api key> <tool> <json arguments>
// Prints one JSON object: {protocolVersion, serverInfo, tools, call} or {error}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [url, kind, key, tool, args] = process.argv.slice(2);
const headers = { "X-API-Key": key };
const transport =
  kind === "sse"
    ? new SSEClientTransport(new URL(url), { requestInit: { headers }, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers || {}), ...headers } }) } })
    : new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "gatehouse-ts-test", version: "1.0.0" });
try {
  await client.connect(transport);
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  const call = await client.callTool({ name: tool, arguments: JSON.parse(args || "{}") });
  const out = {
    protocolVersion: transport.protocolVersion ?? null,
    serverInfo: client.getServerVersion() ?? null,
    tools,
    call,
  };
  console.log(JSON.stringify(out));
  await client.close();
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
}
