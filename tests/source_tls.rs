//! TLS to the source PostgreSQL, against private clusters (SSL settings are server-wide, so the
//! shared server stays as it is): one with SSL on, a certificate for `localhost` signed by a CA
//! made here with openssl, and a user that pg_hba admits only over SSL; one without SSL.
//!
//! olmisctl connects with `demo seed` into a fresh database; an event trigger there records what
//! `pg_stat_ssl` says about every session that runs DDL, so whether olmisctl's connection was
//! encrypted is the server's word, not olmisctl's.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use common::private_postgres::PrivatePostgres;
use common::*;

/// Admitted only over SSL (`hostssl`); `postgres` (psql's) connects either way.
const TLS_USER: &str = "tls_only";

struct Source {
    pg: PrivatePostgres,
    user: &'static str,
    password: String,
    /// The CA that signed the server's certificate (SSL clusters only).
    ca: Option<PathBuf>,
    project: tempfile::TempDir,
}

impl Source {
    /// SSL on, `hostssl`-only for the test user, `extra_conf` appended (and `extra_hba` lines first).
    fn with_ssl(extra_conf: &str, extra_hba: &str) -> Source {
        let pg = PrivatePostgres::init("olmis-tls-pg", &[]);
        let certs = tempfile::tempdir().unwrap();
        let (ca, cert, key) = make_certificates(certs.path());
        let ca = pg.write_file("ca.pem", &std::fs::read(ca).unwrap(), 0o644);
        let cert = pg.write_file("server.pem", &std::fs::read(cert).unwrap(), 0o644);
        let key = pg.write_file("server.key", &std::fs::read(key).unwrap(), 0o600);
        pg.configure(
            &format!("ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n{extra_conf}", cert.display(), key.display()),
            &format!(
                "{extra_hba}hostssl all {TLS_USER} 127.0.0.1/32 scram-sha-256\nhost all postgres 127.0.0.1/32 scram-sha-256\n"
            ),
        );
        pg.start();
        Source::with_user(pg, TLS_USER, Some(ca))
    }

    fn without_ssl() -> Source {
        let pg = PrivatePostgres::init("olmis-plain-pg", &[]);
        pg.configure("ssl = off\n", "host all all 127.0.0.1/32 scram-sha-256\n");
        pg.start();
        Source::with_user(pg, "plain_user", None)
    }

    fn with_user(pg: PrivatePostgres, user: &'static str, ca: Option<PathBuf>) -> Source {
        let password = unique("pw");
        pg.psql("postgres", &format!("CREATE ROLE {user} LOGIN REPLICATION PASSWORD '{password}'"));
        Source { pg, user, password, ca, project: tempfile::tempdir().unwrap() }
    }

    /// A new database owned by the test user, with the event trigger recording each DDL
    /// session's application name and `pg_stat_ssl` row in `public.tls_seen`.
    fn database(&self, name: &str) -> String {
        let db = format!("{name}_{}", unique("db").to_lowercase().replace('-', "_"));
        self.pg.psql("postgres", &format!("CREATE DATABASE {db} OWNER {}", self.user));
        self.pg.psql(
            &db,
            "CREATE TABLE public.tls_seen (application_name text, ssl boolean, version text);
             CREATE FUNCTION public.record_tls() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
             BEGIN
               INSERT INTO public.tls_seen
               SELECT a.application_name, s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
               WHERE s.pid = pg_backend_pid();
             END $$;
             CREATE EVENT TRIGGER record_tls ON ddl_command_end EXECUTE FUNCTION public.record_tls();",
        );
        db
    }

    /// What the server recorded about olmisctl's sessions in `db`: distinct `ssl|version` rows.
    fn olmisctl_sessions(&self, db: &str) -> String {
        self.pg.psql(db, "SELECT DISTINCT ssl, version FROM public.tls_seen WHERE application_name = 'olmisctl'")
    }

    /// `olmisctl demo seed` into `db` as the test user, over `host`, with extra variables.
    fn seed(&self, db: &str, host: &str, vars: &[(&str, &str)]) -> Output {
        let mut cmd = stack().olmisctl(self.project.path());
        cmd.env("SOURCE_PG_HOST", host).env("SOURCE_PG_PORT", self.pg.port.to_string());
        cmd.env("SOURCE_PG_DB", db).env("SOURCE_PG_USER", self.user).env("SOURCE_PG_PASSWORD", &self.password);
        cmd.env_remove("SOURCE_PG_SSLMODE").env_remove("SOURCE_PG_SSLROOTCERT");
        cmd.envs(vars.iter().copied());
        cmd.args(["demo", "seed"]).output().unwrap()
    }

