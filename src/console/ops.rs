//! The console's only way to change or read anything: an operation of the registry, run
//! through [`dispatch::invoke`] exactly as REST and `/api/mcp` run it — same scope checks, same
//! errors, same audit events.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::session::Visitor;
use crate::api::dispatch::{self, Call};
use crate::api::registry::Registry;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// The registry, as the console's routes hold it.
#[derive(Clone)]
pub struct Operations(Arc<Registry>);

impl Operations {
    /// Wraps the application's registry.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self(registry)
    }

    /// The names of the operations that change something (what the audit log records).
    pub fn mutating_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> =
            self.0.operations().iter().filter(|op| op.spec.mutating()).map(|op| op.spec.name).collect();
        names.sort_unstable();
        names
    }

    /// Runs operation `name` for `visitor` with path `params` and body or query `input`.
    pub async fn run(
        &self,
        state: &AppState,
        visitor: &Visitor,
        name: &str,
        params: &[(&str, &str)],
        input: Value,
    ) -> ApiResult<Value> {
        let op = self
            .0
            .get(name)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the console names no operation {name}")))?;
        let params: HashMap<String, String> =
            params.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        let call = Call {
            principal: visitor.principal.clone(),
            params,
            input: Ok(input),
            client_ip: visitor.client_ip,
            headers: visitor.op_headers(),
        };
        dispatch::invoke(state, op, call).await
    }
}
