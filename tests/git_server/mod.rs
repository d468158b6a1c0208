//! A Git smart-HTTP server for tests: `git http-backend` (CGI) behind a minimal HTTP/1.1 server on
//! 127.0.0.1 that answers 401 unless the request carries Basic credentials whose password is the
//! expected token. One thread per connection; every response closes the connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;

pub struct GitServer {
    port: u16,
    authorized: Arc<AtomicUsize>,
}

impl GitServer {
    /// Serves the bare repositories under `root` (e.g. `root/name.git`).
    pub fn start(root: &Path, token: &str) -> GitServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let authorized = Arc::new(AtomicUsize::new(0));
        let (root, token, count) = (root.to_path_buf(), token.to_string(), authorized.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, token, count) = (root.clone(), token.clone(), count.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &root, &token, &count);
                });
            }
        });
        GitServer { port, authorized }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests that carried the right token.
    pub fn authorized_requests(&self) -> usize {
        self.authorized.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, root: &PathBuf, token: &str, authorized: &AtomicUsize) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let body = read_body(&mut reader, header("content-length"), header("transfer-encoding"))?;

    let expected = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    if header("authorization").as_deref() != Some(&format!("Basic {expected}")) {
        let mut out = stream;
        let text = "authentication required\n";
        write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        return Ok(());
    }
    authorized.fetch_add(1, Ordering::SeqCst);

    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding").unwrap_or_default())
        .env("GIT_PROTOCOL", header("git-protocol").unwrap_or_default())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = cgi.stdin.take() {
        stdin.write_all(&body)?;
    }
    let output = cgi.wait_with_output()?;
    let split = output.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|p| (p, 4));
    let split = split.or_else(|| output.stdout.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let (head, content) = match split {
        Some((at, sep)) => (String::from_utf8_lossy(&output.stdout[..at]).into_owned(), &output.stdout[at + sep..]),
        None => (String::new(), &output.stdout[..]),
    };
    let mut status = "200 OK".to_string();
    let mut response_headers = String::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => response_headers.push_str(&format!("{}\r\n", line.trim_end())),
            None => {}
        }
    }
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )?;
    out.write_all(content)?;
    out.flush()
}

fn read_body(reader: &mut impl BufRead, length: Option<String>, encoding: Option<String>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            if size == 0 {
                let mut trailer = String::new();
                reader.read_line(&mut trailer)?;
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = length.and_then(|l| l.parse::<usize>().ok()) {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}
