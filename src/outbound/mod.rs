//! Every outbound HTTP request Gatehouse makes goes through here, so the rule of where it may
//! connect is enforced once: loopback, private, link-local, CGNAT and unspecified addresses
//! are refused unless `allow_private_networks` is set, and cloud metadata addresses always.
//! Names are resolved by [`policy::GuardedResolver`], which drops forbidden addresses before a
//! socket is opened (no DNS-rebinding window); IP literals are checked before sending and on
//! every redirect, which this module follows itself.
//!
//! Requests go over hyper's HTTP/1.1 connections (rustls for https), pooled per origin and
//! driven by the task that sends on them ([`pool`]): a URL is parsed once, into an `http::Uri`,
//! and a call costs what hyper's connection costs.

mod cache;
mod policy;
mod pool;
mod request;
mod target;
mod tls;

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Body as _;
use hyper_util::client::legacy::connect::HttpConnector;

pub use http::Method;
pub use policy::NetworkPolicy;
pub use request::{Request, Response};
pub use target::Target;

pub use cache::cache_lifetime;
use policy::GuardedResolver;
use rustls_pki_types::CertificateDer;
pub use tls::read_ca_file;

/// Why an outbound request was not made or not read.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination is not allowed by the network policy.
    #[error("outbound request refused: {0}")]
    Forbidden(String),
    /// The URL is not an absolute http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// No answer in time.
    #[error("the request timed out")]
    Timeout,
    /// The answer exceeded the size limit.
    #[error("the response exceeded {0} bytes")]
    TooLarge(usize),
    /// Connecting or reading failed.
    #[error("request failed: {0}")]
    Failed(String),
}

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

const USER_AGENT: &str = concat!("gatehouse/", env!("CARGO_PKG_VERSION"));

/// Headers a request keeps when a redirect takes it to another origin; any other (credentials,
/// session ids, API-key headers) stays with the origin it was meant for.
const KEPT_ACROSS_ORIGINS: [HeaderName; 3] = [header::ACCEPT, header::CONTENT_TYPE, header::USER_AGENT];

/// The outbound HTTP client.
#[derive(Clone)]
pub struct Outbound {
    pool: pool::Pool,
    policy: NetworkPolicy,
}

impl Outbound {
    /// A client enforcing `policy`, pooling connections per origin, trusting the public roots.
    pub fn new(policy: NetworkPolicy) -> Self {
        Self::trusting(policy, Vec::new())
    }

    /// [`Outbound::new`] trusting `extra` certificate authorities too (an organization's own).
    pub fn trusting(policy: NetworkPolicy, extra: Vec<CertificateDer<'static>>) -> Self {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { policy });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let tls = tls::client_config(extra);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self { pool: pool::Pool::new(connector), policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> NetworkPolicy {
        self.policy
    }

    /// Starts a request to `url`, an absolute http(s) URL; where it may go is checked when it is
    /// sent.
    pub fn request(&self, method: Method, url: &str) -> Result<Request, OutboundError> {
        let (uri, userinfo) = parse_url(url)?;
        absolute(&uri)?;
        let request = Request::new(method, uri);
        // Credentials in the URL become Basic authentication, as browsers and curl do.
        Ok(match userinfo {
            Some((user, password)) => request.basic_auth(&user, password.as_deref()),
            None => request,
        })
    }

    /// Whether `url` is one a request may be sent to: an absolute http(s) URL whose host, if an
    /// IP literal, the policy allows (a name is checked as it resolves, when sent). For checking
    /// a URL when it is configured.
    pub fn check_url(&self, url: &str) -> Result<(), OutboundError> {
        self.check(&parse_url(url)?.0)
    }

    /// Where `uri` may go under the policy (the host, if it is an IP literal; names are checked
    /// as they resolve, by [`GuardedResolver`]).
    fn check(&self, uri: &Uri) -> Result<(), OutboundError> {
        absolute(uri)?;
        match uri.host() {
            Some(host) => self.policy.check_host(host),
            None => Err(OutboundError::InvalidUrl("only absolute http(s) URLs are allowed".into())),
        }
    }

