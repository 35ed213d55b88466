//! OAuth toward upstreams in SQL: an upstream's authorization server and tokens, and the
//! flows under way (their state kept hashed, taken once).

use async_trait::async_trait;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::sql::SqlStore;
use super::upstreams::{OAuthFlowRecord, UpstreamOAuthRecord, UpstreamOAuthStore, UpstreamUserTokenRecord};

const USER_TOKEN_COLUMNS: &str = "SELECT id, upstream_id, org_id, subject, access_token, refresh_token, \
     expires_at, created_at, updated_at FROM upstream_user_tokens";

fn user_token_row(r: &sqlx::any::AnyRow) -> Result<UpstreamUserTokenRecord, sqlx::Error> {
    Ok(UpstreamUserTokenRecord {
        id: r.try_get("id")?,
        upstream_id: r.try_get("upstream_id")?,
        org_id: r.try_get("org_id")?,
        subject: r.try_get("subject")?,
        access_token: r.try_get("access_token")?,
        refresh_token: r.try_get("refresh_token")?,
        expires_at: r.try_get("expires_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

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
             return_to, subject) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&f.state_hash)
        .bind(&f.upstream_id)
        .bind(&f.org_id)
        .bind(&f.verifier)
        .bind(&f.redirect_uri)
        .bind(f.expires_at)
        .bind(&f.return_to)
        .bind(&f.subject)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oauth_flow_take(&self, state_hash: &str) -> StoreResult<Option<OAuthFlowRecord>> {
        let row = query(
            "DELETE FROM upstream_oauth_flows WHERE state_hash = $1 \
             RETURNING state_hash, upstream_id, org_id, verifier, redirect_uri, expires_at, return_to, \
             subject",
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
            subject: r.try_get("subject")?,
        }))
    }

    async fn user_token_put(&self, t: &UpstreamUserTokenRecord) -> StoreResult<UpstreamUserTokenRecord> {
        let row = query(
            "INSERT INTO upstream_user_tokens (id, upstream_id, org_id, subject, access_token, refresh_token, \
             expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (upstream_id, subject) DO UPDATE SET id = $1, access_token = $5, refresh_token = $6, \
             expires_at = $7, updated_at = $9 \
             RETURNING id, upstream_id, org_id, subject, access_token, refresh_token, expires_at, created_at, updated_at",
        )
        .bind(&t.id)
        .bind(&t.upstream_id)
        .bind(&t.org_id)
        .bind(&t.subject)
        .bind(&t.access_token)
        .bind(&t.refresh_token)
        .bind(t.expires_at)
        .bind(t.created_at)
        .bind(t.updated_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(user_token_row(&row)?)
    }

    async fn user_token_get(
        &self,
        upstream_id: &str,
        subject: &str,
    ) -> StoreResult<Option<UpstreamUserTokenRecord>> {
        let row = query(&format!("{USER_TOKEN_COLUMNS} WHERE upstream_id = $1 AND subject = $2"))
            .bind(upstream_id)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_token_row).transpose()?)
    }

    async fn user_tokens_of_upstream(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamUserTokenRecord>> {
        let rows = query(&format!("{USER_TOKEN_COLUMNS} WHERE upstream_id = $1 ORDER BY subject"))
            .bind(upstream_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(user_token_row).collect::<Result<_, _>>()?)
    }

    async fn user_tokens_of_subject(
        &self,
        org_id: &str,
        subject: &str,
    ) -> StoreResult<Vec<UpstreamUserTokenRecord>> {
        let rows =
            query(&format!("{USER_TOKEN_COLUMNS} WHERE org_id = $1 AND subject = $2 ORDER BY upstream_id"))
                .bind(org_id)
                .bind(subject)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(user_token_row).collect::<Result<_, _>>()?)
    }

    async fn user_token_delete(
        &self,
        org_id: &str,
        subject: &str,
        upstream_id: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let rows = match upstream_id {
            Some(upstream_id) => query(
                "DELETE FROM upstream_user_tokens WHERE org_id = $1 AND subject = $2 AND upstream_id = $3 \
                     RETURNING upstream_id",
            )
            .bind(org_id)
            .bind(subject)
            .bind(upstream_id)
            .fetch_all(&self.pool)
            .await?,
            None => query(
                "DELETE FROM upstream_user_tokens WHERE org_id = $1 AND subject = $2 RETURNING upstream_id",
            )
            .bind(org_id)
            .bind(subject)
            .fetch_all(&self.pool)
            .await?,
        };
        Ok(rows.iter().map(|r| r.try_get("upstream_id")).collect::<Result<_, _>>()?)
    }

    async fn user_tokens_expiring(&self, before: i64) -> StoreResult<Vec<UpstreamUserTokenRecord>> {
        let rows = query(&format!(
            "{USER_TOKEN_COLUMNS} WHERE refresh_token IS NOT NULL AND expires_at IS NOT NULL AND expires_at < $1"
        ))
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(user_token_row).collect::<Result<_, _>>()?)
    }
}
