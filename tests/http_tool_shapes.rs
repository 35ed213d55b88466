//! Story: an admin publishes an operation as an OpenAPI document describes it — arguments with
//! their own schemas and wire names, an array in the query, a key in the query, the whole body
//! in one argument sent as a form, the answer's schema — and an agent lists and calls it
//! against a real HTTP API; arguments that break the schemas never reach the API.

mod common;

use common::backend::HttpBackend;
use common::gateway::{call, create_server, session};
use common::schema::assert_valid;
use common::sdk::node_client;
use common::{Backend, TestServer};
use serde_json::{Value, json};

const KEY: &str = "key&1";

fn definition(backend: &HttpBackend) -> Value {
    json!({
        "name": "send_message",
        "description": "Send a message",
        "method": "POST",
        "endpointUrl": backend.url("/Accounts/{AccountSid}/Messages.json"),
        "parameters": [
            {"name": "AccountSid", "location": "path", "type": "string", "required": true,
             "schema": {"type": "string", "pattern": "^AC[0-9a-f]{4}$"}},
            {"name": "DateSent_lt", "wireName": "DateSent<", "location": "query", "type": "string",
             "schema": {"type": "string", "format": "date"}},
            {"name": "tags", "location": "query", "type": "array",
             "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}
        ],
        "body": {"encoding": "form", "argument": "body", "required": true,
                 "schema": {"type": "object", "required": ["To"], "properties": {
                     "To": {"type": "string"}, "MediaUrl": {"type": "array", "items": {"type": "string"}}}}},
        "outputSchema": {"type": "object", "properties": {"method": {"type": "string"}, "path": {"type": "string"}}},
        "auth": {"type": "api_key_query", "parameter": "api_key", "credential": KEY}
    })
}

async fn operations_keep_their_documented_shape(backend_kind: Backend) {
    let server = TestServer::dev(backend_kind).await;
    let backend = HttpBackend::start();
    let (server_id, slug) = create_server(&server, "Messaging").await;
    let created = server
        .post(&format!("/api/orgs/default/servers/{server_id}/tools"), None, definition(&backend))
        .await
        .expect(201);
    let tool = &created.body["tool"];
    assert!(!created.text.contains(KEY), "the key is never shown");
    assert_eq!(tool["auth"], json!({"type": "api_key_query", "parameter": "api_key", "credentialSet": true}));
    assert_eq!(tool["body"]["encoding"], "form");
    assert_eq!(tool["inputSchema"]["required"], json!(["AccountSid", "body"]));
    assert_eq!(tool["inputSchema"]["properties"]["tags"]["items"]["enum"], json!(["a", "b"]));

    for version in ["2025-11-25", "2026-07-28"] {
        let mut client = session(&server, &slug, version).await;
        let listed = client.request("tools/list", json!({})).await.expect(200);
        assert_valid(version, "ListToolsResult", &listed.body["result"]);
        let listing = &listed.body["result"]["tools"][0];
        assert_eq!(listing["outputSchema"]["properties"]["path"]["type"], "string");
        assert_eq!(listing["inputSchema"]["properties"]["body"]["required"], json!(["To"]));

        let reply = call(
            &mut client,
            "send_message",
            json!({"AccountSid": "AC12ab", "DateSent<": "ignored", "DateSent_lt": "2026-01-01", "tags": ["a", "b"],
                   "body": {"To": "+1 555", "MediaUrl": ["u1", "u2"]}}),
        )
        .await;
        assert_valid(version, "CallToolResult", &reply["result"]);
        let seen = &reply["result"]["structuredContent"];
        assert_eq!(seen["path"], "/Accounts/AC12ab/Messages.json");
        assert_eq!(seen["query"]["DateSent<"], "2026-01-01");
        assert_eq!(seen["query"]["api_key"], KEY);
        assert_eq!(seen["query"]["tags"], "b", "one pair per item (the echo keeps the last)");
        assert_eq!(seen["headers"]["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(seen["body"], "MediaUrl=u1&MediaUrl=u2&To=%2B1+555");

        // Arguments against the schemas: -32602 naming the argument, nothing sent.
        for (arguments, named) in [
            (json!({"AccountSid": "nope", "body": {"To": "x"}}), "AccountSid"),
            (json!({"AccountSid": "AC12ab", "body": {}}), "body"),
            (json!({"AccountSid": "AC12ab", "body": {"To": "x"}, "tags": ["c"]}), "tags.0"),
        ] {
            let reply = call(&mut client, "send_message", arguments).await;
            assert_eq!(reply["error"]["code"], -32602, "{reply}");
            assert!(reply["error"]["message"].as_str().unwrap().contains(named), "{reply}");
        }
    }
}

/// The official TypeScript SDK lists the tool and calls it; it checks the structured content
/// against the tool's outputSchema itself, and an answer that would not match is an error.
async fn an_sdk_client_holds_the_answers_to_their_schema(backend_kind: Backend) {
    let server = TestServer::dev(backend_kind).await;
    let backend = HttpBackend::start();
    let (server_id, slug) = create_server(&server, "Messaging").await;
    let tools = format!("/api/orgs/default/servers/{server_id}/tools");
    server.post(&tools, None, definition(&backend)).await.expect(201);
    let mut strict = definition(&backend);
    strict["name"] = json!("send_strict");
    strict["outputSchema"] =
        json!({"type": "object", "required": ["sid"], "properties": {"sid": {"type": "string"}}});
    server.post(&tools, None, strict).await.expect(201);
    let key = server
        .post(&format!("/api/orgs/default/servers/{server_id}/keys"), None, json!({"label": "sdk"}))
        .await
        .expect(201)
        .body["rawValue"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/mcp/default/{slug}", server.base);
    let args = json!({"AccountSid": "AC12ab", "body": {"To": "+1"}});
    let (u, k, a) = (url.clone(), key.clone(), args.clone());
    let out = tokio::task::spawn_blocking(move || node_client(&u, "streamable-http", &k, "send_message", &a))
        .await
        .unwrap();
    let Some(out) = out else { return };
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["call"]["structuredContent"]["path"], "/Accounts/AC12ab/Messages.json", "{out}");
    let out =
        tokio::task::spawn_blocking(move || node_client(&url, "streamable-http", &key, "send_strict", &args))
            .await
            .unwrap()
            .unwrap();
    assert!(out.get("error").is_none(), "the SDK accepted the answer: {out}");
    assert_eq!(out["call"]["isError"], true, "{out}");
    assert!(out["call"]["content"][0]["text"].as_str().unwrap().contains("outputSchema"), "{out}");
}

/// Definitions that cannot work are refused when they are written, naming the field.
async fn impossible_shapes_are_refused(backend_kind: Backend) {
    let server = TestServer::dev(backend_kind).await;
    let backend = HttpBackend::start();
    let (server_id, _) = create_server(&server, "Messaging").await;
    let path = format!("/api/orgs/default/servers/{server_id}/tools");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut d = definition(&backend);
        change(&mut d);
        d
    };
    let refusals: [(Value, &str); 5] = [
        (with(&|d| d["body"]["argument"] = json!("tags")), "also a parameter"),
        (with(&|d| d["parameters"][1]["wireName"] = json!("api_key")), "key goes"),
        (with(&|d| d["parameters"][2]["schema"] = json!({"type": "wat"})), "tags"),
        (with(&|d| d["outputSchema"] = json!({"type": "array"})), "outputSchema"),
        (with(&|d| d["auth"] = json!({"type": "api_key_query", "credential": "k"})), "auth.parameter"),
    ];
    for (definition, words) in refusals {
        let r = server.post(&path, None, definition).await;
        assert!(r.status == 422 || r.status == 400, "{}", r.text);
        assert!(r.text.contains(words), "{words}: {}", r.text);
    }
    let tools = server.get(&path, None).await.expect(200);
    assert_eq!(tools.body["total"], 0, "nothing was made");
}

backend_tests!(
    operations_keep_their_documented_shape,
    an_sdk_client_holds_the_answers_to_their_schema,
    impossible_shapes_are_refused
);
