//! [`UpstreamStore`] for [`SqlStore`].

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row, query};

use super::sql::{SqlStore, conflict_on};
use super::upstreams::{
    AttachmentRecord, Catalogue, UpstreamItemRecord, UpstreamRecord, UpstreamStore, UpstreamToolRecord,
};
use super::{StoreError, StoreResult};

const UPSTREAM_COLUMNS: &str = "SELECT id, org_id, name, description, transport, url, command, args, \
     env_sealed, headers_sealed, auth_type, auth_header, auth_credential, auth_secret_id, approval_policy, \
     is_enabled, status, last_error, protocol_version, server_info, template_id, timeout_ms, created_at, updated_at, \
     refreshed_at, created_by, credential_mode FROM upstreams";
const TOOL_COLUMNS: &str = "SELECT upstream_id, name, definition, definition_hash, approved_hash, \
     approved_definition, approval_state, enabled, position, updated_at FROM upstream_tools";
const ATTACHMENT_COLUMNS: &str =
    "SELECT server_id, upstream_id, org_id, tools, prefix, created_at FROM server_upstreams";

fn upstream_row(r: &AnyRow) -> Result<UpstreamRecord, sqlx::Error> {
    Ok(UpstreamRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        transport: r.try_get("transport")?,
        url: r.try_get("url")?,
        command: r.try_get("command")?,
        args: r.try_get("args")?,
        env_sealed: r.try_get("env_sealed")?,
        headers_sealed: r.try_get("headers_sealed")?,
        auth_type: r.try_get("auth_type")?,
        auth_header: r.try_get("auth_header")?,
        auth_credential: r.try_get("auth_credential")?,
        auth_secret_id: r.try_get("auth_secret_id")?,
        approval_policy: r.try_get("approval_policy")?,
        is_enabled: r.try_get::<i64, _>("is_enabled")? != 0,
        status: r.try_get("status")?,
        last_error: r.try_get("last_error")?,
        protocol_version: r.try_get("protocol_version")?,
        server_info: r.try_get("server_info")?,
        template_id: r.try_get("template_id")?,
        timeout_ms: r.try_get("timeout_ms")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        refreshed_at: r.try_get("refreshed_at")?,
        created_by: r.try_get("created_by")?,
        credential_mode: r.try_get("credential_mode")?,
    })
}

