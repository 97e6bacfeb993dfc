//! The test PKI: a CA made at start-up, a leaf for 127.0.0.1, ::1 and localhost signed by
//! it, an unrelated "wrong" CA, and the rustls server configuration (ring provider).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Certificates and the TLS configuration of one server.
pub(crate) struct Pki {
    pub ca_pem: String,
    pub wrong_ca_pem: String,
    pub server_config: Arc<ServerConfig>,
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, common_name);
    p.distinguished_name
        .push(DnType::OrganizationName, "yciam-fake");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(3650);
    p
}

/// Makes a fresh PKI. Panics only if rcgen/rustls fail on valid input.
pub(crate) fn make_pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = ca_params("yciam-fake test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let wrong_key = KeyPair::generate().expect("wrong CA key");
    let wrong_cert = ca_params("yciam-fake WRONG CA (trusts nothing here)")
        .self_signed(&wrong_key)
        .expect("wrong CA certificate");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .expect("leaf params");
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, "yciam-fake localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    leaf.not_before = now - Duration::days(1);
    leaf.not_after = now + Duration::days(365);
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    Pki {
        ca_pem: ca_cert.pem(),
        wrong_ca_pem: wrong_cert.pem(),
        server_config: Arc::new(config),
    }
}