    /// Sends a request built by [`Outbound::request`] the one way every request goes
    /// ([`Outbound::send_to`]), following up to [`MAX_REDIRECTS`] redirects, each checked like
    /// the first URL.
    pub async fn send(&self, mut request: Request) -> Result<Response, OutboundError> {
        if let Some(why) = request.invalid.take() {
            return Err(OutboundError::Failed(why));
        }
        let (body, timeout) = (std::mem::take(&mut request.body), request.timeout);
        let (target, path_and_query) = request.into_target()?;
        self.send_to(&target, path_and_query, HeaderMap::new(), body, timeout).await
    }

    /// Reads a response body, refusing more than `limit` bytes.
    pub async fn read_limited(response: Response, limit: usize) -> Result<Vec<u8>, OutboundError> {
        response.read_limited(limit).await
    }

    async fn follow(
        &self,
        mut request: Request,
        mut redirects: usize,
    ) -> Result<(http::Response<hyper::body::Incoming>, pool::Lease), OutboundError> {
        if !request.headers.contains_key(header::USER_AGENT) {
            request.headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        }
        loop {
            let mut outgoing = http::Request::new(Full::new(request.body.clone()));
            *outgoing.method_mut() = request.method.clone();
            *outgoing.uri_mut() = request.uri.clone();
            *outgoing.headers_mut() = request.headers.clone();
            let (response, lease) = self.pool.send(outgoing).await?;
            if let Some(answer) = self.redirect(&mut request, response, lease, &mut redirects)? {
                return Ok(answer);
            }
        }
    }

    /// The answer, when it is not a redirect to follow; else `request` is made the redirected
    /// one and `None` is returned.
    fn redirect(
        &self,
        request: &mut Request,
        response: http::Response<hyper::body::Incoming>,
        lease: pool::Lease,
        redirects: &mut usize,
    ) -> Result<Option<(http::Response<hyper::body::Incoming>, pool::Lease)>, OutboundError> {
        let status = response.status();
        if !is_redirect(status) {
            return Ok(Some((response, lease)));
        }
        let Some(location) = response.headers().get(header::LOCATION) else {
            return Ok(Some((response, lease)));
        };
        // The redirect's own body is not read: its connection is kept only if it had none.
        if response.body().is_end_stream() {
            lease.release();
        }
        if *redirects == MAX_REDIRECTS {
            return Err(OutboundError::Failed("too many redirects".into()));
        }
        *redirects += 1;
        let next = redirect_target(&request.uri, location)?;
        self.check(&next)?;
        if origin(&next) != origin(&request.uri) {
            strip_for_other_origin(&mut request.headers);
        }
        // RFC 9110 § 15.4: 303 asks for a GET; 301 and 302 after a POST become a GET in
        // practice; 307 and 308 repeat the request as it was.
        let to_get = status == StatusCode::SEE_OTHER && request.method != Method::HEAD
            || matches!(status.as_u16(), 301 | 302) && request.method == Method::POST;
        if to_get {
            request.method = Method::GET;
            request.body = Bytes::new();
            request.headers.remove(header::CONTENT_TYPE);
            request.headers.remove(header::CONTENT_LENGTH);
        }
        request.uri = next;
        Ok(None)
    }

