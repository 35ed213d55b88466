//! Outbound HTTP/1.1 connections, kept per origin and each driven by the task that uses it.
//!
//! A connection is leased to one request at a time. The lessee polls hyper's connection
//! future itself, while it waits for the answer's head and while it reads the body, and
//! gives the connection back when the body has ended. So no task per connection is spawned
//! and woken for every exchange, and a checkout is one lock and one pop, with no hashing of
//! the origin beyond foldhash's. A connection whose answer is dropped unread is closed, as
//! HTTP/1.1 requires. Idle connections are checked before use (an origin that closed one is
//! noticed then, and the request goes on another) and swept every [`SWEEP_EVERY`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use super::OutboundError;
use super::policy::GuardedResolver;

/// How connections are made: TCP through the guarded resolver, TLS for https.
pub(super) type Connector = HttpsConnector<HttpConnector<GuardedResolver>>;
type Io = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
type Body = Full<Bytes>;

/// How long an idle connection is reused. Servers close idle connections on timers of their
/// own, Node's and uvicorn's after 5 s by default, often without saying so: a request written
/// as the server closes is lost ("transport error"), and cannot be sent again, as it may have
/// done its work. So a connection is not reused when it has been idle near that long, nor past
/// what a server's `Keep-Alive: timeout` announces, less a second.
const REUSE_IDLE: Duration = Duration::from_secs(4);
/// How often idle connections are checked for age and for a close by the origin.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Idle connections kept per origin at most.
const MAX_IDLE_PER_ORIGIN: usize = 256;

/// Where a connection goes: scheme and authority (`Authority` compares case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Origin {
    https: bool,
    authority: Authority,
}

impl Origin {
    /// The origin of an absolute URI.
    pub(super) fn of(uri: &Uri) -> Result<Self, OutboundError> {
        Ok(Origin {
            https: uri.scheme() == Some(&Scheme::HTTPS),
            authority: uri.authority().cloned().ok_or_else(|| OutboundError::InvalidUrl("no host".into()))?,
        })
    }
}

/// One HTTP/1.1 connection.
struct Conn {
    sender: SendRequest<Body>,
    /// The `Host` header of requests on this connection (made once, when connecting).
    host: Option<HeaderValue>,
    /// hyper's side of the connection: `None` once it has ended. Boxed: it is large, and a
    /// lease moves with the futures and answers that hold it.
    connection: Option<Pin<Box<Connection<Io, Body>>>>,
    /// How long it may be reused after it was last released ([`REUSE_IDLE`], or less).
    reuse_for: Duration,
}

impl Conn {
    /// Polls the connection (writing, reading, noticing its end); whether it is still alive.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(connection) = &mut self.connection {
            if connection.as_mut().poll(cx).is_ready() {
                self.connection = None;
            }
        }
        self.connection.is_some()
    }

    fn reusable(&self) -> bool {
        self.connection.is_some() && !self.sender.is_closed()
    }

    /// Takes note of what an answer says of the connection's life: `Keep-Alive: timeout=N`.
    fn heed(&mut self, headers: &http::HeaderMap) {
        if let Some(announced) =
            headers.get("keep-alive").and_then(|v| v.to_str().ok()).and_then(keep_alive_timeout)
        {
            self.reuse_for = self.reuse_for.min(announced.saturating_sub(Duration::from_secs(1)));
        }
    }
}

/// The `timeout` of a `Keep-Alive` header (`timeout=5, max=1000`), in seconds.
fn keep_alive_timeout(value: &str) -> Option<Duration> {
    value.split(',').find_map(|part| {
        let (name, seconds) = part.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("timeout"))
            .then(|| seconds.trim().parse().ok().map(Duration::from_secs))?
    })
}

struct Idle {
    conn: Conn,
    since: Instant,
}

type IdleMap = hashbrown::HashMap<Origin, Vec<Idle>>;

struct Inner {
    idle: Mutex<IdleMap>,
    connector: Connector,
    sweeping: AtomicBool,
}

/// The connections of one [`super::Outbound`].
#[derive(Clone)]
pub(super) struct Pool {
    inner: Arc<Inner>,
}

/// A connection lent to one exchange: driven while the answer is read, given back at its end.
pub(super) struct Lease {
    conn: Conn,
    origin: Origin,
    pool: Pool,
}

