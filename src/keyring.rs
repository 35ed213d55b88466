//! The master key against the database.
//!
//! * **Key check.** On first start a known value sealed with the master key is stored
//!   ([`KEY_CHECK_SETTING`]); every start opens it, so a wrong key is a clear error at once
//!   instead of unreadable credentials later. A database from before the check is tested
//!   against what it already holds before the check is written.
//! * **Rotation** (`gatehouse secrets rotate-master-key`): every value of every column in
//!   [`SEALED_COLUMNS`] is opened with the old key and sealed with the new one, in one
//!   transaction, and the key file is replaced (the old one kept as `master.key.bak`). Nodes
//!   running with `GATEHOUSE_PREVIOUS_MASTER_KEY` meanwhile open both (see `crypto.rs`).

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::crypto::{MASTER_KEY_FILE, MasterKey};
use crate::store::sealed::{KEY_CHECK_SETTING, SealedColumn};
use crate::store::{self, SEALED_COLUMNS, Store};

/// What the key check seals.
const CHECK_PLAINTEXT: &[u8] = b"gatehouse master key check v1";
/// Sealing purpose of the key check.
const CHECK_PURPOSE: &str = "key-check";

/// The start-up error for a wrong key.
pub const MISMATCH: &str = "master key does not match the data in this database: it was sealed with \
     another key (check GATEHOUSE_MASTER_KEY, or the master.key file in the data directory)";

fn opens_check(key: &MasterKey, sealed: &str) -> bool {
    key.decrypt(CHECK_PURPOSE, sealed, KEY_CHECK_SETTING.as_bytes()).is_ok_and(|p| p == CHECK_PLAINTEXT)
}

/// Fails unless `key` is the key this database's sealed values were made with; writes the
/// key check on first start.
pub async fn verify(store: &dyn Store, key: &MasterKey) -> anyhow::Result<()> {
    if let Some(sealed) = store.setting_get(KEY_CHECK_SETTING).await? {
        return if opens_check(key, &sealed) { Ok(()) } else { bail!(MISMATCH) };
    }
    for column in SEALED_COLUMNS.iter().filter(|c| c.purpose != CHECK_PURPOSE) {
        for (id, sealed) in store.sealed_sample(column, 1).await? {
            if key.decrypt(column.purpose, &sealed, id.as_bytes()).is_err() {
                bail!(MISMATCH);
            }
        }
    }
    let sealed = key.encrypt(CHECK_PURPOSE, CHECK_PLAINTEXT, KEY_CHECK_SETTING.as_bytes());
    if !store.setting_insert_if_absent(KEY_CHECK_SETTING, &sealed).await? {
        // Another node wrote it first: it must have used the same key.
        let stored = store.setting_get(KEY_CHECK_SETTING).await?.unwrap_or_default();
        if !opens_check(key, &stored) {
            bail!(MISMATCH);
        }
    }
    Ok(())
}

/// Seals the request headers of upstreams stored before headers were sealed, and empties
/// the clear column; returns how many. Run at every start (after [`verify`]): it finds
/// nothing once done.
pub async fn seal_plain_upstream_headers(store: &dyn Store, key: &MasterKey) -> anyhow::Result<usize> {
    let plain = store.upstream_plain_headers().await?;
    for (id, json) in &plain {
        let headers: std::collections::BTreeMap<String, String> = serde_json::from_str(json)
            .with_context(|| format!("the stored request headers of upstream {id} are not a map"))?;
        let sealed =
            crate::upstream::spec::seal_map(key, crate::upstream::spec::HEADERS_PURPOSE, id, &headers);
        store.upstream_seal_plain_headers(id, sealed.as_deref()).await?;
    }
    if !plain.is_empty() {
        tracing::info!(upstreams = plain.len(), "sealed request headers stored in the clear");
    }
    Ok(plain.len())
}

/// Re-seals every sealed value from `old` to `new` in one transaction; returns how many.
pub async fn reseal(store: &dyn Store, old: &MasterKey, new: &MasterKey) -> anyhow::Result<usize> {
    verify(store, old).await.context("the current master key")?;
    // Nodes already running with the new key (and the old one as previous) may have sealed
    // some values with the new key: those are opened with it.
    let reseal = |c: &SealedColumn, id: &str, sealed: &str| -> Result<String, String> {
        let plain = old
            .decrypt(c.purpose, sealed, id.as_bytes())
            .or_else(|_| new.decrypt(c.purpose, sealed, id.as_bytes()))
            .map_err(|e| e.to_string())?;
        Ok(new.encrypt(c.purpose, &plain, id.as_bytes()))
    };
    Ok(store.sealed_reseal_all(SEALED_COLUMNS, &reseal).await?)
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// Sealed values re-sealed (the key check included).
    pub values: usize,
    /// The new key file, when the key lives in the data directory.
    pub key_file: Option<PathBuf>,
    /// Where the old key file was kept.
    pub backup: Option<PathBuf>,
}

/// `gatehouse secrets rotate-master-key`: re-seals the database under `new_key` (base64) and,
/// when the current key is the data directory's key file, replaces that file (old one kept as
/// `master.key.bak`). The new key file is written before the transaction commits, so a crash
/// in between leaves both keys on disk. Nodes are stopped while it runs, or already run with
/// the new key and the old one as `GATEHOUSE_PREVIOUS_MASTER_KEY` (values they sealed with the
/// new key are re-sealed as they are).
pub async fn rotate_master_key(config: &Config, new_key: &str) -> anyhow::Result<Rotated> {
    let new = MasterKey::from_base64(new_key).context("the new master key")?;
    let old = MasterKey::load_existing(config.master_key.as_deref(), &config.data_dir)?;
    if old.bytes() == new.bytes() {
        bail!("the new master key is the current one");
    }
    let file_based = config.master_key.is_none();
    let key_path = config.data_dir.join(MASTER_KEY_FILE);
    let staged = config.data_dir.join(format!("{MASTER_KEY_FILE}.new"));
    if file_based {
        if staged.exists() {
            std::fs::remove_file(&staged).with_context(|| format!("removing {}", staged.display()))?;
        }
        new.write_file(&staged)?;
    }
    let store = store::open(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| format!("opening the database at {}", config.database_url_for_log()))?;
    let result = reseal(store.as_ref(), &old, &new).await;
    store.close().await;
    let values = match result {
        Ok(n) => n,
        Err(err) => {
            if file_based {
                let _ = std::fs::remove_file(&staged);
            }
            return Err(err);
        }
    };
    if !file_based {
        return Ok(Rotated { values, key_file: None, backup: None });
    }
    let backup = config.data_dir.join(format!("{MASTER_KEY_FILE}.bak"));
    std::fs::rename(&key_path, &backup).with_context(|| {
        format!(
            "the data is sealed with the new key in {}, but {} could not be moved",
            staged.display(),
            key_path.display()
        )
    })?;
    std::fs::rename(&staged, &key_path).with_context(|| {
        format!(
            "the data is sealed with the new key in {}; move it to {}",
            staged.display(),
            key_path.display()
        )
    })?;
    Ok(Rotated { values, key_file: Some(key_path), backup: Some(backup) })
}