    /// Sends `path_and_query` (`/path?query`, already encoded) to a prepared target, with the
    /// target's headers and `extra` ones, `body` and a `timeout` on the whole exchange (none: the
    /// caller's own): the destination is checked against the policy, and redirects are followed,
    /// each checked again.
    pub async fn send_to(
        &self,
        target: &Target,
        path_and_query: String,
        extra: HeaderMap,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<Response, OutboundError> {
        // The policy, for an IP literal; names are checked as they resolve (`GuardedResolver`).
        if let Some(ip) = target.ip {
            self.policy.check(ip)?;
        }
        let path_and_query = http::uri::PathAndQuery::try_from(path_and_query)
            .map_err(|_| OutboundError::InvalidUrl("the arguments made the URL invalid".into()))?;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let span = crate::spans::outbound(&target.method, target.base.host().unwrap_or_default());
        let exchange = async {
            // Kept for a redirect only: the first request is sent without copies.
            let again = (!extra.is_empty()).then(|| extra.clone());
            let mut outgoing = http::Request::new(Full::new(body.clone()));
            *outgoing.method_mut() = target.method.clone();
            *outgoing.uri_mut() = Uri::from(path_and_query.clone());
            let headers = outgoing.headers_mut();
            *headers = target.headers.clone();
            append_all(headers, extra);
            crate::spans::inject(headers);
            let (response, lease) = self.pool.send_on(&target.origin, &target.base, outgoing).await?;
            if !is_redirect(response.status()) {
                return Ok((response, lease));
            }
            // Redirected: on from here with the request this one was, its URI absolute.
            let mut parts = target.base.clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            let uri = Uri::from_parts(parts).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
            let mut request = Request::new(target.method.clone(), uri);
            request.headers = target.headers.clone();
            append_all(&mut request.headers, again.unwrap_or_default());
            request.body = body;
            let mut redirects = 0;
            match self.redirect(&mut request, response, lease, &mut redirects)? {
                Some(answer) => Ok(answer),
                None => Box::pin(self.follow(request, redirects)).await,
            }
        };
        let exchange = tracing::Instrument::instrument(exchange, span);
        let (inner, lease) = match deadline {
            Some(deadline) => {
                tokio::time::timeout_at(deadline, exchange).await.map_err(|_| OutboundError::Timeout)??
            }
            None => exchange.await?,
        };
        Ok(Response { inner, deadline, lease: Some(lease) })
    }
}

/// Appends every value of `extra` to `headers` (`HeaderMap::extend` would replace a name's
/// values, where a request built header by header appends).
fn append_all(headers: &mut HeaderMap, extra: HeaderMap) {
    let mut name = None;
    for (next, value) in extra {
        // `into_iter` names a header once, before the first of its values.
        if next.is_some() {
            name = next;
        }
        if let Some(name) = &name {
            headers.append(name.clone(), value);
        }
    }
}

/// Whether a status asks to follow `Location`.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A user name and password taken out of a URL.
type UserInfo = (String, Option<String>);

/// An absolute URL as a `Uri`, and the credentials it carried, if any. Plain ASCII URLs are
/// taken as they are; anything else (international names, spaces, user info) goes through
/// the WHATWG parser first, which encodes it.
/// That `uri` is an absolute http(s) URL with a host.
fn absolute(uri: &Uri) -> Result<(), OutboundError> {
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(OutboundError::InvalidUrl("only absolute http(s) URLs are allowed".into())),
    }
}

fn parse_url(url: &str) -> Result<(Uri, Option<UserInfo>), OutboundError> {
    if let Ok(uri) = Uri::try_from(url) {
        let plain = uri.authority().is_some_and(|a| !a.as_str().contains('@'));
        if plain {
            return Ok((uri, None));
        }
    }
    let mut parsed = url::Url::parse(url).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(OutboundError::InvalidUrl("only absolute http(s) URLs are allowed".into()));
    }
    let userinfo = (!parsed.username().is_empty()).then(|| {
        let decode = |s: &str| percent_decode(s);
        (decode(parsed.username()), parsed.password().map(decode))
    });
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    let uri = Uri::try_from(parsed.as_str()).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
    Ok((uri, userinfo))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Where a redirect goes: `Location` resolved against the URL that answered it.
fn redirect_target(base: &Uri, location: &HeaderValue) -> Result<Uri, OutboundError> {
    let location =
        location.to_str().map_err(|_| OutboundError::Failed("a redirect's Location is not text".into()))?;
    let base = url::Url::parse(&base.to_string()).map_err(|e| OutboundError::InvalidUrl(e.to_string()))?;
    let mut next = base.join(location).map_err(|e| OutboundError::InvalidUrl(format!("redirect to {e}")))?;
    next.set_fragment(None);
    if !next.username().is_empty() || next.password().is_some() {
        return Err(OutboundError::InvalidUrl("a redirect may not carry credentials".into()));
    }
    Uri::try_from(next.as_str()).map_err(|e| OutboundError::InvalidUrl(e.to_string()))
}

fn origin(uri: &Uri) -> (Option<&str>, Option<&str>, Option<u16>) {
    let default = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    (uri.scheme_str(), uri.host(), Some(uri.port_u16().unwrap_or(default)))
}

