//! PostgreSQL: for several Gatehouse nodes sharing one database.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::{StoreResult, sql::SqlStore};

/// PostgreSQL's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects and applies migrations (concurrent nodes serialise on sqlx's advisory lock).
pub async fn open(url: &str) -> StoreResult<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore::new(pool, "postgres"))
}
