//! The service every connection is served by: a data-plane POST (`/mcp/{org}/{server}`) goes
//! straight to its handler; every other request goes through the axum router.
//!
//! Why: a tool call is the one request served tens of thousands of times a second, and the
//! router's work for it (path matching, the URL parameters and matched path put into the
//! request's extensions, the metrics middleware's boxed futures, the connection's address as
//! one more extension) cost ~7 k instructions per call, as much as a quarter of what Gatehouse
//! itself does for an HTTP-tool call. The path is recognised here with a few byte comparisons;
//! anything unusual about it (percent-encoding, an empty segment, a trailing slash) is left to
//! the router, which answers it as before.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use axum::response::Response;
use futures_util::future::Either;
use hyper::body::Incoming;
use tower_service::Service as _;

use crate::app::AppState;
use crate::connection::{Activity, InFlight, TrackedBody};
use crate::gateway::{MCP_ROUTE, endpoint};

/// One connection's service (`accept.rs` makes one per accepted connection).
pub struct Front {
    router: Router,
    state: AppState,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl Front {
    /// `router` serves everything but data-plane POSTs; `peer` is the connection's address;
    /// `activity` learns when each request starts and when its answer ends.
    pub fn new(router: Router, state: AppState, peer: SocketAddr, activity: Arc<Activity>) -> Self {
        Self { router, state, peer, activity }
    }
}

type DataPlane = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;
type Routed = <Router as tower_service::Service<Request<Body>>>::Future;

pin_project_lite::pin_project! {
    /// A request's answer, whose body ends the request's [`InFlight`] once written.
    pub struct Answer {
        #[pin]
        inner: Either<DataPlane, Routed>,
        in_flight: Option<InFlight>,
    }
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(Ok(response)) = this.inner.poll(cx) else { return Poll::Pending };
        let in_flight = this.in_flight.take().expect("an answer is polled to completion once");
        Poll::Ready(Ok(response.map(|body| Body::new(TrackedBody::new(body, in_flight)))))
    }
}

impl hyper::service::Service<Request<Incoming>> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = Some(self.activity.request_started());
        Answer { inner: self.route(request), in_flight }
    }
}

impl Front {
    fn route(&self, request: Request<Incoming>) -> Either<DataPlane, Routed> {
        if request.method() == Method::POST {
            if let Some((org, slug)) = mcp_path(request.uri().path()) {
                let (org, slug) = (org.to_owned(), slug.to_owned());
                let state = self.state.clone();
                // The body stays hyper's own: no boxing into axum's `Body` for the one request
                // served tens of thousands of times a second.
                return Either::Left(Box::pin(async move {
                    let start = Instant::now();
                    let (parts, body) = request.into_parts();
                    let span = crate::spans::request_span("POST", MCP_ROUTE, &parts.headers);
                    let answer = endpoint::post_request(&state, &org, &slug, parts.headers, body);
                    let response = tracing::Instrument::instrument(answer, span).await;
                    let seconds = start.elapsed().as_secs_f64();
                    state.metrics.observe_http("POST", MCP_ROUTE, response.status().as_u16(), seconds);
                    Ok(response)
                }));
            }
        }
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // `Router::call` takes `&mut self`; a clone is two reference counts.
        Either::Right(self.router.clone().call(request))
    }
}

/// `(org, server)` of a path `/mcp/{org}/{server}` whose two segments are non-empty and need
/// no decoding; `None` for anything else (which the router then matches as it always did).
pub fn mcp_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/mcp/")?;
    let (org, slug) = rest.split_once('/')?;
    let plain = |s: &str| !s.is_empty() && !s.bytes().any(|b| b == b'/' || b == b'%');
    (plain(org) && plain(slug)).then_some((org, slug))
}

#[cfg(test)]
mod tests {
    use super::mcp_path;

    #[test]
    fn only_plain_data_plane_paths_take_the_short_way() {
        assert_eq!(mcp_path("/mcp/acme/weather"), Some(("acme", "weather")));
        assert_eq!(mcp_path("/mcp/acme/weather/"), None);
        assert_eq!(mcp_path("/mcp/acme/weather/x"), None);
        assert_eq!(mcp_path("/mcp//weather"), None);
        assert_eq!(mcp_path("/mcp/acme/"), None);
        assert_eq!(mcp_path("/mcp/acme"), None);
        assert_eq!(mcp_path("/mcp/ac%20me/weather"), None);
        assert_eq!(mcp_path("/api/mcp"), None);
        assert_eq!(mcp_path("/sse/acme/weather"), None);
    }
}
