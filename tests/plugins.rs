//! Story: an admin installs the FCM plugin on a server with a Firebase service account, and the
//! customer's backend sends push notifications through `/invoke` with the server's API key,
//! against a fake of Google's OAuth and FCM that
//! checks the signed assertion and every message for real.

mod common;

use common::fake_fcm::FakeFcm;
use common::{Backend, Options, Resp, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

struct Setup {
    server: TestServer,
    admin: String,
    fcm: FakeFcm,
    org: String,
    srv: String,
    key_id: String,
    key: String,
    /// Every answer seen, to check no secret ever left.
    seen: std::sync::Mutex<Vec<String>>,
}

impl Setup {
    async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, None).await
    }

    /// `fcm_base_url`: where sends go (defaults to the fake).
    async fn start_with(backend: Backend, fcm_base_url: Option<String>) -> Option<Self> {
        let fcm = FakeFcm::start()?;
        let options = Options {
            fcm_base_url: Some(fcm_base_url.unwrap_or_else(|| fcm.base_url())),
            ..Default::default()
        };
        let (server, admin) = TestServer::enterprise_with(backend, options).await;
        let org = server.create_org(&admin, "acme").await;
        let (srv, key_id, key) = new_server(&server, &admin, &org, "Shop").await;
        Some(Self { server, admin, fcm, org, srv, key_id, key, seen: Default::default() })
    }

    fn path(&self, srv: &str, tail: &str) -> String {
        format!("/api/orgs/{}/servers/{srv}{tail}", self.org)
    }

    fn keep(&self, r: Resp) -> Resp {
        self.seen.lock().unwrap().push(r.text.clone());
        r
    }

    async fn admin_send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let r = self.server.send(method, path, Some(&self.admin), body).await;
        self.keep(r)
    }

    async fn install(&self, srv: &str, config: Value) -> Resp {
        self.admin_send(Method::PUT, &self.path(srv, "/plugins/fcm"), Some(json!({"config": config}))).await
    }

    async fn invoke_with(&self, srv: &str, plugin: &str, key: Option<&str>, body: Value) -> Resp {
        let mut req = self
            .server
            .request(Method::POST, &self.path(srv, &format!("/plugins/{plugin}/invoke")))
            .json(&body);
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        let r = TestServer::read(req.send().await.unwrap()).await;
        self.keep(r)
    }

    async fn invoke(&self, body: Value) -> Resp {
        self.invoke_with(&self.srv, "fcm", Some(&self.key), body).await
    }

    /// Fragments of the service account's private key that must never be answered.
    fn secret_fragments(&self) -> Vec<String> {
        let pem = self.fcm.service_account["private_key"].as_str().unwrap();
        let mut out: Vec<String> = pem.lines().filter(|l| l.len() > 40).take(5).map(str::to_string).collect();
        out.push("PRIVATE KEY".into());
        out
    }

    fn assert_no_secret_was_answered(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty());
        for text in seen.iter() {
            for fragment in self.secret_fragments() {
                assert!(!text.contains(&fragment), "a response shows private key material: {text}");
            }
        }
    }
}

async fn new_server(server: &TestServer, admin: &str, org: &str, name: &str) -> (String, String, String) {
    let r = server
        .post(&format!("/api/orgs/{org}/servers"), Some(admin), json!({"name": name}))
        .await
        .expect(201);
    let srv = r.body["server"]["serverId"].as_str().unwrap().to_string();
    let r = server
        .post(&format!("/api/orgs/{org}/servers/{srv}/keys"), Some(admin), json!({"label": "backend"}))
        .await
        .expect(201);
    (
        srv,
        r.body["key"]["keyId"].as_str().unwrap().to_string(),
        r.body["rawValue"].as_str().unwrap().to_string(),
    )
}

async fn the_catalogue_describes_fcm(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let r = server.get("/api/plugins", None).await.expect(200);
    let fcm = &r.body["plugins"][0];
    assert_eq!(fcm["id"], "fcm");
    assert_eq!(fcm["name"], "FCM Integration");
    assert_eq!(fcm["category"], "notifications");
    assert_eq!(fcm["description"], "Send push notifications via Google Firebase Cloud Messaging.");
    assert_eq!(fcm["secretFields"], json!(["serviceAccountJson"]));
    assert_eq!(fcm["configSchema"]["properties"]["serviceAccountJson"]["writeOnly"], true);
    assert_eq!(fcm["configSchema"]["required"], json!(["serviceAccountJson"]));
}

