//! What outbound TLS trusts: the public roots, and the certificate authorities an operator adds
//! (`GATEHOUSE_TLS_CA_FILE`, an organization's own).

use std::sync::Arc;

use rustls_pki_types::CertificateDer;

/// The certificates of a PEM file, for [`super::Outbound::trusting`].
pub fn read_ca_file(path: &std::path::Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{} is not a PEM certificate file: {e}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

/// A client configuration trusting the public roots and `extra`.
pub(super) fn client_config(extra: Vec<CertificateDer<'static>>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let (added, ignored) = roots.add_parsable_certificates(extra);
    if ignored > 0 {
        tracing::warn!(added, ignored, "some extra CA certificates could not be used");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
