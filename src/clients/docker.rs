//! The Docker Engine API (bollard): the project's containers by their compose labels, their state and
//! health, exec, logs, restart, networks and volumes. Container lifecycle (create, up, down, build)
//! is not here: it goes through the compose CLI (`crate::compose`).
//!
//! Connecting negotiates the API version before bollard sends its first request: bollard puts its
//! own newest version into every path (`/v1.53/...`) and an older engine refuses that outright
//! ("client version 1.53 is too new"), `/version` included, so bollard's `negotiate_version` can't
//! help with engines older than the library. We ask the unversioned `/_ping` instead, whose
//! `Api-Version` header is the engine's newest version, and talk that (capped at bollard's).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum, NetworkCreateRequest, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;

use crate::error::{Error, Result};

pub const SERVICE: &str = "docker";

/// Where `DOCKER_HOST` is unset, as the docker CLI does.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The oldest engine API we support: Docker Engine 20.10.
pub const MIN_API: (usize, usize) = (1, 41);

/// Per-request limit. Long execs and log streams are not bound by it (only their start is).
const REQUEST_TIMEOUT_SECS: u64 = 120;

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";

/// How to reach the engine, from a `DOCKER_HOST` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `tcp://host:port` as an `http://host:port` base URL (plain TCP; TLS is not supported).
    Tcp(String),
}

impl Endpoint {
    /// Parses a `DOCKER_HOST` value. `tls_verify` is whether `DOCKER_TLS_VERIFY` is set.
    pub fn parse(host: &str, tls_verify: bool) -> Result<Endpoint> {
        let host = host.trim();
        let unsupported = |what: &str| {
            Error::usage(format!("DOCKER_HOST={host}: {what} is not supported by olmisctl"))
                .with_hint("use the engine's Unix socket (unix:///var/run/docker.sock) or plain tcp://, e.g. through an SSH tunnel: ssh -L 2375:/var/run/docker.sock HOST")
        };
        if let Some(path) = host.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(Error::usage("DOCKER_HOST=unix:// names no socket")
                    .with_hint("e.g. DOCKER_HOST=unix:///var/run/docker.sock"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            if tls_verify {
                return Err(unsupported("TLS (DOCKER_TLS_VERIFY)"));
            }
            return Ok(Endpoint::Tcp(format!("http://{}", rest.trim_end_matches('/'))));
        }
        match host.split_once("://") {
            Some((scheme, _)) => Err(unsupported(&format!("the {scheme}:// scheme"))),
            None => Err(Error::usage(format!("DOCKER_HOST={host} is not an engine address"))
                .with_hint("e.g. DOCKER_HOST=unix:///var/run/docker.sock or tcp://127.0.0.1:2375")),
        }
    }
}

/// Parses an API version such as "1.41".
pub fn parse_api_version(text: &str) -> Option<(usize, usize)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The API version to speak: the engine's newest, capped at the newest bollard knows.
pub fn choose_api_version(engine: (usize, usize)) -> Result<(usize, usize)> {
    if engine < MIN_API {
        return Err(Error::service(
            SERVICE,
            format!(
                "the Docker engine speaks API {}.{}, older than {}.{} (Docker Engine 20.10), the oldest olmisctl supports",
                engine.0, engine.1, MIN_API.0, MIN_API.1
            ),
        )
        .with_hint("upgrade Docker Engine to 20.10 or later"));
    }
    let newest = bollard::API_DEFAULT_VERSION;
    Ok(engine.min((newest.major_version, newest.minor_version)))
}

/// What the engine says about itself.
#[derive(Debug, Clone, Serialize)]
pub struct EngineInfo {
    /// e.g. "20.10.24+dfsg1".
    pub version: String,
    pub api_version: String,
    /// The `name=seccomp,...` entry of the engine's security options, if seccomp is on.
    pub seccomp: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Created => "created",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Restarting => "restarting",
            RunState::Removing => "removing",
            RunState::Exited => "exited",
            RunState::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    OnFailure,
}

/// The timing of a container's health check, with the engine's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckTiming {
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
}

