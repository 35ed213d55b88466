//! The console over plain HTTP, as a browser without a script would use it: the anchor cookie
//! and anti-forgery token a page hands out, and forms posted with them.

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use reqwest::redirect::Policy;

use super::TestServer;

/// A browser-like client that keeps no cookies of its own (the test says which it sends).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The value of cookie `name` set by an answer.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (k, value) = pair.split_once('=')?;
        (k == name).then(|| value.to_string())
    })
}

/// The anti-forgery token in a page's forms.
pub fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("the page has a form") + 20;
    html[at..at + 64].to_string()
}

/// Opens `path` as a fresh browser with `session` (a platform token): its cookies and token.
pub async fn visit(server: &TestServer, path: &str, session: Option<&str>) -> (String, String, u16) {
    let mut request = client().get(format!("{}{path}", server.base));
    if let Some(token) = session {
        request = request.header(COOKIE, format!("gh_session={token}"));
    }
    let response = request.send().await.unwrap();
    let anchor = set_cookie(response.headers(), "gh_csrf").expect("an anchor cookie is set");
    let status = response.status().as_u16();
    let html = response.text().await.unwrap();
    let cookies = match session {
        Some(token) => format!("gh_csrf={anchor}; gh_session={token}"),
        None => format!("gh_csrf={anchor}"),
    };
    let csrf = if html.contains("name=\"_csrf\"") { csrf_in(&html) } else { String::new() };
    (cookies, csrf, status)
}

/// Posts a form with `cookies` (and `extra` headers); the answer's status.
pub async fn post_form(
    server: &TestServer,
    path: &str,
    cookies: &str,
    form: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> u16 {
    let mut request = client().post(format!("{}{path}", server.base)).header(COOKIE, cookies).form(form);
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status().as_u16()
}
