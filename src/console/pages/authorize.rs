//! The authorization endpoint of Gatehouse's OAuth server (`GET`/`POST /oauth/authorize`): where
//! an MCP client sends a person to sign in and consent. Unlike the rest of the console this page
//! does not run registry operations: it is the authorization server's own endpoint, and runs
//! its rules (`oauth/grants.rs`); consents are audited here.
//!
//! Who signs in is the server's setting: org members with their platform session (signing in
//! first if they have none), or the server's end users with a code from its end-user auth
//! service, asked for on this page. The person then sees which client asks for which server and
//! what it may do, and allows (optionally without tool calls) or denies.

use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::api::end_user_auth;
use crate::app::AppState;
use crate::auth::Principal;
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, field_error, general_error};
use crate::console::layout::{self, csrf_input};
use crate::console::session::{Visitor, csp_with_form_target};
use crate::domain::client_access::SignIn;
use crate::domain::{ids, time};
use crate::oauth::OAuthError;
use crate::oauth::grants::{self, Authorization, AuthorizeParams, Refusal, Subject};
use crate::store::AuditRecord;

/// Codes one address may ask for here per window, on top of the per-e-mail limit.
pub const CODE_REQUESTS_PER_IP: usize = 20;
pub const CODE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// `GET /oauth/authorize`.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<AuthorizeParams>,
) -> Result<Response, Fault> {
    let a = match checked(&state, &visitor, &params).await? {
        Ok(a) => a,
        Err(refused) => return Ok(refused),
    };
    let csrf = visitor.csrf(&state);
    match a.sign_in {
        SignIn::EndUsers => Ok(end_user_email(&a, &params, &csrf, "", None)),
        _ => match member(&state, &visitor, &a).await? {
            Membership::Subject(subject) => Ok(consent(&a, &params, &csrf, &subject.email, None, None)),
            Membership::SignInFirst => {
                let next = format!("/sign-in?next={}", urlencoding(&uri.to_string()));
                Ok(Redirect::to(&next).into_response())
            }
            Membership::NotMember(email) => Ok(not_member(&a, &email)),
        },
    }
}

/// `POST /oauth/authorize/code`: an end user asks for a sign-in code.
pub async fn request_code(
    State(state): State<AppState>,
    visitor: Visitor,
    fields: Fields,
) -> Result<Response, Fault> {
    let params = params_of(&fields);
    let a = match checked(&state, &visitor, &params).await? {
        Ok(a) => a,
        Err(refused) => return Ok(refused),
    };
    let csrf = visitor.csrf(&state);
    let email = fields.get("email");
    if a.sign_in != SignIn::EndUsers {
        return Ok(Redirect::to("/").into_response());
    }
    let ip = visitor.client_ip.map(|i| i.to_string()).unwrap_or_default();
    if state.limiter.check(&format!("oauth-code:{ip}"), CODE_REQUESTS_PER_IP, CODE_WINDOW).is_err() {
        let err = FormError::invalid("email", "Too many codes asked for from here. Try again later.");
        return Ok(end_user_email(&a, &params, &csrf, email, Some(&err)));
    }
    match end_user_auth::send_code(&state, (&a.org.id, &a.server.id), "", email).await {
        Ok(()) => Ok(consent(&a, &params, &csrf, email, Some(email), None)),
        Err(err) => Ok(end_user_email(&a, &params, &csrf, email, Some(&FormError::place(&err, &["email"])))),
    }
}

/// `POST /oauth/authorize`: the person's answer.
pub async fn decide(
    State(state): State<AppState>,
    visitor: Visitor,
    fields: Fields,
) -> Result<Response, Fault> {
    let params = params_of(&fields);
    let a = match checked(&state, &visitor, &params).await? {
        Ok(a) => a,
        Err(refused) => return Ok(refused),
    };
    if fields.get("decision") != "allow" {
        let denied = crate::oauth::error::access_denied("the person denied the request");
        return Ok(back(&state, &a.redirect_uri, a.state.as_deref(), Err(denied)));
    }
    let csrf = visitor.csrf(&state);
    let subject = match a.sign_in {
        SignIn::EndUsers => {
            let email = fields.get("email");
            let redeemed =
                end_user_auth::redeem_code(&state, (&a.org.id, &a.server.id), email, fields.get("code"))
                    .await;
            match redeemed {
                Ok((email, _)) => Subject { kind: "end_user", user_id: None, email },
                Err(err) => {
                    let err = FormError::place(&err, &["code"]);
                    return Ok(consent(&a, &params, &csrf, email, Some(email), Some(&err)));
                }
            }
        }
        _ => match member(&state, &visitor, &a).await? {
            Membership::Subject(subject) => subject,
            Membership::SignInFirst => return Err(Fault::SignIn),
            Membership::NotMember(email) => return Ok(not_member(&a, &email)),
        },
    };
    let now = time::now_ms();
    let scopes = a.scopes.narrowed(fields.get("allow_calls") == "on");
    let code = grants::issue_code(state.store.as_ref(), &a, &subject, scopes, now).await.map_err(internal)?;
    audit(&state, &a, &subject, "authorize_client", now).await;
    Ok(back(&state, &a.redirect_uri, a.state.as_deref(), Ok(&code)))
}

