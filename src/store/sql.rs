//! The SQL implementation of [`Store`], shared by SQLite and PostgreSQL through sqlx's `Any`
//! driver. Statements use only the dialect both understand.

use async_trait::async_trait;
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::*;

/// A [`Store`] over a pool of either backend.
pub struct SqlStore {
    pub(super) pool: AnyPool,
    backend: &'static str,
    changes: tokio::sync::broadcast::Sender<String>,
    closed: tokio::sync::watch::Sender<bool>,
}

/// Channel of change events on PostgreSQL.
pub const CHANGES_CHANNEL: &str = "gatehouse_changes";

impl SqlStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool, backend: &'static str) -> Self {
        let (changes, _) = tokio::sync::broadcast::channel(4096);
        let (closed, _) = tokio::sync::watch::channel(false);
        Self { pool, backend, changes, closed }
    }

    /// Fires when the store is closed (background tasks stop on it).
    pub fn closed_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// The local end of the change feed (the PostgreSQL listener forwards into it).
    pub fn change_sender(&self) -> tokio::sync::broadcast::Sender<String> {
        self.changes.clone()
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] (shared by the resource files).
pub(super) fn conflict_on(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    conflict(what)
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
fn conflict(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(format!("{what} already exists"))
        }
        _ => StoreError::Database(err),
    }
}

