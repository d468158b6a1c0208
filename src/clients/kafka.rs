//! The Kafka broker, as far as olmisctl needs it: "does it answer?". One ApiVersions request (the
//! first thing every Kafka client sends, version 0 of which every broker since 0.10 accepts) over a
//! plain TCP connection proves the broker speaks the protocol, without a Kafka client library.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

pub const SERVICE: &str = "kafka";

const API_VERSIONS: i16 = 18;
const CORRELATION_ID: i32 = 0x6f6c_6d73;
const CLIENT_ID: &[u8] = b"olmisctl";
/// An ApiVersions answer lists under a hundred APIs: anything far larger is not Kafka.
const MAX_RESPONSE: usize = 64 * 1024;

/// What a broker said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub address: String,
    /// Number of protocol APIs the broker supports.
    pub apis: usize,
}

/// ApiVersions v0: size, api key, api version, correlation id, client id (int16-prefixed), no body.
pub fn api_versions_request() -> Vec<u8> {
    let mut body = Vec::with_capacity(18);
    body.extend_from_slice(&API_VERSIONS.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    body.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    let mut request = (body.len() as i32).to_be_bytes().to_vec();
    request.extend(body);
    request
}

/// Reads an ApiVersions v0 response body (after its size): correlation id, error code, API count.
pub fn parse_api_versions(body: &[u8]) -> std::result::Result<usize, String> {
    let int = |at: usize, len: usize| body.get(at..at + len).ok_or_else(|| "the answer is cut short".to_string());
    let correlation = i32::from_be_bytes(int(0, 4)?.try_into().map_err(|_| "bad correlation id")?);
    if correlation != CORRELATION_ID {
        return Err("the answer is not Kafka's (wrong correlation id)".into());
    }
    let error = i16::from_be_bytes(int(4, 2)?.try_into().map_err(|_| "bad error code")?);
    if error != 0 {
        return Err(format!("the broker answered with Kafka error code {error}"));
    }
    let count = i32::from_be_bytes(int(6, 4)?.try_into().map_err(|_| "bad API count")?);
    usize::try_from(count).map_err(|_| format!("negative API count {count}"))
}

/// Asks one broker for its API versions, within `timeout`.
pub async fn api_versions(address: &str, timeout: Duration) -> Result<BrokerInfo> {
    let fail = |message: String| {
        Error::service(SERVICE, format!("{address}: {message}"))
            .with_hint("check KAFKA_BOOTSTRAP_SERVERS and that the broker runs (`olmisctl ps` in compose mode)")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.map_err(|e| fail(format!("cannot connect: {e}")))?;
        stream.write_all(&api_versions_request()).await.map_err(|e| fail(format!("cannot send: {e}")))?;
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).await.map_err(|e| fail(format!("no answer: {e}")))?;
        let size = usize::try_from(i32::from_be_bytes(size)).unwrap_or(usize::MAX);
        if size > MAX_RESPONSE {
            return Err(fail("the answer is not Kafka's (implausible size)".into()));
        }
        let mut body = vec![0u8; size];
        stream.read_exact(&mut body).await.map_err(|e| fail(format!("answer cut short: {e}")))?;
        let apis = parse_api_versions(&body).map_err(fail)?;
        Ok(BrokerInfo { address: address.to_string(), apis })
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(fail(format!("no answer within {}s", timeout.as_secs()))),
    }
}

/// The first of the bootstrap servers that answers; the error names every one that did not.
pub async fn first_answering(servers: &[String], timeout: Duration) -> Result<BrokerInfo> {
    let mut failures = Vec::new();
    for server in servers {
        match api_versions(server, timeout).await {
            Ok(info) => return Ok(info),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if failures.is_empty() {
        return Err(Error::Config {
            var: "KAFKA_BOOTSTRAP_SERVERS".into(),
            value: Some(String::new()),
            expected: "at least one host:port".into(),
            hint: None,
        });
    }
    Err(Error::service(SERVICE, failures.join("; "))
        .with_hint("check KAFKA_BOOTSTRAP_SERVERS and that the broker runs (`olmisctl ps` in compose mode)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_a_sized_api_versions_v0() {
        let r = api_versions_request();
        assert_eq!(&r[..4], &(r.len() as i32 - 4).to_be_bytes());
        assert_eq!(&r[4..6], &18i16.to_be_bytes());
        assert_eq!(&r[6..8], &0i16.to_be_bytes());
        assert!(r.ends_with(b"olmisctl"));
    }

    #[test]
    fn response_is_checked() {
        let mut ok = CORRELATION_ID.to_be_bytes().to_vec();
        ok.extend_from_slice(&0i16.to_be_bytes());
        ok.extend_from_slice(&75i32.to_be_bytes());
        assert_eq!(parse_api_versions(&ok), Ok(75));
        let mut refused = CORRELATION_ID.to_be_bytes().to_vec();
        refused.extend_from_slice(&35i16.to_be_bytes());
        refused.extend_from_slice(&0i32.to_be_bytes());
        assert!(parse_api_versions(&refused).unwrap_err().contains("error code 35"));
        assert!(parse_api_versions(&[0, 0, 0, 1, 0, 0]).unwrap_err().contains("correlation"));
        assert!(parse_api_versions(&ok[..5]).unwrap_err().contains("cut short"));
    }
}
