//! A prepared destination: an origin and the headers every request to it carries.

use http::Uri;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::{Method, USER_AGENT, policy, pool};

/// An origin and the headers every request to it carries, prepared once for requests made
/// again and again (an HTTP tool's): see [`super::Outbound::send_to`].
#[derive(Debug, Clone)]
pub struct Target {
    pub(super) method: Method,
    /// `scheme://authority/`: what connections are made to.
    pub(super) base: Uri,
    pub(super) origin: pool::Origin,
    /// The host, when it is an IP literal (parsed once, for the policy's check).
    pub(super) ip: Option<std::net::IpAddr>,
    pub(super) headers: HeaderMap,
}

impl Target {
    /// Prepares requests to `base`, an origin (`http(s)://authority`, nothing after it): the
    /// `Host` and `User-Agent` headers are added to `headers`, and every request sent with
    /// [`super::Outbound::send_to`] carries them (and the policy is checked when sending). See
    /// [`Target::with_header`] for a variant with one header more. `None` when `base` is not a
    /// plain http(s) origin (credentials in it, say: [`super::Request::into_target`] takes any URL).
    pub fn new(method: Method, base: &str, mut headers: HeaderMap) -> Option<Self> {
        let uri = Uri::try_from(format!("{base}/")).ok()?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return None,
        };
        let authority = uri.authority()?;
        if authority.as_str().contains('@')
            || authority.host().is_empty()
            || uri.path_and_query()?.as_str() != "/"
        {
            return None;
        }
        let origin = pool::Origin::of(&uri).ok()?;
        // A `Host` of the caller's own stays.
        if !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, pool::host_header(&uri, https)?);
        }
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        }
        let ip = policy::host_ip(uri.host()?);
        Some(Self { method, base: uri, origin, ip, headers })
    }

    /// The same target with one header more (a variant made once, so that requests that need
    /// the header need no map of their own).
    pub fn with_header(&self, name: HeaderName, value: HeaderValue) -> Self {
        let mut target = self.clone();
        target.headers.insert(name, value);
        target
    }
}