impl Lease {
    /// Polls the connection with the caller's context; whether it is still alive.
    pub(super) fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        self.conn.drive(cx)
    }

    /// Whether the connection is still open (as of the last time it was driven).
    pub(super) fn alive(&self) -> bool {
        self.conn.connection.is_some()
    }

    /// Gives the connection back for the next request to this origin (the answer has ended).
    pub(super) fn release(self) {
        if self.conn.reusable() {
            self.pool.put(self.origin, self.conn);
        }
    }
}

/// Polls `future` with `cx`'s waker only when `lease` is not driving: a future that only the
/// connection completes needs no waker of its own while the connection is polled with the
/// task's, and a waker of its own would wake the task once more for nothing.
pub(super) fn poll_beside<F: Future + ?Sized>(
    lease_alive: bool,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    if lease_alive { future.poll(&mut Context::from_waker(Waker::noop())) } else { future.poll(cx) }
}

impl Pool {
    /// An empty pool whose connections `connector` makes.
    pub(super) fn new(connector: Connector) -> Self {
        let inner =
            Inner { idle: Mutex::new(IdleMap::default()), connector, sweeping: AtomicBool::new(false) };
        Self { inner: Arc::new(inner) }
    }

    /// Sends `request` (an absolute URI) on a pooled or new connection to its origin; the
    /// answer's head, and the lease that reads its body.
    pub(super) async fn send(
        &self,
        mut request: http::Request<Body>,
    ) -> Result<(http::Response<Incoming>, Lease), OutboundError> {
        let uri = request.uri().clone();
        let origin = Origin::of(&uri)?;
        to_origin_form(&mut request, &uri);
        self.send_on(&origin, &uri, request).await
    }

    /// Sends `request` (in origin form) to `origin`, whose connections are made to `uri` (any
    /// absolute URI of that origin).
    pub(super) async fn send_on(
        &self,
        origin: &Origin,
        uri: &Uri,
        mut request: http::Request<Body>,
    ) -> Result<(http::Response<Incoming>, Lease), OutboundError> {
        loop {
            let (mut conn, reused) = match self.take(origin) {
                Some(conn) => (conn, true),
                // Boxed: connecting holds a TLS stream, large and rarely needed, that would
                // otherwise grow every future that sends a request.
                None => (Box::pin(self.connect(uri, origin.https)).await?, false),
            };
            if let (Some(host), false) = (&conn.host, request.headers().contains_key(header::HOST)) {
                request.headers_mut().insert(header::HOST, host.clone());
            }
            let ready = std::future::poll_fn(|cx| {
                let alive = conn.drive(cx);
                match conn.sender.poll_ready(cx) {
                    Poll::Ready(result) => Poll::Ready(result.is_ok()),
                    Poll::Pending if alive => Poll::Pending,
                    Poll::Pending => Poll::Ready(false),
                }
            })
            .await;
            if !ready {
                if reused {
                    continue;
                }
                return Err(OutboundError::Failed("transport error (the connection closed)".into()));
            }
            let mut answer = std::pin::pin!(conn.sender.try_send_request(request));
            let result = std::future::poll_fn(|cx| {
                let alive = conn.drive(cx);
                poll_beside(alive, answer.as_mut(), cx)
            })
            .await;
            match result {
                Ok(response) => {
                    conn.heed(response.headers());
                    return Ok((response, Lease { conn, origin: origin.clone(), pool: self.clone() }));
                }
                Err(mut failed) => match failed.take_message() {
                    // Never written: a reused connection that turned out closed. Try another.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(transport_error(failed.error())),
                },
            }
        }
    }

    /// The most recently used idle connection to `origin` that is still fresh.
    fn take(&self, origin: &Origin) -> Option<Conn> {
        let mut stale = Vec::new();
        let found = {
            let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            let list = idle.get_mut(origin)?;
            loop {
                match list.pop() {
                    None => break None,
                    Some(i) if i.since.elapsed() < i.conn.reuse_for && i.conn.reusable() => {
                        break Some(i.conn);
                    }
                    Some(i) => stale.push(i),
                }
            }
        };
        // Closed outside the lock.
        drop(stale);
        found
    }

