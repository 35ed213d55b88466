//! Section `openapi`: importing a document of 1,000 operations (500 paths, each a `get` with a
//! path and an enum query parameter and a `put` with a JSON body of a shared schema, and an
//! answer schema), against the baseline in the same run: the same number of tools created one
//! by one over the API. Then `tools/list` of the imported server (rich schemas) against the
//! `list` section's 1,000 plain tools, concurrency 1, first page of 500.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::STATELESS;
use crate::client::{Endpoint, create_server, post_json, stateless_list};
use crate::load::load_middle;

/// Operations in the document.
const OPERATIONS: usize = 1000;

/// The document: OpenAPI 3.0.3 with `OPERATIONS` operations on the backend.
fn document(backend: SocketAddr) -> String {
    let mut paths = serde_json::Map::new();
    for i in 0..OPERATIONS / 2 {
        paths.insert(
            format!("/things{i}/{{id}}"),
            json!({
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"operationId": format!("getThing{i}"), "summary": "Read a thing", "tags": ["things"],
                    "parameters": [{"name": "view", "in": "query", "schema": {"type": "string", "enum": ["short", "full"]}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}},
                "put": {"operationId": format!("putThing{i}"), "summary": "Replace a thing",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "responses": {"200": {"description": "ok"}}}
            }),
        );
    }
    json!({"openapi": "3.0.3", "info": {"title": "Things", "version": "1"},
        "servers": [{"url": format!("http://{backend}/v1")}],
        "paths": paths,
        "components": {"schemas": {"Thing": {"type": "object", "required": ["name"], "properties": {
            "id": {"type": "integer", "format": "int64", "readOnly": true},
            "name": {"type": "string", "maxLength": 100},
            "kind": {"type": "string", "enum": ["a", "b", "c"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}}}}}})
    .to_string()
}

pub(crate) async fn import(client: &reqwest::Client, base: &str, pid: u32, backend: SocketAddr) {
    let document = document(backend);
    println!();
    println!(
        "### OpenAPI import: a document of {OPERATIONS} operations ({:.0} KiB)",
        document.len() as f64 / 1024.0
    );
    println!();
    println!("| what | wall time |");
    println!("|---|---|");
    // Baseline: the same number of tools written one request at a time.
    let (plain_id, _) = create_server(client, base, "Plain", "plain").await;
    let started = Instant::now();
    for i in 0..OPERATIONS {
        post_json(
            client,
            &format!("{base}/api/orgs/default/servers/{plain_id}/tools"),
            &[],
            &json!({"name": format!("tool_{i:04}"), "description": "A tool", "method": "GET",
                    "endpointUrl": format!("http://{backend}/v1/things/{{id}}"),
                    "parameters": [{"name": "id", "location": "path", "type": "integer", "required": true}]}),
        )
        .await;
    }
    println!(
        "| {OPERATIONS} tools created one by one (baseline) | {:.2} s |",
        started.elapsed().as_secs_f64()
    );
    let (server_id, key) = create_server(client, base, "Things", "things").await;
    let source = json!({"document": document});
    let preview = format!("{base}/api/orgs/default/servers/{server_id}/openapi/preview");
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let answer = post_json(client, &preview, &[], &source).await;
        times.push(started.elapsed());
        assert_eq!(answer["preview"]["tools"].as_array().map(Vec::len), Some(OPERATIONS));
    }
    times.sort();
    println!("| preview (parse, resolve, plan), median of 3 | {:.0} ms |", ms(times[1]));
    let started = Instant::now();
    let made = post_json(
        client,
        &format!("{base}/api/orgs/default/servers/{server_id}/openapi-imports"),
        &[],
        &json!({"source": source}),
    )
    .await;
    println!(
        "| import (plan, check, store {OPERATIONS} tools in one transaction) | {:.0} ms |",
        ms(started.elapsed())
    );
    assert_eq!(made["import"]["tools"].as_array().map(Vec::len), Some(OPERATIONS));

    println!();
    println!(
        "| tools/list, first page of 500, concurrency 1 | p50 ms | p99 ms | req/s | gateway CPU µs/call |"
    );
    println!("|---|---|---|---|---|");
    let list_headers: [(&str, &str); 2] = [("mcp-protocol-version", STATELESS), ("mcp-method", "tools/list")];
    let endpoint = Endpoint::new(client, format!("{base}/mcp/default/things"), Some(&key));
    let (probe, _) = endpoint.send(&list_headers, stateless_list()).await;
    let tools = probe["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 500, "first page");
    assert!(tools.iter().any(|t: &Value| t.get("outputSchema").is_some()));
    let request = endpoint.prepare(&list_headers, stateless_list());
    let stats = load_middle(pid, 1, move |_| {
        let request = request.clone();
        async move { request.fire().await }
    })
    .await;
    println!(
        "| 1,000 imported tools (schemas, outputSchema) | {:.3} | {:.3} | {:.0} | {:.0} |",
        stats.p50_ms,
        stats.p99_ms,
        stats.rps,
        stats.cpu_us.unwrap_or(0.0)
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
