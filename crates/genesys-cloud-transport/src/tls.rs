//! TLS settings: extra trusted CAs and a client certificate (mTLS). Server certificates are
//! always verified; nothing here can turn that off.

use genesys_cloud_core::{Error, ErrorKind};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::sync::Arc;

/// The cryptography TLS runs on: the process's default provider when the application has
/// installed one (`rustls::crypto::CryptoProvider::install_default`, for example aws-lc-rs for
/// post-quantum key exchange), and *ring* otherwise.
///
/// rustls 0.23.48 deprecated `ring::default_provider` because *ring* has no post-quantum key
/// exchange. The SDK keeps *ring* as its fallback on purpose: it builds from Rust and a little C
/// in seconds, where aws-lc-rs adds a C library build to every dependent's first build. The
/// allowance is here, in one place, so that a dependent's `-D warnings` build stays clean.
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    if let Some(installed) = rustls::crypto::CryptoProvider::get_default() {
        return installed.clone();
    }
    #[allow(deprecated)]
    let ring = rustls::crypto::ring::default_provider();
    Arc::new(ring)
}

/// TLS settings of the transport.
#[derive(Clone, Default)]
pub struct TlsConfig {
    extra_roots: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    no_platform_roots: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("extra_roots", &self.extra_roots.len())
            .field("client_certificate", &self.identity.as_ref().map(|(c, _)| c.len()))
            .field("client_key", &self.identity.as_ref().map(|_| "<redacted>"))
            .field("platform_roots", &!self.no_platform_roots)
            .finish()
    }
}

fn tls_error(what: &str, e: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Build, format!("{what}: {e}"))
}

impl TlsConfig {
    /// Also trusts the CA certificates in this PEM (a corporate CA, a gateway's CA).
    pub fn add_ca_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| tls_error("invalid CA certificate PEM", e))?;
        if certs.is_empty() {
            return Err(Error::build("the CA PEM holds no certificate"));
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// Trusts only the added CAs, not the platform's (for private deployments and tests).
    pub fn only_added_roots(mut self) -> Self {
        self.no_platform_roots = true;
        self
    }

    /// Presents this client certificate chain and key (PEM) to servers that ask (mTLS).
    pub fn client_identity_pem(mut self, cert_chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<_, _>>()
            .map_err(|e| tls_error("invalid client certificate PEM", e))?;
        if certs.is_empty() {
            return Err(Error::build("the client certificate PEM holds no certificate"));
        }
        // The key's own error text is not shown: it could quote key material.
        let key =
            PrivateKeyDer::from_pem_slice(key).map_err(|_| Error::build("invalid or unsupported client key PEM"))?;
        crypto_provider()
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|_| Error::build("invalid or unsupported client key"))?;
        self.identity = Some((certs, Arc::new(key)));
        Ok(self)
    }

    /// Reads a client certificate and key from PEM files.
    pub fn client_identity_files(self, cert_path: &std::path::Path, key_path: &std::path::Path) -> Result<Self, Error> {
        let cert =
            std::fs::read(cert_path).map_err(|e| tls_error(&format!("cannot read {}", cert_path.display()), e))?;
        let key = std::fs::read(key_path).map_err(|e| tls_error(&format!("cannot read {}", key_path.display()), e))?;
        self.client_identity_pem(&cert, &key)
    }

    /// The rustls client configuration (ring provider, safe protocol versions, verified
    /// server certificates).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let mut roots = rustls::RootCertStore::empty();
        if !self.no_platform_roots {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
        }
        for ca in &self.extra_roots {
            roots.add(ca.clone()).map_err(|e| tls_error("unusable CA certificate", e))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS setup", e))?
            .with_root_certificates(roots);
        match &self.identity {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs.clone(), key.clone_key())
                .map_err(|_| Error::build("the client certificate and key do not fit together")),
            None => Ok(builder.with_no_client_auth()),
        }
    }
}