impl CheckTiming {
    /// The engine's defaults for what a health check leaves out (0 or missing).
    pub fn with_defaults(interval_ns: i64, timeout_ns: i64, retries: i64, start_period_ns: i64) -> CheckTiming {
        let secs_or = |ns: i64, default: u64| {
            if ns > 0 { Duration::from_nanos(ns as u64) } else { Duration::from_secs(default) }
        };
        CheckTiming {
            interval: secs_or(interval_ns, 30),
            timeout: secs_or(timeout_ns, 30),
            retries: if retries > 0 { retries as u32 } else { 3 },
            start_period: secs_or(start_period_ns, 0),
        }
    }
}

/// One run of the container's health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckRun {
    pub exit_code: i64,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// A container of a compose project, as the engine sees it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub service: String,
    pub state: RunState,
    pub exit_code: i64,
    /// `None` when the container has no health check.
    pub health: Option<Health>,
    pub check_timing: Option<CheckTiming>,
    pub last_check: Option<HealthCheckRun>,
    pub restart_policy: RestartPolicy,
    pub restart_count: i64,
    pub started_at: Option<SystemTime>,
    pub ports: Vec<PublishedPort>,
}

impl Container {
    /// Running and, when it has a health check, healthy.
    pub fn is_up(&self) -> bool {
        self.state == RunState::Running && self.health.is_none_or(|h| h == Health::Healthy)
    }
}

/// Which output stream of an exec'd process a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Output and exit code of a command run in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub stream: &'static str,
    pub text: String,
}

#[derive(Clone)]
pub struct Engine {
    api: Docker,
    host: String,
    pub info: EngineInfo,
}