    fn put(&self, origin: Origin, conn: Conn) {
        {
            let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            let list = idle.entry(origin).or_default();
            if list.len() >= MAX_IDLE_PER_ORIGIN {
                return;
            }
            list.push(Idle { conn, since: Instant::now() });
        }
        // The sweeper starts with the first idle connection, on the runtime that made it (an
        // answer dropped outside any runtime starts none; the next one will).
        if !self.inner.sweeping.load(Ordering::Relaxed) {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                if !self.inner.sweeping.swap(true, Ordering::Relaxed) {
                    runtime.spawn(sweep(Arc::downgrade(&self.inner)));
                }
            }
        }
    }

    async fn connect(&self, uri: &Uri, https: bool) -> Result<Conn, OutboundError> {
        let mut connector = self.inner.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx)).await.map_err(|e| connect_error(e.as_ref()))?;
        let io = connector.call(uri.clone()).await.map_err(|e| connect_error(e.as_ref()))?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(io).await.map_err(|e| transport_error(&e))?;
        let connection = Some(Box::pin(connection));
        Ok(Conn { sender, host: host_header(uri, https), connection, reuse_for: REUSE_IDLE })
    }
}

/// Closes idle connections that are too old to reuse or that their origin closed, until the
/// pool is gone.
async fn sweep(pool: Weak<Inner>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let Some(inner) = pool.upgrade() else { return };
        let mut closed = Vec::new();
        {
            let mut idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            let mut noop = Context::from_waker(Waker::noop());
            for list in idle.values_mut() {
                for mut i in std::mem::take(list) {
                    // Nobody waits on an idle connection, so it is polled without a waker.
                    if i.since.elapsed() < i.conn.reuse_for && i.conn.drive(&mut noop) && i.conn.reusable() {
                        list.push(i);
                    } else {
                        closed.push(i);
                    }
                }
            }
            idle.retain(|_, list| !list.is_empty());
        }
        drop(closed);
    }
}

/// What the legacy client did for us, part one: a `Host` header naming the authority (its port
/// only when not the scheme's default).
pub(super) fn host_header(uri: &Uri, https: bool) -> Option<HeaderValue> {
    let default = if https { 443 } else { 80 };
    match (uri.host(), uri.port_u16(), uri.authority().map(|a| a.as_str())) {
        // The usual case: the authority is `host:port` already.
        (_, Some(port), Some(authority)) if port != default && !authority.contains('@') => {
            HeaderValue::from_str(authority).ok()
        }
        (Some(host), Some(port), _) if port != default => {
            HeaderValue::try_from(format!("{host}:{port}")).ok()
        }
        (host, _, _) => host.and_then(|h| HeaderValue::from_str(h).ok()),
    }
}

/// Part two: the request line in origin form (`/path?query`).
fn to_origin_form(request: &mut http::Request<Body>, uri: &Uri) {
    let mut parts = http::uri::Parts::default();
    parts.path_and_query =
        Some(uri.path_and_query().cloned().unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")));
    if let Ok(origin_form) = Uri::from_parts(parts) {
        *request.uri_mut() = origin_form;
    }
}

/// A connect failure: the policy's refusal (which surfaces from the resolver) keeps its own
/// words; anything else names the I/O error kind, never the URL (it may carry credentials).
fn connect_error(err: &(dyn std::error::Error + Send + Sync + 'static)) -> OutboundError {
    describe(err, "could not connect")
}

/// A failure after connecting.
fn transport_error(err: &hyper::Error) -> OutboundError {
    describe(err, "transport error")
}

fn describe(err: &(dyn std::error::Error + 'static), kind: &str) -> OutboundError {
    let mut source = Some(err);
    let mut io = None;
    while let Some(e) = source {
        if let Some(OutboundError::Forbidden(why)) = e.downcast_ref::<OutboundError>() {
            return OutboundError::Forbidden(why.clone());
        }
        if let Some(e) = e.downcast_ref::<std::io::Error>() {
            io.get_or_insert(e.kind());
        }
        source = e.source();
    }
    OutboundError::Failed(match io {
        Some(io) => format!("{kind} ({})", io.to_string().to_lowercase()),
        None => kind.to_string(),
    })
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
