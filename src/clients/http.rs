//! The HTTP plumbing the REST clients share: one configured reqwest client and error mapping.

use std::time::Duration;

use crate::error::Error;

/// A client with sane time limits: an unreachable service fails in seconds, not minutes.
pub fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    build(builder(timeout))
}

/// The settings every client shares, for clients that need more (e.g. no redirects).
pub fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .user_agent(concat!("olmisctl/", env!("CARGO_PKG_VERSION")))
}

pub fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, Error> {
    builder.build().map_err(|e| Error::usage(format!("cannot build an HTTP client: {e}")))
}

/// Whether the URL names this machine (`localhost` or a loopback address).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Turns a transport failure into a message a user can act on.
pub fn transport_error(service: &'static str, url: &str, err: &reqwest::Error) -> Error {
    let what = if err.is_connect() {
        format!("cannot connect to {url}")
    } else if err.is_timeout() {
        format!("{url} did not answer in time")
    } else {
        format!("request to {url} failed: {}", without_url(err))
    };
    Error::service(service, what)
}

/// reqwest's Display repeats the URL, which can carry credentials; we print our own copy.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

/// The first part of a response body, trimmed, for error messages (HTML pages can be huge).
pub fn snippet(body: &str) -> String {
    let text = body.trim();
    let max = 400;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_recognised() {
        for local in ["http://127.0.0.1:8123", "http://localhost:8123/", "http://[::1]:8123", "http://127.0.0.2"] {
            assert!(is_loopback(&url::Url::parse(local).unwrap()), "{local}");
        }
        for remote in ["http://10.0.0.5:8123", "http://clickhouse:8123", "http://localhost.example.org"] {
            assert!(!is_loopback(&url::Url::parse(remote).unwrap()), "{remote}");
        }
    }
}
