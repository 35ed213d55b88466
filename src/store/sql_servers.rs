//! [`ServerStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::{FromRow, Row, query};

use super::servers::{HttpToolRecord, ServerRecord, ServerStore};
use super::sql::{SqlStore, conflict_on};
use super::{StoreError, StoreResult};

const SERVER_COLUMNS: &str = "SELECT id, org_id, name, slug, description, status, created_at FROM servers";
pub(super) const TOOL_COLUMNS: &str = "SELECT id, server_id, org_id, name, description, method, endpoint_url, parameters, \
     auth_type, auth_header, auth_credential, auth_secret_id, timeout_ms, body, output_schema, import_id, operation, \
     approval_state, approved_definition, auth_oauth, created_at, updated_at FROM http_tools";

#[async_trait]
impl ServerStore for SqlStore {
    async fn server_create(&self, s: &ServerRecord) -> StoreResult<()> {
        query(
            "INSERT INTO servers (id, org_id, name, slug, description, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.org_id)
        .bind(&s.name)
        .bind(&s.slug)
        .bind(&s.description)
        .bind(&s.status)
        .bind(s.created_at)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("a server with this slug"))?;
        Ok(())
    }

    async fn server_list(&self, org_id: &str) -> StoreResult<Vec<ServerRecord>> {
        let rows = query(&format!("{SERVER_COLUMNS} WHERE org_id = $1 ORDER BY created_at, id"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(ServerRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn server_get(&self, org_id: &str, server_id: &str) -> StoreResult<Option<ServerRecord>> {
        let row = query(&format!("{SERVER_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(server_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ServerRecord::from_row).transpose()?)
    }

    async fn server_by_slug(&self, org_id: &str, slug: &str) -> StoreResult<Option<ServerRecord>> {
        let row = query(&format!("{SERVER_COLUMNS} WHERE org_id = $1 AND slug = $2"))
            .bind(org_id)
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(ServerRecord::from_row).transpose()?)
    }

    async fn server_update(&self, s: &ServerRecord) -> StoreResult<()> {
        let done = query(
            "UPDATE servers SET name = $3, slug = $4, description = $5, status = $6 WHERE org_id = $1 AND id = $2",
        )
        .bind(&s.org_id)
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.slug)
        .bind(&s.description)
        .bind(&s.status)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("a server with this slug"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("server"));
        }
        Ok(())
    }

    async fn server_delete(&self, org_id: &str, server_id: &str) -> StoreResult<()> {
        let done = query("DELETE FROM servers WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(server_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("server"));
        }
        Ok(())
    }

    async fn tool_create(&self, t: &HttpToolRecord) -> StoreResult<()> {
        insert_tool(t).execute(&self.pool).await.map_err(conflict_on("a tool with this name"))?;
        Ok(())
    }

    async fn tool_list(&self, org_id: &str, server_id: &str) -> StoreResult<Vec<HttpToolRecord>> {
        let rows = query(&format!("{TOOL_COLUMNS} WHERE org_id = $1 AND server_id = $2 ORDER BY name"))
            .bind(org_id)
            .bind(server_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(HttpToolRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn tool_page(
        &self,
        org_id: &str,
        server_id: &str,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<HttpToolRecord>, i64)> {
        // `%`, `_` and `\` in the search are matched as themselves.
        let pattern = search.map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let filter = "WHERE org_id = $1 AND server_id = $2 AND ($3 IS NULL OR LOWER(name) LIKE $3 ESCAPE '\\' \
                      OR LOWER(description) LIKE $3 ESCAPE '\\' OR LOWER(endpoint_url) LIKE $3 ESCAPE '\\')";
        let rows = query(&format!("{TOOL_COLUMNS} {filter} ORDER BY name LIMIT $4 OFFSET $5"))
            .bind(org_id)
            .bind(server_id)
            .bind(pattern.as_deref())
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = query(&format!("SELECT COUNT(*) AS n FROM http_tools {filter}"))
            .bind(org_id)
            .bind(server_id)
            .bind(pattern.as_deref())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((rows.iter().map(HttpToolRecord::from_row).collect::<Result<_, _>>()?, total))
    }

    async fn tool_get(
        &self,
        org_id: &str,
        server_id: &str,
        tool_id: &str,
    ) -> StoreResult<Option<HttpToolRecord>> {
        let row = query(&format!("{TOOL_COLUMNS} WHERE org_id = $1 AND server_id = $2 AND id = $3"))
            .bind(org_id)
            .bind(server_id)
            .bind(tool_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(HttpToolRecord::from_row).transpose()?)
    }

    async fn tool_update(&self, t: &HttpToolRecord) -> StoreResult<()> {
        let done = update_tool(t).execute(&self.pool).await.map_err(conflict_on("a tool with this name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("tool"));
        }
        Ok(())
    }

    async fn tool_delete(&self, org_id: &str, server_id: &str, tool_id: &str) -> StoreResult<bool> {
        let done = query("DELETE FROM http_tools WHERE org_id = $1 AND server_id = $2 AND id = $3")
            .bind(org_id)
            .bind(server_id)
            .bind(tool_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

type ToolQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A tool's id, server and org ($1–$3), then its definition ($4–$16): what an insert and an
/// update both write.
fn bind_tool<'q>(statement: &'q str, t: &'q HttpToolRecord) -> ToolQuery<'q> {
    query(statement)
        .bind(&t.id)
        .bind(&t.server_id)
        .bind(&t.org_id)
        .bind(&t.name)
        .bind(&t.description)
        .bind(&t.method)
        .bind(&t.endpoint_url)
        .bind(&t.parameters)
        .bind(&t.auth_type)
        .bind(&t.auth_header)
        .bind(&t.auth_credential)
        .bind(&t.auth_secret_id)
        .bind(t.timeout_ms)
        .bind(&t.body)
        .bind(&t.output_schema)
        .bind(&t.approval_state)
}

/// The insert of one tool, for a pool or a transaction.
pub(super) fn insert_tool(t: &HttpToolRecord) -> ToolQuery<'_> {
    bind_tool(
        "INSERT INTO http_tools (id, server_id, org_id, name, description, method, endpoint_url, parameters, \
         auth_type, auth_header, auth_credential, auth_secret_id, timeout_ms, body, output_schema, approval_state, \
         import_id, operation, created_at, updated_at, approved_definition, auth_oauth) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
        t,
    )
    .bind(&t.import_id)
    .bind(&t.operation)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(&t.approved_definition)
    .bind(&t.auth_oauth)
}

/// The update of one tool's definition, for a pool or a transaction.
pub(super) fn update_tool(t: &HttpToolRecord) -> ToolQuery<'_> {
    bind_tool(
        "UPDATE http_tools SET name = $4, description = $5, method = $6, endpoint_url = $7, parameters = $8, \
         auth_type = $9, auth_header = $10, auth_credential = $11, auth_secret_id = $12, timeout_ms = $13, \
         body = $14, output_schema = $15, approval_state = $16, updated_at = $17, approved_definition = $18, \
         auth_oauth = $19 \
         WHERE id = $1 AND server_id = $2 AND org_id = $3",
        t,
    )
    .bind(t.updated_at)
    .bind(&t.approved_definition)
    .bind(&t.auth_oauth)
}