/// The request checked: the authorization, or the answer that ends it here.
async fn checked(
    state: &AppState,
    visitor: &Visitor,
    params: &AuthorizeParams,
) -> Result<Result<Authorization, Response>, Fault> {
    if visitor.mode.is_none() {
        return Err(Fault::Api(crate::error::ApiError::NotInitialized));
    }
    let public_url = &state.config.public_url;
    match grants::check(state.store.as_ref(), &state.plane.outbound, public_url, params, time::now_ms()).await
    {
        Ok(a) => Ok(Ok(a)),
        Err(Refusal::Show(OAuthError::Store(e))) => Err(Fault::Api(e.into())),
        Err(Refusal::Show(e)) => Ok(Err(refused_page(&e))),
        Err(Refusal::Redirect { error, redirect_uri, state: s }) => {
            Ok(Err(back(state, &redirect_uri, s.as_deref(), Err(error))))
        }
    }
}

enum Membership {
    Subject(Subject),
    SignInFirst,
    NotMember(String),
}

/// Who consents for an org-members server: the signed-in person, if they are a member.
async fn member(state: &AppState, visitor: &Visitor, a: &Authorization) -> Result<Membership, Fault> {
    Ok(match &visitor.principal {
        None => Membership::SignInFirst,
        Some(Principal::Dev) => Membership::Subject(Subject {
            kind: "member",
            user_id: None,
            email: crate::auth::principal::DEV_EMAIL.into(),
        }),
        Some(Principal::User(u)) => {
            if state.store.member_get(&a.org.id, &u.id).await.map_err(|e| Fault::Api(e.into()))?.is_some() {
                Membership::Subject(Subject {
                    kind: "member",
                    user_id: Some(u.id.clone()),
                    email: u.email.clone(),
                })
            } else {
                Membership::NotMember(u.email.clone())
            }
        }
        Some(Principal::Token(_)) => Membership::SignInFirst,
    })
}

fn internal(e: OAuthError) -> Fault {
    match e {
        OAuthError::Store(e) => Fault::Api(e.into()),
        other => Fault::Api(crate::error::ApiError::bad_request(other.description())),
    }
}

async fn audit(state: &AppState, a: &Authorization, subject: &Subject, action: &str, now: i64) {
    let event = AuditRecord {
        id: ids::new_id("aud"),
        org_id: Some(a.org.id.clone()),
        actor_type: if subject.kind == "member" { "user" } else { "end_user" }.into(),
        actor_id: Some(subject.user_id.clone().unwrap_or_else(|| subject.email.clone())),
        action: action.into(),
        target: format!("server:{} client:{}", a.server.id, a.client.id),
        outcome: "success".into(),
        created_at: now,
    };
    if let Err(err) = state.store.audit_insert(&event).await {
        tracing::warn!(error = %err, "consent not audited");
    }
}

/// The answer to the client (RFC 6749 § 4.1.2; RFC 9207 `iss`), as a redirect.
fn back(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    outcome: Result<&str, OAuthError>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return refused_page(&crate::oauth::error::invalid_request("redirect_uri is not a URL"));
    };
    {
        let mut q = url.query_pairs_mut();
        match &outcome {
            Ok(code) => {
                q.append_pair("code", code);
            }
            Err(e) => {
                q.append_pair("error", e.code());
                q.append_pair("error_description", &e.description());
            }
        }
        if let Some(s) = client_state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", state.config.public_url.trim_end_matches('/'));
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The request's parameters as the page's forms carry them.
fn params_of(fields: &Fields) -> AuthorizeParams {
    AuthorizeParams {
        response_type: fields.some("response_type"),
        client_id: fields.some("client_id"),
        redirect_uri: fields.some("redirect_uri"),
        state: fields.some("state"),
        code_challenge: fields.some("code_challenge"),
        code_challenge_method: fields.some("code_challenge_method"),
        scope: fields.some("scope"),
        resource: fields.some("resource"),
    }
}

fn hidden_params(p: &AuthorizeParams) -> Markup {
    let pairs = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("scope", &p.scope),
        ("resource", &p.resource),
    ];
    html! {
        @for (name, value) in pairs {
            @if let Some(v) = value { input type="hidden" name=(name) value=(v); }
        }
    }
}