async fn install_configure_disable_uninstall(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    let account = s.fcm.service_account.clone();

    // Before: listed, not installed; invoking is 404.
    let r = s.admin_send(Method::GET, &s.path(&s.srv, "/plugins"), None).await.expect(200);
    assert_eq!(r.body["plugins"][0]["pluginId"], "fcm");
    assert_eq!(r.body["plugins"][0]["installed"], false);
    s.invoke(json!({"registrationToken": "t"})).await.expect_error(404, "not_found");

    // Install with the key file pasted as text: secrets sealed, public fields shown.
    let r = s.install(&s.srv, json!({"serviceAccountJson": account.to_string()})).await.expect(200);
    let plugin = &r.body["plugin"];
    assert_eq!(plugin["pluginId"], "fcm");
    assert_eq!(plugin["enabled"], true);
    assert_eq!(plugin["config"]["projectId"], "gatehouse-test");
    assert_eq!(plugin["config"]["clientEmail"], account["client_email"]);
    assert_eq!(plugin["secretFields"], json!(["serviceAccountJson"]));
    let stored = s.server.state().store.plugin_install_get(&s.srv, "fcm").await.unwrap().unwrap();
    let sealed = stored.secrets.clone().unwrap();
    assert!(sealed.starts_with("v1.") && !sealed.contains("PRIVATE") && !stored.config.contains("PRIVATE"));

    let r = s.admin_send(Method::GET, &s.path(&s.srv, "/plugins"), None).await.expect(200);
    assert_eq!(r.body["plugins"][0]["installed"], true);
    assert_eq!(r.body["plugins"][0]["installation"]["config"]["projectId"], "gatehouse-test");
    s.admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm"), None).await.expect(200);

    // Disable: invoke is 403; enable again: 200.
    let r =
        s.admin_send(Method::PATCH, &s.path(&s.srv, "/plugins/fcm"), Some(json!({"enabled": false}))).await;
    assert_eq!(r.expect(200).body["plugin"]["enabled"], false);
    s.invoke(json!({"registrationToken": "t"})).await.expect_error(403, "plugin_disabled");
    s.admin_send(Method::PATCH, &s.path(&s.srv, "/plugins/fcm"), Some(json!({"enabled": true})))
        .await
        .expect(200);
    s.invoke(json!({"registrationToken": "device-1", "title": "Hi"})).await.expect(200);

    // Update without the secret keeps it (it cannot be read back); with a new one replaces it.
    let r = s.admin_send(Method::PUT, &s.path(&s.srv, "/plugins/fcm"), Some(json!({"enabled": true}))).await;
    assert_eq!(r.expect(200).body["plugin"]["secretFields"], json!(["serviceAccountJson"]));
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);
    s.install(&s.srv, json!({"serviceAccountJson": account.clone()})).await.expect(200);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);

    // Invalid configurations change nothing.
    let mut no_key = account.clone();
    no_key["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
    let mut not_sa = account.clone();
    not_sa["type"] = json!("authorized_user");
    let mut no_project = account.clone();
    no_project.as_object_mut().unwrap().remove("project_id");
    for (bad, says) in [
        (json!({"serviceAccountJson": "{not json"}), "serviceAccountJson"),
        (json!({"serviceAccountJson": no_key}), "private_key"),
        (json!({"serviceAccountJson": not_sa}), "service_account"),
        (json!({"serviceAccountJson": no_project}), "project_id"),
        (json!({"serviceAccountJson": account.clone(), "extra": 1}), "extra"),
    ] {
        let r = s.install(&s.srv, bad).await.expect_error(422, "unprocessable");
        assert!(r.body["error"].as_str().unwrap().contains(says), "{}", r.text);
    }
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);
    let r = s.admin_send(Method::PUT, &s.path(&s.srv, "/plugins/nope"), Some(json!({"config": {}}))).await;
    r.expect_error(404, "not_found");
    // A first install needs the secret.
    let (other, _, _) = new_server(&s.server, &s.admin, &s.org, "Blog").await;
    s.install(&other, json!({})).await.expect_error(422, "unprocessable");

    // Uninstall: gone, invoke 404, uninstalling twice 404.
    s.admin_send(Method::DELETE, &s.path(&s.srv, "/plugins/fcm"), None).await.expect(204);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect_error(404, "not_found");
    s.admin_send(Method::DELETE, &s.path(&s.srv, "/plugins/fcm"), None).await.expect_error(404, "not_found");
    s.admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm"), None).await.expect_error(404, "not_found");

    // Scopes: plugins:read reads, plugins:write changes.
    let reader = s.server.mint_token(&s.admin, "acme", &["plugins:read"]).await;
    s.server.get(&s.path(&s.srv, "/plugins"), Some(&reader)).await.expect(200);
    let r = s
        .server
        .put(
            &s.path(&s.srv, "/plugins/fcm"),
            Some(&reader),
            json!({"config": {"serviceAccountJson": account}}),
        )
        .await;
    r.expect_error(403, "insufficient_scope");
    s.assert_no_secret_was_answered();
}

