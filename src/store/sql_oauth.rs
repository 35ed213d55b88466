//! [`OAuthStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::oauth::{
    CodeTake, OAuthClientRecord, OAuthCodeRecord, OAuthGrantRecord, OAuthStore, OAuthTokenRecord, RefreshTake,
};
use super::sql::SqlStore;

const CLIENT_COLUMNS: &str = "SELECT id, kind, org_id, name, redirect_uris, secret_hash, auth_method, \
     application_type, client_uri, created_at, expires_at FROM oauth_clients";

const GRANT_COLUMNS: &str = "id, org_id, server_id, client_id, client_name, subject_kind, user_id, email, \
     scopes, created_at, last_used_at, revoked_at";

const CODE_COLUMNS: &str = "code_hash, client_id, org_id, server_id, redirect_uri, code_challenge, scopes, \
     subject_kind, user_id, email, created_at, expires_at, used_at, grant_id";

/// A registered client without a connection is forgotten after this long.
const UNUSED_CLIENT_MS: i64 = 30 * 24 * 3600 * 1000;

const INSERT_TOKEN: &str =
    "INSERT INTO oauth_tokens (hash, grant_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

async fn insert_tokens(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tokens: &[OAuthTokenRecord],
) -> Result<(), sqlx::Error> {
    for t in tokens {
        query(INSERT_TOKEN)
            .bind(&t.hash)
            .bind(&t.grant_id)
            .bind(&t.kind)
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl OAuthStore for SqlStore {
    async fn oauth_client_put(&self, c: &OAuthClientRecord) -> StoreResult<()> {
        query(
            "INSERT INTO oauth_clients (id, kind, org_id, name, redirect_uris, secret_hash, auth_method, \
             application_type, client_uri, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, redirect_uris = excluded.redirect_uris, \
             auth_method = excluded.auth_method, application_type = excluded.application_type, \
             client_uri = excluded.client_uri, expires_at = excluded.expires_at \
             WHERE oauth_clients.kind = excluded.kind",
        )
        .bind(&c.id)
        .bind(&c.kind)
        .bind(&c.org_id)
        .bind(&c.name)
        .bind(&c.redirect_uris)
        .bind(&c.secret_hash)
        .bind(&c.auth_method)
        .bind(&c.application_type)
        .bind(&c.client_uri)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oauth_client_get(&self, client_id: &str) -> StoreResult<Option<OAuthClientRecord>> {
        let row = query(&format!("{CLIENT_COLUMNS} WHERE id = $1"))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(OAuthClientRecord::from_row).transpose()?)
    }

    async fn oauth_client_list_for_org(&self, org_id: &str) -> StoreResult<Vec<OAuthClientRecord>> {
        let rows = query(&format!("{CLIENT_COLUMNS} WHERE org_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(OAuthClientRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn oauth_client_delete(&self, org_id: &str, client_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM oauth_clients WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn oauth_code_create(&self, c: &OAuthCodeRecord) -> StoreResult<()> {
        query(&format!(
            "INSERT INTO oauth_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.org_id)
        .bind(&c.server_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.scopes)
        .bind(&c.subject_kind)
        .bind(&c.user_id)
        .bind(&c.email)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.used_at)
        .bind(&c.grant_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oauth_code_take(&self, code_hash: &str, now: i64) -> StoreResult<CodeTake> {
        let taken = query(&format!(
            "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL RETURNING {CODE_COLUMNS}"
        ))
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = taken {
            return Ok(CodeTake::Taken(Box::new(OAuthCodeRecord::from_row(&row)?)));
        }
        let before = query("SELECT grant_id FROM oauth_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match before {
            Some(row) => CodeTake::Replayed(row.try_get("grant_id")?),
            None => CodeTake::Unknown,
        })
    }

    async fn oauth_grant_create(
        &self,
        g: &OAuthGrantRecord,
        tokens: &[OAuthTokenRecord],
        code_hash: &str,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query(&format!(
            "INSERT INTO oauth_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&g.id)
        .bind(&g.org_id)
        .bind(&g.server_id)
        .bind(&g.client_id)
        .bind(&g.client_name)
        .bind(&g.subject_kind)
        .bind(&g.user_id)
        .bind(&g.email)
        .bind(&g.scopes)
        .bind(g.created_at)
        .bind(g.last_used_at)
        .bind(g.revoked_at)
        .execute(&mut *tx)
        .await?;
        insert_tokens(&mut tx, tokens).await?;
        query("UPDATE oauth_codes SET grant_id = $2 WHERE code_hash = $1")
            .bind(code_hash)
            .bind(&g.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn oauth_grant_get(&self, grant_id: &str) -> StoreResult<Option<OAuthGrantRecord>> {
        let row = query(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE id = $1"))
            .bind(grant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(OAuthGrantRecord::from_row).transpose()?)
    }

    async fn oauth_token_find(
        &self,
        hash: &str,
    ) -> StoreResult<Option<(OAuthTokenRecord, OAuthGrantRecord)>> {
        let row = query("SELECT hash, grant_id, kind, created_at, expires_at, rotated_at FROM oauth_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let token = OAuthTokenRecord::from_row(&row)?;
        Ok(self.oauth_grant_get(&token.grant_id).await?.map(|g| (token, g)))
    }

    async fn oauth_refresh_rotate(
        &self,
        hash: &str,
        now: i64,
        successors: &[OAuthTokenRecord],
    ) -> StoreResult<RefreshTake> {
        let mut tx = self.pool.begin().await?;
        let rotated = query(
            "UPDATE oauth_tokens SET rotated_at = $2 WHERE hash = $1 AND kind = 'refresh' \
             AND rotated_at IS NULL AND expires_at > $2 RETURNING grant_id",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = rotated else {
            tx.rollback().await?;
            let reused = query("SELECT grant_id FROM oauth_tokens WHERE hash = $1 AND kind = 'refresh' AND rotated_at IS NOT NULL")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
            return Ok(match reused {
                Some(row) => RefreshTake::Reused(row.try_get("grant_id")?),
                None => RefreshTake::Invalid,
            });
        };
        let grant_id: String = row.try_get("grant_id")?;
        let grant = query(&format!(
            "UPDATE oauth_grants SET last_used_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING {GRANT_COLUMNS}"
        ))
        .bind(&grant_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant) = grant else {
            tx.rollback().await?;
            return Ok(RefreshTake::Invalid);
        };
        let grant = OAuthGrantRecord::from_row(&grant)?;
        let successors: Vec<OAuthTokenRecord> =
            successors.iter().map(|t| OAuthTokenRecord { grant_id: grant_id.clone(), ..t.clone() }).collect();
        insert_tokens(&mut tx, &successors).await?;
        tx.commit().await?;
        Ok(RefreshTake::Rotated(Box::new(grant)))
    }

    async fn oauth_grant_revoke(&self, grant_id: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = query("UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(grant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM oauth_tokens WHERE grant_id = $1").bind(grant_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn oauth_grant_revoke_for_member(
        &self,
        org_id: &str,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Vec<String>> {
        let rows = query(
            "SELECT id FROM oauth_grants WHERE org_id = $1 AND user_id = $2 AND subject_kind = 'member' AND revoked_at IS NULL",
        )
        .bind(org_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut revoked = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            if self.oauth_grant_revoke(&id, now).await? {
                revoked.push(id);
            }
        }
        Ok(revoked)
    }

    async fn oauth_grant_list_for_user(&self, user_id: &str) -> StoreResult<Vec<OAuthGrantRecord>> {
        let rows = query(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 AND revoked_at IS NULL \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(OAuthGrantRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn oauth_grant_list_for_server(&self, server_id: &str) -> StoreResult<Vec<OAuthGrantRecord>> {
        let rows = query(&format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE server_id = $1 AND revoked_at IS NULL \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(OAuthGrantRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn oauth_prune(&self, before: i64) -> StoreResult<u64> {
        // Rotated refresh tokens are kept until they expire: reuse is detected by them.
        let tokens =
            query("DELETE FROM oauth_tokens WHERE expires_at < $1").bind(before).execute(&self.pool).await?;
        let codes =
            query("DELETE FROM oauth_codes WHERE expires_at < $1").bind(before).execute(&self.pool).await?;
        // Anyone may register a client: one that never got a connection in a month goes, so
        // registrations cannot pile up. Clients with live connections stay (their refreshes
        // name them).
        let clients = query(
            "DELETE FROM oauth_clients WHERE kind IN ('dynamic', 'metadata') AND created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id AND g.revoked_at IS NULL)",
        )
        .bind(before - UNUSED_CLIENT_MS)
        .execute(&self.pool)
        .await?;
        Ok(tokens.rows_affected() + codes.rows_affected() + clients.rows_affected())
    }

    async fn client_access_get(&self, server_id: &str) -> StoreResult<Option<String>> {
        let row = query("SELECT sign_in FROM server_client_access WHERE server_id = $1")
            .bind(server_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("sign_in")).transpose()?)
    }

    async fn client_access_put(
        &self,
        org_id: &str,
        server_id: &str,
        sign_in: &str,
        now: i64,
    ) -> StoreResult<()> {
        query(
            "INSERT INTO server_client_access (server_id, org_id, sign_in, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (server_id) DO UPDATE SET sign_in = excluded.sign_in, updated_at = excluded.updated_at",
        )
        .bind(server_id)
        .bind(org_id)
        .bind(sign_in)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