impl Engine {
    /// Connects to `DOCKER_HOST` (or the default socket), as the docker CLI and compose do.
    pub async fn connect() -> Result<Engine> {
        let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.trim().is_empty());
        let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        Engine::connect_to(host.as_deref().unwrap_or(DEFAULT_HOST), tls).await
    }

    pub async fn connect_to(host: &str, tls_verify: bool) -> Result<Engine> {
        let endpoint = Endpoint::parse(host, tls_verify)?;
        let engine_api = ping(&endpoint, host).await?;
        let (major, minor) = choose_api_version(engine_api)?;
        let version = bollard::ClientVersion { major_version: major, minor_version: minor };
        let api = match &endpoint {
            Endpoint::Unix(path) => Docker::connect_with_unix(&path.to_string_lossy(), REQUEST_TIMEOUT_SECS, &version),
            Endpoint::Tcp(url) => Docker::connect_with_http(url, REQUEST_TIMEOUT_SECS, &version),
        }
        .map_err(|e| unreachable_error(host, &e.to_string()))?;
        let mut engine = Engine {
            api,
            host: host.to_string(),
            info: EngineInfo { version: String::new(), api_version: format!("{major}.{minor}"), seccomp: None },
        };
        let system = engine.api.version().await.map_err(|e| engine.api_error("read the engine version", e))?;
        engine.info.version = system.version.unwrap_or_default();
        let info = engine.api.info().await.map_err(|e| engine.api_error("read the engine info", e))?;
        engine.info.seccomp =
            info.security_options.unwrap_or_default().into_iter().find(|o| o.starts_with("name=seccomp"));
        Ok(engine)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The containers of a compose project (running or not), without one-off `run` containers,
    /// sorted by service then name.
    pub async fn project_containers(&self, project: &str) -> Result<Vec<Container>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{PROJECT_LABEL}={project}")])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let summaries =
            self.api.list_containers(Some(options)).await.map_err(|e| self.api_error("list containers", e))?;
        let mut containers = Vec::new();
        for summary in summaries {
            let labels = summary.labels.unwrap_or_default();
            if labels.get(ONEOFF_LABEL).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                continue;
            }
            let Some(id) = summary.id else { continue };
            match self.api.inspect_container(&id, None).await {
                Ok(raw) => containers.push(container_from(raw)),
                // Removed between the list and the inspect: simply gone.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => return Err(self.api_error("inspect a container", e)),
            }
        }
        containers.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
        Ok(containers)
    }

    pub async fn inspect(&self, id: &str) -> Result<Container> {
        let raw = self.api.inspect_container(id, None).await.map_err(|e| self.api_error("inspect a container", e))?;
        Ok(container_from(raw))
    }

    /// Runs `cmd` in a running container and returns its output and exit code. `env` entries
    /// (`NAME=value`) reach the process through the API, never through a command line.
    pub async fn exec(&self, container: &str, cmd: &[&str], env: &[String]) -> Result<ExecOutput> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let exit_code = self
            .exec_streaming(container, cmd, env, |stream, bytes| match stream {
                OutputStream::Stdout => stdout.extend_from_slice(bytes),
                OutputStream::Stderr => stderr.extend_from_slice(bytes),
            })
            .await?;
        Ok(ExecOutput {
            exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Like [`Engine::exec`], handing each chunk of output to `on_output` as it arrives (for
    /// long-running commands whose progress the user should see), and returning the exit code.
    pub async fn exec_streaming(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        mut on_output: impl FnMut(OutputStream, &[u8]),
    ) -> Result<i64> {
        let options = CreateExecOptions {
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            env: (!env.is_empty()).then(|| env.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let what = format!("run {:?} in {container}", cmd.first().unwrap_or(&""));
        let exec = self.api.create_exec(container, options).await.map_err(|e| self.api_error(&what, e))?;
        match self.api.start_exec(&exec.id, None).await.map_err(|e| self.api_error(&what, e))? {
            StartExecResults::Attached { mut output, .. } => {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(|e| self.api_error(&what, e))? {
                        LogOutput::StdErr { message } => on_output(OutputStream::Stderr, &message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            on_output(OutputStream::Stdout, &message)
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
            }
            StartExecResults::Detached => {}
        }
        // The output stream ends when the process exits, but the engine may record the exit code a
        // moment later.
        for _ in 0..50 {
            let inspect = self.api.inspect_exec(&exec.id).await.map_err(|e| self.api_error(&what, e))?;
            if inspect.running != Some(true) {
                if let Some(code) = inspect.exit_code {
                    return Ok(code);
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::service(SERVICE, format!("{what}: the engine reported no exit code")))
    }

    /// The last `lines` lines of a container's log (stdout and stderr, interleaved as written).
    pub async fn log_tail(&self, container: &str, lines: u64) -> Result<Vec<LogLine>> {
        let mut stream = Box::pin(self.logs(container, lines, false));
        let mut out = Vec::new();
        while let Some(line) = stream.next().await {
            out.push(line?);
        }
        Ok(out)
    }

    /// A container's log as a stream of lines: the last `tail` lines, then (with `follow`) new ones
    /// as they come, until the container stops.
    pub fn logs(&self, container: &str, tail: u64, follow: bool) -> impl Stream<Item = Result<LogLine>> + use<> {
        let options =
            LogsOptionsBuilder::default().stdout(true).stderr(true).follow(follow).tail(&tail.to_string()).build();
        let state = LogStream {
            frames: Box::pin(self.api.logs(container, Some(options))),
            splitter: LineSplitter::default(),
            pending: VecDeque::new(),
            done: false,
            engine: self.clone(),
            what: format!("read the log of {container}"),
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.pending.pop_front() {
                    return Some((item, st));
                }
                if st.done {
                    return None;
                }
                match st.frames.next().await {
                    Some(Ok(frame)) => st.pending.extend(st.splitter.push(frame).into_iter().map(Ok)),
                    Some(Err(e)) => {
                        st.pending.push_back(Err(st.engine.api_error(&st.what, e)));
                        st.done = true;
                    }
                    None => {
                        st.pending.extend(st.splitter.flush().into_iter().map(Ok));
                        st.done = true;
                    }
                }
            }
        })
    }

    /// Restarts a container (stop with its own stop timeout, then start). Returns once it started.
    pub async fn restart(&self, container: &str) -> Result<()> {
        self.api
            .restart_container(container, None)
            .await
            .map_err(|e| self.api_error(&format!("restart {container}"), e))
    }

    /// Creates a bridge network unless one of that name exists. True when it was created.
    pub async fn ensure_network(&self, name: &str) -> Result<bool> {
        let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        let networks = self.api.list_networks(Some(options)).await.map_err(|e| self.api_error("list networks", e))?;
        // The name filter matches substrings.
        if networks.iter().any(|n| n.name.as_deref() == Some(name)) {
            return Ok(false);
        }
        let request =
            NetworkCreateRequest { name: name.to_string(), driver: Some("bridge".into()), ..Default::default() };
        self.api.create_network(request).await.map_err(|e| self.api_error(&format!("create the network {name}"), e))?;
        Ok(true)
    }

    /// The named volumes compose created for a project.
    pub async fn project_volumes(&self, project: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{PROJECT_LABEL}={project}")])]);
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let response = self.api.list_volumes(Some(options)).await.map_err(|e| self.api_error("list volumes", e))?;
        let mut names: Vec<String> = response.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect();
        names.sort();
        Ok(names)
    }

    fn api_error(&self, what: &str, err: bollard::errors::Error) -> Error {
        use bollard::errors::Error as E;
        match err {
            E::DockerResponseServerError { status_code, message } => {
                Error::service(SERVICE, format!("cannot {what}: the engine answered {status_code}: {message}"))
            }
            E::SocketNotFoundError(_) | E::HyperLegacyError { .. } | E::IOError { .. } => {
                unreachable_error(&self.host, &err.to_string())
            }
            other => Error::service(SERVICE, format!("cannot {what}: {other}")),
        }
    }
}

/// Asks the unversioned `/_ping` for the engine's API version. This is also the reachability check,
/// so its errors say how to get an engine running.
async fn ping(endpoint: &Endpoint, host: &str) -> Result<(usize, usize)> {
    let mut builder =
        reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(Duration::from_secs(15));
    let url = match endpoint {
        Endpoint::Unix(path) => {
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(unreachable_error(host, "no socket there (is Docker running?)"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(permission_error(host));
                }
                _ => {}
            }
            builder = builder.unix_socket(path.clone());
            "http://docker/_ping".to_string()
        }
        Endpoint::Tcp(base) => format!("{base}/_ping"),
    };
    let client = builder.build().map_err(|e| Error::usage(format!("cannot build an HTTP client: {e}")))?;
    let response = client.get(&url).send().await.map_err(|e| {
        if io_kind(&e) == Some(std::io::ErrorKind::PermissionDenied) {
            permission_error(host)
        } else if e.is_timeout() {
            unreachable_error(host, "no answer in time")
        } else {
            unreachable_error(host, &error_chain(&e))
        }
    })?;
    let header = response.headers().get("api-version").and_then(|v| v.to_str().ok()).map(str::to_string);
    header.as_deref().and_then(parse_api_version).ok_or_else(|| {
        Error::service(
            SERVICE,
            format!("{host} answered {} without an API version: is it a Docker engine?", response.status()),
        )
        .with_hint("point DOCKER_HOST at the Docker engine's socket")
    })
}

fn unreachable_error(host: &str, detail: &str) -> Error {
    Error::service(SERVICE, format!("cannot reach the Docker engine at {host}: {detail}")).with_hint(
        "start Docker (e.g. `sudo systemctl start docker`, or Docker Desktop), or set DOCKER_HOST to your engine's socket (e.g. unix:///run/user/1000/docker.sock for rootless Docker)",
    )
}

fn permission_error(host: &str) -> Error {
    Error::service(SERVICE, format!("permission denied on the Docker engine socket {host}"))
        .with_hint("add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log in again)")
}

fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

fn error_chain(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    if text.is_empty() { err.to_string() } else { text }
}

struct LogStream {
    frames: std::pin::Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    splitter: LineSplitter,
    pending: VecDeque<Result<LogLine>>,
    done: bool,
    engine: Engine,
    what: String,
}

/// Turns the engine's log frames (arbitrary chunks per stream) into whole lines.
#[derive(Default)]
struct LineSplitter {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl LineSplitter {
    /// Feeds one frame and returns the lines it completed.
    fn push(&mut self, frame: LogOutput) -> Vec<LogLine> {
        let (buffer, stream, bytes): (&mut Vec<u8>, &'static str, Bytes) = match frame {
            LogOutput::StdErr { message } => (&mut self.stderr, "stderr", message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => (&mut self.stdout, "stdout", message),
            LogOutput::StdIn { .. } => return Vec::new(),
        };
        buffer.extend_from_slice(&bytes);
        let mut lines = Vec::new();
        while let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=pos).collect();
            lines.push(LogLine { stream, text: clean_line(&line) });
        }
        lines
    }

    /// The unterminated rest of each stream, at the end of the log.
    fn flush(&mut self) -> Vec<LogLine> {
        let mut lines = Vec::new();
        for (buffer, stream) in [(&mut self.stdout, "stdout"), (&mut self.stderr, "stderr")] {
            if !buffer.is_empty() {
                lines.push(LogLine { stream, text: clean_line(buffer) });
                buffer.clear();
            }
        }
        lines
    }
}

fn clean_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches(['\n', '\r']).to_string()
}

fn container_from(raw: ContainerInspectResponse) -> Container {
    let config = raw.config.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    let state = raw.state.unwrap_or_default();
    // "NONE" disables a health check inherited from the image.
    let healthcheck = config.healthcheck.unwrap_or_default();
    let has_healthcheck = healthcheck
        .test
        .as_ref()
        .is_some_and(|test| !test.is_empty() && test.first().map(String::as_str) != Some("NONE"));
    let check_timing = has_healthcheck.then(|| {
        CheckTiming::with_defaults(
            healthcheck.interval.unwrap_or_default(),
            healthcheck.timeout.unwrap_or_default(),
            healthcheck.retries.unwrap_or_default(),
            healthcheck.start_period.unwrap_or_default(),
        )
    });
    let health_state = state.health.clone().unwrap_or_default();
    let health = match health_state.status {
        Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
        Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
        Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
        _ if has_healthcheck => Some(Health::Starting),
        _ => None,
    };
    let last_check = health_state.log.unwrap_or_default().pop().map(|run| HealthCheckRun {
        exit_code: run.exit_code.unwrap_or_default(),
        output: run.output.unwrap_or_default().trim_end().to_string(),
    });
    let run_state = match state.status {
        Some(ContainerStateStatusEnum::CREATED) => RunState::Created,
        Some(ContainerStateStatusEnum::RUNNING) => RunState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => RunState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => RunState::Removing,
        Some(ContainerStateStatusEnum::DEAD) => RunState::Dead,
        // "stopping" exists only in newer engines; for readiness it is as good as stopped.
        _ => RunState::Exited,
    };
    let restart_policy = match raw.host_config.and_then(|h| h.restart_policy).and_then(|p| p.name) {
        Some(RestartPolicyNameEnum::ALWAYS) => RestartPolicy::Always,
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => RestartPolicy::UnlessStopped,
        Some(RestartPolicyNameEnum::ON_FAILURE) => RestartPolicy::OnFailure,
        _ => RestartPolicy::No,
    };
    let mut ports = Vec::new();
    for (key, bindings) in raw.network_settings.and_then(|n| n.ports).unwrap_or_default() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else { continue };
        for binding in bindings.unwrap_or_default() {
            if let Some(host_port) = binding.host_port.and_then(|p| p.parse::<u16>().ok()) {
                ports.push(PublishedPort {
                    host_ip: binding.host_ip.unwrap_or_default(),
                    host_port,
                    container_port,
                    protocol: protocol.to_string(),
                });
            }
        }
    }
    ports.sort_by(|a, b| (a.container_port, &a.host_ip, a.host_port).cmp(&(b.container_port, &b.host_ip, b.host_port)));
    Container {
        id: raw.id.unwrap_or_default(),
        name: raw.name.unwrap_or_default().trim_start_matches('/').to_string(),
        service: labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
        state: run_state,
        exit_code: state.exit_code.unwrap_or_default(),
        health,
        check_timing,
        last_check,
        restart_policy,
        restart_count: raw.restart_count.unwrap_or_default(),
        // The engine writes 0001-01-01 for "never started", which is before the epoch: None.
        started_at: state.started_at.as_deref().and_then(|t| humantime::parse_rfc3339_weak(t).ok()),
        ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_values() {
        assert_eq!(
            Endpoint::parse("unix:///var/run/docker.sock", false).unwrap(),
            Endpoint::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.2:2375", false).unwrap(),
            Endpoint::Tcp("http://10.0.0.2:2375".into())
        );
        let err = Endpoint::parse("tcp://10.0.0.2:2376", true).unwrap_err();
        assert!(err.to_string().contains("TLS"), "{err}");
        let err = Endpoint::parse("ssh://me@host", false).unwrap_err();
        assert!(err.to_string().contains("ssh://"), "{err}");
        assert!(Endpoint::parse("/var/run/docker.sock", false).is_err());
    }

    #[test]
    fn api_version_is_capped_and_has_a_floor() {
        assert_eq!(parse_api_version("1.41"), Some((1, 41)));
        assert_eq!(parse_api_version("x"), None);
        assert_eq!(choose_api_version((1, 41)).unwrap(), (1, 41));
        let newest = bollard::API_DEFAULT_VERSION;
        assert_eq!(choose_api_version((1, 99)).unwrap(), (newest.major_version, newest.minor_version));
        let err = choose_api_version((1, 40)).unwrap_err();
        assert!(err.to_string().contains("20.10"), "{err}");
    }

    #[test]
    fn log_frames_become_lines() {
        let mut s = LineSplitter::default();
        let out = |m: &str| LogOutput::StdOut { message: Bytes::from(m.to_string()) };
        assert!(s.push(out("par")).is_empty());
        let lines = s.push(out("tial\nnext\r\nrest"));
        assert_eq!(lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), vec!["partial", "next"]);
        let err = s.push(LogOutput::StdErr { message: Bytes::from_static(b"oops\n") });
        assert_eq!(err, vec![LogLine { stream: "stderr", text: "oops".into() }]);
        assert_eq!(s.flush(), vec![LogLine { stream: "stdout", text: "rest".into() }]);
        assert!(s.flush().is_empty());
    }

    #[test]
    fn health_check_timing_takes_the_engine_defaults() {
        let t = CheckTiming::with_defaults(0, 0, 0, 0);
        assert_eq!(
            (t.interval, t.timeout, t.retries, t.start_period),
            (Duration::from_secs(30), Duration::from_secs(30), 3, Duration::ZERO)
        );
        let t = CheckTiming::with_defaults(5_000_000_000, 2_000_000_000, 10, 60_000_000_000);
        assert_eq!(
            (t.interval, t.timeout, t.retries, t.start_period),
            (Duration::from_secs(5), Duration::from_secs(2), 10, Duration::from_secs(60))
        );
    }
}