async fn fcm_sends_to_one_and_to_many(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);

    // One device: the documented example, with the message the fake received checked field by field.
    let r = s
        .invoke(json!({
            "registrationToken": "eAn3k7-device",
            "title": "New message",
            "body": "You have a new notification",
            "data": {"screen": "inbox", "messageId": "msg_abc"}
        }))
        .await
        .expect(200);
    let id = r.body["result"]["messageId"].as_str().unwrap();
    assert!(id.starts_with("projects/gatehouse-test/messages/"), "{id}");
    assert_eq!(r.body["result"].as_object().unwrap().len(), 1);
    let stats = s.fcm.stats().await;
    assert_eq!(
        stats["sends"][0],
        json!({"message": {
            "token": "eAn3k7-device",
            "notification": {"title": "New message", "body": "You have a new notification"},
            "data": {"screen": "inbox", "messageId": "msg_abc"},
            "android": {"priority": "high", "notification": {"channel_id": "default"}},
            "apns": {"payload": {"aps": {"sound": "default"}}}
        }})
    );
    assert_eq!(stats["tokenRequests"], 1);

    // Many devices, one of them stale: 200 with per-token results in order.
    let r = s
        .invoke(json!({
            "registrationTokens": ["token-device-a", "unregistered-token", "token-device-c"],
            "title": "Flash sale",
            "body": "50% off — today only",
            "data": {"type": "promo", "promoId": "FLASH50"},
            "notification": {"body": "60% off"},
            "android": {"ttl": "3600s"},
            "apns": {"payload": {"aps": {"badge": 1}}}
        }))
        .await
        .expect(200);
    let result = &r.body["result"];
    assert_eq!(result["successCount"], 2);
    assert_eq!(result["failureCount"], 1);
    let responses = result["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 3);
    assert_eq!(responses[0]["success"], true);
    assert!(responses[0]["messageId"].as_str().unwrap().starts_with("projects/gatehouse-test/messages/"));
    assert_eq!(responses[1], json!({"success": false, "error": "registration-token-not-registered"}));
    assert_eq!(responses[2]["success"], true);
    assert_ne!(responses[0]["messageId"], responses[2]["messageId"]);
    let stats = s.fcm.stats().await;
    let sends = stats["sends"].as_array().unwrap();
    assert_eq!(sends.len(), 3);
    let sale = sends.iter().find(|m| m["message"]["token"] == "token-device-c").unwrap();
    assert_eq!(sale["message"]["notification"], json!({"title": "Flash sale", "body": "60% off"}));
    assert_eq!(
        sale["message"]["android"],
        json!({"priority": "high", "ttl": "3600s", "notification": {"channel_id": "default"}})
    );
    assert_eq!(sale["message"]["apns"], json!({"payload": {"aps": {"sound": "default", "badge": 1}}}));
    // The access token was cached: one exchange for every send so far.
    assert_eq!(stats["tokenRequests"], 1);
    assert_eq!(stats["unauthorized"], 0);

    // One stale device alone is a plugin-level failure: 422 with FCM's code.
    let r = s.invoke(json!({"registrationToken": "unregistered-token", "title": "x"})).await;
    let r = r.expect_error(422, "unprocessable");
    assert!(r.body["error"].as_str().unwrap().contains("registration-token-not-registered"), "{}", r.text);

    // Invalid payloads: 400, and nothing is sent.
    let before = s.fcm.stats().await["sends"].as_array().unwrap().len();
    for bad in [
        json!({"title": "no target"}),
        json!({"registrationToken": "a", "registrationTokens": ["b"]}),
        json!({"registrationTokens": []}),
        json!({"registrationTokens": vec!["t"; 501]}),
        json!({"registrationToken": "a", "data": {"count": 3}}),
        json!({"registrationToken": "a", "data": ["x"]}),
        json!({"registrationToken": 5}),
        json!({"registrationToken": "a", "title": 1}),
        json!({"registrationToken": "a", "android": "high"}),
        json!({"registrationToken": "a", "unknown": true}),
    ] {
        s.invoke(bad).await.expect_error(400, "invalid_input");
    }
    assert_eq!(s.fcm.stats().await["sends"].as_array().unwrap().len(), before);

    // Every invocation is logged: plugin, outcome, status, duration, the key; newest first.
    let r = s
        .admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm/invocations?limit=200"), None)
        .await
        .expect(200);
    let log = r.body["invocations"].as_array().unwrap();
    assert_eq!(log.len(), 13);
    assert_eq!(log[0]["outcome"], "invalid_request");
    assert_eq!(log[0]["status"], 400);
    assert_eq!(log[10]["outcome"], "failure");
    assert_eq!(log[10]["status"], 422);
    assert_eq!(log[11]["outcome"], "success");
    assert_eq!(log[12]["outcome"], "success");
    for entry in log {
        assert_eq!(entry["pluginId"], "fcm");
        assert_eq!(entry["keyId"], s.key_id.as_str());
        assert!(entry["durationMs"].as_i64().unwrap() >= 0);
    }
    // Paging.
    let page = s
        .admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm/invocations?limit=5"), None)
        .await
        .expect(200);
    assert_eq!(page.body["invocations"].as_array().unwrap().len(), 5);
    let cursor = page.body["nextCursor"].as_str().unwrap();
    let next = s
        .admin_send(
            Method::GET,
            &s.path(&s.srv, &format!("/plugins/fcm/invocations?limit=5&before={cursor}")),
            None,
        )
        .await
        .expect(200);
    assert_eq!(next.body["invocations"][0]["invocationId"], log[5]["invocationId"]);
    s.assert_no_secret_was_answered();
}

