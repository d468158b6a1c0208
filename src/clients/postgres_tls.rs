//! TLS to the source PostgreSQL with libpq's `sslmode` semantics, on rustls.
//!
//! | sslmode            | TLS                          | server certificate checked                     |
//! |--------------------|------------------------------|------------------------------------------------|
//! | disable            | never                        | -                                              |
//! | allow, prefer      | when the server offers it    | chain, if SOURCE_PG_SSLROOTCERT is set         |
//! | require            | always                       | chain, if SOURCE_PG_SSLROOTCERT is set         |
//! | verify-ca          | always                       | chain (SOURCE_PG_SSLROOTCERT, else system CAs) |
//! | verify-full        | always                       | chain and host name                            |
//!
//! As in libpq, a root certificate file turns `require` (and `prefer`) into `verify-ca`: whoever
//! sets one wants the server checked. `allow` tries TLS first like `prefer` (tokio-postgres has no
//! plain-first mode); the difference only shows on a server that rejects TLS for the user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

pub const ROOTCERT_VAR: &str = "SOURCE_PG_SSLROOTCERT";

/// What the server's certificate must prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Nothing: the connection is encrypted, not authenticated (libpq's `require`).
    Nothing,
    /// Signed by a trusted CA; any host name.
    Chain,
    /// Signed by a trusted CA and issued for the host we connect to.
    ChainAndHost,
}

/// Where the trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    None,
    File(PathBuf),
    System,
}

/// How one connection is made: what tokio-postgres negotiates and what gets checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub ssl_mode: SslMode,
    pub verify: Verify,
    pub roots: Roots,
}

/// libpq's `sslmode` (validated by the settings) and the optional root certificate file, as a plan.
pub fn plan(sslmode: &str, rootcert: Option<&Path>) -> Result<Plan> {
    // Without a root file nothing is verified; with one, the chain is (libpq's rule).
    let optional = match rootcert {
        Some(path) => (Verify::Chain, Roots::File(path.to_path_buf())),
        None => (Verify::Nothing, Roots::None),
    };
    let trusted = |verify| match rootcert {
        Some(path) => (verify, Roots::File(path.to_path_buf())),
        None => (verify, Roots::System),
    };
    let (ssl_mode, (verify, roots)) = match sslmode {
        "disable" => (SslMode::Disable, (Verify::Nothing, Roots::None)),
        "allow" | "prefer" => (SslMode::Prefer, optional),
        "require" => (SslMode::Require, optional),
        "verify-ca" => (SslMode::Require, trusted(Verify::Chain)),
        "verify-full" => (SslMode::Require, trusted(Verify::ChainAndHost)),
        other => {
            return Err(Error::Config {
                var: "SOURCE_PG_SSLMODE".into(),
                value: Some(other.to_string()),
                expected: crate::settings::vars::SSL_MODES.join(", "),
                hint: None,
            });
        }
    };
    Ok(Plan { ssl_mode, verify, roots })
}

/// The rustls connector for a plan that may use TLS (`None` for `disable`). Reads the root
/// certificates now, so a bad file is a configuration error before any network traffic.
pub fn connector(plan: &Plan) -> Result<Option<MakeRustlsConnect>> {
    if plan.ssl_mode == SslMode::Disable {
        return Ok(None);
    }
    let roots = match &plan.roots {
        Roots::None => None,
        Roots::File(path) => Some(read_root_file(path)?),
        Roots::System => Some(system_roots()?),
    };
    // The same provider reqwest already uses: one crypto library in the binary.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = SourceVerifier {
        roots: roots.map(Arc::new),
        check_host: plan.verify == Verify::ChainAndHost,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::service(super::postgres::SERVICE, format!("setting up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

fn read_root_file(path: &Path) -> Result<RootCertStore> {
    let bytes = std::fs::read(path).map_err(|e| rootcert_error(path, &format!("cannot read it: {e}")))?;
    let mut store = RootCertStore::empty();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        let cert = item.map_err(|e| rootcert_error(path, &format!("it is not valid PEM: {e}")))?;
        store
            .add(cert)
            .map_err(|e| rootcert_error(path, &format!("it holds a certificate that can't be parsed: {e}")))?;
    }
    if store.is_empty() {
        return Err(rootcert_error(path, "it holds no -----BEGIN CERTIFICATE----- block"));
    }
    Ok(store)
}

fn rootcert_error(path: &Path, problem: &str) -> Error {
    Error::Config {
        var: ROOTCERT_VAR.into(),
        value: Some(path.display().to_string()),
        expected: format!("a PEM file of CA certificates, but {problem}"),
        hint: Some(format!(
            "point {ROOTCERT_VAR} at the CA certificate(s) that signed the server's certificate \
             (managed PostgreSQL services publish a bundle), or leave it empty to use the system's CA store"
        )),
    }
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(Error::Config {
            var: ROOTCERT_VAR.into(),
            value: None,
            expected: format!("the CA certificate(s) to verify the server with: the system's CA store is empty{why}"),
            hint: Some(format!("set {ROOTCERT_VAR} to a PEM file, or install the system's CA certificates")),
        });
    }
    Ok(store)
}

/// One verifier for the three levels. Handshake signatures are always checked, so the server
/// proves it holds the key of the certificate it sent (which SCRAM channel binding relies on).
#[derive(Debug)]
struct SourceVerifier {
    roots: Option<Arc<RootCertStore>>,
    check_host: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SourceVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, self.algorithms.all)?;
        if self.check_host {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
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

/// A failed connection explained for the person who can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub problem: String,
    pub hint: String,
}

/// What the connection settings were, for [`diagnose`].
pub struct Attempt<'a> {
    pub sslmode: &'a str,
    pub host: &'a str,
    pub rootcert: Option<&'a Path>,
}

