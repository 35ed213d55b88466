//! [`IntegrationStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Row, query};

use super::StoreResult;
use super::integrations::{EntitlementRecord, IntegrationRecord, IntegrationStore};
use super::sql::SqlStore;

const COLUMNS: &str = "SELECT id, server_id, org_id, kind, enabled, settings, api_key, api_key_hint, updated_at \
     FROM server_integrations";

fn integration_row(r: &AnyRow) -> Result<IntegrationRecord, sqlx::Error> {
    Ok(IntegrationRecord {
        id: r.try_get("id")?,
        server_id: r.try_get("server_id")?,
        org_id: r.try_get("org_id")?,
        kind: r.try_get("kind")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        settings: r.try_get("settings")?,
        api_key: r.try_get("api_key")?,
        api_key_hint: r.try_get("api_key_hint")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn entitlement_row(r: &AnyRow) -> Result<EntitlementRecord, sqlx::Error> {
    let list: String = r.try_get("entitlements")?;
    Ok(EntitlementRecord {
        server_id: r.try_get("server_id")?,
        app_user_id: r.try_get("app_user_id")?,
        category: r.try_get("category")?,
        entitlements: serde_json::from_str(&list).unwrap_or_default(),
        refreshed_at: r.try_get("refreshed_at")?,
    })
}

#[async_trait]
impl IntegrationStore for SqlStore {
    async fn integration_get(&self, server_id: &str, kind: &str) -> StoreResult<Option<IntegrationRecord>> {
        let row = query(&format!("{COLUMNS} WHERE server_id = $1 AND kind = $2"))
            .bind(server_id)
            .bind(kind)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(integration_row).transpose()?)
    }

    async fn integration_list(&self, server_id: &str) -> StoreResult<Vec<IntegrationRecord>> {
        let rows = query(&format!("{COLUMNS} WHERE server_id = $1 ORDER BY kind"))
            .bind(server_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(integration_row).collect::<Result<_, _>>()?)
    }

    async fn integration_put(&self, r: &IntegrationRecord) -> StoreResult<()> {
        query(
            "INSERT INTO server_integrations (id, server_id, org_id, kind, enabled, settings, api_key, api_key_hint, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (server_id, kind) DO UPDATE SET enabled = excluded.enabled, settings = excluded.settings, \
             api_key = excluded.api_key, api_key_hint = excluded.api_key_hint, updated_at = excluded.updated_at",
        )
        .bind(&r.id)
        .bind(&r.server_id)
        .bind(&r.org_id)
        .bind(&r.kind)
        .bind(i64::from(r.enabled))
        .bind(&r.settings)
        .bind(&r.api_key)
        .bind(&r.api_key_hint)
        .bind(r.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn entitlement_get(
        &self,
        server_id: &str,
        app_user_id: &str,
    ) -> StoreResult<Option<EntitlementRecord>> {
        let row = query(
            "SELECT server_id, app_user_id, category, entitlements, refreshed_at FROM end_user_entitlements \
             WHERE server_id = $1 AND app_user_id = $2",
        )
        .bind(server_id)
        .bind(app_user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(entitlement_row).transpose()?)
    }

    async fn entitlement_put(&self, r: &EntitlementRecord) -> StoreResult<()> {
        query(
            "INSERT INTO end_user_entitlements (server_id, app_user_id, category, entitlements, refreshed_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (server_id, app_user_id) DO UPDATE SET category = excluded.category, \
             entitlements = excluded.entitlements, refreshed_at = excluded.refreshed_at",
        )
        .bind(&r.server_id)
        .bind(&r.app_user_id)
        .bind(&r.category)
        .bind(serde_json::to_string(&r.entitlements).unwrap_or_else(|_| "[]".into()))
        .bind(r.refreshed_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
