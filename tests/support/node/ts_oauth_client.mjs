// Connects to a Gatehouse MCP endpoint with the official TypeScript SDK's OAuth client support:
// the SDK discovers the authorization server from the 401, registers (dynamically, or by its
// Client ID Metadata Document URL when one is given), and hands the authorization URL over; the
// test signs in and consents like a browser and writes the redirect it got back on stdin. Then
// tools are listed and called, the access token is spoiled to make the SDK refresh it, and
// the tool is called again.
// usage: node ts_oauth_client.mjs <url> <transport: streamable-http|sse> <tool> <json arguments> [client metadata URL]
// Prints {"authorize": url} when it needs the person, then one JSON object:
// {tools, call, callAfterRefresh, refreshed, clientId, scope, iss, state} or {error}.
import readline from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [url, kind, tool, args, metadataUrl] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

class Provider {
  constructor() {
    this.saved = {};
    this.state_ = `ts-${Math.random().toString(36).slice(2)}`;
  }
  get redirectUrl() {
    return "http://127.0.0.1:53682/callback";
  }
  get clientMetadataUrl() {
    return metadataUrl || undefined;
  }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK story",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    };
  }
  state() {
    return this.state_;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.refreshes = (this.saved.refreshes ?? -1) + 1;
    this.saved.tokens = tokens;
  }
  redirectToAuthorization(authorizationUrl) {
    console.log(JSON.stringify({ authorize: authorizationUrl.toString() }));
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
}

const provider = new Provider();
const open = () =>
  kind === "sse"
    ? new SSEClientTransport(new URL(url), { authProvider: provider })
    : new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });

async function connect() {
  let transport = open();
  let client = new Client({ name: "gatehouse-ts-oauth-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    return { client, redirect: null };
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  const { value } = await lines.next();
  const redirect = new URL(value.trim());
  if (redirect.searchParams.get("error")) throw new Error(`authorization refused: ${redirect.searchParams.get("error")}`);
  await transport.finishAuth(redirect.searchParams.get("code"));
  transport = open();
  client = new Client({ name: "gatehouse-ts-oauth-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, redirect };
}

try {
  const { client, redirect } = await connect();
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const call = await client.callTool({ name: tool, arguments: JSON.parse(args || "{}") });
  // A spoiled access token: the next request is refused, and the SDK refreshes and retries.
  provider.saved.tokens = { ...provider.saved.tokens, access_token: "gh_at_" + "x".repeat(43) };
  let callAfterRefresh;
  try {
    callAfterRefresh = await client.callTool({ name: tool, arguments: JSON.parse(args || "{}") });
  } catch (e) {
    callAfterRefresh = { error: String(e && e.message ? e.message : e) };
  }
  console.log(
    JSON.stringify({
      tools,
      call,
      callAfterRefresh,
      refreshed: provider.saved.refreshes,
      clientId: provider.saved.client?.client_id ?? null,
      scope: provider.saved.tokens?.scope ?? null,
      iss: redirect?.searchParams.get("iss") ?? null,
      state: redirect?.searchParams.get("state") === provider.state_,
    }),
  );
  await client.close();
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
}
process.exit(0);
