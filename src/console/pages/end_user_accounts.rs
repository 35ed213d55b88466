//! Where a server's end users connect their own account to a per-person upstream the server
//! serves: they are not members and have no console session, so this public page signs them in
//! with the server's end-user code (as the authorization endpoint does) and then starts the
//! upstream's authorization for the e-mail they proved. A tool call sends an end user here.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::authorize::{CODE_REQUESTS_PER_IP, CODE_WINDOW};
use crate::api::end_user_auth;
use crate::app::AppState;
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, field_error, general_error};
use crate::console::layout::{self, csrf_input};
use crate::console::session::Visitor;
use crate::domain::client_access::SignIn;
use crate::domain::upstream::CredentialMode;
use crate::gateway::upstream::{authorize, personal};
use crate::store::{ServerRecord, UpstreamRecord};

/// `/connect/{org}/{serverId}/{upstreamId}`.
#[derive(Debug, Deserialize)]
pub struct ConnectPath {
    org: String,
    #[serde(rename = "serverId")]
    server_id: String,
    #[serde(rename = "upstreamId")]
    upstream_id: String,
}

/// `?connected=…`: back from the upstream's authorization server.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    connected: Option<String>,
}

struct Target {
    server: ServerRecord,
    upstream: UpstreamRecord,
    path: String,
}

/// The server and upstream of the path, when the server's end users sign in and the upstream is
/// a per-person one it serves; `None` otherwise (one answer for all, revealing nothing).
async fn target(state: &AppState, p: &ConnectPath) -> Result<Option<Target>, Fault> {
    let store = state.store.as_ref();
    let api = |e: crate::store::StoreError| Fault::Api(e.into());
    let Some(org) = store.org_find(&p.org).await.map_err(api)? else { return Ok(None) };
    let (Some(server), Some(upstream)) = (
        store.server_get(&org.id, &p.server_id).await.map_err(api)?,
        store.upstream_get(&org.id, &p.upstream_id).await.map_err(api)?,
    ) else {
        return Ok(None);
    };
    let served = store.attachments_of_upstream(&org.id, &upstream.id).await.map_err(api)?;
    let end_users = SignIn::parse(store.client_access_get(&server.id).await.map_err(api)?.as_deref());
    if upstream.credential_mode != CredentialMode::PerUser.as_str()
        || end_users != SignIn::EndUsers
        || !served.iter().any(|a| a.server_id == server.id)
    {
        return Ok(None);
    }
    let path = personal::end_user_connect_path(&org.slug, &server.id, &upstream.id);
    Ok(Some(Target { server, upstream, path }))
}

fn not_here() -> Response {
    let body = html! { main.narrow #main { h1 { "Nothing to connect here" } p { "This link is not, or no longer, in use." } } };
    (StatusCode::NOT_FOUND, Html(layout::bare("Not found", body).into_string())).into_response()
}

/// `GET /connect/{org}/{serverId}/{upstreamId}`.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(p): Path<ConnectPath>,
    Query(back): Query<Back>,
) -> Result<Response, Fault> {
    let Some(t) = target(&state, &p).await? else { return Ok(not_here()) };
    let csrf = visitor.csrf(&state);
    if back.connected.is_some() {
        let body = html! { main.narrow #main {
            h1 { "Connected" }
            p role="status" { "Your " (t.upstream.name) " account is connected. Call the tool again from your app." }
        } };
        return Ok(page("Connected", body));
    }
    Ok(email_form(&t, &csrf, "", None))
}

/// `POST /connect/{org}/{serverId}/{upstreamId}`: a code to the address given.
pub async fn request_code(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(p): Path<ConnectPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let Some(t) = target(&state, &p).await? else { return Ok(not_here()) };
    let csrf = visitor.csrf(&state);
    let email = fields.get("email");
    let ip = visitor.client_ip.map(|i| i.to_string()).unwrap_or_default();
    if state.limiter.check(&format!("oauth-code:{ip}"), CODE_REQUESTS_PER_IP, CODE_WINDOW).is_err() {
        let err = FormError::invalid("email", "Too many codes asked for from here. Try again later.");
        return Ok(email_form(&t, &csrf, email, Some(&err)));
    }
    match end_user_auth::send_code(&state, (&t.server.org_id, &t.server.id), "", email).await {
        Ok(()) => Ok(code_form(&t, &csrf, email, None)),
        Err(err) => Ok(email_form(&t, &csrf, email, Some(&FormError::place(&err, &["email"])))),
    }
}