    fn ca(&self) -> &str {
        self.ca.as_deref().and_then(Path::to_str).unwrap()
    }

    /// Seeds a fresh database and returns what the server recorded about olmisctl's sessions.
    fn seeded(&self, what: &str, host: &str, vars: &[(&str, &str)]) -> String {
        let db = self.database(what);
        let out = self.seed(&db, host, vars);
        assert!(out.status.success(), "{what}: demo seed failed: {}\n{}", stderr(&out), self.pg.log());
        self.olmisctl_sessions(&db)
    }

    /// A seed that fails at connecting: exit code and stderr.
    fn refused(&self, what: &str, host: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
        let db = self.database(what);
        let out = self.seed(&db, host, vars);
        assert!(!out.status.success(), "{what}: demo seed should have failed: {}", stdout(&out));
        assert_eq!(self.olmisctl_sessions(&db), "", "{what}: nothing ran");
        let text = stderr(&out);
        assert!(!text.contains(&self.password), "{what}: the password leaked: {text}");
        (out.status.code(), text)
    }
}

/// A CA and a server certificate for DNS name `localhost` only (so `127.0.0.1` is a name the
/// certificate does not hold), made with openssl in `dir`. Returns (ca, cert, key) paths.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = StdCommand::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca_subject = ["-subj", "/CN=olmisctl test CA", "-days", "2"];
    let ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
    openssl(&[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem"], &ca_subject, &ca_ext].concat());
    openssl(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = DNS:localhost\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

#[test]
fn require_and_prefer_encrypt_and_disable_is_refused_by_a_hostssl_only_server() {
    let src = Source::with_ssl("", "");
    let tls = |line: &str| line.starts_with("t|TLSv1.");

    let seen = src.seeded("require", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "require")]);
    assert!(tls(&seen), "require: the server saw {seen:?}");
    let seen = src.seeded("prefer", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "prefer")]);
    assert!(tls(&seen), "prefer: the server saw {seen:?}");
    let seen = src.seeded("default", "127.0.0.1", &[]);
    assert!(tls(&seen), "the default (prefer): the server saw {seen:?}");

    let (code, text) = src.refused("disable", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "disable")]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("the server accepts this user only over SSL, and SOURCE_PG_SSLMODE=disable"), "{text}");
    assert!(text.contains("set SOURCE_PG_SSLMODE=require"), "{text}");
}

#[test]
fn verify_modes_check_the_ca_and_the_host_name() {
    let src = Source::with_ssl("", "");
    let ca = src.ca();
    let full = [("SOURCE_PG_SSLMODE", "verify-full"), ("SOURCE_PG_SSLROOTCERT", ca)];

    let seen = src.seeded("verify_full", "localhost", &full);
    assert!(seen.starts_with("t|TLSv1."), "verify-full: the server saw {seen:?}");

    // The system's CAs don't include the test's: the error says which variable to set.
    let (code, text) = src.refused("no_root", "localhost", &[("SOURCE_PG_SSLMODE", "verify-full")]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("the server's certificate is not trusted"), "{text}");
    assert!(text.contains("set SOURCE_PG_SSLROOTCERT to the PEM file of the CA"), "{text}");

    // 127.0.0.1 is not a name in the certificate: verify-full refuses, verify-ca doesn't check names.
    let (code, text) = src.refused("wrong_name", "127.0.0.1", &full);
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.contains("the server's certificate is not valid for the host name 127.0.0.1 (it is for localhost)"),
        "{text}"
    );
    assert!(text.contains("SOURCE_PG_SSLMODE=verify-ca"), "{text}");
    let seen =
        src.seeded("verify_ca", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "verify-ca"), ("SOURCE_PG_SSLROOTCERT", ca)]);
    assert!(seen.starts_with("t|TLSv1."), "verify-ca: the server saw {seen:?}");

    // A root file that is not the server's CA: require then checks the chain too (as libpq does).
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = make_certificates(other.path());
    let (code, text) = src.refused(
        "other_ca",
        "127.0.0.1",
        &[("SOURCE_PG_SSLMODE", "require"), ("SOURCE_PG_SSLROOTCERT", other_ca.to_str().unwrap())],
    );
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains(&format!("SOURCE_PG_SSLROOTCERT={} does not hold the CA", other_ca.display())), "{text}");

    // A root file that can't be used is a configuration error naming the variable and the file.
    let missing = other.path().join("missing.pem");
    let (code, text) = src.refused(
        "missing_root",
        "localhost",
        &[("SOURCE_PG_SSLMODE", "verify-full"), ("SOURCE_PG_SSLROOTCERT", missing.to_str().unwrap())],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains(&format!("SOURCE_PG_SSLROOTCERT=\"{}\"", missing.display())), "{text}");
    assert!(text.contains("cannot read it"), "{text}");
}

