//! Organizations: `/api/orgs`, `/api/orgs/{org}`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::{Principal, Scope};
use crate::config::OrgCreation;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::OrgRecord;

/// An organization as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    org_id: String,
    slug: String,
    name: String,
    created_at: String,
}

impl From<OrgRecord> for Org {
    fn from(r: OrgRecord) -> Self {
        Self { org_id: r.id, slug: r.slug, name: r.name, created_at: time::iso(r.created_at) }
    }
}

/// `{"org": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrgEnvelope {
    org: Org,
}

/// `{"orgs": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrgList {
    orgs: Vec<Org>,
}

/// Input of `create_org`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// Display name.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: String,
    /// URL-safe name (`a-z0-9-`); derived from the name when omitted.
    #[schemars(pattern(crate::domain::text::SLUG_PATTERN))]
    slug: Option<String>,
}

/// Input of `update_org`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    /// New display name.
    #[schemars(length(min = 1, max = 200), pattern(crate::domain::text::NAME_PATTERN))]
    name: Option<String>,
    /// New slug.
    #[schemars(pattern(crate::domain::text::SLUG_PATTERN))]
    slug: Option<String>,
}

/// Registers the org operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "create_org",
            Method::POST,
            "/api/orgs",
            Access::Authenticated,
            "Create an organization; the caller becomes its admin.",
        )
        .status(StatusCode::CREATED),
        create,
    );
    r.add(
        OpSpec::new(
            "list_orgs",
            Method::GET,
            "/api/orgs",
            Access::Authenticated,
            "List the organizations the caller can see.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "get_org",
            Method::GET,
            "/api/orgs/{org}",
            Access::Org(Scope::OrgsRead),
            "Read an organization.",
        ),
        get,
    );
    r.add(
        OpSpec::new(
            "update_org",
            Method::PATCH,
            "/api/orgs/{org}",
            Access::Org(Scope::OrgsWrite),
            "Rename an organization or change its slug.",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "delete_org",
            Method::DELETE,
            "/api/orgs/{org}",
            Access::Org(Scope::OrgsWrite),
            "Delete an organization and everything in it.",
        )
        .status(StatusCode::NO_CONTENT),
        delete,
    );
}

fn checked_slug(slug: &str) -> ApiResult<String> {
    if !text::is_slug(slug) {
        return Err(ApiError::bad_request(
            "slug must be 2 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ));
    }
    Ok(slug.to_string())
}

async fn create(ctx: OpCtx, input: CreateOrg) -> ApiResult<OrgEnvelope> {
    let admin = match ctx.principal()? {
        Principal::User(user)
            if !user.instance_admin && ctx.state.config.org_creation == OrgCreation::Admins =>
        {
            return Err(ApiError::Forbidden(
                "only instance admins create organizations on this instance (GATEHOUSE_ORG_CREATION)".into(),
            ));
        }
        Principal::User(user) => Some(user.id.clone()),
        Principal::Dev => None,
        Principal::Token(_) => {
            return Err(ApiError::Forbidden(
                "management tokens belong to one organization and cannot create others".into(),
            ));
        }
    };
    let name = text::display_name(&input.name, "name").map_err(ApiError::BadRequest)?;
    let slug = match input.slug {
        Some(slug) => checked_slug(&slug)?,
        None => text::slug_for(&name, "org"),
    };
    let org = OrgRecord { id: ids::new_id("org"), slug, name, created_at: time::now_ms() };
    ctx.state.store.org_create(&org, admin.as_deref()).await?;
    ctx.set_audit_org(&org.id);
    Ok(OrgEnvelope { org: org.into() })
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<OrgList> {
    let store = &ctx.state.store;
    let orgs = match ctx.principal()? {
        Principal::Dev => store.org_list_all().await?,
        Principal::User(user) if user.instance_admin => store.org_list_all().await?,
        Principal::User(user) => store.org_list_for_user(&user.id).await?,
        Principal::Token(token) => store.org_find(&token.org_id).await?.into_iter().collect(),
    };
    Ok(OrgList { orgs: orgs.into_iter().map(Org::from).collect() })
}

async fn get(ctx: OpCtx, _: NoInput) -> ApiResult<OrgEnvelope> {
    Ok(OrgEnvelope { org: ctx.org()?.clone().into() })
}

async fn update(ctx: OpCtx, input: UpdateOrg) -> ApiResult<OrgEnvelope> {
    let mut org = ctx.org()?.clone();
    if let Some(name) = input.name {
        org.name = text::display_name(&name, "name").map_err(ApiError::BadRequest)?;
    }
    if let Some(slug) = input.slug {
        org.slug = checked_slug(&slug)?;
    }
    ctx.state.store.org_update(&org).await?;
    // The data plane routes by org slug: drop what it cached under the old one.
    ctx.state.announce(&format!("org:{}", org.id)).await?;
    Ok(OrgEnvelope { org: org.into() })
}

async fn delete(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let org = ctx.org()?;
    ctx.state.store.org_delete(&org.id).await?;
    ctx.state.announce(&format!("org:{}", org.id)).await?;
    ctx.state.announce("*").await?;
    tracing::info!(org = %org.id, slug = %org.slug, "organization deleted");
    Ok(())
}
