//! Every column sealed with the master key, in one list, and the [`SealedStore`] trait that
//! re-seals them all in one transaction (`gatehouse secrets rotate-master-key`).
//!
//! A new sealed column must be added to [`SEALED_COLUMNS`], or rotating the master key would
//! leave it unreadable. Every sealed value is bound (AES-GCM associated data) to its row id.

use async_trait::async_trait;

use super::StoreResult;

/// A column whose values are sealed with [`crate::crypto::MasterKey::encrypt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The row id, which is also the associated data of the sealed value.
    pub id_column: &'static str,
    pub column: &'static str,
    /// The sealing purpose.
    pub purpose: &'static str,
    /// Extra SQL condition selecting the sealed rows (for shared tables such as `settings`).
    pub only: Option<&'static str>,
}

/// Setting holding a known value sealed with the master key: proof at start that the
/// configured key is the one the data was sealed with.
pub const KEY_CHECK_SETTING: &str = "master_key_check";

/// Every sealed column of the database.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "settings",
        id_column: "key",
        column: "value",
        purpose: "key-check",
        only: Some("key = 'master_key_check'"),
    },
    SealedColumn { table: "secrets", id_column: "id", column: "value", purpose: "secret", only: None },
    SealedColumn {
        table: "server_integrations",
        id_column: "id",
        column: "api_key",
        purpose: "integration-key",
        only: None,
    },
    SealedColumn {
        table: "http_tools",
        id_column: "id",
        column: "auth_credential",
        purpose: "tool-credential",
        only: None,
    },
    SealedColumn {
        table: "plugin_installations",
        id_column: "id",
        column: "secrets",
        purpose: "plugin-secrets",
        only: None,
    },
    SealedColumn {
        table: "signing_keys",
        id_column: "id",
        column: "private_key",
        purpose: "signing-key",
        only: None,
    },
    SealedColumn {
        table: "upstreams",
        id_column: "id",
        column: "auth_credential",
        purpose: "upstream-credential",
        only: None,
    },
    SealedColumn {
        table: "upstream_user_tokens",
        id_column: "id",
        column: "access_token",
        purpose: "upstream-user-access",
        only: None,
    },
    SealedColumn {
        table: "upstream_user_tokens",
        id_column: "id",
        column: "refresh_token",
        purpose: "upstream-user-refresh",
        only: None,
    },
    SealedColumn {
        table: "upstreams",
        id_column: "id",
        column: "env_sealed",
        purpose: "upstream-env",
        only: None,
    },
    SealedColumn {
        table: "upstreams",
        id_column: "id",
        column: "headers_sealed",
        purpose: "upstream-headers",
        only: None,
    },
    SealedColumn {
        table: "upstream_oauth",
        id_column: "upstream_id",
        column: "client_secret",
        purpose: "upstream-oauth",
        only: None,
    },
    SealedColumn {
        table: "upstream_oauth",
        id_column: "upstream_id",
        column: "refresh_token",
        purpose: "upstream-oauth",
        only: None,
    },
    SealedColumn {
        table: "upstream_oauth_flows",
        id_column: "state_hash",
        column: "verifier",
        purpose: "upstream-oauth-flow",
        only: None,
    },
    SealedColumn {
        table: "notification_webhooks",
        id_column: "org_id",
        column: "secret",
        purpose: "webhook-secret",
        only: None,
    },
];

/// Turns one sealed value (column, row id, sealed text) into its replacement, or says why not.
pub type Reseal<'a> = dyn Fn(&SealedColumn, &str, &str) -> Result<String, String> + Send + Sync + 'a;

/// Reading and re-sealing every sealed value.
#[async_trait]
pub trait SealedStore {
    /// Up to `limit` `(row id, sealed value)` pairs of a column.
    async fn sealed_sample(&self, column: &SealedColumn, limit: i64) -> StoreResult<Vec<(String, String)>>;
    /// Replaces every sealed value of every column with `reseal`'s answer, in one transaction;
    /// nothing changes if any value fails. Returns how many values were re-sealed.
    async fn sealed_reseal_all(&self, columns: &[SealedColumn], reseal: &Reseal<'_>) -> StoreResult<usize>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_match_the_code_that_seals() {
        let purpose = |table: &str, column: &str| {
            SEALED_COLUMNS.iter().find(|c| c.table == table && c.column == column).map(|c| c.purpose)
        };
        assert_eq!(
            purpose("http_tools", "auth_credential"),
            Some(crate::domain::http_tool::CREDENTIAL_PURPOSE)
        );
        assert_eq!(purpose("secrets", "value"), Some(crate::secrets::PURPOSE));
        assert_eq!(purpose("upstreams", "auth_credential"), Some(crate::upstream::spec::CREDENTIAL_PURPOSE));
        assert_eq!(purpose("upstreams", "env_sealed"), Some(crate::upstream::spec::ENV_PURPOSE));
        assert_eq!(purpose("notification_webhooks", "secret"), Some(crate::notify::WEBHOOK_PURPOSE));
        assert_eq!(purpose("upstream_oauth", "client_secret"), Some(crate::upstream::oauth::SECRET_PURPOSE));
        assert_eq!(purpose("upstream_oauth", "refresh_token"), Some(crate::upstream::oauth::SECRET_PURPOSE));
        assert_eq!(purpose("upstream_oauth_flows", "verifier"), Some(crate::upstream::oauth::FLOW_PURPOSE));
    }
}