fn strip_for_other_origin(headers: &mut HeaderMap) {
    let kept: Vec<(HeaderName, HeaderValue)> = KEPT_ACROSS_ORIGINS
        .iter()
        .filter_map(|name| headers.get(name).map(|v| (name.clone(), v.clone())))
        .collect();
    headers.clear();
    headers.extend(kept.into_iter().map(|(k, v)| (Some(k), v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_checked_before_sending() {
        let out = Outbound::new(NetworkPolicy { allow_private: false });
        assert!(matches!(out.check_url("http://127.0.0.1:1/x"), Err(OutboundError::Forbidden(_))));
        assert!(matches!(out.check_url("http://[::1]/x"), Err(OutboundError::Forbidden(_))));
        // A request is built, and refused when sent, before any socket is opened.
        let request = out.request(Method::GET, "http://[::1]/x").unwrap();
        assert!(matches!(out.send(request).await, Err(OutboundError::Forbidden(_))));
        assert!(out.check_url("https://example.com/x").is_ok());
        assert!(matches!(out.request(Method::GET, "file:///etc/passwd"), Err(OutboundError::InvalidUrl(_))));
        assert!(matches!(out.request(Method::GET, "not a url"), Err(OutboundError::InvalidUrl(_))));
        assert!(matches!(out.request(Method::GET, "/relative"), Err(OutboundError::InvalidUrl(_))));
        assert!(out.request(Method::GET, "https://example.com/x").is_ok());
    }

    #[test]
    fn urls_that_need_encoding_or_carry_credentials_are_normalised() {
        let out = Outbound::new(NetworkPolicy { allow_private: false });
        let r = out.request(Method::GET, "https://exämple.com/a b?q=ü").unwrap();
        assert_eq!(r.uri.to_string(), "https://xn--exmple-cua.com/a%20b?q=%C3%BC");
        let r = out.request(Method::GET, "https://me:p%40ss@example.com/x").unwrap();
        assert_eq!(r.uri.to_string(), "https://example.com/x");
        let auth = r.headers.get(header::AUTHORIZATION).unwrap().to_str().unwrap();
        assert_eq!(auth, "Basic bWU6cEBzcw==", "me:p@ss");
    }

    #[test]
    fn queries_are_appended_encoded() {
        let out = Outbound::new(NetworkPolicy { allow_private: true });
        let r = out.request(Method::GET, "http://h/p?a=1").unwrap().query(&[("q", "x y&z")]);
        assert_eq!(r.uri.to_string(), "http://h/p?a=1&q=x+y%26z");
        let r = out.request(Method::GET, "http://h/p").unwrap().query(&[("q", "1")]);
        assert_eq!(r.uri.to_string(), "http://h/p?q=1");
    }

    #[test]
    fn redirects_resolve_relative_locations_and_refuse_credentials() {
        let base: Uri = "http://a.example/x/y?z=1".parse().unwrap();
        let to = |l: &str| redirect_target(&base, &HeaderValue::from_str(l).unwrap());
        assert_eq!(to("/b").unwrap().to_string(), "http://a.example/b");
        assert_eq!(to("c").unwrap().to_string(), "http://a.example/x/c");
        assert_eq!(to("https://b.example/").unwrap().to_string(), "https://b.example/");
        assert!(to("http://u:p@b.example/").is_err());
    }

    #[test]
    fn extra_headers_are_appended_every_value() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("a/b"));
        let mut extra = HeaderMap::new();
        extra.append(header::ACCEPT, HeaderValue::from_static("c/d"));
        extra.append("x-two", HeaderValue::from_static("1"));
        extra.append("x-two", HeaderValue::from_static("2"));
        append_all(&mut headers, extra);
        let all = |name: &str| headers.get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>();
        assert_eq!(all("accept"), ["a/b", "c/d"]);
        assert_eq!(all("x-two"), ["1", "2"]);
    }

    #[test]
    fn other_origins_get_no_credentials() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        strip_for_other_origin(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::ACCEPT));
        let a: Uri = "http://h/x".parse().unwrap();
        let b: Uri = "http://h:80/y".parse().unwrap();
        let c: Uri = "https://h/y".parse().unwrap();
        assert_eq!(origin(&a), origin(&b));
        assert_ne!(origin(&a), origin(&c));
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let out = Outbound::new(NetworkPolicy { allow_private: false });
        let req = out.request(Method::GET, "http://localhost:9/").unwrap();
        match out.send(req).await {
            Err(OutboundError::Forbidden(msg)) => {
                assert!(msg.contains("127.0.0.1") || msg.contains("::1"), "{msg}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
