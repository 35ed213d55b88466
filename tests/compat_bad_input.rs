//! Bad input to the compatible surfaces (MCPJungle's `/api/v0`, `/api/mcp-servers`, the
//! installations API): every endpoint, given junk, answers a 4xx in its envelope, changes
//! nothing and never fails inside.

mod common;

use common::{Backend, TestServer};
use serde_json::{Value, json};

const BODIES: &[&str] = &[
    "not json",
    "[1, 2, 3]",
    "{\"config\": 5}",
    "{\"name\": 42, \"transport\": [\"x\"]}",
    "{\"name\": \"a\", \"name\": \"b\"}",
    "{\"display_name\": {\"x\": 1}, \"url\": true}",
    "{\"unknown_field\": 1}",
    "{\"name\": \"\\u0000\", \"url\": \"http://[::1\"}",
];

async fn junk_is_refused_in_the_envelope(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "acme").await;
    let token = server
        .mint_token(
            &admin,
            "acme",
            &[
                "servers:read",
                "servers:write",
                "upstreams:read",
                "upstreams:write",
                "tools:call",
                "keys:write",
                "tokens:write",
            ],
        )
        .await;
    let installations = "/api/projects/acme/mcp_server_installations";
    let endpoints: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::POST, "/api/v0/servers".into()),
        (reqwest::Method::POST, "/api/v0/tools/invoke".into()),
        (reqwest::Method::POST, "/api/v0/prompts/render".into()),
        (reqwest::Method::POST, "/api/v0/tool-groups".into()),
        (reqwest::Method::PUT, "/api/v0/tool-groups/g".into()),
        (reqwest::Method::POST, "/api/v0/users".into()),
        (reqwest::Method::PUT, "/api/v0/users/u".into()),
        (reqwest::Method::POST, "/api/v0/clients".into()),
        (reqwest::Method::PUT, "/api/v0/clients/c".into()),
        (reqwest::Method::POST, "/api/mcp-servers".into()),
        (reqwest::Method::PUT, "/api/mcp-servers/ups_x".into()),
        (reqwest::Method::POST, installations.into()),
        (reqwest::Method::PATCH, format!("{installations}/ups_x")),
        (reqwest::Method::POST, format!("{installations}/install_custom")),
        (reqwest::Method::POST, format!("{installations}/install_template")),
        (reqwest::Method::PATCH, format!("{installations}/ups_x/tools/t")),
        (reqwest::Method::POST, format!("{installations}/ups_x/proxy")),
    ];
    for (method, path) in &endpoints {
        // A body beyond the limit: 413 in the envelope, declared and never sent in full.
        if *method == reqwest::Method::POST {
            let auth = format!("Bearer {token}");
            let (status, text) =
                server.declared_body_answer(path, &[("Authorization", &auth)], 64 * 1024 * 1024).await;
            assert_eq!(status, 413, "{path}: {text}");
            assert!(text.contains("payload_too_large"), "{path}: {text}");
        }
        for body in BODIES {
            let r = server
                .request(method.clone(), path)
                .header("Content-Type", "application/json")
                .bearer_auth(&token)
                .header("X-API-SECRET", &token)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let what = format!("{method} {path} with {:.60}: {status} {text:.200}", body);
            assert!((400..500).contains(&status) || (status == 200 && path.ends_with("/proxy")), "{what}");
            let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {what}"));
            let explained = answer["error"].is_string()
                || answer["error"]["message"].is_string()
                || answer["message"].is_string();
            assert!(explained, "no error in the envelope: {what}");
        }
    }
    // Nothing was made.
    assert_eq!(
        server.get("/api/orgs/acme/upstreams", Some(&admin)).await.expect(200).body["upstreams"],
        json!([])
    );
    let servers = server.get("/api/orgs/acme/servers", Some(&admin)).await.expect(200).body;
    assert_eq!(servers["servers"], json!([]), "{servers}");
}

/// Every route the compatible surfaces' OpenAPI document names is served.
async fn the_document_names_served_routes(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let doc = server.get("/api/compat/openapi.json", None).await.expect(200).body;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 40, "{}", paths.len());
    for (path, methods) in paths {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { if s.contains("_id}") { "default" } else { "x" } } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in methods.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = server
                .request(m, &concrete)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert!(
                !(status == 404 && text.contains("no route")) && status != 405,
                "{method} {concrete}: {status} {text}"
            );
            assert!(status < 500 || status == 502, "{method} {concrete}: {status} {text}");
        }
    }
}

backend_tests!(junk_is_refused_in_the_envelope, the_document_names_served_routes);
