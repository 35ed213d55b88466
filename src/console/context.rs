//! What every signed-in console page starts from: the visitor, the orgs they may open (from
//! `get_me`, so the console sees exactly what the API would let them see), and the org the
//! page is about.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;
use serde_json::{Value, json};

use super::fault::Fault;
use super::layout::{self, Frame, Section, UNREAD_SHOWN};
use super::ops::Operations;
pub use super::orgs::OrgChoice;
use super::session::Visitor;
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// A signed-in console request.
pub struct Ctx {
    pub state: AppState,
    pub ops: Operations,
    pub visitor: Visitor,
    /// The visitor's anti-forgery token, for the forms of the page.
    pub csrf: String,
    /// Who is signed in, as the header shows it.
    pub who: String,
    /// Every org the visitor may open.
    pub orgs: Vec<OrgChoice>,
    /// Unread notifications of the current org (counted up to [`UNREAD_SHOWN`]).
    pub unread: usize,
    current: Option<usize>,
}

impl Ctx {
    /// The org the page is about (404 when the path names none of the visitor's).
    pub fn org(&self) -> ApiResult<&OrgChoice> {
        self.current.map(|i| &self.orgs[i]).ok_or(ApiError::NotFound("organization"))
    }

    /// Runs a registry operation as the visitor.
    pub async fn run(&self, name: &str, params: &[(&str, &str)], input: Value) -> ApiResult<Value> {
        self.ops.run(&self.state, &self.visitor, name, params, input).await
    }

    /// Runs an operation of the current org (its `{org}` path parameter filled in).
    pub async fn run_in_org(&self, name: &str, params: &[(&str, &str)], input: Value) -> ApiResult<Value> {
        let org = self.org()?.id.clone();
        let mut all = vec![("org", org.as_str())];
        all.extend_from_slice(params);
        self.run(name, &all, input).await
    }

    /// A full page in the console's frame.
    pub fn page(&self, title: &str, section: Section, body: Markup) -> Response {
        let frame = Frame {
            who: &self.who,
            orgs: &self.orgs,
            org: self.org().ok(),
            unread: self.unread,
            csrf: &self.csrf,
            signed_in: self.has_session(),
        };
        Html(layout::page(&frame, title, section, body).into_string()).into_response()
    }

    /// Whether the visitor may sign out (a person with a session, not the dev admin).
    pub fn has_session(&self) -> bool {
        matches!(self.visitor.principal, Some(crate::auth::Principal::User(_)))
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Fault> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        visitor.require()?;
        let ops = parts
            .extensions
            .get::<Operations>()
            .cloned()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("console routes without operations")))?;
        let params: HashMap<String, String> =
            Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map(|p| p.0)
                .unwrap_or_default();
        let me = ops.run(state, &visitor, "get_me", &[], json!({})).await?;
        let orgs: Vec<OrgChoice> = me["orgs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| OrgChoice {
                id: text(&o["orgId"]),
                slug: text(&o["slug"]),
                name: text(&o["name"]),
                role: o["role"].as_str().map(str::to_string),
                scopes: o["scopes"].as_array().into_iter().flatten().map(text).collect(),
            })
            .collect();
        let who = match me["kind"].as_str() {
            Some("dev") => "Dev admin".to_string(),
            _ => me["user"]["email"].as_str().unwrap_or("Signed in").to_string(),
        };
        let current =
            params.get("org").and_then(|key| orgs.iter().position(|o| o.slug == *key || o.id == *key));
        if params.contains_key("org") && current.is_none() {
            return Err(Fault::Api(ApiError::NotFound("organization")));
        }
        let csrf = visitor.csrf(state);
        let mut ctx = Ctx { state: state.clone(), ops, visitor, csrf, who, orgs, unread: 0, current };
        if let Some(org) = ctx.org().ok().filter(|o| o.can("notifications:read")) {
            let input = json!({ "unread": true, "limit": UNREAD_SHOWN });
            let org_id = org.id.clone();
            let unread = ctx.run("list_notifications", &[("org", &org_id)], input).await?;
            ctx.unread = unread["notifications"].as_array().map_or(0, Vec::len);
        }
        Ok(ctx)
    }
}

/// A JSON string field as text ("" when absent).
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
