//! [`PluginStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::StoreResult;
use super::plugins::{PluginInstallRecord, PluginInvocationRecord, PluginStore};
use super::sql::SqlStore;

const INSTALL_COLUMNS: &str = "SELECT id, server_id, org_id, plugin_id, enabled, config, secrets, secret_fields, \
     secret_refs, created_at, updated_at FROM plugin_installations";

fn refs_text(refs: &std::collections::BTreeMap<String, String>) -> Option<String> {
    (!refs.is_empty()).then(|| serde_json::to_string(refs).expect("a string map serialises"))
}

fn install_row(r: &AnyRow) -> Result<PluginInstallRecord, sqlx::Error> {
    let fields: String = r.try_get("secret_fields")?;
    let refs: Option<String> = r.try_get("secret_refs")?;
    Ok(PluginInstallRecord {
        secret_refs: refs.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default(),
        id: r.try_get("id")?,
        server_id: r.try_get("server_id")?,
        org_id: r.try_get("org_id")?,
        plugin_id: r.try_get("plugin_id")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        config: r.try_get("config")?,
        secrets: r.try_get("secrets")?,
        secret_fields: fields.split_whitespace().map(str::to_string).collect(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl PluginStore for SqlStore {
    async fn plugin_install_get(
        &self,
        server_id: &str,
        plugin_id: &str,
    ) -> StoreResult<Option<PluginInstallRecord>> {
        let row = query(&format!("{INSTALL_COLUMNS} WHERE server_id = $1 AND plugin_id = $2"))
            .bind(server_id)
            .bind(plugin_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(install_row).transpose()?)
    }

    async fn plugin_install_list(&self, server_id: &str) -> StoreResult<Vec<PluginInstallRecord>> {
        let rows = query(&format!("{INSTALL_COLUMNS} WHERE server_id = $1 ORDER BY plugin_id"))
            .bind(server_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(install_row).collect::<Result<_, _>>()?)
    }

    async fn plugin_install_create(&self, p: &PluginInstallRecord) -> StoreResult<()> {
        query(
            "INSERT INTO plugin_installations (id, server_id, org_id, plugin_id, enabled, config, secrets, \
             secret_fields, secret_refs, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.id)
        .bind(&p.server_id)
        .bind(&p.org_id)
        .bind(&p.plugin_id)
        .bind(i64::from(p.enabled))
        .bind(&p.config)
        .bind(&p.secrets)
        .bind(p.secret_fields.join(" "))
        .bind(refs_text(&p.secret_refs))
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.pool)
        .await
        .map_err(super::sql::conflict_on("an installation of this plugin"))?;
        Ok(())
    }

    async fn plugin_install_update(&self, p: &PluginInstallRecord) -> StoreResult<()> {
        let done = query(
            "UPDATE plugin_installations SET enabled = $2, config = $3, secrets = $4, secret_fields = $5, \
             secret_refs = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(&p.id)
        .bind(i64::from(p.enabled))
        .bind(&p.config)
        .bind(&p.secrets)
        .bind(p.secret_fields.join(" "))
        .bind(refs_text(&p.secret_refs))
        .bind(p.updated_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(super::StoreError::NotFound("plugin installation"));
        }
        Ok(())
    }

    async fn plugin_install_set_enabled(
        &self,
        server_id: &str,
        plugin_id: &str,
        enabled: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let done = query(
            "UPDATE plugin_installations SET enabled = $3, updated_at = $4 WHERE server_id = $1 AND plugin_id = $2",
        )
        .bind(server_id)
        .bind(plugin_id)
        .bind(i64::from(enabled))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn plugin_install_delete(&self, server_id: &str, plugin_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM plugin_installations WHERE server_id = $1 AND plugin_id = $2")
            .bind(server_id)
            .bind(plugin_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn plugin_invocation_insert(&self, i: &PluginInvocationRecord) -> StoreResult<()> {
        query(
            "INSERT INTO plugin_invocations (id, server_id, org_id, plugin_id, key_id, outcome, status, duration_ms, \
             error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&i.id)
        .bind(&i.server_id)
        .bind(&i.org_id)
        .bind(&i.plugin_id)
        .bind(&i.key_id)
        .bind(&i.outcome)
        .bind(i.status)
        .bind(i.duration_ms)
        .bind(&i.error)
        .bind(i.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn plugin_invocation_list(
        &self,
        server_id: &str,
        plugin_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<PluginInvocationRecord>> {
        let rows = query(
            "SELECT id, server_id, org_id, plugin_id, key_id, outcome, status, duration_ms, error, created_at \
             FROM plugin_invocations WHERE server_id = $1 AND plugin_id = $2 AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(server_id)
        .bind(plugin_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(PluginInvocationRecord::from_row).collect::<Result<_, _>>()?)
    }
}
