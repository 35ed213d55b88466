//! PostgreSQL: for several Gatehouse nodes sharing one database.

use std::sync::LazyLock;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::StoreResult;
use super::sql::{CHANGES_CHANNEL, SqlStore};

/// PostgreSQL's migrations, embedded in the binary.
pub static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    super::health::tolerate_newer(&mut migrator);
    migrator
});

/// Connects and applies migrations (concurrent nodes serialise on sqlx's advisory lock).
pub async fn open(url: &str, pool_max: u32) -> StoreResult<SqlStore> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(pool_max)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?;
    MIGRATOR.run(&pool).await?;
    let store = SqlStore::new(pool, "postgres");
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    tokio::spawn(forward_changes(listener, store.change_sender(), store.closed_signal()));
    Ok(store)
}

/// Forwards NOTIFY payloads into the local change feed until the store closes. When the
/// connection drops, sqlx reconnects and re-listens; events sent meanwhile are lost, so caches
/// are told to drop everything (`*`).
async fn forward_changes(
    mut listener: sqlx::postgres::PgListener,
    tx: tokio::sync::broadcast::Sender<String>,
    mut closed: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = closed.changed() => break,
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => {
                    let _ = tx.send(notification.payload().to_string());
                }
                Ok(None) => {
                    tracing::warn!("change feed connection lost; reconnecting and flushing caches");
                    let _ = tx.send("*".to_string());
                }
                Err(err) => {
                    tracing::warn!(error = %err, "change feed error; retrying in 1 s");
                    let _ = tx.send("*".to_string());
                    tokio::select! {
                        _ = closed.changed() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
}
