//! [`EndUserStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::end_user::{AuthConfigRecord, EndUserCodeRecord, EndUserStore, SigningKeyRecord};
use super::sql::SqlStore;

const KEY_COLUMNS: &str = "SELECT id, org_id, algorithm, public_n, public_e, private_key, created_at, retired_at, max_exp \
     FROM signing_keys";
const INSERT_KEY: &str = "INSERT INTO signing_keys \
     (id, org_id, algorithm, public_n, public_e, private_key, created_at, retired_at, max_exp) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0)";
const CODE_COLUMNS: &str = "SELECT id, server_id, key_id, email, code_hash, created_at, expires_at, attempts, consumed_at \
     FROM end_user_codes";

fn config_row(r: &AnyRow) -> Result<AuthConfigRecord, sqlx::Error> {
    let domains: String = r.try_get("allowed_email_domains")?;
    Ok(AuthConfigRecord {
        server_id: r.try_get("server_id")?,
        org_id: r.try_get("org_id")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        token_lifetime_secs: r.try_get("token_lifetime_secs")?,
        code_lifetime_secs: r.try_get("code_lifetime_secs")?,
        allowed_email_domains: domains.split_whitespace().map(str::to_string).collect(),
        email_sender_name: r.try_get("email_sender_name")?,
        email_subject: r.try_get("email_subject")?,
        app_check_enabled: r.try_get::<i64, _>("app_check_enabled")? != 0,
        app_check_project_number: r.try_get("app_check_project_number")?,
        app_check_app_ids: r
            .try_get::<String, _>("app_check_app_ids")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        updated_at: r.try_get("updated_at")?,
    })
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl EndUserStore for SqlStore {
    async fn signing_key_active(&self, org_id: &str) -> StoreResult<Option<SigningKeyRecord>> {
        let row = query(&format!("{KEY_COLUMNS} WHERE org_id = $1 AND retired_at IS NULL"))
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(SigningKeyRecord::from_row).transpose()?)
    }

    async fn signing_key_get(&self, key_id: &str) -> StoreResult<Option<SigningKeyRecord>> {
        let row =
            query(&format!("{KEY_COLUMNS} WHERE id = $1")).bind(key_id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(SigningKeyRecord::from_row).transpose()?)
    }

    async fn signing_key_list(&self, org_id: &str) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = query(&format!("{KEY_COLUMNS} WHERE org_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(SigningKeyRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn signing_key_create(&self, k: &SigningKeyRecord) -> StoreResult<bool> {
        let done = query(INSERT_KEY)
            .bind(&k.id)
            .bind(&k.org_id)
            .bind(&k.algorithm)
            .bind(&k.public_n)
            .bind(&k.public_e)
            .bind(&k.private_key)
            .bind(k.created_at)
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(err) if is_unique_violation(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    async fn signing_key_rotate(&self, k: &SigningKeyRecord, now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query("UPDATE signing_keys SET retired_at = $2 WHERE org_id = $1 AND retired_at IS NULL")
            .bind(&k.org_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query(INSERT_KEY)
            .bind(&k.id)
            .bind(&k.org_id)
            .bind(&k.algorithm)
            .bind(&k.public_n)
            .bind(&k.public_e)
            .bind(&k.private_key)
            .bind(k.created_at)
            .execute(&mut *tx)
            .await
            .map_err(super::sql::conflict_on("a concurrent rotation"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn signing_key_note_exp(&self, key_id: &str, exp: i64) -> StoreResult<()> {
        query("UPDATE signing_keys SET max_exp = $2 WHERE id = $1 AND max_exp < $2")
            .bind(key_id)
            .bind(exp)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn auth_config_get(&self, server_id: &str) -> StoreResult<Option<AuthConfigRecord>> {
        let row = query(
            "SELECT server_id, org_id, enabled, token_lifetime_secs, code_lifetime_secs, allowed_email_domains, \
             email_sender_name, email_subject, app_check_enabled, app_check_project_number, app_check_app_ids, \
             updated_at FROM server_auth_configs WHERE server_id = $1",
        )
        .bind(server_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(config_row).transpose()?)
    }

    async fn auth_config_put(&self, c: &AuthConfigRecord) -> StoreResult<()> {
        query(
            "INSERT INTO server_auth_configs (server_id, org_id, enabled, token_lifetime_secs, code_lifetime_secs, \
             allowed_email_domains, email_sender_name, email_subject, app_check_enabled, app_check_project_number, \
             app_check_app_ids, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (server_id) DO UPDATE SET enabled = excluded.enabled, \
             token_lifetime_secs = excluded.token_lifetime_secs, code_lifetime_secs = excluded.code_lifetime_secs, \
             allowed_email_domains = excluded.allowed_email_domains, email_sender_name = excluded.email_sender_name, \
             email_subject = excluded.email_subject, app_check_enabled = excluded.app_check_enabled, \
             app_check_project_number = excluded.app_check_project_number, \
             app_check_app_ids = excluded.app_check_app_ids, updated_at = excluded.updated_at",
        )
        .bind(&c.server_id)
        .bind(&c.org_id)
        .bind(i64::from(c.enabled))
        .bind(c.token_lifetime_secs)
        .bind(c.code_lifetime_secs)
        .bind(c.allowed_email_domains.join(" "))
        .bind(&c.email_sender_name)
        .bind(&c.email_subject)
        .bind(i64::from(c.app_check_enabled))
        .bind(&c.app_check_project_number)
        .bind(c.app_check_app_ids.join(" "))
        .bind(c.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_user_code_create(&self, c: &EndUserCodeRecord) -> StoreResult<()> {
        query(
            "INSERT INTO end_user_codes (id, server_id, key_id, email, code_hash, created_at, expires_at, attempts, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.server_id)
        .bind(&c.key_id)
        .bind(&c.email)
        .bind(&c.code_hash)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.attempts)
        .bind(c.consumed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_user_code_active(
        &self,
        server_id: &str,
        email: &str,
        now: i64,
    ) -> StoreResult<Option<EndUserCodeRecord>> {
        let row = query(&format!(
            "{CODE_COLUMNS} WHERE server_id = $1 AND email = $2 AND consumed_at IS NULL AND expires_at > $3 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(server_id)
        .bind(email)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(EndUserCodeRecord::from_row).transpose()?)
    }

    async fn end_user_code_fail(&self, code_id: &str) -> StoreResult<i64> {
        let row = query("UPDATE end_user_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
            .bind(code_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("attempts")?)
    }

    async fn end_user_code_consume(&self, code_id: &str, now: i64) -> StoreResult<bool> {
        let done = query("UPDATE end_user_codes SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
            .bind(code_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_user_code_count_for_email(
        &self,
        server_id: &str,
        email: &str,
        since: i64,
    ) -> StoreResult<i64> {
        let row = query(
            "SELECT COUNT(*) AS n FROM end_user_codes WHERE server_id = $1 AND email = $2 AND created_at >= $3",
        )
        .bind(server_id)
        .bind(email)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn end_user_code_count_for_key(&self, key_id: &str, since: i64) -> StoreResult<i64> {
        let row = query("SELECT COUNT(*) AS n FROM end_user_codes WHERE key_id = $1 AND created_at >= $2")
            .bind(key_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
