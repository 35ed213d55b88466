//! Story: a team wires its server to the vendors it already uses — RevenueCat decides how much a
//! subscriber may call, PostHog receives every call as an event, Firebase App Check keeps
//! anything but their own app off the end-user sign-in — each against a real loopback process
//! answering as that vendor's API does.

mod common;

use common::mcp::McpClient;
use common::oauth::Answer;
use common::sign_in::{call_echo, connect, register, world};
use common::vendors::{REVENUECAT_KEY, Vendors};
use common::{Backend, Options, TestServer};
use serde_json::{Value, json};

/// Waits until `check` holds for the vendors' stats (events are sent in the background).
async fn eventually(vendors: &Vendors, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let stats = vendors.stats().await;
        if check(&stats) {
            return stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the vendor never saw it: {}", vendors.stats().await);
}

/// RevenueCat: the key is write-only, refreshed entitlements become a category, and policies
/// give each category its own rate limit.
async fn entitlements_decide_the_rate_limit(backend: Backend) {
    let Some(vendors) = Vendors::start() else { return };
    let options = Options {
        revenuecat_api_url: Some(vendors.base_url()),
        mcp_server_enabled: true,
        ..Default::default()
    };
    let Some(w) = world(backend, options).await else { return };
    let base = format!("/api/orgs/acme/servers/{}", w.sid);
    let revenuecat = format!("{base}/integrations/revenuecat");

    // Enabling needs a key; the key never comes back.
    w.server
        .put(&revenuecat, Some(&w.admin), json!({"enabled": true}))
        .await
        .expect_error(400, "invalid_input");
    let set = w
        .server
        .put(
            &revenuecat,
            Some(&w.admin),
            json!({"enabled": true, "apiKey": "sk_wrong_key_1234", "categoryOrder": ["pro", "plus"]}),
        )
        .await
        .expect(200);
    assert_eq!(set.body["revenuecat"]["apiKeyHint"], "…1234");
    assert!(!set.text.contains("sk_wrong"), "{}", set.text);
    let refresh = format!("{revenuecat}/refresh");
    let refused = w.server.post(&refresh, Some(&w.admin), json!({"appUserId": "admin@example.com"})).await;
    refused.expect_error(422, "unprocessable");
    let stats = vendors.stats().await;
    assert_eq!(stats["subscriberRequests"][0]["authorization"], "Bearer sk_wrong_key_1234");
    w.server.put(&revenuecat, Some(&w.admin), json!({"apiKey": REVENUECAT_KEY})).await.expect(200);
    let all = w.server.get(&format!("{base}/integrations"), Some(&w.admin)).await.expect(200);
    assert!(!all.text.contains(REVENUECAT_KEY), "{}", all.text);
    assert_eq!(all.body["revenuecat"]["categoryOrder"], json!(["pro", "plus"]));
    assert_eq!(all.body["posthog"], Value::Null);

    // Free callers get one call an hour, pro callers a hundred: one tool pattern, two policies.
    let policies = format!("{base}/policies");
    for (category, requests) in [("free", 1), ("pro", 100)] {
        let policy = json!({"toolPattern": "*", "callers": [format!("entitlement:{category}")],
                            "rateLimit": {"requests": requests, "perSeconds": 3600, "scope": "user"}});
        w.server.put(&policies, Some(&w.admin), policy).await.expect(200);
    }
    let listed = w.server.get(&policies, Some(&w.admin)).await.expect(200);
    assert_eq!(listed.body["policies"].as_array().unwrap().len(), 2, "{}", listed.text);

    // The admin signs in with an MCP client; RevenueCat knows them as a free user.
    let client_id = register(&w).await;
    let tokens = connect(&w, &client_id, "echo", Answer::Allow).await;
    let token = tokens["access_token"].as_str().unwrap();
    let free =
        w.server.post(&refresh, Some(&w.admin), json!({"appUserId": "Admin@Example.com"})).await.expect(200);
    assert_eq!(free.body["entitlement"]["category"], "free");
    assert_eq!(free.body["entitlement"]["appUserId"], "admin@example.com");
    call_echo(&w, "echo", token).await.expect(200);
    let limited = call_echo(&w, "echo", token).await.expect(200);
    assert_eq!(limited.body["error"]["code"], -32029, "{}", limited.text);

    // They subscribe (an expired plus, a live pro): refreshed, they are pro at once.
    vendors
        .set_entitlements(
            "admin@example.com",
            json!({"pro": "2999-01-01T00:00:00Z", "plus": "2001-01-01T00:00:00Z"}),
        )
        .await;
    let pro =
        w.server.post(&refresh, Some(&w.admin), json!({"appUserId": "admin@example.com"})).await.expect(200);
    assert_eq!(pro.body["entitlement"]["category"], "pro");
    assert_eq!(pro.body["entitlement"]["entitlements"], json!(["pro"]));
    for _ in 0..3 {
        let ok = call_echo(&w, "echo", token).await.expect(200);
        assert!(ok.body["result"].is_object(), "{}", ok.text);
    }

    // The same refresh as the management tool, with the seed's scope name on the token.
    let apps = w.server.mint_token(&w.admin, "acme", &["apps:write"]).await;
    let r = w
        .server
        .request(reqwest::Method::POST, "/api/mcp")
        .header("X-Management-Token", &apps)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "trigger_revenuecat_refresh",
            "arguments": {"serverId": w.sid, "appUserId": "admin@example.com"}}}))
        .send()
        .await;
    let r = TestServer::read(r.unwrap()).await.expect(200);
    assert_eq!(r.body["result"]["structuredContent"]["entitlement"]["category"], "pro", "{}", r.text);
}

