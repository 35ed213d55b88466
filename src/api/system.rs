//! System endpoints outside `/api`: `/health` (the process is alive), `/ready` (it should be
//! sent requests), `/metadata`, `/metrics`, `/init`, and the OpenAPI document.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::rest::json_body;
use crate::app::AppState;
use crate::bootstrap::{self, InitError};
use crate::config::Mode;
use crate::crypto;
use crate::error::{ApiError, ApiResult};

/// Routes of the system endpoints; `openapi` is the generated document.
pub fn routes(openapi: Arc<Value>) -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metadata", get(metadata))
        .route("/metrics", get(metrics))
        .route("/init", post(init))
        .route("/api/openapi.json", get(move || async move { axum::Json(openapi.as_ref().clone()) }))
}

/// Liveness: the process answers. It says nothing of the database, so that an orchestrator
/// does not restart every node while the database is down.
async fn health() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

/// Readiness: not draining, the database reachable and holding this binary's migrations.
async fn ready(State(state): State<AppState>) -> Response {
    let unavailable = |status: &str, code: &str, error: &str| {
        let body = json!({"status": status, "error": error, "code": code});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    };
    if state.lifecycle.is_draining() {
        return unavailable("draining", "draining", "this node is stopping");
    }
    let checked = tokio::time::timeout(Duration::from_secs(2), async {
        state.store.ping().await?;
        state.store.schema_current().await
    });
    match checked.await {
        Ok(Ok(true)) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response(),
        Ok(Ok(false)) => {
            unavailable("unavailable", "migrations_pending", "the database lacks migrations this node needs")
        }
        outcome => {
            if let Ok(Err(err)) = outcome {
                tracing::warn!(error = %err, "readiness check: database unreachable");
            }
            unavailable("unavailable", "database_unavailable", "the database is unreachable")
        }
    }
}

async fn metadata(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let mode = state.mode().await?;
    Ok(axum::Json(json!({
        "name": "gatehouse",
        "version": env!("CARGO_PKG_VERSION"),
        "mode": mode.map(Mode::as_str),
        "initialized": mode.is_some(),
    })))
}

/// The metrics name every tenant's servers and tools: open in dev mode only; otherwise they
/// take the operator's metrics token as a bearer token (what Prometheus' `authorization`
/// setting sends), and without one configured nobody may read them.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if state.mode().await? != Some(Mode::Dev) {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match (&state.config.metrics_token, given) {
            (Some(token), Some(given)) if crypto::constant_time_eq(given, token) => {}
            (Some(_), _) => {
                return Err(ApiError::Unauthorized(
                    "send the metrics token (GATEHOUSE_METRICS_TOKEN) as a bearer token".into(),
                ));
            }
            (None, _) => {
                return Err(ApiError::ForbiddenCode {
                    code: "metrics_disabled",
                    message: "metrics name every organization's servers and tools: set \
                              GATEHOUSE_METRICS_TOKEN to scrape them"
                        .into(),
                });
            }
        }
    }
    let now = crate::domain::time::now_ms();
    let flushed = state.plane.usage.flushed_at();
    let since_start = state.started.elapsed().as_secs_f64();
    let readings = crate::node_metrics::NodeReadings {
        node: &state.plane.node_id,
        upstream_shared: state.plane.upstreams.shared_connections(),
        upstream_sessions: state.plane.upstreams.session_connections(),
        db_pool: state.store.pool_reading(),
        usage_pending: state.plane.usage.pending(),
        usage_flush_age: flushed.map_or(since_start, |at| (now - at).max(0) as f64 / 1000.0),
        draining: state.lifecycle.is_draining(),
    };
    let text = state.metrics.render(&readings);
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
        .into_response())
}

/// Body of `POST /init`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InitRequest {
    mode: Mode,
    admin_email: Option<String>,
}

async fn init(
    State(state): State<AppState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_setup_token(&state, &headers)?;
    let _ = connect;
    let value = json_body(&headers, body, state.config.max_body_bytes).await?;
    let request: InitRequest =
        serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("invalid input: {e}")))?;
    let result = match request.mode {
        Mode::Dev => {
            if request.admin_email.is_some() {
                return Err(ApiError::bad_request("adminEmail is only for enterprise mode"));
            }
            bootstrap::init_dev(&state).await.map(|()| json!({"mode": "dev"}))
        }
        Mode::Enterprise => {
            let email = request
                .admin_email
                .ok_or_else(|| ApiError::bad_request("adminEmail is required for enterprise mode"))?;
            bootstrap::init_enterprise(&state, &email)
                .await
                .map(|token| json!({"mode": "enterprise", "adminToken": token}))
        }
    };
    match result {
        Ok(body) => Ok((StatusCode::CREATED, axum::Json(body)).into_response()),
        Err(InitError::AlreadyInitialized) => Err(ApiError::conflict("Gatehouse is already initialised")),
        Err(InitError::Invalid(msg)) => Err(ApiError::BadRequest(msg)),
        Err(InitError::ModeMismatch(msg)) => Err(ApiError::Conflict(msg)),
        Err(InitError::Other(err)) => Err(ApiError::internal(err)),
    }
}

/// On a server reachable beyond loopback, `/init` needs the setup token, so whoever reaches
/// a fresh instance first cannot claim it.
fn check_setup_token(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if state.config.bind.ip().is_loopback() {
        return Ok(());
    }
    let given = headers.get("x-setup-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if crypto::constant_time_eq(given, &state.setup_token) {
        Ok(())
    } else {
        Err(ApiError::ForbiddenCode {
            code: "setup_token_required",
            message: "this server listens beyond loopback: send the setup token from its log (or GATEHOUSE_SETUP_TOKEN) in X-Setup-Token".into(),
        })
    }
}
