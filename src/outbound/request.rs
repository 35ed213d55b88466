//! An outbound request being built, and the answer being read.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, Incoming};
use tokio::time::Instant;

use super::pool::{Lease, poll_beside};
use super::{OutboundError, Target};

/// A request to send with [`super::Outbound::send`]; made by [`super::Outbound::request`],
/// which has checked its URL.
#[derive(Debug)]
pub struct Request {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) timeout: Option<Duration>,
    /// The first header or body that could not be made: reported when sent, so that a chain
    /// of builder calls needs no error handling of its own.
    pub(super) invalid: Option<String>,
}

impl Request {
    pub(super) fn new(method: Method, uri: Uri) -> Self {
        Self { method, uri, headers: HeaderMap::new(), body: Bytes::new(), timeout: None, invalid: None }
    }

    fn refuse(&mut self, why: String) {
        self.invalid.get_or_insert(why);
    }

    /// The request as a [`Target`] (its origin, method and headers) and the path and query it
    /// goes to: what [`super::Outbound::send`] sends it as, and what a request made again and
    /// again is prepared as once ([`super::Outbound::send_to`]). A header that could not be
    /// made is reported here.
    pub fn into_target(self) -> Result<(Target, String), OutboundError> {
        if let Some(why) = self.invalid {
            return Err(OutboundError::Failed(why));
        }
        let invalid = || OutboundError::InvalidUrl("only absolute http(s) URLs are allowed".into());
        let (scheme, authority) =
            (self.uri.scheme_str().ok_or_else(invalid)?, self.uri.authority().ok_or_else(invalid)?);
        let path_and_query = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let path_and_query = if path_and_query.is_empty() { "/" } else { path_and_query }.to_string();
        let target =
            Target::new(self.method, &format!("{scheme}://{authority}"), self.headers).ok_or_else(invalid)?;
        Ok((target, path_and_query))
    }

    /// Adds a header (appended; a name may repeat). Values are never echoed in errors.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Ok(name), Err(_)) => self.refuse(format!("invalid value for header {name}")),
            (Err(_), _) => self.refuse("invalid header name".into()),
        }
        self
    }

    /// Appends every value of `extra`.
    pub fn headers(mut self, extra: HeaderMap) -> Self {
        super::append_all(&mut self.headers, extra);
        self
    }

    /// Sets a credential header, marked sensitive (kept out of debug output; dropped when a
    /// redirect leaves the origin).
    fn credential(mut self, name: HeaderName, value: String) -> Self {
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(name, value);
            }
            Err(_) => self.refuse(format!("invalid value for header {name}")),
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.credential(AUTHORIZATION, format!("Bearer {token}"))
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn basic_auth(self, user: &str, password: Option<&str>) -> Self {
        let pair = format!("{user}:{}", password.unwrap_or_default());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        self.credential(AUTHORIZATION, format!("Basic {encoded}"))
    }

    /// A sensitive header other than `Authorization` (an API key header, say).
    pub fn secret_header(self, name: &str, value: &str) -> Self {
        match HeaderName::try_from(name) {
            Ok(name) => self.credential(name, value.to_string()),
            Err(_) => {
                let mut this = self;
                this.refuse("invalid header name".into());
                this
            }
        }
    }

    /// Appends `pairs` to the URL's query, form-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if pairs.is_empty() {
            return self;
        }
        let mut text = self.uri.to_string();
        if let Some(hash) = text.find('#') {
            text.truncate(hash);
        }
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            encoded.append_pair(k.as_ref(), v.as_ref());
        }
        text.push(if self.uri.query().is_some() { '&' } else { '?' });
        text.push_str(&encoded.finish());
        match Uri::try_from(text) {
            Ok(uri) => self.uri = uri,
            Err(_) => self.refuse("the query made the URL invalid".into()),
        }
        self
    }

    /// A JSON body (and `Content-Type: application/json` unless set).
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = body.into();
                self.default_content_type("application/json");
            }
            Err(e) => self.refuse(format!("the body is not JSON: {e}")),
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            encoded.append_pair(k, v);
        }
        self.body = encoded.finish().into();
        self.default_content_type("application/x-www-form-urlencoded");
        self
    }

    /// The body as it is.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// A limit on the whole exchange: connecting, the answer's head and reading its body.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn default_content_type(&mut self, value: &'static str) {
        if !self.headers.contains_key(CONTENT_TYPE) {
            self.headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
    }
}

/// An answer: its head, and the body to read chunk by chunk within the request's timeout.
/// Reading the body drives the connection; at the body's end the connection goes back to the
/// pool, and an answer dropped before its end closes it.
pub struct Response {
    pub(super) inner: http::Response<Incoming>,
    pub(super) deadline: Option<Instant>,
    pub(super) lease: Option<Lease>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response").field("status", &self.inner.status()).finish_non_exhaustive()
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            if self.inner.body().is_end_stream() {
                lease.release();
            }
        }
    }
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The announced body length, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.inner
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// The next frame of the body, driving the connection while it waits.
    fn poll_frame(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let body = self.inner.body_mut();
        let Some(lease) = &mut self.lease else {
            return std::future::Future::poll(std::pin::pin!(body.frame()), cx);
        };
        // What the connection delivered already (a small body comes with its head, and its end
        // is known from its length) needs no polling of the connection.
        let polled = poll_beside(lease.alive(), std::pin::pin!(body.frame()), cx);
        if polled.is_ready() || !lease.alive() {
            return polled;
        }
        // Twice at most: polling the body may have told the connection it wants more.
        for _ in 0..2 {
            let alive = lease.drive(cx);
            let polled = poll_beside(alive, std::pin::pin!(body.frame()), cx);
            if polled.is_ready() || !alive {
                return polled;
            }
        }
        std::task::Poll::Pending
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, OutboundError> {
        loop {
            let deadline = self.deadline;
            let next = std::future::poll_fn(|cx| self.poll_frame(cx));
            let frame = match deadline {
                Some(deadline) => {
                    tokio::time::timeout_at(deadline, next).await.map_err(|_| OutboundError::Timeout)?
                }
                None => next.await,
            };
            match frame {
                None => {
                    if let Some(lease) = self.lease.take() {
                        lease.release();
                    }
                    return Ok(None);
                }
                Some(Err(_)) => return Err(OutboundError::Failed("could not read the response body".into())),
                Some(Ok(frame)) => {
                    // Trailers carry nothing we read.
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    /// The whole body, refusing more than `limit` bytes (stopping as soon as it passes).
    pub async fn read_limited(mut self, limit: usize) -> Result<Vec<u8>, OutboundError> {
        if self.content_length().is_some_and(|n| n > limit as u64) {
            return Err(OutboundError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(OutboundError::TooLarge(limit));
            }
            if body.is_empty() && chunk.len() >= body.capacity() {
                body = Vec::from(chunk);
            } else {
                body.extend_from_slice(&chunk);
            }
        }
        Ok(body)
    }
}
