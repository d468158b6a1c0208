//! `status --serve ADDR`: a minimal HTTP endpoint for Prometheus to scrape. Each scrape of
//! `/metrics` gathers fresh figures; anything else is a 404. One request per connection keeps it
//! simple and safe (Prometheus opens a connection per scrape anyway).

use std::future::Future;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};

/// The request line's path, or `None` for a request we don't serve.
fn requested_path(head: &str) -> Option<&str> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(path)) => Some(path.split('?').next().unwrap_or(path)),
        _ => None,
    }
}

fn response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

pub async fn serve<F, Fut>(addr: &str, metrics: F) -> Result<()>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = String> + Send,
{
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Error::usage(format!("cannot listen on {addr}: {e}"))
            .with_hint("pass a free address, e.g. --serve 127.0.0.1:9464")
    })?;
    tracing::info!("serving metrics on http://{addr}/metrics");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, metrics).await {
                tracing::debug!("metrics connection: {e}");
            }
        });
    }
}

async fn answer<F, Fut>(mut stream: TcpStream, metrics: F) -> std::io::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = String>,
{
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await?;
    let head = String::from_utf8_lossy(&buf[..n]);
    let reply = match requested_path(&head) {
        Some("/metrics") => response("200 OK", "text/plain; version=0.0.4; charset=utf-8", &metrics().await),
        Some(_) => response("404 Not Found", "text/plain", "not found: try /metrics\n"),
        None => response("405 Method Not Allowed", "text/plain", "only GET\n"),
    };
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_path_of_a_get() {
        assert_eq!(requested_path("GET /metrics HTTP/1.1\r\nHost: x\r\n"), Some("/metrics"));
        assert_eq!(requested_path("GET /metrics?x=1 HTTP/1.1\r\n"), Some("/metrics"));
        assert_eq!(requested_path("POST /metrics HTTP/1.1\r\n"), None);
        assert_eq!(requested_path(""), None);
    }

    #[tokio::test]
    async fn serves_metrics_over_real_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let server = tokio::spawn({
            let addr = addr.clone();
            async move { serve(&addr, || async { "olmis_status 0\n".to_string() }).await }
        });
        let mut body = String::new();
        for _ in 0..50 {
            if let Ok(mut s) = TcpStream::connect(&addr).await {
                s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
                s.read_to_string(&mut body).await.unwrap();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        server.abort();
        assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
        assert!(body.ends_with("\r\n\r\nolmis_status 0\n"), "{body}");
    }
}
