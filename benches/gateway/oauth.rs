//! Section 7: a client that signed in (OAuth) beside one with an API key, on the same server
//! and HTTP tool in the same run: what checking an access token bound to the server costs over
//! checking a key (both from memory in the steady state). Then the token endpoint: a refresh,
//! which rotates the refresh token in one transaction.

use std::sync::Mutex;

use serde_json::json;

use crate::client::{add_weather_tool, create_server, post_json};
use crate::integrations::weather_call;
use crate::load::{concurrency_levels, header, load, load_middle, row};

/// Signs in as dev mode's person: register, consent, redeem. The client's id and its tokens.
pub(crate) async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    resource: &str,
) -> (String, String, String) {
    let redirect = "http://127.0.0.1:9/callback";
    let registered = post_json(
        client,
        &format!("{base}/oauth/register"),
        &[],
        &json!({"client_name": "Bench client", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"}),
    )
    .await;
    let client_id = registered["client_id"].as_str().expect("client_id").to_string();
    // RFC 7636 Appendix B's pair.
    let (verifier, challenge) =
        ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let mut url = reqwest::Url::parse(&format!("{base}/oauth/authorize")).unwrap();
    let params = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "mcp:read mcp:call"),
        ("resource", resource),
    ];
    url.query_pairs_mut().extend_pairs(params);
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = no_redirects.get(url).send().await.expect("consent page");
    let anchor = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("gh_csrf=").map(|v| v.split(';').next().unwrap_or_default().to_string()))
        .expect("anchor cookie");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"_csrf\" value=\"").expect("a form") + 20;
    let csrf = &html[at..at + 64];
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([("_csrf", csrf), ("decision", "allow"), ("allow_calls", "on")]);
    let answer = no_redirects
        .post(format!("{base}/oauth/authorize"))
        .header("cookie", format!("gh_csrf={anchor}"))
        .form(&form)
        .send()
        .await
        .expect("consent");
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let code = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let tokens: serde_json::Value = client
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", &client_id),
            ("resource", resource),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .unwrap();
    let token = |k: &str| tokens[k].as_str().unwrap_or_else(|| panic!("{tokens}")).to_string();
    (client_id, token("access_token"), token("refresh_token"))
}

pub(crate) async fn signed_in_calls(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    backend: std::net::SocketAddr,
) {
    let (server_id, key) = create_server(client, base, "OAuth bench", "oauth-bench").await;
    add_weather_tool(client, base, &server_id, backend).await;
    let resource = format!("{base}/mcp/default/oauth-bench");
    let (client_id, access, refresh) = sign_in(client, base, &resource).await;
    let request =
        |credential: (&'static str, String)| weather_call(client, &resource, (credential.0, &credential.1));
    let by_key = request(("x-api-key", key));
    let by_token = request(("authorization", format!("Bearer {access}")));
    for r in [&by_key, &by_token] {
        let answer = r.answer().await;
        assert!(answer.contains("Lisbon") && !answer.contains("isError\":true"), "{answer}");
    }
    header("HTTP tool: tools/call with an API key and with an OAuth access token, stateless 2026-07-28");
    for concurrency in concurrency_levels() {
        for (path, prepared) in [("API key (baseline)", &by_key), ("OAuth access token", &by_token)] {
            let prepared = prepared.clone();
            let stats = load_middle(pid, concurrency, move |_| {
                let prepared = prepared.clone();
                async move { prepared.fire().await }
            })
            .await;
            row(path, concurrency, &stats);
        }
    }

    // Refreshes, one after another: each rotates the refresh token (one transaction).
    let current = std::sync::Arc::new(Mutex::new(refresh));
    let (client, url) = (client.clone(), format!("{base}/oauth/token"));
    let stats = load(1, move |_| {
        let (client, url, current, client_id) =
            (client.clone(), url.clone(), current.clone(), client_id.clone());
        async move {
            let refresh = current.lock().unwrap().clone();
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", &client_id),
            ];
            let tokens: serde_json::Value =
                client.post(&url).form(&form).send().await.unwrap().json().await.unwrap();
            *current.lock().unwrap() = tokens["refresh_token"].as_str().expect("rotated").to_string();
        }
    })
    .await;
    header("Token endpoint: refresh_token grant (rotation)");
    row("refresh", 1, &stats);
}