async fn every_invoke_status_code(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    let ok = json!({"registrationToken": "device-1", "title": "t"});
    // 404: unknown plugin (even with a good key), and not installed.
    s.invoke_with(&s.srv, "nope", Some(&s.key), ok.clone()).await.expect_error(404, "not_found");
    s.invoke(ok.clone()).await.expect_error(404, "not_found");
    s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);
    // 200.
    s.invoke(ok.clone()).await.expect(200);
    // 401: no key, a wrong key, another server's key, an archived key.
    s.invoke_with(&s.srv, "fcm", None, ok.clone()).await.expect_error(401, "unauthorized");
    s.invoke_with(&s.srv, "fcm", Some("mcp_wrong"), ok.clone()).await.expect_error(401, "unauthorized");
    let (other, _, other_key) = new_server(&s.server, &s.admin, &s.org, "Blog").await;
    s.invoke_with(&s.srv, "fcm", Some(&other_key), ok.clone()).await.expect_error(401, "unauthorized");
    // 401 comes before 404: without a key nobody learns which plugins exist.
    s.invoke_with(&s.srv, "nope", None, ok.clone()).await.expect_error(401, "unauthorized");
    // The same plugin on another server has its own settings: not installed there.
    s.invoke_with(&other, "fcm", Some(&other_key), ok.clone()).await.expect_error(404, "not_found");
    // …and installed there with an account Google does not know: 422 at the token exchange.
    s.install(&other, json!({"serviceAccountJson": s.fcm.impostor_account.clone()})).await.expect(200);
    let r =
        s.invoke_with(&other, "fcm", Some(&other_key), ok.clone()).await.expect_error(422, "unprocessable");
    assert!(r.body["error"].as_str().unwrap().contains("invalid-credential"), "{}", r.text);
    assert_eq!(s.fcm.stats().await["rejectedAssertions"], 1);
    s.invoke(ok.clone()).await.expect(200);
    // 403: disabled.
    s.admin_send(Method::PATCH, &s.path(&s.srv, "/plugins/fcm"), Some(json!({"enabled": false})))
        .await
        .expect(200);
    s.invoke(ok.clone()).await.expect_error(403, "plugin_disabled");
    s.admin_send(Method::PATCH, &s.path(&s.srv, "/plugins/fcm"), Some(json!({"enabled": true})))
        .await
        .expect(200);
    // 400.
    s.invoke(json!({"registrationToken": "a", "data": {"n": 1}})).await.expect_error(400, "invalid_input");
    // 401 once the key is archived.
    s.admin_send(Method::PATCH, &s.path(&s.srv, &format!("/keys/{}", s.key_id)), Some(json!({})))
        .await
        .expect(200);
    let mut status = 0;
    for _ in 0..20 {
        status = s.invoke(ok.clone()).await.status;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401);

    let log = s.admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm/invocations"), None).await.expect(200);
    let outcomes: Vec<&str> =
        log.body["invocations"].as_array().unwrap().iter().map(|i| i["outcome"].as_str().unwrap()).collect();
    assert!(
        outcomes.contains(&"disabled")
            && outcomes.contains(&"not_installed")
            && outcomes.contains(&"success")
    );
    assert!(outcomes.contains(&"invalid_request"));
    // Unauthenticated calls are not logged (anyone could fill the log otherwise).
    assert!(log.body["invocations"].as_array().unwrap().iter().all(|i| i["status"] != 401));
    let other_log =
        s.admin_send(Method::GET, &s.path(&other, "/plugins/fcm/invocations"), None).await.expect(200);
    assert_eq!(other_log.body["invocations"][0]["outcome"], "failure");
    s.assert_no_secret_was_answered();
}

