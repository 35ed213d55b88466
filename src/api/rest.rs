//! The REST surface: one axum route per registry operation. This file only translates HTTP to
//! a [`Call`] and the result back; everything else happens in [`dispatch`](super::dispatch).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::Value;

use super::dispatch::{self, Call};
use super::registry::{Access, Operation, Registry, coerce_query};
use crate::app::AppState;
use crate::auth;
use crate::body::{is_json, read_body};
use crate::error::{ApiError, ApiResult};

/// Routes for every operation of the registry.
pub fn routes(registry: &Registry) -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for op in registry.operations() {
        let filter = method_filter(&op.spec.method);
        let path = op.spec.path;
        let op = op.clone();
        let handler = move |State(state): State<AppState>,
                            connect: ConnectInfo<SocketAddr>,
                            path: Result<Path<HashMap<String, String>>, PathRejection>,
                            query: Result<Query<HashMap<String, String>>, QueryRejection>,
                            headers: HeaderMap,
                            body: Body| {
            let op = op.clone();
            async move {
                let request = RestRequest { connect, path, query, headers, body };
                handle(&state, &op, request).await.unwrap_or_else(IntoResponse::into_response)
            }
        };
        let entry = by_path.remove(path).unwrap_or_default();
        by_path.insert(path, entry.merge(on(filter, handler)));
    }
    let mut router = Router::new();
    for (path, method_router) in by_path {
        router = router.route(path, method_router);
    }
    router
}

fn method_filter(method: &Method) -> MethodFilter {
    match *method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        _ => panic!("unsupported method {method} in the operation registry"),
    }
}

struct RestRequest {
    connect: ConnectInfo<SocketAddr>,
    path: Result<Path<HashMap<String, String>>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
}

async fn handle(state: &AppState, op: &Arc<Operation>, req: RestRequest) -> ApiResult<Response> {
    let Path(params) = req.path.map_err(|e| ApiError::bad_request(format!("invalid path: {e}")))?;
    // No id or slug holds a control character: such a path names nothing (and PostgreSQL could
    // not even compare a NUL).
    if params.values().any(|v| v.chars().any(char::is_control)) {
        return Err(ApiError::NotFound("resource"));
    }
    let input = if op.spec.input_in_query() {
        req.query.map_err(|e| ApiError::bad_request(format!("invalid query string: {e}"))).and_then(
            |Query(query)| {
                if query.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
                    return Err(ApiError::bad_request("the query string must not contain NUL (%00)"));
                }
                Ok(coerce_query(&op.input_schema, query))
            },
        )
    } else {
        let limit =
            op.spec.max_body.map_or(state.config.max_body_bytes, |max| max.max(state.config.max_body_bytes));
        let bytes = read_body(&req.headers, req.body, limit).await?;
        parse_json_object(&req.headers, &bytes)
    };
    let principal = match auth::authenticate(state.store.as_ref(), state.mode().await?, &req.headers).await {
        Ok(principal) => principal,
        // Public operations ignore platform credentials; those that need one (a server's
        // `X-API-Key`, an end-user JWT) check it themselves.
        Err(ApiError::Unauthorized(_)) if op.spec.access == Access::Public => None,
        Err(err) => return Err(err),
    };
    let call = Call { principal, params, input, client_ip: Some(req.connect.0.ip()), headers: req.headers };
    let output = dispatch::invoke(state, op, call).await?;
    let redirect = op.spec.redirect_field.and_then(|f| output.get(f)).and_then(Value::as_str);
    let public = &state.config.public_url;
    if let Some(location) = redirect.filter(|l| crate::oauth::redirect::returnable(l, public)) {
        let location = axum::http::HeaderValue::from_str(location).map_err(ApiError::internal)?;
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response());
    }
    let mut response = if op.spec.status == StatusCode::NO_CONTENT {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (op.spec.status, axum::Json(output)).into_response()
    };
    if let Some(value) = op.spec.cache_control {
        response.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static(value));
    }
    Ok(response)
}

/// Reads a JSON object body within the size limit; an empty body is `{}`.
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Value> {
    let bytes = read_body(headers, body, limit).await?;
    parse_json_object(headers, &bytes)
}

/// Parses a JSON object body (415 unless declared JSON; empty is `{}`).
pub fn parse_json_object(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value = super::strict_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    Ok(value)
}
