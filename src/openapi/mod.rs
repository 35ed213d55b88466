//! OpenAPI import: an API description (3.0 or 3.1, JSON or YAML, one file or several that
//! reference each other) becomes the HTTP tools that call it. This layer is pure: it reads
//! documents already fetched and plans tools; the API layer stores and serves them.
//!
//! [`DocumentSet::parse`] reads the files; [`plan`] walks the operations and answers, for
//! each, the tool it becomes (name, description, where each argument goes, `inputSchema`,
//! `outputSchema`, the credential it needs) or why it is skipped.

mod document;
mod naming;
mod operations;
mod pointer;
mod schema;
mod security;
mod selection;
mod servers;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

pub use document::{DocumentSet, MAX_DEPTH, MAX_FILES, MAX_SET_BYTES, Version, parse_file};
pub use operations::plan;
pub use pointer::{Location, referenced_files};
pub use schema::MAX_SCHEMA_VALUES;
pub use selection::valid_pattern;

use crate::domain::http_tool::{HttpMethod, Location as ArgumentLocation};

/// A document that cannot be imported, with the place that says why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{at}: {message}")]
pub struct ImportError {
    /// `file#/json/pointer` (or the file alone).
    pub at: String,
    pub message: String,
}

impl ImportError {
    fn document(file: &str, message: impl Into<String>) -> Self {
        Self { at: file.to_owned(), message: message.into() }
    }

    fn at(at: &Location, message: impl Into<String>) -> Self {
        Self { at: at.to_string(), message: message.into() }
    }
}

/// Which operations to import; empty lists select every operation.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Operations with any of these tags.
    pub tags: Vec<String>,
    /// Operations whose path matches any of these patterns (`*` matches within a segment,
    /// `**` across segments).
    pub paths: Vec<String>,
    /// Operations with these `operationId`s or tool names.
    pub operations: Vec<String>,
}

/// What the planner needs besides the documents.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// The API's base URL, overriding the document's `servers`.
    pub base_url: Option<String>,
    /// Where the document was fetched from: a relative server URL resolves against it.
    pub source_url: Option<String>,
    pub selection: Selection,
}

/// How a request body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// One argument of a planned tool that goes in the path, query or headers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedParameter {
    /// The argument's name in `inputSchema`.
    pub name: String,
    /// The parameter's name on the wire, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_name: Option<String>,
    pub location: ArgumentLocation,
    pub required: bool,
    /// Its JSON Schema (as in `inputSchema`).
    pub schema: Value,
    /// OpenAPI `style` and `explode`, when given: how arrays and objects are written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explode: Option<bool>,
}

/// The request body of a planned tool: one argument holding it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedBody {
    /// The argument that holds the body (`body`, unless a parameter has that name).
    pub argument: String,
    pub encoding: BodyEncoding,
    pub required: bool,
}

/// How a planned tool authenticates, from the operation's security requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedAuth {
    /// The document's name for the security scheme: its credential is given once, for all
    /// tools that use it.
    pub scheme: String,
    pub kind: AuthKind,
    /// The header (`api_key`) or query parameter (`api_key_query`) the key goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token endpoint of a `client_credentials` scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The scopes the operation asks for (OAuth schemes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// The credentials a tool can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    Bearer,
    Basic,
    ApiKey,
    ApiKeyQuery,
    /// OAuth 2.0 client credentials: a client id and secret, exchanged for a bearer token.
    ClientCredentials,
}

/// The tool an operation becomes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolPlan {
    pub name: String,
    pub description: String,
    pub method: HttpMethod,
    /// The operation's URL: base URL and path, `{argument}` where a path parameter goes.
    pub endpoint_url: String,
    pub parameters: Vec<PlannedParameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<PlannedBody>,
    pub input_schema: Value,
    /// The schema of a successful JSON answer, when the document gives an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<PlannedAuth>,
    /// `GET /pet/{petId}`: the operation, as the document names it.
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    pub tags: Vec<String>,
    /// What was passed over in this operation (a parameter Gatehouse cannot send, say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An operation that becomes no tool, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub operation: String,
    pub reason: String,
}

/// What a document set becomes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `info.title` and `info.version`.
    pub title: String,
    pub api_version: String,
    /// `3.0` or `3.1`.
    pub openapi: String,
    pub base_url: String,
    pub tools: Vec<ToolPlan>,
    pub skipped: Vec<Skipped>,
}

#[cfg(test)]
mod tests;
