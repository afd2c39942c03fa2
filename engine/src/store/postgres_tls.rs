//! TLS to PostgreSQL as libpq's connection parameters ask for it, over
//! rustls. The driver's own parser knows `sslmode` only as `disable`,
//! `prefer` and `require` and knows no `sslrootcert`, so both are taken
//! out of the URL here and the rest is left to the driver.
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | – |
//! | `allow`, `prefer` (the default) | when the server offers it | no (signatures only) |
//! | `require` | always | no, or as `verify-ca` when `sslrootcert` is given (as libpq) |
//! | `verify-ca` | always | chains to a trusted root |
//! | `verify-full` | always | chains to a trusted root and names the host |
//!
//! The trusted roots are `sslrootcert`'s PEM file, or the platform's when
//! it is not given (or is `system`). libpq's `allow` tries plain text
//! first; here it tries TLS first, as `prefer` does.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::{Host, SslMode};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the URL asks of the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub(crate) mode: Mode,
    /// `sslrootcert`: a PEM file of trusted roots; `None` for the
    /// platform's.
    pub(crate) root_cert: Option<PathBuf>,
}

/// A URL the driver may read, and what it asked of TLS.
pub(crate) struct Split {
    pub(crate) rest: String,
    pub(crate) tls: TlsParams,
}

/// Why the TLS part of a URL is not usable. Never holds the URL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    #[error("sslmode {0:?} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    Mode(String),
    #[error("sslrootcert {path}: {reason}")]
    RootCert { path: String, reason: String },
    #[error("no trusted root certificates found on this system: give sslrootcert=FILE")]
    NoPlatformRoots,
    #[error("the connection string has an unterminated quoted value")]
    Unterminated,
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Takes `sslmode` and `sslrootcert` out of `url` (a `postgres://` or
/// `postgresql://` URL, or libpq's `key=value` form).
pub(crate) fn split(url: &str) -> Result<Split, TlsSetupError> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool, TlsSetupError> {
        match key {
            "sslmode" => {
                mode = Some(match value {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => return Err(TlsSetupError::Mode(other.to_owned())),
                });
                Ok(true)
            }
            "sslrootcert" => {
                root_cert = (value != "system").then(|| PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                    if !take(key, &value)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for (key, value) in key_values(url)? {
            if !take(&key, &value)? {
                kept.push(format!(
                    "{key}='{}'",
                    value.replace('\\', "\\\\").replace('\'', "\\'")
                ));
            }
        }
        kept.join(" ")
    };
    // libpq's rule: `require` with a root certificate verifies the chain.
    let mode = match (mode.unwrap_or(Mode::Prefer), &root_cert) {
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (mode, _) => mode,
    };
    Ok(Split {
        rest,
        tls: TlsParams { mode, root_cert },
    })
}

/// libpq's `key = value` pairs: values bare or in single quotes, with
/// backslash escapes inside.
fn key_values(text: &str) -> Result<Vec<(String, String)>, TlsSetupError> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        // A key without `=` is left for the driver to refuse by name.
        if chars.next_if_eq(&'=').is_none() {
            pairs.push((key, String::new()));
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(TlsSetupError::Unterminated),
                    Some('\'') => break,
                    Some('\\') => value.push(chars.next().ok_or(TlsSetupError::Unterminated)?),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or(TlsSetupError::Unterminated)?);
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// How connections are made: in plain text, or through rustls.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

impl TlsParams {
    /// The driver's mode and the connector that does what was asked.
    pub(crate) fn connector(&self) -> Result<(SslMode, Connector), TlsSetupError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            Mode::Disable => return Ok((SslMode::Disable, Connector::Plain)),
            Mode::Prefer | Mode::Require => Arc::new(Partial {
                chain: None,
                algorithms: provider.signature_verification_algorithms,
            }),
            Mode::VerifyCa | Mode::VerifyFull => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| TlsSetupError::Rustls(rustls::Error::General(e.to_string())))?;
                if self.mode == Mode::VerifyCa {
                    Arc::new(Partial {
                        chain: Some(webpki),
                        algorithms: provider.signature_verification_algorithms,
                    })
                } else {
                    webpki
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let mode = match self.mode {
            Mode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        };
        Ok((mode, Connector::Tls(MakeRustlsConnect::new(config))))
    }

    fn roots(&self) -> Result<RootCertStore, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let bad = |reason: String| TlsSetupError::RootCert {
                    path: path.display().to_string(),
                    reason,
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no PEM certificate in it".into()));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| bad(e.to_string()))?;
                }
            }
            None => {
                // Unreadable entries among the platform's are skipped, as
                // every other client of the platform store does.
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(TlsSetupError::NoPlatformRoots);
                }
            }
        }
        Ok(roots)
    }
}