/// PostHog: calls arrive as events in batches, retried through failures, with arguments only
/// under full data logging.
async fn calls_reach_posthog(backend: Backend) {
    let Some(vendors) = Vendors::start() else { return };
    let Some(w) = world(backend, Options::default()).await else { return };
    let base = format!("/api/orgs/acme/servers/{}", w.sid);
    let posthog = format!("{base}/integrations/posthog");
    let config =
        json!({"enabled": true, "apiKey": "phc_project_key", "host": format!("{}/", vendors.base_url())});
    let set = w.server.put(&posthog, Some(&w.admin), config).await.expect(200);
    assert_eq!(set.body["posthog"]["host"], vendors.base_url());
    assert!(!set.text.contains("phc_project_key"));

    let mut client = McpClient::new(&w.server, "/mcp/acme/echo", Some(&w.key), "2026-07-28");
    for text in ["one", "two"] {
        client.request("tools/call", json!({"name": "echo", "arguments": {"text": text}})).await.expect(200);
    }
    let stats = eventually(&vendors, |s| s["batches"].as_array().is_some_and(|b| !b.is_empty())).await;
    let events: Vec<&Value> =
        stats["batches"].as_array().unwrap().iter().flat_map(|b| b["batch"].as_array().unwrap()).collect();
    assert_eq!(events.len(), 2, "{stats}");
    assert_eq!(stats["batches"][0]["api_key"], "phc_project_key");
    let event = events[0];
    assert_eq!(event["event"], "mcp tool call");
    assert_eq!(event["properties"]["tool"], "echo");
    assert_eq!(event["properties"]["outcome"], "ok");
    assert_eq!(event["properties"]["server_id"], w.sid.as_str());
    assert!(event["distinct_id"].as_str().unwrap().starts_with("key_"), "{event}");
    assert!(event["properties"].get("arguments").is_none(), "no payloads unless data logging is full");

    // Full data logging sends arguments; PostHog failing twice is retried through.
    w.server
        .put(&format!("{base}/data-logging"), Some(&w.admin), json!({"mode": "full", "retentionDays": 7}))
        .await
        .expect(200);
    vendors.fail_posthog(2).await;
    client.request("tools/call", json!({"name": "echo", "arguments": {"text": "three"}})).await.expect(200);
    let stats = eventually(&vendors, |s| s["batches"].as_array().is_some_and(|b| b.len() == 2)).await;
    assert_eq!(stats["failedBatches"], 2);
    let third = &stats["batches"][1]["batch"][0];
    assert!(third["properties"]["arguments"].as_str().unwrap().contains("three"), "{third}");

    // Disabled: nothing more is sent.
    w.server.put(&posthog, Some(&w.admin), json!({"enabled": false})).await.expect(200);
    client.request("tools/call", json!({"name": "echo", "arguments": {"text": "four"}})).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(vendors.stats().await["batches"].as_array().unwrap().len(), 2);
}

