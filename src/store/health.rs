//! What a store says of its own health: whether the database holds every migration this
//! binary has, and how its connection pool is doing.

use sqlx::{AnyPool, Row, query};

use super::StoreResult;

/// True when the migrations applied to the database on `pool` reach this binary's latest for
/// `backend` (`postgres` or `sqlite`); an older backup restored under a running node does not.
/// A node starts on a schema a newer release moved forward (migrations it does not know applied):
/// migrations only add to the schema or relax it, so during a rolling upgrade, or a step back, a
/// node of the previous release keeps working beside the new ones (docs/OPERATIONS.md,
/// "Upgrades"). Without this, sqlx refuses to start on a migration missing from the binary.
pub(super) fn tolerate_newer(migrator: &mut sqlx::migrate::Migrator) {
    migrator.set_ignore_missing(true);
}

pub(super) async fn schema_current(pool: &AnyPool, backend: &str) -> StoreResult<bool> {
    let migrator = match backend {
        "postgres" => &super::postgres::MIGRATOR,
        _ => &super::sqlite::MIGRATOR,
    };
    let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        query("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?.try_get(0)?;
    Ok(applied.unwrap_or(0) >= latest)
}

/// The pool's connections now.
pub(super) fn pool_reading(pool: &AnyPool) -> crate::node_metrics::PoolReading {
    crate::node_metrics::PoolReading {
        open: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}
