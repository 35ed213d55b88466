//! Signing in by e-mail one-time code (the platform login operations), and signing out.
//! In dev mode there is nothing to sign in to: every page is the dev admin's.

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::json;

use crate::app::AppState;
use crate::config::Mode;
use crate::console::fault::Fault;
use crate::console::form::{Fields, FormError, csrf_input, field_error, general_error, status_of};
use crate::console::layout;
use crate::console::ops::Operations;
use crate::console::session::Visitor;
use axum::extract::{Query, State};
use serde::Deserialize;

/// Where to go once signed in: `?next=` (or the form's `next`), when it is a path of this
/// console — never another site.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `next` if it is a local path.
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 4096
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

/// `GET /sign-in`.
pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<Next>,
) -> Result<Response, Fault> {
    if visitor.mode.is_none() {
        return Err(Fault::Api(crate::error::ApiError::NotInitialized));
    }
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/");
    if visitor.principal.is_some() {
        return Ok(Redirect::to(next).into_response());
    }
    Ok(email_form(&visitor.csrf(&state), "", next, None))
}

/// `POST /sign-in`: sends the code, then asks for it.
pub async fn request_code(
    State(state): State<AppState>,
    Extension(ops): Extension<Operations>,
    visitor: Visitor,
    fields: Fields,
) -> Result<Response, Fault> {
    let email = fields.get("email");
    let next = local_path(fields.get("next")).unwrap_or("/");
    let csrf = visitor.csrf(&state);
    match ops.run(&state, &visitor, "request_login_code", &[], json!({ "email": email })).await {
        Ok(_) => Ok(code_form(&csrf, email, next, None)),
        Err(err) => Ok(email_form(&csrf, email, next, Some(&FormError::place(&err, &["email"])))),
    }
}

/// `POST /sign-in/verify`: exchanges the code for a session cookie.
pub async fn verify_code(
    State(state): State<AppState>,
    Extension(ops): Extension<Operations>,
    visitor: Visitor,
    fields: Fields,
) -> Result<Response, Fault> {
    let email = fields.get("email");
    let next = local_path(fields.get("next")).unwrap_or("/");
    let input = json!({ "email": email, "code": fields.get("code") });
    match ops.run(&state, &visitor, "verify_login_code", &[], input).await {
        Ok(result) => {
            let token = result["token"].as_str().unwrap_or_default().to_string();
            let max_age = crate::api::login::SESSION_TTL_MS / 1000;
            let cookie = visitor.session_cookie(token, max_age);
            let mut response = Redirect::to(next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(err) => {
            Ok(code_form(&visitor.csrf(&state), email, next, Some(&FormError::place(&err, &["code"]))))
        }
    }
}

/// `POST /sign-out`: ends the platform session and forgets the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(ops): Extension<Operations>,
    visitor: Visitor,
    _fields: Fields,
) -> Result<Response, Fault> {
    if visitor.mode == Some(Mode::Dev) {
        return Ok(Redirect::to("/").into_response());
    }
    if visitor.principal.is_some() {
        ops.run(&state, &visitor, "sign_out", &[], json!({})).await?;
    }
    let mut response = Redirect::to("/sign-in").into_response();
    if let Ok(value) = HeaderValue::from_str(&visitor.clear_session_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn email_form(csrf: &str, email: &str, next: &str, error: Option<&FormError>) -> Response {
    let invalid = error.and_then(|e| e.at("email")).is_some();
    let body = html! {
        main.narrow #main {
            h1 { "Sign in" }
            p.lead { "We'll send you a one-time code — no password required." }
            (general_error(error))
            form.stack method="post" action="/sign-in" {
                (csrf_input(csrf))
                (next_input(next))
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) required autocomplete="email"
                    autofocus aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then_some("email-error")];
                (field_error(error, "email", "email-error"))
                button.primary type="submit" { "Send code" }
            }
        }
    };
    render(error, "Sign in", body)
}

fn code_form(csrf: &str, email: &str, next: &str, error: Option<&FormError>) -> Response {
    let invalid = error.is_some();
    let body = html! {
        main.narrow #main {
            h1 { "Check your email" }
            p.lead { "We sent a six-digit code to " strong { (email) } ". It expires in 10 minutes." }
            form.stack method="post" action="/sign-in/verify" {
                (csrf_input(csrf))
                (next_input(next))
                input type="hidden" name="email" value=(email);
                label for="code" { "Code" }
                input #code name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required
                    autocomplete="one-time-code" autofocus aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then_some("code-error")];
                @if let Some(err) = error {
                    p.field-error #code-error role="alert" { (err.message) }
                }
                button.primary type="submit" { "Sign in" }
            }
            form method="post" action="/sign-in" {
                (csrf_input(csrf))
                (next_input(next))
                input type="hidden" name="email" value=(email);
                button.link type="submit" { "Send a new code" }
            }
        }
    };
    render(None, "Check your email", body)
}

fn next_input(next: &str) -> Markup {
    html! { @if next != "/" { input type="hidden" name="next" value=(next); } }
}

fn render(error: Option<&FormError>, title: &str, body: Markup) -> Response {
    let status = status_of(error);
    (status, Html(layout::bare(title, body).into_string())).into_response()
}
