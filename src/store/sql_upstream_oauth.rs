//! OAuth toward upstreams in SQL: an upstream's authorization server and tokens, and the
//! flows under way (their state kept hashed, taken once).

use async_trait::async_trait;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::sql::SqlStore;
use super::upstreams::{OAuthFlowRecord, UpstreamOAuthRecord, UpstreamOAuthStore};

const OAUTH_COLUMNS: &str = "SELECT upstream_id, org_id, issuer, authorization_endpoint, token_endpoint, resource, \
     scope, client_id, client_secret, refresh_token, expires_at, updated_at FROM upstream_oauth";

#[async_trait]
impl UpstreamOAuthStore for SqlStore {
    async fn oauth_put(&self, o: &UpstreamOAuthRecord) -> StoreResult<()> {
        query(
            "INSERT INTO upstream_oauth (upstream_id, org_id, issuer, authorization_endpoint, token_endpoint, \
             resource, scope, client_id, client_secret, refresh_token, expires_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (upstream_id) DO UPDATE SET issuer = $3, authorization_endpoint = $4, \
             token_endpoint = $5, resource = $6, scope = $7, client_id = $8, client_secret = $9, \
             refresh_token = $10, expires_at = $11, updated_at = $12",
        )
        .bind(&o.upstream_id)
        .bind(&o.org_id)
        .bind(&o.issuer)
        .bind(&o.authorization_endpoint)
        .bind(&o.token_endpoint)
        .bind(&o.resource)
        .bind(&o.scope)
        .bind(&o.client_id)
        .bind(&o.client_secret)
        .bind(&o.refresh_token)
        .bind(o.expires_at)
        .bind(o.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oauth_get(&self, upstream_id: &str) -> StoreResult<Option<UpstreamOAuthRecord>> {
        let row = query(&format!("{OAUTH_COLUMNS} WHERE upstream_id = $1"))
            .bind(upstream_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(UpstreamOAuthRecord::from_row).transpose()?)
    }

    async fn oauth_expiring(&self, before: i64) -> StoreResult<Vec<UpstreamOAuthRecord>> {
        let rows = query(&format!(
            "{OAUTH_COLUMNS} WHERE refresh_token IS NOT NULL AND expires_at IS NOT NULL AND expires_at < $1"
        ))
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(UpstreamOAuthRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn oauth_flow_create(&self, f: &OAuthFlowRecord, now: i64) -> StoreResult<()> {
        query("DELETE FROM upstream_oauth_flows WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        query(
            "INSERT INTO upstream_oauth_flows (state_hash, upstream_id, org_id, verifier, redirect_uri, expires_at, \
             return_to) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&f.state_hash)
        .bind(&f.upstream_id)
        .bind(&f.org_id)
        .bind(&f.verifier)
        .bind(&f.redirect_uri)
        .bind(f.expires_at)
        .bind(&f.return_to)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oauth_flow_take(&self, state_hash: &str) -> StoreResult<Option<OAuthFlowRecord>> {
        let row = query(
            "DELETE FROM upstream_oauth_flows WHERE state_hash = $1 \
             RETURNING state_hash, upstream_id, org_id, verifier, redirect_uri, expires_at, return_to",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(OAuthFlowRecord {
            state_hash: r.try_get("state_hash")?,
            upstream_id: r.try_get("upstream_id")?,
            org_id: r.try_get("org_id")?,
            verifier: r.try_get("verifier")?,
            redirect_uri: r.try_get("redirect_uri")?,
            expires_at: r.try_get("expires_at")?,
            return_to: r.try_get("return_to")?,
        }))
    }
}
