//! What one client connection may hold of the server (`docs/SECURITY.md` "Connections"): how
//! long it may wait before a request, how long the request's headers may take, and how many
//! connections may be open at once. An idle socket costs nothing to open and a file descriptor
//! to keep, so without these anyone who can reach the port can exhaust the descriptors and
//! take `/health` and `/mcp` down with them.
//!
//! The times follow the usual server rules: a new connection, like a request that has begun to
//! arrive, has [`ConnectionLimits::header_timeout`] to deliver its headers; a kept-alive
//! connection between requests may stay silent for [`ConnectionLimits::idle_timeout`]. A
//! request being served (an SSE stream included) has no connection deadline: its handler's own
//! timeouts apply.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The limits every connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most; beyond, new ones are closed as soon as they are accepted.
    pub max_connections: usize,
    /// From a connection's opening, or a request's first byte, to its complete headers.
    pub header_timeout: Duration,
    /// Silence allowed between one answer's end and the next request's first byte.
    pub idle_timeout: Duration,
}

/// Descriptors kept back from the connection cap for the database, upstreams and files.
const RESERVED_DESCRIPTORS: u64 = 512;

impl ConnectionLimits {
    /// Raises this process's descriptor limit as far as the system allows and lowers the cap
    /// to what fits in it, so that the cap, not the system, is what refuses a connection.
    pub fn fitted_to_descriptors(mut self) -> Self {
        let available = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let fits = available.saturating_sub(RESERVED_DESCRIPTORS).max(16) as usize;
        if fits < self.max_connections {
            tracing::warn!(
                configured = self.max_connections,
                descriptors = available,
                "the open-file limit is too low for the connection cap; lowering the cap to {fits}"
            );
            self.max_connections = fits;
        }
        self
    }
}

/// Milliseconds since the connection opened; 0 means "not set".
type Stamp = AtomicU64;

/// One connection's activity, shared by its reader ([`Watched`]), its service (`front.rs`)
/// and its watchdog.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    /// Requests being served (their answers not yet fully written).
    in_flight: AtomicUsize,
    /// Whether a request was served before (the idle rule then applies, not the new one).
    served: AtomicBool,
    /// When the last answer ended.
    idle_since: Stamp,
    /// When the request now arriving sent its first byte.
    arriving_since: Stamp,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            arriving_since: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        (self.opened.elapsed().as_millis() as u64).max(1)
    }

    fn at(&self, stamp: u64) -> Instant {
        self.opened + Duration::from_millis(stamp)
    }

    /// A request's headers are in: it is being served until its answer's guard is dropped.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.served.store(true, Ordering::Relaxed);
        self.arriving_since.store(0, Ordering::Relaxed);
        InFlight(self.clone())
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 && self.arriving_since.load(Ordering::Relaxed) == 0 {
            self.arriving_since.store(self.now(), Ordering::Relaxed);
        }
    }

    /// When the connection must be closed if nothing changes; `None` while a request is served.
    pub fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let arriving = self.arriving_since.load(Ordering::Relaxed);
        Some(if arriving != 0 {
            self.at(arriving) + limits.header_timeout
        } else if !self.served.load(Ordering::Relaxed) {
            self.opened + limits.header_timeout
        } else {
            self.at(self.idle_since.load(Ordering::Relaxed)) + limits.idle_timeout
        })
    }

    /// Completes when the connection has been silent, or slow to send headers, for too long.
    pub async fn expired(&self, limits: ConnectionLimits) {
        loop {
            match self.deadline(&limits) {
                Some(at) if at <= Instant::now() => return,
                Some(at) => tokio::time::sleep_until(at.into()).await,
                // Served requests end on their own; look again after a while.
                None => tokio::time::sleep(limits.header_timeout.min(limits.idle_timeout)).await,
            }
        }
    }
}

/// Held while a request is served; dropped with its answer's body.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::Relaxed);
        // Release: whoever sees the count fall sees the idle time first.
        activity.in_flight.fetch_sub(1, Ordering::Release);
    }
}

/// An answer's body that ends its request's [`InFlight`] when it is done or dropped.
pub struct TrackedBody<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Self { inner, _in_flight: in_flight }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose reads are noted in its [`Activity`] (a request's first byte starts its
/// header deadline).
pub struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub fn new(io: T, activity: Arc<Activity>) -> Self {
        Self { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        max_connections: 10,
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };

    #[test]
    fn the_deadline_follows_what_the_connection_is_doing() {
        let activity = Activity::new();
        let opened = activity.opened;
        assert_eq!(activity.deadline(&LIMITS), Some(opened + LIMITS.header_timeout));
        let in_flight = activity.request_started();
        assert_eq!(activity.deadline(&LIMITS), None, "a request being served has no deadline");
        drop(in_flight);
        let idle = activity.deadline(&LIMITS).unwrap();
        assert!(idle >= opened + LIMITS.idle_timeout, "between requests the idle rule applies");
        activity.bytes_read();
        let arriving = activity.deadline(&LIMITS).unwrap();
        assert!(arriving < idle && arriving >= opened + LIMITS.header_timeout);
        let second = activity.request_started();
        activity.bytes_read(); // a body's bytes do not start a header deadline
        assert_eq!(activity.deadline(&LIMITS), None);
        drop(second);
    }
}
