//! Members of an organization and their roles: `/api/orgs/{org}/members`.

use axum::http::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::registry::{Access, NoInput, OpCtx, OpSpec, Registry};
use crate::auth::Scope;
use crate::domain::{ids, text, time};
use crate::error::{ApiError, ApiResult};
use crate::store::{MemberRecord, Role, UserRecord};

/// A member as the API shows them.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    user_id: String,
    email: String,
    role: Role,
    created_at: String,
}

impl From<MemberRecord> for Member {
    fn from(m: MemberRecord) -> Self {
        Self { user_id: m.user_id, email: m.email, role: m.role, created_at: time::iso(m.created_at) }
    }
}

/// `{"member": …}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MemberEnvelope {
    member: Member,
}

/// `{"members": […]}`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MemberList {
    members: Vec<Member>,
}

/// Input of `add_member`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// E-mail of the person; they log in with it.
    #[schemars(length(max = 254), pattern(crate::domain::text::EMAIL_PATTERN))]
    email: String,
    /// `admin` or `member`.
    role: Role,
}

/// Input of `update_member`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    /// `admin` or `member`.
    role: Role,
}

/// Registers the member operations.
pub fn register(r: &mut Registry) {
    r.add(
        OpSpec::new(
            "list_members",
            Method::GET,
            "/api/orgs/{org}/members",
            Access::Org(Scope::MembersRead),
            "List the members of an organization.",
        ),
        list,
    );
    r.add(
        OpSpec::new(
            "add_member",
            Method::POST,
            "/api/orgs/{org}/members",
            Access::Org(Scope::MembersWrite),
            "Add a person to an organization by e-mail.",
        )
        .status(StatusCode::CREATED),
        add,
    );
    r.add(
        OpSpec::new(
            "update_member",
            Method::PATCH,
            "/api/orgs/{org}/members/{userId}",
            Access::Org(Scope::MembersWrite),
            "Change a member's role.",
        ),
        update,
    );
    r.add(
        OpSpec::new(
            "remove_member",
            Method::DELETE,
            "/api/orgs/{org}/members/{userId}",
            Access::Org(Scope::MembersWrite),
            "Remove a member from an organization.",
        )
        .status(StatusCode::NO_CONTENT),
        remove,
    );
}

async fn list(ctx: OpCtx, _: NoInput) -> ApiResult<MemberList> {
    let members = ctx.state.store.member_list(&ctx.org()?.id).await?;
    Ok(MemberList { members: members.into_iter().map(Member::from).collect() })
}

async fn add(ctx: OpCtx, input: AddMember) -> ApiResult<MemberEnvelope> {
    let org_id = &ctx.org()?.id;
    let store = &ctx.state.store;
    let email = text::normalize_email(&input.email)
        .ok_or_else(|| ApiError::bad_request("email is not a valid e-mail address"))?;
    let user = match store.user_find_by_email(&email).await? {
        Some(user) => user,
        None => {
            let user = UserRecord {
                id: ids::new_id("usr"),
                email,
                instance_admin: false,
                created_at: time::now_ms(),
            };
            store.user_create(&user).await?;
            user
        }
    };
    if store.member_get(org_id, &user.id).await?.is_some() {
        return Err(ApiError::conflict("this person is already a member"));
    }
    store.member_upsert(org_id, &user.id, input.role, time::now_ms()).await?;
    let member = store.member_get(org_id, &user.id).await?.ok_or(ApiError::NotFound("member"))?;
    Ok(MemberEnvelope { member: member.into() })
}

async fn update(ctx: OpCtx, input: UpdateMember) -> ApiResult<MemberEnvelope> {
    let org_id = &ctx.org()?.id;
    let user_id = ctx.param("userId")?;
    let store = &ctx.state.store;
    let current = store.member_get(org_id, user_id).await?.ok_or(ApiError::NotFound("member"))?;
    if current.role == Role::Admin && input.role != Role::Admin {
        ensure_other_admin(&ctx, org_id, user_id).await?;
    }
    store.member_upsert(org_id, user_id, input.role, current.created_at).await?;
    let member = store.member_get(org_id, user_id).await?.ok_or(ApiError::NotFound("member"))?;
    Ok(MemberEnvelope { member: member.into() })
}

async fn remove(ctx: OpCtx, _: NoInput) -> ApiResult<()> {
    let org_id = &ctx.org()?.id;
    let user_id = ctx.param("userId")?;
    let current = ctx.state.store.member_get(org_id, user_id).await?.ok_or(ApiError::NotFound("member"))?;
    if current.role == Role::Admin {
        ensure_other_admin(&ctx, org_id, user_id).await?;
    }
    ctx.state.store.member_remove(org_id, user_id).await?;
    // What they connected by signing in as a member ends with their membership.
    let now = crate::domain::time::now_ms();
    for grant in ctx.state.store.oauth_grant_revoke_for_member(org_id, user_id, now).await? {
        ctx.state.announce(&format!("oauth_grant:{grant}")).await?;
    }
    // So do the accounts they connected to per-person upstreams: their tokens are deleted.
    let email = current.email.to_ascii_lowercase();
    crate::gateway::upstream::personal::forget(&ctx.state, org_id, None, &email)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// An org must keep at least one admin.
async fn ensure_other_admin(ctx: &OpCtx, org_id: &str, leaving: &str) -> ApiResult<()> {
    let members = ctx.state.store.member_list(org_id).await?;
    if members.iter().any(|m| m.role == Role::Admin && m.user_id != leaving) {
        Ok(())
    } else {
        Err(ApiError::conflict("an organization must keep at least one admin"))
    }
}
