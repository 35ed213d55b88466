//! A person signing in to connect an MCP client, as a browser without script would: the
//! authorization URL opened, the sign-in page filled with the code from the SMTP sink, the
//! consent page answered. What the client then receives is the redirect's `Location`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{COOKIE, LOCATION};
use sha2::{Digest, Sha256};

use super::TestServer;
use super::console::{client, csrf_in, set_cookie};
use super::smtp::SmtpSink;

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    rand::random()
}

/// A browser's cookies, kept by name.
#[derive(Default)]
pub struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, headers: &reqwest::header::HeaderMap) {
        for name in ["gh_csrf", "gh_session"] {
            if let Some(v) = set_cookie(headers, name) {
                self.0.retain(|(k, _)| k != name);
                self.0.push((name.to_string(), v));
            }
        }
    }

    /// A browser signed in with platform token `session`.
    pub async fn signed_in(server: &TestServer, session: &str) -> Jar {
        let page = client().get(format!("{}/sign-in", server.base)).send().await.unwrap();
        let mut jar = Jar::default();
        jar.take(page.headers());
        jar.0.push(("gh_session".into(), session.to_string()));
        jar
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

/// The person's answer at the consent page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Allow,
    AllowReadOnly,
    Deny,
}

/// Opens `authorize_url`, signs in as `email` (an org member, by platform code) when asked to,
/// and answers the consent page: the `Location` the browser is sent to.
pub async fn consent_as_member(
    server: &TestServer,
    smtp: &SmtpSink,
    authorize_url: &str,
    email: &str,
    answer: Answer,
) -> String {
    let http = client();
    let mut jar = Jar::default();
    let first = http.get(authorize_url).send().await.unwrap();
    jar.take(first.headers());
    assert_eq!(first.status().as_u16(), 303, "an unsigned visitor is sent to sign in");
    let sign_in = first.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(sign_in.starts_with("/sign-in?next="), "{sign_in}");
    let page =
        http.get(format!("{}{sign_in}", server.base)).header(COOKIE, jar.header()).send().await.unwrap();
    jar.take(page.headers());
    let html = page.text().await.unwrap();
    let next = html_value(&html, "next").expect("the sign-in form carries where to go next");
    let sent = http
        .post(format!("{}/sign-in", server.base))
        .header(COOKIE, jar.header())
        .form(&[("_csrf", csrf_in(&html).as_str()), ("email", email), ("next", &next)])
        .send()
        .await
        .unwrap();
    let html = sent.text().await.unwrap();
    let code = SmtpSink::code_in(&smtp.next_mail());
    let verified = http
        .post(format!("{}/sign-in/verify", server.base))
        .header(COOKIE, jar.header())
        .form(&[("_csrf", csrf_in(&html).as_str()), ("email", email), ("code", &code), ("next", &next)])
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status().as_u16(), 303);
    jar.take(verified.headers());
    let back = verified.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(back.starts_with("/oauth/authorize?"), "signed in, the person returns to the request: {back}");
    answer_consent(server, &jar, &format!("{}{back}", server.base), answer).await
}

/// Answers the consent page at `url` for the browser whose cookies are `jar`.
pub async fn answer_consent(server: &TestServer, jar: &Jar, url: &str, answer: Answer) -> String {
    let http = client();
    let page = http.get(url).header(COOKIE, jar.header()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200, "the consent page is shown");
    let html = page.text().await.unwrap();
    let mut form = hidden_fields(&html);
    form.push(("_csrf".into(), csrf_in(&html)));
    form.push(("decision".into(), if answer == Answer::Deny { "deny" } else { "allow" }.into()));
    if answer == Answer::Allow {
        form.push(("allow_calls".into(), "on".into()));
    }
    let done = http
        .post(format!("{}/oauth/authorize", server.base))
        .header(COOKIE, jar.header())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303, "the answer redirects to the client");
    done.headers()[LOCATION].to_str().unwrap().to_string()
}

/// The value of the hidden input `name` in a page.
pub fn html_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
    let end = html[at..].find('"')?;
    Some(unescape(&html[at..at + end]))
}

/// Every hidden input of the page but the anti-forgery token.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + 27..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_string();
        let value_at = rest.find("value=\"").unwrap() + 7;
        let value_end = rest[value_at..].find('"').unwrap();
        let value = unescape(&rest[value_at..value_at + value_end]);
        if name != "_csrf" {
            out.push((name, value));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