/// Explains a TLS-related connection failure (pure): `detail` is the error text, `tls` the rustls
/// error inside it if there is one. `None` when the failure has nothing to do with TLS.
pub fn diagnose(detail: &str, tls: Option<&rustls::Error>, attempt: &Attempt) -> Option<Diagnosis> {
    let mode = attempt.sslmode;
    if let Some(rustls::Error::InvalidCertificate(cert)) = tls {
        return Some(certificate(cert, attempt));
    }
    if detail.contains("server does not support TLS") {
        return Some(Diagnosis {
            problem: format!("the server does not support SSL, and SOURCE_PG_SSLMODE={mode} requires it"),
            hint: "turn SSL on at the server (ssl = on), or set SOURCE_PG_SSLMODE=prefer to accept a plain-text \
                   connection on a network you trust"
                .into(),
        });
    }
    let hba_refused = detail.contains("no pg_hba.conf entry") || detail.contains("pg_hba.conf rejects connection");
    if hba_refused && (detail.contains("no encryption") || detail.contains("SSL off")) {
        return Some(Diagnosis {
            problem: format!(
                "the server accepts this user only over SSL, and SOURCE_PG_SSLMODE={mode} connects without it"
            ),
            hint: format!(
                "set SOURCE_PG_SSLMODE=require, or verify-full with {ROOTCERT_VAR} (the server's CA) to also check \
                 who you are talking to"
            ),
        });
    }
    if let Some(other) = tls {
        return Some(Diagnosis {
            problem: format!("the SSL handshake failed: {other}"),
            hint: format!(
                "check that SOURCE_PG_HOST and SOURCE_PG_PORT point at PostgreSQL (SOURCE_PG_SSLMODE={mode})"
            ),
        });
    }
    None
}

fn certificate(err: &CertificateError, attempt: &Attempt) -> Diagnosis {
    let host = attempt.host;
    match err {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let names = match err {
                CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                    format!(" (it is for {})", presented.iter().map(|n| plain_name(n)).collect::<Vec<_>>().join(", "))
                }
                _ => String::new(),
            };
            Diagnosis {
                problem: format!("the server's certificate is not valid for the host name {host}{names}"),
                hint: "set SOURCE_PG_HOST to a name the certificate is for, or SOURCE_PG_SSLMODE=verify-ca to \
                       check the certificate's CA without the host name"
                    .into(),
            }
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => Diagnosis {
            problem: "the server's certificate has expired".into(),
            hint: "the server needs a renewed certificate (or this machine's clock is wrong)".into(),
        },
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Diagnosis {
            problem: "the server's certificate is not valid yet".into(),
            hint: "check this machine's clock and the server's".into(),
        },
        other => Diagnosis {
            problem: format!(
                "the server's certificate is not trusted ({})",
                rustls::Error::InvalidCertificate(other.clone())
            ),
            hint: match attempt.rootcert {
                Some(path) => format!(
                    "{ROOTCERT_VAR}={} does not hold the CA that signed the server's certificate: use the server's \
                     CA bundle (your database provider publishes it)",
                    path.display()
                ),
                None => format!(
                    "set {ROOTCERT_VAR} to the PEM file of the CA that signed the server's certificate (your \
                     database provider publishes it); without it the system's CA store is used"
                ),
            },
        },
    }
}

