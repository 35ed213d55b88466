//! [`ImportStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::{FromRow, query};

use super::imports::{ImportRecord, ImportStore};
use super::servers::HttpToolRecord;
use super::sql::{SqlStore, conflict_on};
use super::sql_servers::{TOOL_COLUMNS, insert_tool, update_tool};
use super::{StoreError, StoreResult};

const IMPORT_COLUMNS: &str = "SELECT id, org_id, server_id, title, source_url, base_url, selection, credentials, \
     approval_policy, created_at, updated_at FROM openapi_imports";

#[async_trait]
impl ImportStore for SqlStore {
    async fn import_create(&self, i: &ImportRecord, tools: &[HttpToolRecord]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query(
            "INSERT INTO openapi_imports (id, org_id, server_id, title, source_url, base_url, selection, \
             credentials, approval_policy, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&i.id)
        .bind(&i.org_id)
        .bind(&i.server_id)
        .bind(&i.title)
        .bind(&i.source_url)
        .bind(&i.base_url)
        .bind(&i.selection)
        .bind(&i.credentials)
        .bind(&i.approval_policy)
        .bind(i.created_at)
        .bind(i.updated_at)
        .execute(&mut *tx)
        .await?;
        for tool in tools {
            insert_tool(tool).execute(&mut *tx).await.map_err(conflict_on("a tool with this name"))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn import_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<ImportRecord>> {
        let rows =
            query(&format!("{IMPORT_COLUMNS} WHERE org_id = $1 AND server_id = $2 ORDER BY created_at, id"))
                .bind(org_id)
                .bind(server_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(ImportRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn import_get(&self, org_id: &str, server_id: &str, id: &str) -> StoreResult<Option<ImportRecord>> {
        let row = query(&format!("{IMPORT_COLUMNS} WHERE org_id = $1 AND server_id = $2 AND id = $3"))
            .bind(org_id)
            .bind(server_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ImportRecord::from_row).transpose()?)
    }

    async fn import_tools(&self, org_id: &str, import_id: &str) -> StoreResult<Vec<HttpToolRecord>> {
        let rows = query(&format!("{TOOL_COLUMNS} WHERE org_id = $1 AND import_id = $2 ORDER BY name"))
            .bind(org_id)
            .bind(import_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(HttpToolRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn import_apply(
        &self,
        i: &ImportRecord,
        added: &[HttpToolRecord],
        changed: &[HttpToolRecord],
        removed: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for id in removed {
            query("DELETE FROM http_tools WHERE org_id = $1 AND import_id = $2 AND id = $3")
                .bind(&i.org_id)
                .bind(&i.id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for tool in changed {
            update_tool(tool).execute(&mut *tx).await.map_err(conflict_on("a tool with this name"))?;
        }
        for tool in added {
            insert_tool(tool).execute(&mut *tx).await.map_err(conflict_on("a tool with this name"))?;
        }
        query(
            "UPDATE openapi_imports SET title = $3, source_url = $4, base_url = $5, selection = $6, updated_at = $7 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(&i.org_id)
        .bind(&i.id)
        .bind(&i.title)
        .bind(&i.source_url)
        .bind(&i.base_url)
        .bind(&i.selection)
        .bind(i.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import_delete(&self, org_id: &str, server_id: &str, id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Its tools first: SQLite and PostgreSQL would cascade, but a reader must never see
        // tools of an import that is gone.
        query("DELETE FROM http_tools WHERE org_id = $1 AND server_id = $2 AND import_id = $3")
            .bind(org_id)
            .bind(server_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = query("DELETE FROM openapi_imports WHERE org_id = $1 AND server_id = $2 AND id = $3")
            .bind(org_id)
            .bind(server_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("import"));
        }
        tx.commit().await?;
        Ok(())
    }
}
