//! TLS through rustls for every `sslmode`. What each mode verifies here:
//! - `disable`: no TLS.
//! - `prefer`: TLS if the server offers it, else plain; the certificate is not verified (as libpq).
//! - `require`: TLS or fail; the certificate is not verified — unless `sslrootcert` is given, then
//!   it is verified as `verify-ca` (libpq does the same when a root file exists).
//! - `verify-ca`: TLS; the chain must lead to a root in `sslrootcert`; the host name is not checked.
//! - `verify-full`: as `verify-ca`, and the certificate must name the host (DNS name or IP address).
//!
//! Without `sslrootcert`, the verifying modes use `~/.postgresql/root.crt` like libpq; the value
//! `system` uses the bundled Mozilla roots (webpki-roots) instead of the operating system store.
//! Certificate revocation lists (`sslcrl`) and client certificates are not supported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::settings::SslMode;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error(
        "sslmode={mode} needs a root certificate: set sslrootcert (or PGSSLROOTCERT) to a PEM file, or create {default}"
    )]
    NoRootCert { mode: &'static str, default: String },
    #[error("sslrootcert {path}: {problem}")]
    BadRootCert { path: String, problem: String },
    #[error("TLS set-up failed: {0}")]
    Rustls(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for a mode, or `None` for `disable`.
pub fn client_config(mode: SslMode, rootcert: Option<&Path>) -> Result<Option<ClientConfig>, TlsSetupError> {
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, rootcert) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer, _) | (SslMode::Require, None) => Arc::new(NoVerification(provider())),
        (SslMode::Require, Some(path)) | (SslMode::VerifyCa, Some(path)) => {
            Arc::new(IgnoreHostName(webpki_verifier(path)?))
        }
        (SslMode::VerifyFull, Some(path)) => webpki_verifier(path)?,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            let default = default_root_file();
            if !default.is_file() {
                let name = if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" };
                return Err(TlsSetupError::NoRootCert { mode: name, default: default.display().to_string() });
            }
            return client_config(mode, Some(&default));
        }
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(config))
}

fn default_root_file() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(".postgresql").join("root.crt")
}

fn webpki_verifier(path: &Path) -> Result<Arc<WebPkiServerVerifier>, TlsSetupError> {
    let bad = |problem: String| TlsSetupError::BadRootCert { path: path.display().to_string(), problem };
    let mut roots = RootCertStore::empty();
    if path.as_os_str() == "system" {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no PEM certificate in the file".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().map_err(|e| bad(e.to_string()))
}

/// verify-ca: the full chain check, but a name mismatch is accepted.
#[derive(Debug)]
struct IgnoreHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for IgnoreHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// prefer / require without a root: encryption only, as libpq. Handshake
/// signatures are still checked, so the session is bound to the presented key.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
