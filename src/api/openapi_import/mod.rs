//! Importing an OpenAPI document into a server: `/api/orgs/{org}/servers/{serverId}/openapi/…`.
//! The preview says which operations become which tools (with their schemas), which are
//! skipped and why, and which names the server already has; nothing is changed. Applying it
//! stores the tools with the import that made them.

mod apply;
mod reimport;
mod source;

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::Serialize;

use super::registry::{Access, OpCtx, OpSpec, Registry};
use super::servers::server_of;
use crate::auth::Scope;
use crate::error::ApiResult;
use crate::openapi::{self, MAX_SET_BYTES, Plan};

pub use source::ImportSource;

/// What an import would do.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    preview: Plan,
    /// Planned tool names the server already has a tool of: importing them is refused until
    /// they are left out or the server's tools renamed.
    conflicts: Vec<String>,
}

/// Registers the import operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "preview_openapi_import",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/openapi/preview",
            Access::Org(Scope::ServersWrite),
            "Read an OpenAPI document (given, or fetched from its URL) and show the tools its operations would become; changes nothing.",
        )
        // The document itself, with room for the JSON string around it.
        .max_body(MAX_SET_BYTES + 64 * 1024),
        preview,
    );
    let base = "/api/orgs/{org}/servers/{serverId}/openapi-imports";
    let one = "/api/orgs/{org}/servers/{serverId}/openapi-imports/{importId}";
    r.add(
        OpSpec::new(
            "create_openapi_import",
            Method::POST,
            base,
            Access::Org(Scope::ServersWrite),
            "Import an OpenAPI document: each selected operation becomes an HTTP tool of the server, its credential from the secret given for its security scheme.",
        )
        .status(StatusCode::CREATED)
        .max_body(MAX_SET_BYTES + 64 * 1024),
        apply::create,
    );
    r.add(
        OpSpec::new(
            "list_openapi_imports",
            Method::GET,
            base,
            Access::Org(Scope::ServersRead),
            "List a server's OpenAPI imports and the tools each made.",
        ),
        apply::list,
    );
    r.add(
        OpSpec::new(
            "preview_openapi_reimport",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/openapi-imports/{importId}/preview",
            Access::Org(Scope::ServersWrite),
            "Show what importing the document again would add, change and remove among the import's tools; changes nothing.",
        )
        .max_body(MAX_SET_BYTES + 64 * 1024),
        reimport::preview,
    );
    r.add(
        OpSpec::new(
            "apply_openapi_reimport",
            Method::POST,
            "/api/orgs/{org}/servers/{serverId}/openapi-imports/{importId}/apply",
            Access::Org(Scope::ServersWrite),
            "Import the document again: add, change and remove the import's tools; added and changed ones wait for approval unless the import approves automatically.",
        )
        .max_body(MAX_SET_BYTES + 64 * 1024),
        reimport::apply,
    );
    r.add(
        OpSpec::new(
            "get_openapi_import",
            Method::GET,
            one,
            Access::Org(Scope::ServersRead),
            "Read an OpenAPI import.",
        ),
        apply::get,
    );
    r.add(
        OpSpec::new(
            "delete_openapi_import",
            Method::DELETE,
            one,
            Access::Org(Scope::ServersWrite),
            "Delete an OpenAPI import and the tools it made.",
        )
        .status(StatusCode::NO_CONTENT),
        apply::delete,
    );
}

async fn preview(ctx: OpCtx, input: ImportSource) -> ApiResult<ImportPreview> {
    let server = server_of(&ctx).await?;
    let options = input.options()?;
    let set = input.load(&ctx.state.plane.outbound).await?;
    let preview = openapi::plan(&set, &options).map_err(source::unprocessable)?;
    let existing = ctx.state.store.tool_list(&server.org_id, &server.id).await?;
    let conflicts = preview
        .tools
        .iter()
        .filter(|t| existing.iter().any(|e| e.name == t.name))
        .map(|t| t.name.clone())
        .collect();
    Ok(ImportPreview { preview, conflicts })
}
