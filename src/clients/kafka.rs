//! The Kafka broker, as far as olmisctl needs it: "does it answer?" and "do these topics exist?",
//! without a Kafka client library. An ApiVersions request (the first thing every Kafka client
//! sends, version 0 of which every broker since 0.10 accepts) proves the broker speaks the
//! protocol; a Metadata request (v4, the oldest Kafka 4 serves) lists topics.

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

const METADATA: i16 = 3;
/// Metadata v4: the oldest version Kafka 4 still serves (KIP-896), and not yet "flexible".
const METADATA_VERSION: i16 = 4;
/// Kafka's error code for a topic that does not exist.
const UNKNOWN_TOPIC: i16 = 3;

/// What a broker said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub address: String,
    /// Number of protocol APIs the broker supports.
    pub apis: usize,
}

/// A request: size, api key, api version, correlation id, client id (int16-prefixed), then `body`.
fn request(api_key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(18 + body.len());
    message.extend_from_slice(&api_key.to_be_bytes());
    message.extend_from_slice(&version.to_be_bytes());
    message.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    message.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    message.extend_from_slice(CLIENT_ID);
    message.extend_from_slice(body);
    let mut framed = (message.len() as i32).to_be_bytes().to_vec();
    framed.extend(message);
    framed
}

/// ApiVersions v0 has an empty body.
pub fn api_versions_request() -> Vec<u8> {
    request(API_VERSIONS, 0, &[])
}

