//! [`SealedStore`] for [`SqlStore`]. Table and column names come from the static
//! [`SEALED_COLUMNS`](super::sealed::SEALED_COLUMNS) list, never from input.

use async_trait::async_trait;
use sqlx::{Row, query};

use super::sealed::{Reseal, SealedColumn, SealedStore};
use super::sql::SqlStore;
use super::{StoreError, StoreResult};

fn select(c: &SealedColumn) -> String {
    let only = c.only.map(|o| format!(" AND {o}")).unwrap_or_default();
    format!(
        "SELECT {id} AS row_id, {col} AS sealed FROM {table} WHERE {col} IS NOT NULL{only} ORDER BY {id}",
        id = c.id_column,
        col = c.column,
        table = c.table
    )
}

#[async_trait]
impl SealedStore for SqlStore {
    async fn sealed_sample(&self, c: &SealedColumn, limit: i64) -> StoreResult<Vec<(String, String)>> {
        let rows = query(&format!("{} LIMIT $1", select(c))).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("row_id")?, r.try_get("sealed")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn sealed_reseal_all(&self, columns: &[SealedColumn], reseal: &Reseal<'_>) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        let mut count = 0;
        for c in columns {
            let rows = query(&select(c)).fetch_all(&mut *tx).await?;
            let update = format!("UPDATE {} SET {} = $1 WHERE {} = $2", c.table, c.column, c.id_column);
            for r in &rows {
                let id: String = r.try_get("row_id")?;
                let sealed: String = r.try_get("sealed")?;
                let fresh = reseal(c, &id, &sealed)
                    .map_err(|why| StoreError::Invalid(format!("{}.{} of {id}: {why}", c.table, c.column)))?;
                query(&update).bind(fresh).bind(&id).execute(&mut *tx).await?;
                count += 1;
            }
        }
        tx.commit().await?;
        Ok(count)
    }
}