fn tool_row(r: &AnyRow) -> Result<UpstreamToolRecord, sqlx::Error> {
    Ok(UpstreamToolRecord {
        upstream_id: r.try_get("upstream_id")?,
        name: r.try_get("name")?,
        definition: r.try_get("definition")?,
        definition_hash: r.try_get("definition_hash")?,
        approved_hash: r.try_get("approved_hash")?,
        approved_definition: r.try_get("approved_definition")?,
        approval_state: r.try_get("approval_state")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        position: r.try_get("position")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl UpstreamStore for SqlStore {
    async fn upstream_create(&self, u: &UpstreamRecord) -> StoreResult<()> {
        query(
            "INSERT INTO upstreams (id, org_id, name, description, transport, url, command, args, env_sealed, \
             headers_sealed, auth_type, auth_header, auth_credential, approval_policy, is_enabled, status, \
             last_error, protocol_version, server_info, template_id, timeout_ms, created_at, updated_at, \
             refreshed_at, auth_secret_id, created_by, credential_mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
        )
        .bind(&u.id)
        .bind(&u.org_id)
        .bind(&u.name)
        .bind(&u.description)
        .bind(&u.transport)
        .bind(&u.url)
        .bind(&u.command)
        .bind(&u.args)
        .bind(&u.env_sealed)
        .bind(&u.headers_sealed)
        .bind(&u.auth_type)
        .bind(&u.auth_header)
        .bind(&u.auth_credential)
        .bind(&u.approval_policy)
        .bind(i64::from(u.is_enabled))
        .bind(&u.status)
        .bind(&u.last_error)
        .bind(&u.protocol_version)
        .bind(&u.server_info)
        .bind(&u.template_id)
        .bind(u.timeout_ms)
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.refreshed_at)
        .bind(&u.auth_secret_id)
        .bind(&u.created_by)
        .bind(&u.credential_mode)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("an upstream with this name"))?;
        Ok(())
    }

    async fn upstream_list(&self, org_id: &str) -> StoreResult<Vec<UpstreamRecord>> {
        let rows = query(&format!("{UPSTREAM_COLUMNS} WHERE org_id = $1 ORDER BY created_at, id"))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(upstream_row).collect::<Result<_, _>>()?)
    }

    async fn upstream_get(&self, org_id: &str, upstream_id: &str) -> StoreResult<Option<UpstreamRecord>> {
        let row = query(&format!("{UPSTREAM_COLUMNS} WHERE org_id = $1 AND id = $2"))
            .bind(org_id)
            .bind(upstream_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(upstream_row).transpose()?)
    }

    async fn upstream_list_enabled(&self) -> StoreResult<Vec<UpstreamRecord>> {
        let rows = query(&format!("{UPSTREAM_COLUMNS} WHERE is_enabled = 1 ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(upstream_row).collect::<Result<_, _>>()?)
    }

    async fn upstream_update(&self, u: &UpstreamRecord) -> StoreResult<()> {
        let done = query(
            "UPDATE upstreams SET name = $3, description = $4, transport = $5, url = $6, command = $7, \
             args = $8, env_sealed = $9, headers_sealed = $10, request_headers = '{}', auth_type = $11, auth_header = $12, \
             auth_credential = $13, approval_policy = $14, is_enabled = $15, status = $16, timeout_ms = $17, \
             updated_at = $18, auth_secret_id = $19, credential_mode = $20 WHERE org_id = $1 AND id = $2",
        )
        .bind(&u.org_id)
        .bind(&u.id)
        .bind(&u.name)
        .bind(&u.description)
        .bind(&u.transport)
        .bind(&u.url)
        .bind(&u.command)
        .bind(&u.args)
        .bind(&u.env_sealed)
        .bind(&u.headers_sealed)
        .bind(&u.auth_type)
        .bind(&u.auth_header)
        .bind(&u.auth_credential)
        .bind(&u.approval_policy)
        .bind(i64::from(u.is_enabled))
        .bind(&u.status)
        .bind(u.timeout_ms)
        .bind(u.updated_at)
        .bind(&u.auth_secret_id)
        .bind(&u.credential_mode)
        .execute(&self.pool)
        .await
        .map_err(conflict_on("an upstream with this name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("upstream"));
        }
        Ok(())
    }

    async fn upstream_set_status(
        &self,
        upstream_id: &str,
        status: &str,
        last_error: Option<&str>,
        connected: Option<(&str, &str)>,
        now: i64,
    ) -> StoreResult<()> {
        match connected {
            Some((version, server_info)) => {
                query(
                    "UPDATE upstreams SET status = $2, last_error = $3, protocol_version = $4, \
                     server_info = $5, refreshed_at = $6 WHERE id = $1",
                )
                .bind(upstream_id)
                .bind(status)
                .bind(last_error)
                .bind(version)
                .bind(server_info)
                .bind(now)
                .execute(&self.pool)
                .await?;
            }
            None => {
                query("UPDATE upstreams SET status = $2, last_error = $3 WHERE id = $1")
                    .bind(upstream_id)
                    .bind(status)
                    .bind(last_error)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn upstream_plain_headers(&self) -> StoreResult<Vec<(String, String)>> {
        let rows =
            query("SELECT id, request_headers FROM upstreams WHERE request_headers <> '{}' ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("request_headers")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn upstream_seal_plain_headers(&self, upstream_id: &str, sealed: Option<&str>) -> StoreResult<()> {
        query("UPDATE upstreams SET headers_sealed = $2, request_headers = '{}' WHERE id = $1")
            .bind(upstream_id)
            .bind(sealed)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn upstream_delete(&self, org_id: &str, upstream_id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for table in ["upstream_tools", "upstream_items"] {
            query(&format!(
                "DELETE FROM {table} WHERE upstream_id IN (SELECT id FROM upstreams WHERE org_id = $1 AND id = $2)"
            ))
            .bind(org_id)
            .bind(upstream_id)
            .execute(&mut *tx)
            .await?;
        }
        query("DELETE FROM server_upstreams WHERE org_id = $1 AND upstream_id = $2")
            .bind(org_id)
            .bind(upstream_id)
            .execute(&mut *tx)
            .await?;
        let done = query("DELETE FROM upstreams WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(upstream_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("upstream"));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn catalogue_replace(&self, upstream_id: &str, catalogue: &Catalogue, now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query("DELETE FROM upstream_tools WHERE upstream_id = $1")
            .bind(upstream_id)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM upstream_items WHERE upstream_id = $1")
            .bind(upstream_id)
            .execute(&mut *tx)
            .await?;
        for t in &catalogue.tools {
            query(
                "INSERT INTO upstream_tools (upstream_id, name, definition, definition_hash, approved_hash, \
                 approval_state, enabled, position, updated_at, approved_definition) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(upstream_id)
            .bind(&t.name)
            .bind(&t.definition)
            .bind(&t.definition_hash)
            .bind(&t.approved_hash)
            .bind(&t.approval_state)
            .bind(i64::from(t.enabled))
            .bind(t.position)
            .bind(t.updated_at)
            .bind(&t.approved_definition)
            .execute(&mut *tx)
            .await?;
        }
        for i in &catalogue.items {
            query(
                "INSERT INTO upstream_items (upstream_id, kind, item_key, definition, position) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(upstream_id)
            .bind(&i.kind)
            .bind(&i.key)
            .bind(&i.definition)
            .bind(i.position)
            .execute(&mut *tx)
            .await?;
        }
        query("UPDATE upstreams SET refreshed_at = $2 WHERE id = $1")
            .bind(upstream_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upstream_tools(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamToolRecord>> {
        let rows = query(&format!("{TOOL_COLUMNS} WHERE upstream_id = $1 ORDER BY position, name"))
            .bind(upstream_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(tool_row).collect::<Result<_, _>>()?)
    }

    async fn upstream_items(&self, upstream_id: &str) -> StoreResult<Vec<UpstreamItemRecord>> {
        let rows = query(
            "SELECT upstream_id, kind, item_key, definition, position FROM upstream_items \
             WHERE upstream_id = $1 ORDER BY kind, position",
        )
        .bind(upstream_id)
        .fetch_all(&self.pool)
        .await?;
        let item = |r: &AnyRow| -> Result<UpstreamItemRecord, sqlx::Error> {
            Ok(UpstreamItemRecord {
                upstream_id: r.try_get("upstream_id")?,
                kind: r.try_get("kind")?,
                key: r.try_get("item_key")?,
                definition: r.try_get("definition")?,
                position: r.try_get("position")?,
            })
        };
        Ok(rows.iter().map(item).collect::<Result<_, _>>()?)
    }

    async fn upstream_tool_update(&self, t: &UpstreamToolRecord) -> StoreResult<()> {
        let done = query(
            "UPDATE upstream_tools SET approved_hash = $3, approval_state = $4, enabled = $5, updated_at = $6, \
             approved_definition = $7 WHERE upstream_id = $1 AND name = $2",
        )
        .bind(&t.upstream_id)
        .bind(&t.name)
        .bind(&t.approved_hash)
        .bind(&t.approval_state)
        .bind(i64::from(t.enabled))
        .bind(t.updated_at)
        .bind(&t.approved_definition)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("tool"));
        }
        Ok(())
    }

    async fn attachment_put(&self, a: &AttachmentRecord) -> StoreResult<()> {
        query(
            "INSERT INTO server_upstreams (server_id, upstream_id, org_id, tools, prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (server_id, upstream_id) DO UPDATE SET tools = $4, prefix = $5",
        )
        .bind(&a.server_id)
        .bind(&a.upstream_id)
        .bind(&a.org_id)
        .bind(&a.tools)
        .bind(&a.prefix)
        .bind(a.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn attachment_delete(&self, org_id: &str, server_id: &str, upstream_id: &str) -> StoreResult<bool> {
        let done =
            query("DELETE FROM server_upstreams WHERE org_id = $1 AND server_id = $2 AND upstream_id = $3")
                .bind(org_id)
                .bind(server_id)
                .bind(upstream_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn attachments_of_server(
        &self,
        org_id: &str,
        server_id: &str,
    ) -> StoreResult<Vec<AttachmentRecord>> {
        let rows = query(&format!(
            "{ATTACHMENT_COLUMNS} WHERE org_id = $1 AND server_id = $2 ORDER BY created_at, upstream_id"
        ))
        .bind(org_id)
        .bind(server_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(AttachmentRecord::from_row).collect::<Result<_, _>>()?)
    }

    async fn attachments_of_upstream(
        &self,
        org_id: &str,
        upstream_id: &str,
    ) -> StoreResult<Vec<AttachmentRecord>> {
        let rows = query(&format!(
            "{ATTACHMENT_COLUMNS} WHERE org_id = $1 AND upstream_id = $2 ORDER BY created_at, server_id"
        ))
        .bind(org_id)
        .bind(upstream_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(AttachmentRecord::from_row).collect::<Result<_, _>>()?)
    }
}
