//! Who is looking at the console, and the rules every console request passes: the session
//! cookie, the anti-forgery token, and the response headers that keep pages in their own origin.
//!
//! A signed-in person's cookie holds their platform token (the one `verify_login_code` issues),
//! so a console session is a platform session: same expiry, revoked by signing out. Every form
//! carries a token derived from a per-browser random cookie and the session; a POST without the
//! matching token, or sent from another origin, is refused before anything runs.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};

use super::fault::Fault;
use crate::app::AppState;
use crate::auth::{self, Principal};
use crate::config::Mode;
use crate::crypto;

/// Holds the platform token of a signed-in person.
pub const SESSION_COOKIE: &str = "gh_session";
/// A random value per browser that anti-forgery tokens are derived from.
pub const ANCHOR_COOKIE: &str = "gh_csrf";

/// The policy every console page is served with: nothing from another origin, no inline code.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// [`CSP`] for a page whose form may also lead to `target` (a source expression: the consent
/// page's answer redirects to the OAuth client, and browsers hold redirects after a form post to
/// `form-action`). A page setting its own policy keeps it.
pub fn csp_with_form_target(target: &str) -> String {
    CSP.replace("form-action 'self'", &format!("form-action 'self' {target}"))
}

/// The anchor cookie's value, put in the request by [`guard`] (minted there when absent).
#[derive(Clone)]
struct Anchor(String);

/// The person (or dev admin) behind a console request.
#[derive(Clone)]
pub struct Visitor {
    /// The instance mode, `None` before `/init`.
    pub mode: Option<Mode>,
    /// The caller, `None` when not signed in.
    pub principal: Option<Principal>,
    /// The platform token from the session cookie.
    session: Option<String>,
    anchor: String,
    /// Whether cookies must be `Secure` (TLS at Gatehouse's public URL or at a proxy).
    pub secure: bool,
    /// The caller's address.
    pub client_ip: Option<IpAddr>,
}

impl Visitor {
    /// The anti-forgery token every form of this visitor carries.
    pub fn csrf(&self, state: &AppState) -> String {
        let bound = format!("{}|{}", self.anchor, self.session.as_deref().unwrap_or(""));
        state.master_key.keyed_hash("console-csrf", bound.as_bytes())
    }

    /// Whether `token` is this visitor's anti-forgery token.
    pub fn csrf_matches(&self, state: &AppState, token: &str) -> bool {
        crypto::constant_time_eq(&self.csrf(state), token)
    }

    /// The signed-in caller, or a redirect to the sign-in page.
    pub fn require(&self) -> Result<&Principal, Fault> {
        self.principal.as_ref().ok_or(Fault::SignIn)
    }

    /// Headers the registry's operations see: the session as a bearer credential.
    pub fn op_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) =
            self.session.as_ref().and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok())
        {
            headers.insert(header::AUTHORIZATION, value);
        }
        headers
    }

    /// A `Set-Cookie` value that starts a session with `token`.
    pub fn session_cookie(&self, token: String, max_age_secs: i64) -> String {
        let mut cookie = Cookie::new(SESSION_COOKIE, token);
        self.harden(&mut cookie);
        cookie.set_max_age(cookie::time::Duration::seconds(max_age_secs));
        cookie.to_string()
    }

    /// A `Set-Cookie` value that ends the session.
    pub fn clear_session_cookie(&self) -> String {
        let mut cookie = Cookie::new(SESSION_COOKIE, "");
        self.harden(&mut cookie);
        cookie.make_removal();
        cookie.to_string()
    }

    fn harden(&self, cookie: &mut Cookie<'_>) {
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path("/");
        cookie.set_secure(self.secure);
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn served_securely(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.public_url.starts_with("https://")
        || headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Fault> {
        // Resolved once per request, whichever extractor asks first.
        if let Some(visitor) = parts.extensions.get::<Visitor>() {
            return Ok(visitor.clone());
        }
        let mode = state.mode().await?;
        let anchor = parts.extensions.get::<Anchor>().map(|a| a.0.clone()).unwrap_or_default();
        let client_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let secure = served_securely(state, &parts.headers);
        let session = cookie_value(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.starts_with(auth::principal::PLATFORM_TOKEN_PREFIX));
        let principal = match mode {
            Some(Mode::Dev) => Some(Principal::Dev),
            Some(_) => match &session {
                Some(token) => {
                    let mut headers = HeaderMap::new();
                    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
                        headers.insert(header::AUTHORIZATION, value);
                    }
                    // An expired or revoked session is simply no session: sign in again.
                    auth::authenticate(state.store.as_ref(), mode, &headers).await.ok().flatten()
                }
                None => None,
            },
            None => None,
        };
        let session = if matches!(principal, Some(Principal::User(_))) { session } else { None };
        let visitor = Visitor { mode, principal, session, anchor, secure, client_ip };
        parts.extensions.insert(visitor.clone());
        Ok(visitor)
    }
}

/// Runs around every console request: refuses state changes from other origins, makes sure
/// the browser has an anchor cookie, and sets the headers that keep pages to themselves.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !matches!(*request.method(), Method::GET | Method::HEAD) && !same_origin(headers) {
        return Fault::Forged.into_response();
    }
    let existing = cookie_value(headers, ANCHOR_COOKIE).filter(|v| v.len() == 43);
    let minted = existing.is_none().then(|| crypto::new_token(""));
    let anchor = existing.clone().or_else(|| minted.clone()).unwrap_or_default();
    let secure = served_securely(&state, headers);
    request.extensions_mut().insert(Anchor(anchor));
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    if let Some(value) = minted {
        let mut cookie = Cookie::new(ANCHOR_COOKIE, value);
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path("/");
        cookie.set_secure(secure);
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            out.append(header::SET_COOKIE, v);
        }
    }
    if !out.contains_key(header::CONTENT_SECURITY_POLICY) {
        out.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !out.contains_key(header::CACHE_CONTROL) {
        // Pages may show a secret once (a new key); no cache keeps them.
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether a state-changing request comes from a page of this origin. Browsers send
/// `Sec-Fetch-Site` and `Origin` on form posts; when present they must agree.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return false;
        }
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or_default();
            let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
            authority.as_bytes() == host.as_bytes()
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_origin_may_post() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "a:1"),
            ("origin", "http://a:1"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[("host", "a:1"), ("origin", "http://evil:1")])));
        assert!(!same_origin(&headers(&[("host", "a:1"), ("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("host", "a:1"), ("origin", "null")])));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let h = headers(&[("cookie", "a=1; gh_session=gh_pt_x; gh_csrf=y")]);
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("gh_pt_x"));
        assert_eq!(cookie_value(&h, "none"), None);
    }
}
