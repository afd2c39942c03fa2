//! A certificate authority made for one test, and leaf certificates it
//! signs (rcgen).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so another test CA is another issuer.
        params.distinguished_name.push(
            DnType::CommonName,
            format!("Strongroom test CA {:08x}", rand::random::<u32>()),
        );
        let issuer =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
        Self { issuer }
    }

    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for localhost: (certificate PEM, key PEM, certificate DER).
    pub(crate) fn leaf(&self) -> (String, String, Vec<u8>) {
        self.leaf_for(&["localhost", "127.0.0.1"])
    }

    /// A leaf for these names (DNS names or IP addresses).
    pub(crate) fn leaf_for(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().expect("key");
        let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let params = CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}
