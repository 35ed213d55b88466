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
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use futures_util::future::Either;
use tower_service::Service;

use crate::app::AppState;
use crate::gateway::{MCP_ROUTE, endpoint};

/// Makes one [`Front`] per accepted connection, with the peer's address.
#[derive(Clone)]
pub struct MakeFront {
    router: Router,
    state: AppState,
}

impl MakeFront {
    /// `router` serves everything but data-plane POSTs.
    pub fn new(router: Router, state: AppState) -> Self {
        Self { router, state }
    }
}

impl<L> Service<IncomingStream<'_, L>> for MakeFront
where
    L: Listener<Addr = SocketAddr>,
{
    type Response = Front;
    type Error = Infallible;
    type Future = Ready<Result<Front, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, L>) -> Self::Future {
        ready(Ok(Front {
            router: self.router.clone(),
            state: self.state.clone(),
            peer: *stream.remote_addr(),
        }))
    }
}

/// One connection's service.
#[derive(Clone)]
pub struct Front {
    router: Router,
    state: AppState,
    peer: SocketAddr,
}

type DataPlane = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<DataPlane, <Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The router is always ready (axum's `Router::poll_ready`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if request.method() == Method::POST {
            if let Some((org, slug)) = mcp_path(request.uri().path()) {
                let (org, slug) = (org.to_owned(), slug.to_owned());
                let state = self.state.clone();
                return Either::Left(Box::pin(async move {
                    let start = Instant::now();
                    let response = endpoint::post_request(&state, &org, &slug, request).await;
                    let seconds = start.elapsed().as_secs_f64();
                    state.metrics.observe_http("POST", MCP_ROUTE, response.status().as_u16(), seconds);
                    Ok(response)
                }));
            }
        }
        request.extensions_mut().insert(ConnectInfo(self.peer));
        Either::Right(self.router.call(request))
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
