//! Story: two organizations on one Gatehouse never see or touch each other's data. Every
//! org-scoped operation of the registry is tried across the boundary, so an endpoint added
//! later is covered without touching this file.

mod common;

use common::{Backend, TestServer};
use gatehouse::api::registry::Access;
use serde_json::json;

/// Sets up orgs `alpha` and `beta`, each with a member, a token and some audit history.
/// Returns (server, instance admin, alpha's all-scopes token, beta's org id).
async fn two_orgs(backend: Backend) -> (TestServer, String, String, String) {
    let (server, admin) = TestServer::enterprise(backend).await;
    server.create_org(&admin, "alpha").await;
    let beta_id = server.create_org(&admin, "beta").await;
    for (org, email) in [("alpha", "a@alpha.example"), ("beta", "b@beta.example")] {
        server
            .post(
                &format!("/api/orgs/{org}/members"),
                Some(&admin),
                json!({"email": email, "role": "member"}),
            )
            .await
            .expect(201);
    }
    let all: Vec<&str> = gatehouse::auth::Scope::ALL.iter().map(|s| s.as_str()).collect();
    let alpha = server.mint_token(&admin, "alpha", &all).await;
    server.mint_token(&admin, "beta", &["orgs:read"]).await;
    (server, admin, alpha, beta_id)
}

async fn every_org_operation_answers_404_across_orgs(backend: Backend) {
    let (server, _admin, alpha, beta_id) = two_orgs(backend).await;
    let registry = gatehouse::api::registry();
    let mut tried = 0;
    for op in registry.operations() {
        if !matches!(op.spec.access, Access::Org(_)) {
            continue;
        }
        for beta in [beta_id.as_str(), "beta"] {
            let mut path = op.spec.path.replace("{org}", beta);
            for p in &op.path_params {
                path = path.replace(&format!("{{{p}}}"), "x_unknown");
            }
            let body = (!op.spec.input_in_query()).then(|| json!({}));
            let r = server.send(op.spec.method.clone(), &path, Some(&alpha), body).await;
            assert_eq!(r.status, 404, "{} {} answered {}: {}", op.spec.method, path, r.status, r.text);
            assert_eq!(r.body["code"], "not_found");
            tried += 1;
        }
    }
    assert!(tried >= 20, "only {tried} org operations tried");
    // And nothing in beta changed.
    let org = server.get("/api/orgs/beta", Some(&_admin)).await.expect(200);
    assert_eq!(org.body["org"]["name"], "beta");
}

async fn lists_never_show_the_other_orgs_rows(backend: Backend) {
    let (server, admin, alpha, beta_id) = two_orgs(backend).await;
    let beta_members = server.get("/api/orgs/beta/members", Some(&admin)).await.expect(200);
    let beta_tokens = server.get("/api/orgs/beta/tokens", Some(&admin)).await.expect(200);
    let beta_audit = server.get("/api/orgs/beta/audit", Some(&admin)).await.expect(200);
    let mut beta_ids = vec![beta_id.clone(), "b@beta.example".to_string()];
    beta_ids.extend(
        beta_tokens.body["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tokenId"].as_str().unwrap().to_string()),
    );
    beta_ids.extend(
        beta_audit.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventId"].as_str().unwrap().to_string()),
    );
    assert!(beta_members.text.contains("b@beta.example"));

    for path in [
        "/api/orgs",
        "/api/orgs/alpha/members",
        "/api/orgs/alpha/tokens",
        "/api/orgs/alpha/audit",
        "/api/auth/me",
    ] {
        let r = server.get(path, Some(&alpha)).await.expect(200);
        for id in &beta_ids {
            assert!(!r.text.contains(id.as_str()), "{path} shows beta's {id}: {}", r.text);
        }
    }
}

async fn a_member_of_one_org_cannot_reach_another(backend: Backend) {
    let (server, admin, _alpha, _beta_id) = two_orgs(backend).await;
    // A token of beta reaches beta only.
    let beta = server.mint_token(&admin, "beta", &["orgs:read", "members:read"]).await;
    server.get("/api/orgs/beta/members", Some(&beta)).await.expect(200);
    server.get("/api/orgs/alpha/members", Some(&beta)).await.expect_error(404, "not_found");
    server.get("/api/orgs/alpha", Some(&beta)).await.expect_error(404, "not_found");
    // Unknown orgs look exactly like other people's orgs.
    let unknown = server.get("/api/orgs/does-not-exist", Some(&beta)).await.expect_error(404, "not_found");
    let other = server.get("/api/orgs/alpha", Some(&beta)).await;
    assert_eq!(unknown.text, other.text);
}

backend_tests!(
    every_org_operation_answers_404_across_orgs,
    lists_never_show_the_other_orgs_rows,
    a_member_of_one_org_cannot_reach_another,
);
