//! TLS (rustls, through poem's rustls acceptor): a certificate and key from
//! PEM files, reloaded on SIGHUP without touching open connections, or a
//! self-signed localhost certificate for development. HTTP/2 is offered by
//! ALPN beside HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use poem::listener::RustlsCertificate;
use poem::listener::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Where the certificate comes from.
#[derive(Clone, Debug)]
pub enum TlsSource {
    /// PEM files: the certificate chain and its private key.
    Files {
        /// The certificate chain (leaf first).
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A certificate for localhost made at start (development only).
    SelfSigned,
}

/// A certificate that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM does not hold what it should, or key and certificate differ.
    #[error("{what}: {reason}")]
    Invalid {
        /// The file (or "self-signed certificate").
        what: String,
        /// Why.
        reason: String,
    },
}

/// A loaded certificate: what poem's acceptor takes, and its fingerprint.
pub(crate) struct Loaded {
    pub(crate) config: RustlsConfig,
    /// SHA-256 of the leaf certificate (DER), as `AB:CD:…`.
    pub fingerprint: String,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Checks a PEM certificate chain and key (parsable, key matching the
/// leaf) and makes them a poem TLS config.
fn config(cert_pem: Vec<u8>, key_pem: Vec<u8>, what: &str) -> Result<Loaded, TlsError> {
    let invalid = |reason: String| TlsError::Invalid {
        what: what.to_owned(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("certificate PEM: {e}")))?;
    let leaf = chain
        .first()
        .ok_or_else(|| invalid("no certificate in the PEM".to_owned()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(format!("private key PEM: {e}")))?;
    let fingerprint = fingerprint(leaf);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key)
        .map_err(|e| invalid(format!("key and certificate do not go together: {e}")))?;
    let certificate = RustlsCertificate::new().cert(cert_pem).key(key_pem);
    Ok(Loaded {
        config: RustlsConfig::new().fallback(certificate),
        fingerprint,
    })
}

/// `AB:CD:…` of SHA-256 over the DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// Loads the certificate `source` names.
pub(crate) fn load(source: &TlsSource) -> Result<Loaded, TlsError> {
    match source {
        TlsSource::Files { cert, key } => {
            config(read(cert)?, read(key)?, &cert.display().to_string())
        }
        TlsSource::SelfSigned => {
            let names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            let invalid = |e: rcgen::Error| TlsError::Invalid {
                what: "self-signed certificate".to_owned(),
                reason: e.to_string(),
            };
            let made = rcgen::generate_simple_self_signed(names).map_err(invalid)?;
            config(
                made.cert.pem().into_bytes(),
                made.signing_key.serialize_pem().into_bytes(),
                "self-signed certificate",
            )
        }
    }
}

/// The certificates poem's acceptor serves: the first one now, the next
/// whenever [`Reloader::reload`] succeeds. Connections keep the
/// certificate they started with.
pub(crate) struct Reloader {
    source: TlsSource,
    tx: mpsc::Sender<RustlsConfig>,
}

impl Reloader {
    /// Starts with `first` (already loaded from `source`).
    pub(crate) fn new(source: TlsSource, first: Loaded) -> (Self, ReceiverStream<RustlsConfig>) {
        let (tx, rx) = mpsc::channel(4);
        let _ = tx.try_send(first.config);
        (Self { source, tx }, ReceiverStream::new(rx))
    }

    /// Loads the files again; on success new connections get the new
    /// certificate, on failure the old one stays (and the error is
    /// returned to be logged).
    pub(crate) async fn reload(&self) -> Result<String, TlsError> {
        if matches!(self.source, TlsSource::SelfSigned) {
            return Err(TlsError::Invalid {
                what: "self-signed certificate".to_owned(),
                reason: "nothing to reload".to_owned(),
            });
        }
        let loaded = load(&self.source)?;
        let _ = self.tx.send(loaded.config).await;
        Ok(loaded.fingerprint)
    }
}
