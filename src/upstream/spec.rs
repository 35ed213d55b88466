//! What it takes to connect to one upstream, resolved from its stored record: sealed values
//! opened, headers assembled, the stdio command checked against the allow-list.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;

use super::UpstreamError;
use crate::crypto::MasterKey;
use crate::domain::upstream::{CredentialMode, TransportKind, UpstreamAuth};
use crate::store::UpstreamRecord;

/// Sealing purpose of upstream credentials.
pub const CREDENTIAL_PURPOSE: &str = "upstream-credential";
/// Sealing purpose of stdio environments.
pub const ENV_PURPOSE: &str = "upstream-env";
/// Sealing purpose of HTTP request headers.
pub const HEADERS_PURPOSE: &str = "upstream-headers";

/// A name → value map sealed for one upstream (`None` when empty: nothing to seal).
pub fn seal_map(
    key: &MasterKey,
    purpose: &str,
    upstream_id: &str,
    map: &BTreeMap<String, String>,
) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(map).expect("a map of strings serialises");
    Some(key.encrypt(purpose, &json, upstream_id.as_bytes()))
}

/// Opens what [`seal_map`] sealed.
pub fn open_map(
    key: &MasterKey,
    purpose: &str,
    upstream_id: &str,
    sealed: Option<&str>,
) -> Result<BTreeMap<String, String>, UpstreamError> {
    let Some(sealed) = sealed else { return Ok(BTreeMap::new()) };
    let bytes = key
        .decrypt(purpose, sealed, upstream_id.as_bytes())
        .map_err(|_| UpstreamError::Config(format!("the stored {purpose} cannot be decrypted")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| UpstreamError::Config(format!("the stored {purpose} is not a map of strings")))
}

/// A resolved upstream connection target.
#[derive(Clone)]
pub struct Spec {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub transport: TransportKind,
    pub url: Option<String>,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Configured request headers plus the auth header; nothing else is ever sent.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    /// A fingerprint of everything above: a pooled connection is replaced when it changes.
    pub fingerprint: String,
    /// The catalogue template it was installed from (its launch may then be the template's).
    pub template_id: Option<String>,
    /// Authenticates with OAuth tokens Gatehouse may refresh.
    pub oauth: bool,
    /// Calls carry each person's own token ([`Spec::for_person`]); the credential above is
    /// then only what the catalogue is discovered with.
    pub per_user: bool,
    /// Each person's token is obtained by token exchange rather than their own authorization.
    pub exchanged: bool,
    /// The header the credential above went into, if any.
    credential_header: Option<String>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers and env carry credentials: never print them.
        f.debug_struct("Spec")
            .field("id", &self.id)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Spec {
    /// The target as one person reaches it: their access token instead of the upstream's own
    /// credential. Its fingerprint differs per token, so a pooled connection made with another
    /// token (theirs before a refresh, or anyone else's) is never reused for them.
    pub fn for_person(&self, access_token: &str) -> Spec {
        let mut spec = self.clone();
        if let Some(name) = &self.credential_header {
            spec.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        }
        spec.headers.push(("authorization".into(), format!("Bearer {access_token}")));
        spec.fingerprint = crate::crypto::sha256_hex(&format!("{}|{access_token}", self.fingerprint));
        spec.credential_header = Some("authorization".into());
        spec
    }

    /// Resolves a record whose credential, if any, is its own (not an org secret).
    pub fn from_record(u: &UpstreamRecord, key: &MasterKey) -> Result<Spec, UpstreamError> {
        Self::from_record_with(u, key, None)
    }

    /// Resolves a record; `secret` is the value of the org secret it references, if it does.
    pub fn from_record_with(
        u: &UpstreamRecord,
        key: &MasterKey,
        secret: Option<&str>,
    ) -> Result<Spec, UpstreamError> {
        let transport = TransportKind::parse(&u.transport)
            .ok_or_else(|| UpstreamError::Config(format!("unknown transport {}", u.transport)))?;
        let args: Vec<String> = serde_json::from_str(&u.args).unwrap_or_default();
        let env = open_map(key, ENV_PURPOSE, &u.id, u.env_sealed.as_deref())?;
        let mut headers: Vec<(String, String)> =
            open_map(key, HEADERS_PURPOSE, &u.id, u.headers_sealed.as_deref())?.into_iter().collect();
        let credential = match (&u.auth_secret_id, &u.auth_credential) {
            (Some(_), _) => Some(
                secret
                    .ok_or_else(|| {
                        UpstreamError::Config("the secret holding the credential is unavailable".into())
                    })?
                    .to_string(),
            ),
            (None, None) => None,
            (None, Some(sealed)) => Some(
                key.decrypt(CREDENTIAL_PURPOSE, sealed, u.id.as_bytes())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .map_err(|_| UpstreamError::Config("the stored credential cannot be decrypted".into()))?,
            ),
        };
        let auth = UpstreamAuth::parse(&u.auth_type).unwrap_or(UpstreamAuth::None);
        let mut credential_header = None;
        if let Some(credential) = credential {
            credential_header = Some(match auth {
                UpstreamAuth::ApiKey => u.auth_header.clone().unwrap_or_else(|| "x-api-key".into()),
                _ => "authorization".into(),
            });
            match auth {
                UpstreamAuth::Bearer | UpstreamAuth::Oauth => {
                    headers.push(("authorization".into(), format!("Bearer {credential}")))
                }
                UpstreamAuth::Basic => headers.push((
                    "authorization".into(),
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential)),
                )),
                UpstreamAuth::ApiKey => {
                    headers.push((u.auth_header.clone().unwrap_or_else(|| "x-api-key".into()), credential))
                }
                UpstreamAuth::None => {}
            }
        }
        let mode = CredentialMode::parse(&u.credential_mode);
        let fingerprint = crate::crypto::sha256_hex(&format!(
            "{}|{:?}|{:?}|{}|{:?}|{:?}|{}",
            u.transport, u.url, u.command, u.args, env, headers, u.timeout_ms
        ));
        Ok(Spec {
            oauth: auth == UpstreamAuth::Oauth,
            per_user: mode.is_some_and(CredentialMode::is_personal),
            exchanged: mode == Some(CredentialMode::PassthroughExchange),
            credential_header,
            template_id: u.template_id.clone(),
            id: u.id.clone(),
            org_id: u.org_id.clone(),
            name: u.name.clone(),
            transport,
            url: u.url.clone(),
            command: u.command.clone(),
            args,
            env,
            headers,
            timeout: Duration::from_millis(u.timeout_ms.max(1) as u64),
            fingerprint,
        })
    }
}
