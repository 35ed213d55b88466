//! [`SecretStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::secrets::{SecretRecord, SecretStore, SecretUser};
use super::sql::{SqlStore, conflict_on};
use super::{StoreError, StoreResult};

const SECRET_COLUMNS: &str = "SELECT id, org_id, name, provider, value, masked, status, created_at, updated_at, \
     last_used_at, disabled_at FROM secrets";

#[async_trait]
impl SecretStore for SqlStore {
    async fn secret_create(&self, s: &SecretRecord) -> StoreResult<()> {
        query(
            "INSERT INTO secrets (id, org_id, name, provider, value, masked, status, created_at, updated_at, \
             last_used_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&s.id)
        .bind(&s.org_id)
        .bind(&s.name)
        .bind(&s.provider)
        .bind(&s.value)
        .bind(&s.masked)
        .bind(&s.status)
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.last_used_at)
        .bind(s.disabled_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("a secret with this name"))?;
        Ok(())
    }

    async fn secret_list(&self, org_id: &str) -> StoreResult<Vec<SecretRecord>> {
        let rows = query(&format!("{SECRET_COLUMNS} WHERE org_id = $1 ORDER BY name, id"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(SecretRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn secret_get(&self, org_id: &str, secret_id: &str) -> StoreResult<Option<SecretRecord>> {
        let row = query(&format!("{SECRET_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(secret_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(SecretRecord::from_row).transpose()?)
    }

    async fn secret_update(&self, s: &SecretRecord) -> StoreResult<()> {
        let done = query(
            "UPDATE secrets SET name = $3, provider = $4, value = $5, masked = $6, status = $7, updated_at = $8, \
             disabled_at = $9 WHERE org_id = $1 AND id = $2",
        )
        .bind(&s.org_id)
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.provider)
        .bind(&s.value)
        .bind(&s.masked)
        .bind(&s.status)
        .bind(s.updated_at)
        .bind(s.disabled_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("a secret with this name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("secret"));
        }
        Ok(())
    }

    async fn secret_touch(&self, uses: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (id, at) in uses {
            query("UPDATE secrets SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
                .bind(id)
                .bind(*at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn secret_users(&self, org_id: &str, secret_id: &str) -> StoreResult<Vec<SecretUser>> {
        let row_of = |kind: &'static str| {
            move |r: &AnyRow| -> Result<SecretUser, sqlx::Error> {
                Ok(SecretUser {
                    kind,
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    server_id: Some(r.try_get("server_id")?),
                    server_name: Some(r.try_get("server_name")?),
                })
            }
        };
        let tools = query(
            "SELECT t.id, t.name, t.server_id, s.name AS server_name FROM http_tools t \
             JOIN servers s ON s.id = t.server_id WHERE t.org_id = $1 AND t.auth_secret_id = $2 \
             ORDER BY s.name, t.name",
        )
        .bind(org_id)
        .bind(secret_id)
        .fetch_all(&self.pool)
        .await?;
        // Ids are `sec_<hex>`, so the quoted id matches only itself inside the JSON map.
        let plugins = query(
            "SELECT p.id, p.plugin_id AS name, p.server_id, s.name AS server_name FROM plugin_installations p \
             JOIN servers s ON s.id = p.server_id WHERE p.org_id = $1 AND p.secret_refs LIKE $2 \
             ORDER BY s.name, p.plugin_id",
        )
        .bind(org_id)
        .bind(format!("%\"{secret_id}\"%"))
        .fetch_all(&self.pool)
        .await?;
        let upstreams =
            query("SELECT id, name FROM upstreams WHERE org_id = $1 AND auth_secret_id = $2 ORDER BY name")
                .bind(org_id)
                .bind(secret_id)
                .fetch_all(&self.pool)
                .await?;
        let mut users: Vec<SecretUser> = tools.iter().map(row_of("http_tool")).collect::<Result<_, _>>()?;
        users.extend(plugins.iter().map(row_of("plugin")).collect::<Result<Vec<_>, _>>()?);
        for r in &upstreams {
            users.push(SecretUser {
                kind: "upstream",
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                server_id: None,
                server_name: None,
            });
        }
        Ok(users)
    }
}