/// Metadata v4 for these topics, without creating any.
pub fn metadata_request(topics: &[String]) -> Vec<u8> {
    let mut body = (topics.len() as i32).to_be_bytes().to_vec();
    for topic in topics {
        body.extend_from_slice(&(topic.len() as i16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
    }
    body.push(0); // allow_auto_topic_creation = false
    request(METADATA, METADATA_VERSION, &body)
}

/// Reads the big-endian fields of a response in order.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let slice = self.bytes.get(self.at..self.at + n).ok_or_else(|| "the answer is cut short".to_string())?;
        self.at += n;
        Ok(slice)
    }

    fn i16(&mut self) -> std::result::Result<i16, String> {
        Ok(i16::from_be_bytes([self.take(1)?[0], self.take(1)?[0]]))
    }

    fn i32(&mut self) -> std::result::Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self) -> std::result::Result<usize, String> {
        let n = self.i32()?;
        // -1 is a null array.
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A (nullable) int16-prefixed string.
    fn string(&mut self) -> std::result::Result<String, String> {
        let len = self.i16()?;
        let Ok(len) = usize::try_from(len) else { return Ok(String::new()) };
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn skip_i32_array(&mut self) -> std::result::Result<(), String> {
        let n = self.count()?;
        self.take(n * 4).map(|_| ())
    }
}

/// Reads a Metadata v4 response body (after its size): each topic asked about, and whether it
/// exists.
pub fn parse_metadata(body: &[u8]) -> std::result::Result<Vec<(String, bool)>, String> {
    let mut c = Cursor { bytes: body, at: 0 };
    if c.i32()? != CORRELATION_ID {
        return Err("the answer is not Kafka's (wrong correlation id)".into());
    }
    c.i32()?; // throttle_time_ms
    for _ in 0..c.count()? {
        c.i32()?; // node_id
        c.string()?; // host
        c.i32()?; // port
        c.string()?; // rack
    }
    c.string()?; // cluster_id
    c.i32()?; // controller_id
    let mut topics = Vec::new();
    for _ in 0..c.count()? {
        let error = c.i16()?;
        let name = c.string()?;
        c.take(1)?; // is_internal
        for _ in 0..c.count()? {
            c.i16()?; // error_code
            c.i32()?; // partition_index
            c.i32()?; // leader_id
            c.skip_i32_array()?; // replica_nodes
            c.skip_i32_array()?; // isr_nodes (offline_replicas only from v5)
        }
        match error {
            0 => topics.push((name, true)),
            UNKNOWN_TOPIC => topics.push((name, false)),
            other => return Err(format!("the broker answered Kafka error code {other} for topic {name}")),
        }
    }
    Ok(topics)
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

fn broker_error(address: &str, message: String) -> Error {
    Error::service(SERVICE, format!("{address}: {message}"))
        .with_hint("check KAFKA_BOOTSTRAP_SERVERS and that the broker runs (`olmisctl ps` in compose mode)")
}

/// Sends one request to a broker and returns the response body, within `timeout`.
async fn exchange(address: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let fail = |message: String| broker_error(address, message);
    let talk = async {
        let mut stream = TcpStream::connect(address).await.map_err(|e| fail(format!("cannot connect: {e}")))?;
        stream.write_all(request).await.map_err(|e| fail(format!("cannot send: {e}")))?;
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).await.map_err(|e| fail(format!("no answer: {e}")))?;
        let size = usize::try_from(i32::from_be_bytes(size)).unwrap_or(usize::MAX);
        if size > MAX_RESPONSE {
            return Err(fail("the answer is not Kafka's (implausible size)".into()));
        }
        let mut body = vec![0u8; size];
        stream.read_exact(&mut body).await.map_err(|e| fail(format!("answer cut short: {e}")))?;
        Ok(body)
    };
    match tokio::time::timeout(timeout, talk).await {
        Ok(result) => result,
        Err(_) => Err(fail(format!("no answer within {}s", timeout.as_secs()))),
    }
}

/// Asks one broker for its API versions.
pub async fn api_versions(address: &str, timeout: Duration) -> Result<BrokerInfo> {
    let body = exchange(address, &api_versions_request(), timeout).await?;
    let apis = parse_api_versions(&body).map_err(|m| broker_error(address, m))?;
    Ok(BrokerInfo { address: address.to_string(), apis })
}

/// Which of `topics` exist, asking the first bootstrap server that answers.
pub async fn existing_topics(servers: &[String], topics: &[String], timeout: Duration) -> Result<Vec<String>> {
    let broker = first_answering(servers, timeout).await?;
    let body = exchange(&broker.address, &metadata_request(topics), timeout).await?;
    let found = parse_metadata(&body).map_err(|m| broker_error(&broker.address, m))?;
    Ok(found.into_iter().filter(|(_, exists)| *exists).map(|(name, _)| name).collect())
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
    fn metadata_answer_says_which_topics_exist() {
        let request = metadata_request(&["a.b".to_string()]);
        assert_eq!(&request[4..8], &[0, 3, 0, 4], "Metadata v4");
        assert!(request.ends_with(b"\0\x03a.b\0"), "{request:?}");
        // One broker, then two topics: one with a partition, one unknown.
        let mut b = CORRELATION_ID.to_be_bytes().to_vec();
        b.extend(0i32.to_be_bytes());
        b.extend(1i32.to_be_bytes());
        b.extend(1i32.to_be_bytes());
        b.extend(9i16.to_be_bytes());
        b.extend(b"127.0.0.1");
        b.extend(29092i32.to_be_bytes());
        b.extend((-1i16).to_be_bytes());
        b.extend(2i16.to_be_bytes());
        b.extend(b"id");
        b.extend(1i32.to_be_bytes());
        b.extend(2i32.to_be_bytes());
        b.extend(0i16.to_be_bytes());
        b.extend(3i16.to_be_bytes());
        b.extend(b"a.b");
        b.push(0);
        b.extend(1i32.to_be_bytes());
        b.extend(0i16.to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.extend(1i32.to_be_bytes());
        for _ in 0..2 {
            b.extend(1i32.to_be_bytes());
            b.extend(1i32.to_be_bytes());
        }
        b.extend(3i16.to_be_bytes());
        b.extend(3i16.to_be_bytes());
        b.extend(b"x.y");
        b.push(0);
        b.extend(0i32.to_be_bytes());
        assert_eq!(parse_metadata(&b), Ok(vec![("a.b".to_string(), true), ("x.y".to_string(), false)]));
        assert!(parse_metadata(&b[..b.len() - 3]).unwrap_err().contains("cut short"));
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