async fn an_unreachable_fcm_is_a_500(backend: Backend) {
    // FCM's base URL points at a port nobody listens on; the token endpoint (the fake) works.
    let Some(s) = Setup::start_with(backend, Some("http://127.0.0.1:9".into())).await else { return };
    s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);
    let r = s.invoke(json!({"registrationToken": "device-1"})).await.expect_error(500, "internal_error");
    assert_eq!(r.body["error"], "internal error");
    // In a multicast, an unreachable FCM is a per-token failure.
    let r = s.invoke(json!({"registrationTokens": ["a", "b"]})).await.expect(200);
    assert_eq!(r.body["result"]["failureCount"], 2);
    let log = s.admin_send(Method::GET, &s.path(&s.srv, "/plugins/fcm/invocations"), None).await.expect(200);
    assert_eq!(log.body["invocations"][1]["outcome"], "error");
    assert_eq!(log.body["invocations"][1]["status"], 500);
    assert!(log.body["invocations"][1]["error"].as_str().unwrap().contains("FCM unreachable"));
    s.assert_no_secret_was_answered();
}

async fn other_orgs_cannot_touch_plugins(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);
    let beta = s.server.create_org(&s.admin, "beta").await;
    let (beta_srv, _, beta_key) = new_server(&s.server, &s.admin, &beta, "Shop").await;
    let beta_token = s.server.mint_token(&s.admin, "beta", &["plugins:read", "plugins:write"]).await;
    // Beta's management token cannot see or change acme's installation: 404 everywhere.
    for (method, tail) in [
        (Method::GET, "/plugins"),
        (Method::GET, "/plugins/fcm"),
        (Method::PATCH, "/plugins/fcm"),
        (Method::DELETE, "/plugins/fcm"),
        (Method::GET, "/plugins/fcm/invocations"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": false}));
        s.server
            .send(method, &s.path(&s.srv, tail), Some(&beta_token), body)
            .await
            .expect_error(404, "not_found");
    }
    // Beta's API key cannot invoke acme's plugin, even naming beta's org in the path.
    let ok = json!({"registrationToken": "device-1"});
    s.invoke_with(&s.srv, "fcm", Some(&beta_key), ok.clone()).await.expect_error(401, "unauthorized");
    let crossed = format!("/api/orgs/{beta}/servers/{}/plugins/fcm/invoke", s.srv);
    let r =
        s.server.request(Method::POST, &crossed).header("X-API-Key", &s.key).json(&ok).send().await.unwrap();
    TestServer::read(r).await.expect_error(401, "unauthorized");
    // Beta sees its own server without acme's installation.
    let r = s
        .server
        .get(&format!("/api/orgs/{beta}/servers/{beta_srv}/plugins"), Some(&beta_token))
        .await
        .expect(200);
    assert_eq!(r.body["plugins"][0]["installed"], false);
    // Still installed and enabled for acme.
    s.invoke(ok).await.expect(200);
}