/// `DnsName("db.example.org")` or `IpAddress(10.0.0.1)`, as rustls lists a certificate's names,
/// to the plain name.
fn plain_name(presented: &str) -> &str {
    let inner = presented
        .strip_prefix("DnsName(")
        .or_else(|| presented.strip_prefix("IpAddress("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt<'a>(sslmode: &'a str, rootcert: Option<&'a Path>) -> Attempt<'a> {
        Attempt { sslmode, host: "db.example.org", rootcert }
    }

    #[test]
    fn modes_follow_libpq() {
        let ca = Path::new("/etc/ca.pem");
        let p = |mode, root| plan(mode, root).unwrap();
        assert_eq!(
            p("disable", Some(ca)),
            Plan { ssl_mode: SslMode::Disable, verify: Verify::Nothing, roots: Roots::None }
        );
        for mode in ["allow", "prefer"] {
            assert_eq!(p(mode, None), Plan { ssl_mode: SslMode::Prefer, verify: Verify::Nothing, roots: Roots::None });
            assert_eq!(p(mode, Some(ca)).verify, Verify::Chain, "a root file means: check the chain");
        }
        assert_eq!(
            p("require", None),
            Plan { ssl_mode: SslMode::Require, verify: Verify::Nothing, roots: Roots::None }
        );
        assert_eq!(
            p("require", Some(ca)),
            Plan { ssl_mode: SslMode::Require, verify: Verify::Chain, roots: Roots::File(ca.into()) }
        );
        assert_eq!(
            p("verify-ca", None),
            Plan { ssl_mode: SslMode::Require, verify: Verify::Chain, roots: Roots::System }
        );
        assert_eq!(
            p("verify-full", None),
            Plan { ssl_mode: SslMode::Require, verify: Verify::ChainAndHost, roots: Roots::System }
        );
        assert_eq!(p("verify-full", Some(ca)).roots, Roots::File(ca.into()));
        assert!(plan("on", None).is_err());
    }

    #[test]
    fn root_files_that_cannot_be_used_are_config_errors_naming_the_variable_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
        for (path, words) in
            [(&missing, "cannot read it"), (&garbage, "no -----BEGIN CERTIFICATE-----"), (&broken, "PEM")]
        {
            let plan = plan("verify-full", Some(path)).unwrap();
            let err = connector(&plan).err().unwrap();
            let text = err.to_string();
            assert!(matches!(err, Error::Config { .. }), "{text}");
            assert!(text.starts_with(&format!("SOURCE_PG_SSLROOTCERT=\"{}\"", path.display())), "{text}");
            assert!(text.contains(words), "{text}");
        }
    }

    #[test]
    fn an_untrusted_certificate_says_which_variable_to_set() {
        let err = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let d = diagnose("error performing TLS handshake", Some(&err), &attempt("verify-full", None)).unwrap();
        assert!(d.problem.starts_with("the server's certificate is not trusted"), "{d:?}");
        assert!(d.hint.starts_with("set SOURCE_PG_SSLROOTCERT to the PEM file"), "{d:?}");
        let ca = Path::new("/etc/wrong.pem");
        let d = diagnose("", Some(&err), &attempt("verify-ca", Some(ca))).unwrap();
        assert!(d.hint.starts_with("SOURCE_PG_SSLROOTCERT=/etc/wrong.pem does not hold the CA"), "{d:?}");
    }

    #[test]
    fn a_host_name_mismatch_names_the_certificate_hosts_and_suggests_verify_ca() {
        let err = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("db.example.org").unwrap(),
            presented: vec!["DnsName(\"localhost\")".into(), "IpAddress(127.0.0.1)".into()],
        });
        let d = diagnose("", Some(&err), &attempt("verify-full", None)).unwrap();
        assert_eq!(
            d.problem,
            "the server's certificate is not valid for the host name db.example.org (it is for localhost, 127.0.0.1)"
        );
        assert!(d.hint.contains("SOURCE_PG_HOST") && d.hint.contains("SOURCE_PG_SSLMODE=verify-ca"), "{d:?}");
    }

    #[test]
    fn a_server_without_ssl_and_a_server_requiring_it_are_told_apart() {
        let d =
            diagnose("error performing TLS handshake: server does not support TLS", None, &attempt("require", None))
                .unwrap();
        assert_eq!(d.problem, "the server does not support SSL, and SOURCE_PG_SSLMODE=require requires it");
        assert!(d.hint.contains("ssl = on"), "{d:?}");
        let refused = "no pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", no encryption";
        let d = diagnose(refused, None, &attempt("disable", None)).unwrap();
        assert!(d.problem.contains("only over SSL") && d.problem.contains("SOURCE_PG_SSLMODE=disable"), "{d:?}");
        assert!(d.hint.starts_with("set SOURCE_PG_SSLMODE=require"), "{d:?}");
        let rejected = "pg_hba.conf rejects connection for host \"10.0.0.5\", user \"u\", database \"d\", SSL off";
        assert!(diagnose(rejected, None, &attempt("disable", None)).is_some());
        assert_eq!(diagnose("password authentication failed for user \"u\"", None, &attempt("prefer", None)), None);
    }

    #[test]
    fn expired_certificates_are_named() {
        let err = rustls::Error::InvalidCertificate(CertificateError::Expired);
        let d = diagnose("", Some(&err), &attempt("verify-full", None)).unwrap();
        assert_eq!(d.problem, "the server's certificate has expired");
    }
}