fn user_row(r: &AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        instance_admin: r.try_get::<i64, _>("instance_admin")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

fn member_row(r: &AnyRow) -> Result<MemberRecord, sqlx::Error> {
    let role: String = r.try_get("role")?;
    Ok(MemberRecord {
        org_id: r.try_get("org_id")?,
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        role: Role::parse(&role).unwrap_or(Role::Member),
        created_at: r.try_get("created_at")?,
    })
}

fn token_row(r: &AnyRow) -> Result<TokenRecord, sqlx::Error> {
    let scopes: String = r.try_get("scopes")?;
    Ok(TokenRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        token_hash: r.try_get("token_hash")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

const MEMBER_COLUMNS: &str = "SELECT m.org_id, m.user_id, u.email, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id";
const TOKEN_COLUMNS: &str = "SELECT id, org_id, name, token_hash, scopes, created_by, created_at, expires_at, last_used_at, revoked_at FROM management_tokens";

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend
    }

    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn schema_current(&self) -> StoreResult<bool> {
        super::health::schema_current(&self.pool, self.backend).await
    }

    fn pool_reading(&self) -> crate::node_metrics::PoolReading {
        super::health::pool_reading(&self.pool)
    }

    async fn close(&self) {
        let _ = self.closed.send(true);
        self.pool.close().await;
    }

    async fn publish_change(&self, change: &str) -> StoreResult<()> {
        // This node applies it at once; on PostgreSQL every other node hears it by NOTIFY (this
        // one too, a moment later: invalidations are idempotent).
        let _ = self.changes.send(change.to_string());
        if self.backend == "postgres" {
            query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(change).execute(&self.pool).await?;
        }
        Ok(())
    }

    fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    async fn setting_get(&self, key: &str) -> StoreResult<Option<String>> {
        let row =
            query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn setting_insert_if_absent(&self, key: &str, value: &str) -> StoreResult<bool> {
        let done = query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn org_create(&self, org: &OrgRecord, admin: Option<&str>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query("INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&org.id)
            .bind(&org.slug)
            .bind(&org.name)
            .bind(org.created_at)
            .execute(&mut *tx)
            .await
            .map_err(conflict("an organization with this slug"))?;
        if let Some(user_id) = admin {
            query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&org.id)
                .bind(user_id)
                .bind(Role::Admin.as_str())
                .bind(org.created_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn org_find(&self, id_or_slug: &str) -> StoreResult<Option<OrgRecord>> {
        let row = query("SELECT id, slug, name, created_at FROM orgs WHERE id = $1 OR slug = $1")
            .bind(id_or_slug)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(OrgRecord::from_row).transpose()?)
    }

    async fn org_list_all(&self) -> StoreResult<Vec<OrgRecord>> {
        let rows = query("SELECT id, slug, name, created_at FROM orgs ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(OrgRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn org_list_for_user(&self, user_id: &str) -> StoreResult<Vec<OrgRecord>> {
        let rows = query(
            "SELECT o.id, o.slug, o.name, o.created_at FROM orgs o JOIN memberships m ON m.org_id = o.id \
             WHERE m.user_id = $1 ORDER BY o.created_at, o.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(OrgRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn org_update(&self, org: &OrgRecord) -> StoreResult<()> {
        let done = query("UPDATE orgs SET slug = $2, name = $3 WHERE id = $1")
            .bind(&org.id)
            .bind(&org.slug)
            .bind(&org.name)
            .execute(&self.pool)
            .await
            .map_err(conflict("an organization with this slug"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("organization"));
        }
        Ok(())
    }

    async fn org_delete(&self, org_id: &str) -> StoreResult<()> {
        let done = query("DELETE FROM orgs WHERE id = $1").bind(org_id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("organization"));
        }
        Ok(())
    }

    async fn user_create(&self, user: &UserRecord) -> StoreResult<()> {
        query("INSERT INTO users (id, email, instance_admin, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(i64::from(user.instance_admin))
            .bind(user.created_at)
            .execute(&self.pool)
            .await
            .map_err(conflict("a user with this e-mail"))?;
        Ok(())
    }

    async fn user_find_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row = query("SELECT id, email, instance_admin, created_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_row).transpose()?)
    }

    async fn user_get(&self, user_id: &str) -> StoreResult<Option<UserRecord>> {
        let row = query("SELECT id, email, instance_admin, created_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_row).transpose()?)
    }

    async fn member_upsert(&self, org_id: &str, user_id: &str, role: Role, now: i64) -> StoreResult<()> {
        query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn member_list(&self, org_id: &str) -> StoreResult<Vec<MemberRecord>> {
        let rows = query(&format!("{MEMBER_COLUMNS} WHERE m.org_id = $1 ORDER BY m.created_at, u.email"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(member_row).collect::<Result<_, _>>()?)
    }

    async fn member_get(&self, org_id: &str, user_id: &str) -> StoreResult<Option<MemberRecord>> {
        let row = query(&format!("{MEMBER_COLUMNS} WHERE m.org_id = $1 AND m.user_id = $2"))
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(member_row).transpose()?)
    }

    async fn member_remove(&self, org_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn session_create(&self, s: &SessionRecord) -> StoreResult<()> {
        query("INSERT INTO platform_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&s.token_hash)
            .bind(&s.user_id)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_find(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let row = query(
            "SELECT s.token_hash, s.created_at AS s_created_at, s.expires_at, \
             u.id, u.email, u.instance_admin, u.created_at \
             FROM platform_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let user = user_row(&r)?;
        let session = SessionRecord {
            token_hash: r.try_get("token_hash")?,
            user_id: user.id.clone(),
            created_at: r.try_get("s_created_at")?,
            expires_at: r.try_get("expires_at")?,
        };
        Ok(Some((session, user)))
    }

    async fn session_delete(&self, token_hash: &str) -> StoreResult<()> {
        query("DELETE FROM platform_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_delete_user(&self, user_id: &str) -> StoreResult<u64> {
        let done = query("DELETE FROM platform_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn login_code_create(&self, c: &LoginCodeRecord) -> StoreResult<()> {
        query(
            "INSERT INTO login_codes (id, email, code_hash, created_at, expires_at, attempts, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
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

    async fn login_code_active(&self, email: &str, now: i64) -> StoreResult<Option<LoginCodeRecord>> {
        let row = query(
            "SELECT id, email, code_hash, created_at, expires_at, attempts, consumed_at FROM login_codes \
             WHERE email = $1 AND consumed_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(email)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(LoginCodeRecord::from_row).transpose()?)
    }

    async fn login_code_fail(&self, code_id: &str) -> StoreResult<i64> {
        let row = query("UPDATE login_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
            .bind(code_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("attempts")?)
    }

    async fn login_code_consume(&self, code_id: &str, now: i64) -> StoreResult<bool> {
        let done = query("UPDATE login_codes SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
            .bind(code_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn login_code_count_since(&self, email: &str, since: i64) -> StoreResult<i64> {
        let row = query("SELECT COUNT(*) AS n FROM login_codes WHERE email = $1 AND created_at >= $2")
            .bind(email)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn token_create(&self, t: &TokenRecord) -> StoreResult<()> {
        query(
            "INSERT INTO management_tokens (id, org_id, name, token_hash, scopes, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id)
        .bind(&t.org_id)
        .bind(&t.name)
        .bind(&t.token_hash)
        .bind(t.scopes.join(" "))
        .bind(&t.created_by)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_list(&self, org_id: &str) -> StoreResult<Vec<TokenRecord>> {
        let rows = query(&format!("{TOKEN_COLUMNS} WHERE org_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(token_row).collect::<Result<_, _>>()?)
    }

    async fn token_find_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let row = query(&format!("{TOKEN_COLUMNS} WHERE token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(token_row).transpose()?)
    }

    async fn token_get(&self, org_id: &str, token_id: &str) -> StoreResult<Option<TokenRecord>> {
        let row = query(&format!("{TOKEN_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(token_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(token_row).transpose()?)
    }

    async fn token_revoke(&self, org_id: &str, token_id: &str, now: i64) -> StoreResult<bool> {
        let done = query(
            "UPDATE management_tokens SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(org_id)
        .bind(token_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn token_touch(&self, token_id: &str, now: i64) -> StoreResult<()> {
        query("UPDATE management_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn audit_insert(&self, e: &AuditRecord) -> StoreResult<()> {
        query(
            "INSERT INTO audit_events (id, org_id, actor_type, actor_id, action, target, outcome, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.id)
        .bind(&e.org_id)
        .bind(&e.actor_type)
        .bind(&e.actor_id)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.outcome)
        .bind(e.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_list(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        let rows = query(
            "SELECT id, org_id, actor_type, actor_id, action, target, outcome, created_at FROM audit_events \
             WHERE org_id = $1 AND ($2 IS NULL OR id < $2) \
             AND ($4 IS NULL OR actor_id = $4 OR actor_type = $4) AND ($5 IS NULL OR action = $5) \
             AND ($6 IS NULL OR outcome = $6 OR ($6 = 'failure' AND outcome <> 'success')) \
             AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(org_id)
        .bind(filter.before.as_deref())
        .bind(limit)
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.outcome.as_deref())
        .bind(filter.since)
        .bind(filter.until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(AuditRecord::from_row).collect::<Result<_, _>>()?)
    }
}