/// The first host of `config` that is neither loopback nor a Unix socket,
/// if the connection to it may be plain text.
pub(crate) fn remote_in_clear(config: &postgres::Config, tls: &TlsParams) -> Option<String> {
    if !matches!(tls.mode, Mode::Disable | Mode::Prefer) {
        return None;
    }
    let addresses = config.get_hostaddrs();
    config.get_hosts().iter().enumerate().find_map(|(i, host)| {
        let Host::Tcp(name) = host else { return None };
        let loopback = match addresses.get(i) {
            Some(addr) => addr.is_loopback(),
            None => name == "localhost" || name.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()),
        };
        (!loopback).then(|| name.clone())
    })
}

/// Less than `verify-full`. With `chain` (`verify-ca`) the certificate
/// must lead to a trusted root, but its name is not compared with the
/// host; without (`prefer`, `require`: encryption against a passive
/// listener) the certificate is not checked. The handshake's signatures
/// always are.
#[derive(Debug)]
struct Partial {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Partial {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain before the name, so a name error means
        // the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(url: &str) -> (String, TlsParams) {
        let split = split(url).expect("split");
        (split.rest, split.tls)
    }

    #[test]
    fn the_default_is_prefer_and_the_url_is_left_alone() {
        let url = "postgres://u:p@db.example:5432/app?connect_timeout=5";
        let (rest, params) = tls(url);
        assert_eq!(rest, url);
        assert_eq!(params.mode, Mode::Prefer);
        assert_eq!(params.root_cert, None);
    }

    #[test]
    fn ssl_parameters_leave_a_url_and_the_others_stay() {
        let (rest, params) = tls(
            "postgresql://u:p@db/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgresql://u:p@db/app?application_name=x");
        assert_eq!(params.mode, Mode::VerifyFull);
        assert_eq!(params.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (rest, _) = tls("postgres://db/app?sslmode=disable");
        assert_eq!(rest, "postgres://db/app");
    }

    #[test]
    fn ssl_parameters_leave_the_key_value_form() {
        let (rest, params) = tls(
            "host=db port=5432 password='it\\'s a secret' sslmode = verify-ca sslrootcert='/a b/ca.pem'",
        );
        assert_eq!(params.mode, Mode::VerifyCa);
        assert_eq!(params.root_cert, Some(PathBuf::from("/a b/ca.pem")));
        let config: postgres::Config = rest.parse().expect("the driver reads what is left");
        assert_eq!(config.get_ports(), [5432]);
        assert_eq!(config.get_hosts(), [Host::Tcp("db".into())]);
        assert_eq!(config.get_password(), Some(&b"it's a secret"[..]));
        assert!(split("host='db").is_err());
    }

    #[test]
    fn require_with_a_root_certificate_verifies_the_chain_as_libpq_does() {
        let (_, params) = tls("postgres://db/app?sslmode=require&sslrootcert=/ca.pem");
        assert_eq!(params.mode, Mode::VerifyCa);
        let (_, params) = tls("postgres://db/app?sslmode=require");
        assert_eq!(params.mode, Mode::Require);
        let (_, params) = tls("postgres://db/app?sslmode=verify-full&sslrootcert=system");
        assert_eq!(
            params,
            TlsParams {
                mode: Mode::VerifyFull,
                root_cert: None
            }
        );
    }

    #[test]
    fn an_unknown_mode_is_named_and_a_missing_root_file_is_clear() {
        let e = split("postgres://u:secret@db/app?sslmode=verify")
            .err()
            .expect("refused");
        assert_eq!(
            e.to_string(),
            "sslmode \"verify\" is not one of disable, allow, prefer, require, verify-ca, verify-full"
        );
        let (_, params) =
            tls("postgres://db/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
        let e = params.connector().err().expect("refused");
        assert!(
            e.to_string()
                .starts_with("sslrootcert /nonexistent/ca.pem: "),
            "{e}"
        );
    }

    #[test]
    fn plain_text_to_a_remote_host_is_noticed() {
        let remote = |url: &str| {
            let split = split(url).expect("split");
            let config: postgres::Config = split.rest.parse().expect("config");
            remote_in_clear(&config, &split.tls)
        };
        assert_eq!(
            remote("postgres://db.example/app"),
            Some("db.example".into())
        );
        assert_eq!(
            remote("postgres://db.example/app?sslmode=disable"),
            Some("db.example".into())
        );
        assert_eq!(remote("postgres://db.example/app?sslmode=require"), None);
        assert_eq!(remote("postgres://127.0.0.1/app"), None);
        assert_eq!(remote("postgres://localhost/app"), None);
        assert_eq!(remote("host=/run/postgresql dbname=app"), None);
    }
}
