//! Assembling the application and serving it: routes, middleware, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api;
use crate::app::{App, AppState};
use crate::bootstrap;
use crate::config::{Config, Mode};
use crate::crypto::{self, MasterKey};
use crate::error::ApiError;
use crate::metrics;
use crate::store;

/// Builds the whole HTTP application.
pub fn router(state: AppState) -> Router {
    let registry = Arc::new(api::registry());
    let openapi = Arc::new(api::openapi::document(&registry));
    Router::new()
        .merge(api::system::routes(openapi))
        .merge(api::rest::routes(&registry))
        .merge(api::mcp::routes(registry.clone()))
        .merge(api::compat::mcpjungle::routes(registry.clone()))
        .merge(api::compat::mcp_servers::routes(registry.clone()))
        .merge(api::compat::installations::routes(registry.clone()))
        .merge(api::compat::openapi::routes())
        .merge(api::oauth::routes())
        .merge(gateway_routes())
        .merge(crate::console::routes(state.clone(), registry.clone()))
        .fallback(|uri: OriginalUri| async move { ApiError::NoRoute(uri.path().to_string()).into_response() })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// The data plane's routes: the MCP endpoint (Streamable HTTP, every revision) and the legacy
/// HTTP+SSE transport.
fn gateway_routes() -> Router<AppState> {
    use crate::gateway::{MCP_ROUTE, endpoint, sse};
    Router::new()
        .route(
            MCP_ROUTE,
            get(endpoint::get).post(endpoint::post).delete(endpoint::delete).fallback(endpoint::other),
        )
        .route("/sse/{org}/{server}", get(sse::open))
        .route("/sse/{org}/{server}/message", post(sse::message))
}

/// Times every request and labels it with its route template.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    // Both are cheap to keep: a standard method is inline, a matched path shares its text.
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let name = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let span = crate::spans::request_span(method.as_str(), name, request.headers());
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    state.metrics.observe_http(
        metrics::method_label(&method),
        route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// Opens storage, loads keys and applies the configured mode.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let store = store::open(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| format!("opening the database at {}", config.database_url_for_log()))?;
    let mut master_key = MasterKey::load(config.master_key.as_deref(), &config.data_dir)?;
    if let Some(previous) = &config.previous_master_key {
        let previous = MasterKey::from_base64(previous).context("GATEHOUSE_PREVIOUS_MASTER_KEY")?;
        master_key = master_key.with_previous(&previous);
    }
    crate::keyring::verify(store.as_ref(), &master_key).await?;
    crate::keyring::seal_plain_upstream_headers(store.as_ref(), &master_key).await?;
    let setup_token = config.setup_token.clone().unwrap_or_else(|| crypto::new_token("gh_setup_"));
    let state: AppState = Arc::new(App::new(config, store, master_key, setup_token)?);
    bootstrap::apply_configured_mode(&state).await?;
    crate::jobs::spawn(&state);
    Ok(state)
}

/// A server running in the background (used by the binary and by tests).
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its state.
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, closes the database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task panicked")?
    }
}

/// Binds and serves in the background until [`RunningServer::shutdown`].
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let listener =
        TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    let state = prepare(config).await?;
    announce(&state, addr).await;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Ok(RunningServer { addr, state, shutdown: Some(tx), task })
}

/// Serves on `listener` until `signal` completes, then drains and closes storage.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    signal: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(state.clone());
    // Data-plane POSTs skip the router (`front.rs`); everything else is routed as usual.
    let limits = state.config.connection_limits().fitted_to_descriptors();
    let draining = state.clone();
    let stop = async move {
        signal.await;
        // Balancers see 503 on /ready and stop sending requests; until the delay ends the node
        // still serves what reaches it, and its open streams end so their clients reconnect
        // through another node.
        draining.lifecycle.start_draining();
        let delay = draining.config.drain_delay;
        tracing::info!(delay_ms = delay.as_millis() as u64, "draining: /ready answers 503");
        tokio::time::sleep(delay).await;
    };
    crate::accept::serve(listener, app, state.clone(), limits, stop, state.config.drain_timeout).await;
    // Buffered counts must not be lost on a graceful stop.
    state.plane.keys.flush_usage(state.store.as_ref()).await;
    state.plane.secret_uses.flush(state.store.as_ref()).await;
    state.plane.usage.flush(state.store.as_ref()).await;
    state.plane.analytics.flush(&state.plane.outbound).await;
    // stdio upstreams are children of this process: stop them; end upstream sessions.
    state.plane.upstreams.close_all().await;
    state.store.close().await;
    tracing::info!("stopped; database closed");
    Ok(())
}

pub async fn announce(state: &AppState, addr: SocketAddr) {
    let mode = state.mode().await.ok().flatten();
    tracing::info!(%addr, database = state.store.backend(), mode = mode.map(Mode::as_str).unwrap_or("uninitialised"), "Gatehouse listening");
    if mode == Some(Mode::Dev) {
        if addr.ip().is_loopback() {
            tracing::warn!("DEV MODE: no credentials are required; listening on loopback only ({addr})");
        } else {
            tracing::warn!(
                "DEV MODE ON A NON-LOOPBACK ADDRESS ({addr}): ANYONE WHO CAN REACH IT HAS FULL CONTROL"
            );
        }
    }
    if mode.is_none() && state.config.mode == Some(Mode::Enterprise) {
        let base = &state.config.public_url;
        tracing::warn!(
            "GATEHOUSE_MODE=enterprise but not initialised yet: create the first admin with \
             `gatehouse init --admin-email you@example.com` (prints the admin token), or \
             POST {base}/init {{\"mode\": \"enterprise\", \"adminEmail\": \"you@example.com\"}}{}",
            if addr.ip().is_loopback() { "" } else { " with X-Setup-Token" }
        );
        if !addr.ip().is_loopback() && state.config.setup_token.is_none() {
            tracing::warn!(setup_token = %state.setup_token, "the setup token of this start");
        }
    } else if mode.is_none() {
        if addr.ip().is_loopback() {
            tracing::info!("not initialised: POST /init (loopback callers need no setup token)");
        } else if state.config.setup_token.is_none() {
            tracing::warn!(setup_token = %state.setup_token, "not initialised: POST /init with this X-Setup-Token");
        } else {
            tracing::warn!("not initialised: POST /init with X-Setup-Token (GATEHOUSE_SETUP_TOKEN)");
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
