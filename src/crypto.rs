//! Every cryptographic primitive Gatehouse uses, in one place: random tokens, hashes of stored
//! credentials, keyed hashes of one-time codes, and the master key.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The master key: encrypts secrets at rest and keys every HMAC. During a rolling rotation it
/// may also carry the previous key, which opens (never seals) what was sealed before.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

/// File name of the generated master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

impl MasterKey {
    /// Parses a base64 encoding of exactly 32 bytes.
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("the master key must be base64 (e.g. `openssl rand -base64 32`)")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the master key must decode to exactly 32 bytes"))?;
        Ok(Self::of(key))
    }

    /// Uses the configured key, or reads (creating on first start, mode 0600) the key file.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(text) = configured {
            return Self::from_base64(text);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        if path.exists() {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(&text)
                .with_context(|| format!("invalid master key in {}", path.display()));
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let key = Self::generate();
        write_private(&path, &key.to_base64())?;
        tracing::info!(path = %path.display(), "generated a new master key");
        Ok(key)
    }

    /// Reads the configured key or the key file, never creating one (for maintenance commands).
    pub fn load_existing(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if configured.is_some() {
            return Self::load(configured, data_dir);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        if !path.exists() {
            bail!("no master key: GATEHOUSE_MASTER_KEY is not set and {} does not exist", path.display());
        }
        Self::load(None, data_dir)
    }

    fn of(key: [u8; 32]) -> Self {
        Self { key, previous: None }
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::of(rand::rng().random())
    }

    /// This key, also opening what `previous` sealed (`GATEHOUSE_PREVIOUS_MASTER_KEY`, while
    /// nodes move to a new key and `gatehouse secrets rotate-master-key` has not run yet).
    pub fn with_previous(mut self, previous: &MasterKey) -> Self {
        self.previous = Some(previous.key);
        self
    }

    /// The base64 text form (what the key file and `GATEHOUSE_MASTER_KEY` hold).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// Writes the key to a new file readable only by its owner (fails if the file exists).
    pub fn write_file(&self, path: &Path) -> anyhow::Result<()> {
        write_private(path, &self.to_base64())
    }

    /// The raw key bytes (for the cipher).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// HMAC-SHA256 of `data` under a subkey derived for `purpose`, hex encoded.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.subkey(purpose)).expect("any key size");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    fn subkey(&self, purpose: &str) -> [u8; 32] {
        subkey(&self.key, purpose)
    }
}

fn subkey(key: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key size");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("creating {}", path.display()))
}

/// Why a ciphertext could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// Not something [`MasterKey::encrypt`] produced.
    #[error("malformed ciphertext")]
    Malformed,
    /// Wrong key, wrong associated data, or tampered with.
    #[error("ciphertext does not authenticate (wrong master key or tampered data)")]
    Unauthentic,
}

/// Prefix of the current ciphertext format: AES-256-GCM, 96-bit random nonce.
const CIPHER_V1: &str = "v1.";

impl MasterKey {
    /// Encrypts `plaintext` bound to `aad` (e.g. the owning row's id, so a ciphertext cannot be
    /// moved to another row): `v1.<base64url(nonce ‖ ciphertext ‖ tag)>`.
    pub fn encrypt(&self, purpose: &str, plaintext: &[u8], aad: &[u8]) -> String {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&self.subkey(purpose)).expect("32-byte key");
        let nonce: [u8; 12] = rand::rng().random();
        let sealed = cipher
            .encrypt(aes_gcm::Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{CIPHER_V1}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what [`MasterKey::encrypt`] sealed with the same purpose and `aad` (under this key
    /// or, if set, the previous one).
    pub fn decrypt(&self, purpose: &str, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CipherError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let body = sealed.strip_prefix(CIPHER_V1).ok_or(CipherError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CipherError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(CipherError::Malformed);
        }
        let (nonce, rest) = bytes.split_at(12);
        let open = |key: &[u8; 32]| {
            let cipher = aes_gcm::Aes256Gcm::new_from_slice(&subkey(key, purpose)).expect("32-byte key");
            cipher
                .decrypt(aes_gcm::Nonce::from_slice(nonce), Payload { msg: rest, aad })
                .map_err(|_| CipherError::Unauthentic)
        };
        match (open(&self.key), &self.previous) {
            (Err(CipherError::Unauthentic), Some(previous)) => open(previous),
            (result, _) => result,
        }
    }
}

/// HMAC-SHA256 of `data` under `key`, hex encoded (webhook signatures).
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key size");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// A new random credential: `prefix` followed by 32 random bytes, base64url.
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a credential, hex encoded: what is stored instead of the credential.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A uniformly random six-digit one-time code.
pub fn new_otp_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Rejects a key that is configured but unusable before anything starts.
pub fn validate_master_key(configured: Option<&str>) -> anyhow::Result<()> {
    if let Some(text) = configured {
        MasterKey::from_base64(text)?;
    }
    Ok(())
}

/// Fails unless `value` looks like something `new_token` could have made with `prefix`.
pub fn check_token_shape(value: &str, prefix: &str) -> anyhow::Result<()> {
    if !value.starts_with(prefix) || value.len() != prefix.len() + 43 {
        bail!("not a {prefix} token");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_shaped() {
        let a = new_token("gh_pt_");
        assert_ne!(a, new_token("gh_pt_"));
        assert!(check_token_shape(&a, "gh_pt_").is_ok());
        assert!(check_token_shape("gh_pt_short", "gh_pt_").is_err());
    }

    #[test]
    fn otp_codes_have_six_digits() {
        for _ in 0..100 {
            let c = new_otp_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = MasterKey::load(None, dir.path()).unwrap();
        let k2 = MasterKey::load(None, dir.path()).unwrap();
        assert_eq!(k1.bytes(), k2.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        assert_ne!(k1.keyed_hash("a", b"x"), k1.keyed_hash("b", b"x"));
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_purpose_and_aad() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::load(None, dir.path()).unwrap();
        let sealed = key.encrypt("secret", b"hunter2", b"tool_1");
        assert!(sealed.starts_with("v1.") && !sealed.contains("hunter2"));
        assert_ne!(sealed, key.encrypt("secret", b"hunter2", b"tool_1"), "nonces are random");
        assert_eq!(key.decrypt("secret", &sealed, b"tool_1").unwrap(), b"hunter2");
        assert!(matches!(key.decrypt("secret", &sealed, b"tool_2"), Err(CipherError::Unauthentic)));
        assert!(matches!(key.decrypt("session", &sealed, b"tool_1"), Err(CipherError::Unauthentic)));
        let other = MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        assert!(matches!(other.decrypt("secret", &sealed, b"tool_1"), Err(CipherError::Unauthentic)));
        // With the previous key set, both open; only the current key seals.
        let rolling = other.clone().with_previous(&key);
        assert_eq!(rolling.decrypt("secret", &sealed, b"tool_1").unwrap(), b"hunter2");
        let fresh = rolling.encrypt("secret", b"new", b"tool_1");
        assert_eq!(other.decrypt("secret", &fresh, b"tool_1").unwrap(), b"new");
        assert!(key.decrypt("secret", &fresh, b"tool_1").is_err());
        assert!(matches!(key.decrypt("secret", "v1.AAAA", b""), Err(CipherError::Malformed)));
        assert!(matches!(key.decrypt("secret", "garbage", b""), Err(CipherError::Malformed)));
    }

    #[test]
    fn bad_master_keys_are_clear_errors() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }
}