/// `POST /connect/{org}/{serverId}/{upstreamId}/verify`: the code, then connect or disconnect.
pub async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(p): Path<ConnectPath>,
    fields: Fields,
) -> Result<Response, Fault> {
    let Some(t) = target(&state, &p).await? else { return Ok(not_here()) };
    let csrf = visitor.csrf(&state);
    let email = fields.get("email");
    let org_server = (t.server.org_id.as_str(), t.server.id.as_str());
    let person = match end_user_auth::redeem_code(&state, org_server, email, fields.get("code")).await {
        Ok((email, _)) => email.to_ascii_lowercase(),
        Err(err) => return Ok(code_form(&t, &csrf, email, Some(&FormError::place(&err, &["code"])))),
    };
    let failed =
        |e: crate::upstream::UpstreamError| Fault::Api(crate::error::ApiError::BadGateway(e.to_string()));
    if fields.get("decision") == "disconnect" {
        personal::forget(&state, &t.upstream.org_id, Some(&t.upstream.id), &person).await.map_err(failed)?;
        let body = html! { main.narrow #main {
            h1 { "Disconnected" }
            p role="status" { "Your " (t.upstream.name) " account is no longer connected." }
        } };
        return Ok(page("Disconnected", body));
    }
    let (url, _) =
        authorize::start(&state, &t.upstream, Some(t.path.clone()), Some(person)).await.map_err(failed)?;
    let host = url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let body = html! { main.narrow #main {
        h1 { "Authorize at " (host) }
        p { "You will sign in at " strong { (host) } " with your own account and allow " (t.server.name)
            " to call " (t.upstream.name) " as you. It then sends you back here." }
        p.hint { "The link is valid for 10 minutes and works once." }
        div.actions { a.button.primary #continue-authorization href=(url) rel="noreferrer" { "Continue to " (host) } }
    } };
    Ok(page("Authorize", body))
}

fn email_form(t: &Target, csrf: &str, email: &str, error: Option<&FormError>) -> Response {
    let invalid = error.and_then(|e| e.at("email")).is_some();
    let body = html! { main.narrow #main {
        h1 { "Connect your " (t.upstream.name) " account" }
        p { (t.server.name) " calls " (t.upstream.name) " as each of its users. Sign in with your e-mail first." }
        (general_error(error))
        form.stack method="post" action=(t.path) {
            (csrf_input(csrf))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) required autocomplete="email" autofocus
                aria-invalid=[invalid.then_some("true")] aria-describedby=[invalid.then_some("email-error")];
            (field_error(error, "email", "email-error"))
            button.primary type="submit" { "Send code" }
        }
    } };
    let mut r = page("Sign in", body);
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn code_form(t: &Target, csrf: &str, email: &str, error: Option<&FormError>) -> Response {
    let invalid = error.and_then(|e| e.at("code")).is_some();
    let body = html! { main.narrow #main {
        h1 { "Connect your " (t.upstream.name) " account" }
        p { "We sent a six-digit code to " strong { (email) } "." }
        (general_error(error))
        form.stack method="post" action={ (t.path) "/verify" } {
            (csrf_input(csrf))
            input type="hidden" name="email" value=(email);
            label for="code" { "Code" }
            input #code name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required
                autocomplete="one-time-code" autofocus aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then_some("code-error")];
            (field_error(error, "code", "code-error"))
            div.actions {
                button.primary type="submit" name="decision" value="connect" { "Connect" }
                button type="submit" name="decision" value="disconnect" { "Disconnect" }
            }
        }
    } };
    let mut r = page("Enter the code", body);
    if error.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

fn page(title: &str, body: Markup) -> Response {
    Html(layout::bare(title, body).into_string()).into_response()
}
