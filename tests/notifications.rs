//! Story: an org hears about what happened to it. Archiving and rotating API keys raise
//! notifications, listed newest first with an unread filter and a cursor, marked read one by
//! one; an org webhook receives each one signed with HMAC-SHA256, retried until it answers 2xx.

mod common;

use std::sync::{Arc, Mutex};

use common::{Backend, TestServer};
use serde_json::{Value, json};

/// Org `acme`, a server and two keys; returns (server id, key ids).
async fn server_with_keys(server: &TestServer, admin: &str) -> (String, Vec<String>) {
    server.create_org(admin, "acme").await;
    let s = server.post("/api/orgs/acme/servers", Some(admin), json!({"name": "Shop"})).await.expect(201);
    let sid = s.body["server"]["serverId"].as_str().unwrap().to_string();
    let mut keys = Vec::new();
    for label in ["production", "staging"] {
        let k = server
            .post(&format!("/api/orgs/acme/servers/{sid}/keys"), Some(admin), json!({"label": label}))
            .await
            .expect(201);
        keys.push(k.body["key"]["keyId"].as_str().unwrap().to_string());
    }
    (sid, keys)
}

async fn key_events_notify_and_can_be_read(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, keys) = server_with_keys(&server, &admin).await;
    let list = "/api/orgs/acme/notifications";
    assert_eq!(server.get(list, Some(&admin)).await.expect(200).body["notifications"], json!([]));

    server
        .patch(&format!("/api/orgs/acme/servers/{sid}/keys/{}", keys[0]), Some(&admin), json!({}))
        .await
        .expect(200);
    let rotated = server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys/{}/rotate", keys[1]), Some(&admin), json!({}))
        .await
        .expect(201);
    let new_key = rotated.body["key"]["keyId"].as_str().unwrap();

    let r = server.get(list, Some(&admin)).await.expect(200);
    let all = r.body["notifications"].as_array().unwrap();
    assert_eq!(all.len(), 2, "{}", r.text);
    assert!(r.body["nextCursor"].is_null());
    let (rot, arc) = (&all[0], &all[1]);
    assert_eq!(rot["kind"], "key.rotated");
    assert_eq!(rot["title"], "API key rotated");
    assert_eq!(rot["data"]["oldKeyId"], keys[1].as_str());
    assert_eq!(rot["data"]["newKeyId"], new_key);
    assert_eq!(rot["data"]["serverId"], sid.as_str());
    assert!(rot["message"].as_str().unwrap().contains("staging"));
    assert_eq!(arc["kind"], "key.archived");
    assert_eq!(arc["data"]["keyId"], keys[0].as_str());
    assert_eq!(arc["data"]["actor"]["type"], "user");
    for n in all {
        for field in ["notificationId", "orgId", "kind", "title", "message", "data", "createdAt"] {
            assert!(n.get(field).is_some_and(|v| !v.is_null()), "missing {field}: {n}");
        }
        assert!(n["readAt"].is_null());
        assert!(n["notificationId"].as_str().unwrap().starts_with("ntf_"));
    }
    // No raw key ever appears in a notification.
    assert!(!r.text.contains(rotated.body["rawValue"].as_str().unwrap()));

    // Mark one read: it leaves the unread list; marking twice keeps the first time.
    let id = arc["notificationId"].as_str().unwrap();
    let read = server.post(&format!("{list}/{id}/read"), Some(&admin), json!({})).await.expect(200);
    let read_at = read.body["notification"]["readAt"].as_str().unwrap().to_string();
    assert_eq!(read.body["notification"]["notificationId"], id);
    let again = server.post(&format!("{list}/{id}/read"), Some(&admin), json!({})).await.expect(200);
    assert_eq!(again.body["notification"]["readAt"], read_at.as_str());
    let unread = server.get(&format!("{list}?unread=true"), Some(&admin)).await.expect(200);
    assert_eq!(unread.body["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(unread.body["notifications"][0]["kind"], "key.rotated");
    let everything = server.get(&format!("{list}?unread=false"), Some(&admin)).await.expect(200);
    assert_eq!(everything.body["notifications"].as_array().unwrap().len(), 2);

    // Pages.
    let p1 = server.get(&format!("{list}?limit=1"), Some(&admin)).await.expect(200);
    assert_eq!(p1.body["notifications"][0]["kind"], "key.rotated");
    let cursor = p1.body["nextCursor"].as_str().unwrap();
    let p2 = server.get(&format!("{list}?limit=1&cursor={cursor}"), Some(&admin)).await.expect(200);
    assert_eq!(p2.body["notifications"][0]["kind"], "key.archived");
    assert!(p2.body["nextCursor"].is_null());
    server.get(&format!("{list}?limit=0"), Some(&admin)).await.expect_error(400, "invalid_input");
    server.get(&format!("{list}?unread=maybe"), Some(&admin)).await.expect_error(400, "invalid_input");
    server
        .post(&format!("{list}/ntf_unknown/read"), Some(&admin), json!({}))
        .await
        .expect_error(404, "not_found");

    // Another org sees none of them and cannot mark them.
    server.create_org(&admin, "other").await;
    let other = server.get("/api/orgs/other/notifications", Some(&admin)).await.expect(200);
    assert_eq!(other.body["notifications"], json!([]));
    server
        .post(&format!("/api/orgs/other/notifications/{id}/read"), Some(&admin), json!({}))
        .await
        .expect_error(404, "not_found");
    // A reader can list but not mark.
    let reader = server.mint_token(&admin, "acme", &["notifications:read"]).await;
    server.get(list, Some(&reader)).await.expect(200);
    server
        .post(&format!("{list}/{id}/read"), Some(&reader), json!({}))
        .await
        .expect_error(403, "insufficient_scope");
}

/// A webhook receiver that answers 500 to the first `failures` requests, then 204.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
        let s = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let s = s.clone();
                async move {
                    let mut seen = s.lock().unwrap();
                    seen.push((headers, body));
                    if seen.len() <= failures {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    async fn wait_for(&self, n: usize) -> Vec<(axum::http::HeaderMap, String)> {
        for _ in 0..100 {
            if self.seen.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.seen.lock().unwrap().clone()
    }
}

async fn a_webhook_receives_signed_notifications_with_retries(backend: Backend) {
    let (server, admin) = TestServer::enterprise(backend).await;
    let (sid, keys) = server_with_keys(&server, &admin).await;
    let hook = "/api/orgs/acme/notifications/webhook";
    server.get(hook, Some(&admin)).await.expect_error(404, "not_found");
    // Not an http(s) URL, or one the network policy refuses: 422; a secret too short: 400.
    for (bad, status, code) in [
        (json!({"url": "ftp://x.example/"}), 422, "unprocessable"),
        (json!({"url": "not a url"}), 422, "unprocessable"),
        (json!({"url": "https://x.example/", "secret": "short"}), 400, "invalid_input"),
        (json!({"url": "http://169.254.169.254/latest"}), 422, "unprocessable"),
    ] {
        server.put(hook, Some(&admin), bad).await.expect_error(status, code);
    }

    // Two failures, then success: delivered on the third attempt, same body and signature.
    let receiver = Receiver::start(2).await;
    let secret = "whsec-test-0123456789abcdef";
    let set =
        server.put(hook, Some(&admin), json!({"url": receiver.url, "secret": secret})).await.expect(200);
    assert_eq!(set.body["webhook"]["url"], receiver.url.as_str());
    assert!(set.body.get("signingSecret").is_none() && !set.text.contains(secret));
    let got = server.get(hook, Some(&admin)).await.expect(200);
    assert!(!got.text.contains(secret));

    server
        .patch(&format!("/api/orgs/acme/servers/{sid}/keys/{}", keys[0]), Some(&admin), json!({}))
        .await
        .expect(200);
    let seen = receiver.wait_for(3).await;
    assert_eq!(seen.len(), 3, "retried until 2xx");
    // A retry would come after the next backoff (the third): wait that long, and a little more.
    let next_backoff = gatehouse::notify::FIRST_BACKOFF * 4;
    tokio::time::sleep(next_backoff + std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.seen.lock().unwrap().len(), 3, "no retry after success");
    for (headers, body) in &seen {
        assert_eq!(body, &seen[0].1);
        let signature = headers["x-gatehouse-signature"].to_str().unwrap();
        assert_eq!(
            signature,
            format!("sha256={}", gatehouse::crypto::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()))
        );
        assert_eq!(headers["x-gatehouse-event"], "key.archived");
        assert_eq!(headers["content-type"], "application/json");
    }
    let payload: Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(payload["notification"]["kind"], "key.archived");
    assert_eq!(payload["notification"]["data"]["keyId"], keys[0].as_str());
    let stored = server.get("/api/orgs/acme/notifications", Some(&admin)).await.expect(200);
    assert_eq!(payload["notification"]["notificationId"], stored.body["notifications"][0]["notificationId"]);

    // Without a secret, one is generated and shown once; deliveries are signed with it.
    let receiver = Receiver::start(0).await;
    let set = server.put(hook, Some(&admin), json!({"url": receiver.url})).await.expect(200);
    let generated = set.body["signingSecret"].as_str().unwrap().to_string();
    assert!(generated.starts_with("whsec_"));
    assert!(!server.get(hook, Some(&admin)).await.expect(200).text.contains(&generated));
    server
        .post(&format!("/api/orgs/acme/servers/{sid}/keys/{}/rotate", keys[1]), Some(&admin), json!({}))
        .await
        .expect(201);
    let seen = receiver.wait_for(1).await;
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    assert_eq!(
        headers["x-gatehouse-signature"].to_str().unwrap(),
        format!("sha256={}", gatehouse::crypto::hmac_sha256_hex(generated.as_bytes(), body.as_bytes()))
    );

    // Removed: nothing more is delivered.
    server.delete(hook, Some(&admin)).await.expect(204);
    server.delete(hook, Some(&admin)).await.expect_error(404, "not_found");
}

backend_tests!(key_events_notify_and_can_be_read, a_webhook_receives_signed_notifications_with_retries);