/// Who is asking: the client's name, and where it lives (its metadata document's host, or its
/// registration).
fn client_line(a: &Authorization) -> Markup {
    let host = url::Url::parse(&a.redirect_uri).ok().and_then(|u| u.host_str().map(str::to_string));
    html! {
        p.lead {
            strong { (a.client.name) } " wants to connect to " strong { (a.server.name) }
            " in " (a.org.name) "."
        }
        dl.facts {
            dt { "Client" }
            dd {
                @match a.client.kind.as_str() {
                    "metadata" => { "Identified by " code { (a.client.id) } }
                    "registered" => { "Registered by an admin of " (a.org.name) }
                    _ => { "Registered itself (its name is not verified)" }
                }
            }
            dt { "Returns to" }
            dd { code { (host.unwrap_or_else(|| a.redirect_uri.clone())) } }
        }
    }
}

fn consent(
    a: &Authorization,
    p: &AuthorizeParams,
    csrf: &str,
    email: &str,
    end_user: Option<&str>,
    error: Option<&FormError>,
) -> Response {
    let body = html! {
        main.narrow #main {
            h1 { "Connect " (a.client.name) "?" }
            (client_line(a))
            (general_error(error))
            form.stack method="post" action="/oauth/authorize" {
                (csrf_input(csrf))
                (hidden_params(p))
                @if let Some(address) = end_user {
                    p { "We sent a six-digit code to " strong { (address) } "." }
                    input type="hidden" name="email" value=(address);
                    label for="code" { "Code" }
                    input #code name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required
                        autocomplete="one-time-code" autofocus aria-invalid=[error.and_then(|e| e.at("code")).map(|_| "true")]
                        aria-describedby=[error.and_then(|e| e.at("code")).map(|_| "code-error")];
                    (field_error(error, "code", "code-error"))
                } @else {
                    p { "Signed in as " strong { (email) } "." }
                }
                fieldset {
                    legend { "It will be able to" }
                    label.check { input type="checkbox" checked disabled; " See the tools, prompts and resources of " (a.server.name) }
                    @if a.scopes.call {
                        label.check { input type="checkbox" name="allow_calls" checked; " Call its tools as you" }
                    }
                }
                div.actions {
                    button.primary type="submit" name="decision" value="allow" { "Allow" }
                    button type="submit" name="decision" value="deny" formnovalidate { "Deny" }
                }
            }
        }
    };
    page(a, StatusCode::OK, "Connect a client", body)
}

fn end_user_email(
    a: &Authorization,
    p: &AuthorizeParams,
    csrf: &str,
    email: &str,
    error: Option<&FormError>,
) -> Response {
    let invalid = error.and_then(|e| e.at("email")).is_some();
    let body = html! {
        main.narrow #main {
            h1 { "Sign in to " (a.server.name) }
            (client_line(a))
            (general_error(error))
            form.stack method="post" action="/oauth/authorize/code" {
                (csrf_input(csrf))
                (hidden_params(p))
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) required autocomplete="email" autofocus
                    aria-invalid=[invalid.then_some("true")] aria-describedby=[invalid.then_some("email-error")];
                (field_error(error, "email", "email-error"))
                button.primary type="submit" { "Send code" }
            }
        }
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    page(a, status, "Sign in", body)
}

fn not_member(a: &Authorization, email: &str) -> Response {
    let body = html! {
        main.narrow #main {
            h1 { "You can't connect to " (a.server.name) }
            p { "You are signed in as " strong { (email) } ", who is not a member of " (a.org.name) "." }
            form method="post" action="/sign-out" { button type="submit" { "Sign out" } }
        }
    };
    page(a, StatusCode::FORBIDDEN, "Not a member", body)
}

fn refused_page(e: &OAuthError) -> Response {
    let body = html! {
        main.narrow #main {
            h1 { "This sign-in request can't be used" }
            p.error role="alert" { (e.description()) }
            p { "Go back to the app that sent you here and connect again." }
            p.muted { "OAuth error: " code { (e.code()) } }
        }
    };
    (StatusCode::BAD_REQUEST, Html(layout::bare("Sign-in request refused", body).into_string()))
        .into_response()
}

/// A page whose forms may lead on to the client's redirect URI.
fn page(a: &Authorization, status: StatusCode, title: &str, body: Markup) -> Response {
    let mut r = (status, Html(layout::bare(title, body).into_string())).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp_with_form_target(&form_target(&a.redirect_uri))) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

/// The CSP source expression of a redirect URI: its origin, or its scheme for an app's own.
fn form_target(redirect_uri: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => "'none'".into(),
    }
}

fn urlencoding(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
