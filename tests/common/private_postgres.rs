//! A PostgreSQL cluster of a test's own, from the stack's PostgreSQL binaries, for what a test
//! can't do on the shared server: server-wide settings (a tiny `max_slot_wal_keep_size`, SSL and a
//! `hostssl`-only pg_hba) would break or change other tests running against it.
//!
//! PostgreSQL refuses to run as root, so when the tests do, the cluster runs as the stack's system
//! user. Listens on 127.0.0.1 at a free port (no Unix socket); stopped and removed on drop.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use super::{stack, stderr, stdout, unique};

const STACK_USER: &str = "olmisstack";

pub struct PrivatePostgres {
    dir: PathBuf,
    pub port: u16,
    /// The superuser `postgres`'s password.
    pub password: String,
}

impl PrivatePostgres {
    /// A new cluster, initialised but not started: [`configure`](Self::configure) it, then
    /// [`start`](Self::start) it. `initdb_args` come after the data folder, user and password.
    pub fn init(prefix: &str, initdb_args: &[&str]) -> PrivatePostgres {
        let dir = std::env::temp_dir().join(unique(prefix).to_lowercase());
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = PrivatePostgres { dir, port, password: unique("pw") };
        let pwfile = pg.write_file("pwfile", pg.password.as_bytes(), 0o600);
        if as_root() {
            let status =
                StdCommand::new("chown").arg("-R").arg(format!("{STACK_USER}:")).arg(&pg.dir).status().unwrap();
            assert!(status.success(), "chown of {} to the stack user failed", pg.dir.display());
        }
        pg.as_stack_user(&bindir().join("initdb"))
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "postgres", "--pwfile", pwfile.to_str().unwrap(), "--auth=scram-sha-256"])
            .args(["-E", "UTF8", "--locale=C.UTF-8"])
            .args(initdb_args)
            .output()
            .map(|o| assert!(o.status.success(), "initdb failed: {}", stderr(&o)))
            .unwrap();
        append(
            &pg.data().join("postgresql.conf"),
            &format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = ''\nfsync = off\ntimezone = 'UTC'\n",
                pg.port
            ),
        );
        pg
    }

    /// Appends `conf` to postgresql.conf and makes `hba` the whole pg_hba.conf.
    pub fn configure(&self, conf: &str, hba: &str) {
        append(&self.data().join("postgresql.conf"), conf);
        std::fs::write(self.data().join("pg_hba.conf"), hba).unwrap();
    }

    /// Writes a file into the cluster's folder, owned by the server's user with `mode` (a private
    /// key must be 0600 and the server's own). Returns its path.
    pub fn write_file(&self, name: &str, contents: &[u8], mode: u32) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        if as_root() {
            let status = StdCommand::new("chown").arg(format!("{STACK_USER}:")).arg(&path).status().unwrap();
            assert!(status.success(), "chown of {} to the stack user failed", path.display());
        }
        path
    }

    pub fn start(&self) {
        let log = self.dir.join("postgres.log");
        self.as_stack_user(&bindir().join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .output()
            .map(|o| {
                assert!(
                    o.status.success(),
                    "pg_ctl start failed: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .unwrap();
    }

    /// Runs SQL as the superuser; rows as `|`-separated lines.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = StdCommand::new(stack().bin("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", db, "-c", sql])
            .env("PGPASSWORD", &self.password)
            .output()
            .unwrap();
        assert!(out.status.success(), "psql on the private cluster failed on {sql:?}: {}", stderr(&out));
        stdout(&out).trim_end().to_string()
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_stack_user(&self, program: &Path) -> StdCommand {
        if as_root() {
            let mut cmd = StdCommand::new("setpriv");
            cmd.args(["--reuid", STACK_USER, "--regid", STACK_USER, "--init-groups", "--"]).arg(program);
            cmd
        } else {
            StdCommand::new(program)
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .as_stack_user(&bindir().join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bindir() -> PathBuf {
    PathBuf::from(stack().get("OLMIS_STACK_PG_BINDIR"))
}

fn as_root() -> bool {
    StdCommand::new("id").arg("-u").output().map(|o| stdout(&o).trim() == "0").unwrap_or(false)
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}