/// Three failures in a row notify the org once; a success ends the streak.
async fn a_plugin_failing_repeatedly_notifies_once(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);
    let failing = json!({"registrationToken": "unregistered-token", "title": "x"});
    let notifications = format!("/api/orgs/{}/notifications", s.org);
    let kinds = async || -> Vec<String> {
        let r = s.admin_send(Method::GET, &notifications, None).await.expect(200);
        r.body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect()
    };
    for _ in 0..2 {
        s.invoke(failing.clone()).await.expect_error(422, "unprocessable");
    }
    assert!(kinds().await.is_empty(), "two failures are not yet a pattern");
    s.invoke(failing.clone()).await.expect_error(422, "unprocessable");
    assert_eq!(kinds().await, vec!["plugin.failing"]);
    let r = s.admin_send(Method::GET, &notifications, None).await;
    let n = &r.body["notifications"][0];
    assert_eq!(n["data"]["pluginId"], "fcm");
    assert_eq!(n["data"]["serverId"], s.srv.as_str());
    assert!(n["message"].as_str().unwrap().contains("registration-token-not-registered"), "{n}");
    // The same streak does not notify again; after a success, a new streak does.
    s.invoke(failing.clone()).await.expect_error(422, "unprocessable");
    assert_eq!(kinds().await.len(), 1);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);
    for _ in 0..3 {
        s.invoke(failing.clone()).await.expect_error(422, "unprocessable");
    }
    assert_eq!(kinds().await, vec!["plugin.failing", "plugin.failing"]);
    s.assert_no_secret_was_answered();
}

/// The service account comes from an org secret: used at each invocation, its new value applies
/// at once, and it cannot be disabled while the plugin uses it unless forced.
async fn a_plugin_takes_its_credential_from_an_org_secret(backend: Backend) {
    let Some(s) = Setup::start(backend).await else { return };
    let account = s.fcm.service_account.to_string();
    let secrets = format!("/api/orgs/{}/secrets", s.org);
    let created = s
        .admin_send(
            Method::POST,
            &secrets,
            Some(json!({"name": "Firebase", "provider": "google", "value": account})),
        )
        .await
        .expect(201);
    let secret_id = created.body["secret"]["secretId"].as_str().unwrap().to_string();
    let r = s.install(&s.srv, json!({"serviceAccountJson": {"secretId": secret_id}})).await.expect(200);
    assert_eq!(r.body["plugin"]["secretRefs"], json!({"serviceAccountJson": secret_id}));
    assert_eq!(r.body["plugin"]["secretFields"], json!(["serviceAccountJson"]));
    assert_eq!(r.body["plugin"]["config"]["projectId"], s.fcm.service_account["project_id"]);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);

    // An update that leaves the field out keeps the reference.
    let r = s
        .admin_send(
            Method::PUT,
            &s.path(&s.srv, "/plugins/fcm"),
            Some(json!({"config": {}, "enabled": true})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["plugin"]["secretRefs"], json!({"serviceAccountJson": secret_id}));

    // In use: disabling is refused, naming the plugin; forced, invocations fail with 422.
    let one = format!("{secrets}/{secret_id}");
    let r = s.admin_send(Method::DELETE, &one, None).await.expect_error(409, "conflict");
    assert!(
        r.body["error"].as_str().unwrap().starts_with("Secret is in use by plugin fcm (server Shop)"),
        "{}",
        r.text
    );
    s.admin_send(Method::DELETE, &format!("{one}?force=true"), None).await.expect(200);
    let r = s.invoke(json!({"registrationToken": "device-1"})).await.expect_error(422, "unprocessable");
    assert!(r.body["error"].as_str().unwrap().contains("disabled"), "{}", r.text);
    // Re-enabled with the impostor's key: the cached access token is not reused, Google refuses.
    let impostor = s.fcm.impostor_account.to_string();
    s.admin_send(Method::PUT, &one, Some(json!({"status": "active", "value": impostor}))).await.expect(200);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect_error(422, "unprocessable");
    s.admin_send(Method::PUT, &one, Some(json!({"value": account}))).await.expect(200);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);

    // References are checked; an inline value replaces the reference and frees the secret.
    s.install(&s.srv, json!({"serviceAccountJson": {"secretId": "sec_nope"}}))
        .await
        .expect_error(422, "unprocessable");
    let r = s.install(&s.srv, json!({"serviceAccountJson": s.fcm.service_account.clone()})).await.expect(200);
    assert!(r.body["plugin"].get("secretRefs").is_none(), "{}", r.text);
    s.admin_send(Method::DELETE, &one, None).await.expect(200);
    s.invoke(json!({"registrationToken": "device-1"})).await.expect(200);
    s.assert_no_secret_was_answered();
}

backend_tests!(
    a_plugin_takes_its_credential_from_an_org_secret,
    a_plugin_failing_repeatedly_notifies_once,
    the_catalogue_describes_fcm,
    install_configure_disable_uninstall,
    fcm_sends_to_one_and_to_many,
    every_invoke_status_code,
    an_unreachable_fcm_is_a_500,
    other_orgs_cannot_touch_plugins,
);