#[test]
fn prefer_connects_in_plain_text_to_a_server_without_ssl_and_require_says_why_not() {
    let src = Source::without_ssl();
    let seen = src.seeded("prefer_plain", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "prefer")]);
    assert_eq!(seen, "f|", "prefer without SSL on the server: plain text");

    let (code, text) = src.refused("require_plain", "127.0.0.1", &[("SOURCE_PG_SSLMODE", "require")]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("the server does not support SSL, and SOURCE_PG_SSLMODE=require requires it"), "{text}");
}

/// Kafka Connect's side: Debezium gets SOURCE_PG_SSLMODE and the root certificate's path as
/// `database.sslmode`/`database.sslrootcert`, and streams over a verified connection from a server
/// that admits the user (replication included) only over SSL.
#[test]
fn debezium_streams_over_verify_full_with_the_root_certificate() {
    let src = Source::with_ssl(
        "wal_level = logical\nmax_replication_slots = 4\nmax_wal_senders = 4\n",
        &format!("hostssl replication {TLS_USER} 127.0.0.1/32 scram-sha-256\n"),
    );
    let db = src.database("cdc");
    let name = unique("tlscdc").to_lowercase();
    let port = src.pg.port.to_string();
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/olmis-analytics-core");
    let vars = [
        ("SOURCE_PG_SSLMODE", "verify-full"),
        ("SOURCE_PG_SSLROOTCERT", src.ca()),
        ("SOURCE_PG_CONNECT_HOST", "localhost"),
        ("SOURCE_PG_CONNECT_PORT", &port),
        ("SOURCE_PG_SLOT_NAME", &name),
        ("SOURCE_PG_PUBLICATION", &name),
        ("DEBEZIUM_TOPIC_PREFIX", &name),
        ("CONNECTOR_NAME", &name),
        ("DEBEZIUM_HEARTBEAT_INTERVAL_MS", "1000"),
        ("ANALYTICS_CORE_PATH", core.to_str().unwrap()),
    ];
    let out = src.seed(&db, "localhost", &vars);
    assert!(out.status.success(), "demo seed: {}", stderr(&out));
    assert!(src.olmisctl_sessions(&db).starts_with("t|TLSv1."));
    let _connector = ConnectorGuard(name.clone());
    let mut register = stack().olmisctl(src.project.path());
    register.env("SOURCE_PG_HOST", "localhost").env("SOURCE_PG_PORT", &port).env("SOURCE_PG_DB", &db);
    register.env("SOURCE_PG_USER", src.user).env("SOURCE_PG_PASSWORD", &src.password).envs(vars);
    let out = register.args(["register-connector", "--yes", "--timeout", "300"]).output().unwrap();
    assert!(out.status.success(), "register-connector: {}\n{}", stdout(&out), stderr(&out));

    let config = StdCommand::new("curl")
        .args(["-sS", &format!("{}/connectors/{name}/config", stack().get("CONNECT_URL"))])
        .output()
        .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(config["database.sslmode"], "verify-full");
    assert_eq!(config["database.sslrootcert"], src.ca());
    // The walsender streaming to Debezium is encrypted, in the server's own view.
    eventually(60, "Debezium's replication connection", || {
        let sql = format!(
            "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) \
             JOIN pg_replication_slots l ON l.active_pid = r.pid WHERE l.slot_name = '{name}'"
        );
        (src.pg.psql("postgres", &sql) == "t").then_some(())
    });
}
