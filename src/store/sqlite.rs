//! SQLite: the embedded default. One file in the data directory, WAL journal, full sync, so
//! nothing acknowledged is lost when the process is killed.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::{StoreResult, sql::SqlStore};

/// SQLite's migrations, embedded in the binary.
pub static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    super::health::tolerate_newer(&mut migrator);
    migrator
});

/// Opens (creating if needed) the database file and applies migrations.
pub async fn open(url: &str) -> StoreResult<SqlStore> {
    sqlx::any::install_default_drivers();
    if let Some(dir) = file_path(url).and_then(|p| p.parent().map(Path::to_path_buf)) {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(&dir).map_err(sqlx::Error::Io)?;
        }
    }
    let url = with_create_mode(url);
    let pool = AnyPoolOptions::new()
        // SQLite allows one writer; a small pool keeps readers concurrent without lock storms.
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore::new(pool, "sqlite"))
}

fn file_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_gain_create_mode_and_paths() {
        assert_eq!(with_create_mode("sqlite://a/b.db"), "sqlite://a/b.db?mode=rwc");
        assert_eq!(with_create_mode("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert_eq!(file_path("sqlite://./d/g.db?x=1"), Some(Path::new("./d/g.db")));
        assert_eq!(file_path("sqlite::memory:"), None);
    }
}