/// A host on a private address is refused where private networks are.
async fn posthog_host_follows_the_network_policy(backend: Backend) {
    let options = Options { deny_private_networks: true, ..Default::default() };
    let (server, admin) = TestServer::enterprise_with(backend, options).await;
    server.create_org(&admin, "acme").await;
    let sid = server
        .post("/api/orgs/acme/servers", Some(&admin), json!({"name": "Shop"}))
        .await
        .expect(201)
        .body["server"]["serverId"]
        .as_str()
        .unwrap()
        .to_string();
    let posthog = format!("/api/orgs/acme/servers/{sid}/integrations/posthog");
    for host in ["http://127.0.0.1:9", "http://10.0.0.1", "ftp://example.com", "https://u:p@example.com"] {
        let r = server.put(&posthog, Some(&admin), json!({"host": host})).await;
        assert!([400, 422].contains(&r.status), "{host}: {}", r.text);
    }
    let unchanged =
        server.get(&format!("/api/orgs/acme/servers/{sid}/integrations"), Some(&admin)).await.expect(200);
    assert_eq!(unchanged.body["posthog"], Value::Null);
}

/// Firebase App Check: request-code and verify-code need a token Firebase issued to one of the
/// server's apps; Firebase's keys are fetched once.
async fn app_check_guards_end_user_sign_in(backend: Backend) {
    let Some(vendors) = Vendors::start() else { return };
    let options = Options { app_check_jwks_url: Some(vendors.jwks_url()), ..Default::default() };
    let Some(w) = world(backend, options).await else { return };
    let config = format!("/api/orgs/acme/servers/{}/auth-config", w.sid);
    let r = w.server.put(&config, Some(&w.admin), json!({"appCheck": {"enabled": true}})).await;
    r.expect_error(400, "invalid_input");
    let app = "1:123456789012:android:0a1b2c3d";
    let on = json!({"appCheck": {"enabled": true, "projectNumber": "123456789012", "appIds": [app]}});
    let set = w.server.put(&config, Some(&w.admin), on).await.expect(200);
    assert_eq!(set.body["authConfig"]["appCheck"]["appIds"], json!([app]));

    let request_code = format!("/api/orgs/acme/servers/{}/auth/request-code", w.sid);
    let send = |token: Option<String>| {
        let mut r = w.server.request(reqwest::Method::POST, &request_code).header("x-api-key", &w.key);
        if let Some(t) = token {
            r = r.header("x-firebase-appcheck", t);
        }
        async move {
            TestServer::read(r.json(&json!({"email": "buyer@shop.example"})).send().await.unwrap()).await
        }
    };
    let missing = send(None).await.expect_error(401, "unauthorized");
    assert!(missing.text.contains("X-Firebase-AppCheck"), "{}", missing.text);
    for (token, why) in [
        (vendors.app_check_token(app, "123456789012", -120, false).await, "expired"),
        (vendors.app_check_token(app, "999", 3600, false).await, "another Firebase project"),
        (
            vendors.app_check_token("1:123456789012:ios:ff", "123456789012", 3600, false).await,
            "does not accept",
        ),
        (vendors.app_check_token(app, "123456789012", 3600, true).await, "does not verify"),
        ("not-a-jwt".to_string(), "not a JWT"),
    ] {
        let r = send(Some(token)).await.expect_error(401, "unauthorized");
        assert!(r.text.contains(why), "{why}: {}", r.text);
    }
    let valid = vendors.app_check_token(app, "123456789012", 3600, false).await;
    send(Some(valid.clone())).await.expect(200);
    let code = common::smtp::SmtpSink::code_in(&w.smtp.next_mail());
    let verify = format!("/api/orgs/acme/servers/{}/auth/verify-code", w.sid);
    let body = json!({"email": "buyer@shop.example", "code": code});
    let without = w.server.request(reqwest::Method::POST, &verify).header("x-api-key", &w.key).json(&body);
    TestServer::read(without.send().await.unwrap()).await.expect_error(401, "unauthorized");
    let with = w
        .server
        .request(reqwest::Method::POST, &verify)
        .header("x-api-key", &w.key)
        .header("x-firebase-appcheck", &valid);
    let verified = TestServer::read(with.json(&body).send().await.unwrap()).await.expect(200);
    assert!(verified.body["token"].as_str().is_some());
    assert_eq!(vendors.stats().await["jwksRequests"], 1, "the keys are cached");

    // Turned off, the header is not needed.
    w.server.put(&config, Some(&w.admin), json!({"appCheck": {"enabled": false}})).await.expect(200);
    send(None).await.expect(200);
}

backend_tests!(
    entitlements_decide_the_rate_limit,
    calls_reach_posthog,
    posthog_host_follows_the_network_policy,
    app_check_guards_end_user_sign_in
);
