//! The connection pool against raw HTTP/1.1 origins on loopback.

use super::*;

#[test]
fn requests_go_in_origin_form_with_a_host_header() {
    let make = |url: &str| {
        let uri: Uri = url.parse().unwrap();
        let mut r = http::Request::new(Body::default());
        *r.uri_mut() = uri.clone();
        to_origin_form(&mut r, &uri);
        let host = host_header(&uri, uri.scheme_str() == Some("https")).unwrap();
        (r.uri().to_string(), host.to_str().unwrap().to_string())
    };
    assert_eq!(make("http://h.example/a/b?c=d"), ("/a/b?c=d".into(), "h.example".into()));
    assert_eq!(make("http://h.example:80"), ("/".into(), "h.example".into()));
    assert_eq!(make("https://h.example:443/x"), ("/x".into(), "h.example".into()));
    assert_eq!(make("http://127.0.0.1:8080/x"), ("/x".into(), "127.0.0.1:8080".into()));
    assert_eq!(make("http://[::1]:9/x"), ("/x".into(), "[::1]:9".into()));
    assert_eq!(make("http://u@h.example:8/x"), ("/x".into(), "h.example:8".into()));
}

use std::sync::atomic::AtomicUsize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::outbound::{Method, NetworkPolicy, Outbound};

/// How a test origin answers each request on a connection.
#[derive(Clone, Copy)]
enum Answer {
    /// A short body, the connection kept open.
    KeepAlive,
    /// A short body, then the connection closed without saying so.
    CloseSilently,
    /// A body of 1 MiB.
    Large,
    /// A short body, with `Keep-Alive: timeout=1`: the origin closes idle connections after
    /// a second (it closes none here, so a reuse would show).
    Announced,
}

/// A raw HTTP/1.1 origin on loopback that counts the connections it accepts.
async fn origin(answer: Answer) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        let body = match answer {
                            Answer::Large => vec![b'x'; 1 << 20],
                            _ => b"ok".to_vec(),
                        };
                        let keep_alive = if matches!(answer, Answer::Announced) {
                            "keep-alive: timeout=1, max=100\r\n"
                        } else {
                            ""
                        };
                        let head =
                            format!("HTTP/1.1 200 OK\r\n{keep_alive}content-length: {}\r\n\r\n", body.len());
                        if socket.write_all(head.as_bytes()).await.is_err()
                            || socket.write_all(&body).await.is_err()
                        {
                            return;
                        }
                        if matches!(answer, Answer::CloseSilently) {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, accepted)
}

async fn get(out: &Outbound, url: &str) -> Vec<u8> {
    let response = out.send(out.request(Method::GET, url).unwrap()).await.unwrap();
    Outbound::read_limited(response, 2 << 20).await.unwrap()
}

fn outbound() -> Outbound {
    Outbound::new(NetworkPolicy { allow_private: true })
}

#[tokio::test]
async fn a_connection_serves_request_after_request() {
    let (url, accepted) = origin(Answer::KeepAlive).await;
    let out = outbound();
    for _ in 0..5 {
        assert_eq!(get(&out, &url).await, b"ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // Concurrent requests each get a connection of their own, then share them.
    let calls = (0..4).map(|_| get(&out, &url));
    for body in futures_util::future::join_all(calls).await {
        assert_eq!(body, b"ok");
    }
    assert!(accepted.load(Ordering::SeqCst) <= 4);
}

#[tokio::test]
async fn a_connection_the_origin_closed_is_replaced_without_failing_the_request() {
    let (url, accepted) = origin(Answer::CloseSilently).await;
    let out = outbound();
    for _ in 0..3 {
        assert_eq!(get(&out, &url).await, b"ok");
        // Let the close reach us, as it would between calls.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_answer_dropped_unread_closes_its_connection() {
    let (url, accepted) = origin(Answer::Large).await;
    let out = outbound();
    let response = out.send(out.request(Method::GET, &url).unwrap()).await.unwrap();
    drop(response);
    assert_eq!(get(&out, &url).await.len(), 1 << 20);
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the half-read connection was not reused");
    // Read to its end, the connection is kept.
    assert_eq!(get(&out, &url).await.len(), 1 << 20);
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_is_not_reused_past_what_its_origin_announces() {
    let (url, accepted) = origin(Answer::Announced).await;
    let out = outbound();
    for _ in 0..3 {
        assert_eq!(get(&out, &url).await, b"ok");
    }
    // `timeout=1` leaves no second to spare: every request opens a connection of its own.
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    assert_eq!(keep_alive_timeout("timeout=5, max=1000"), Some(Duration::from_secs(5)));
    assert_eq!(keep_alive_timeout("max=3,Timeout = 2"), Some(Duration::from_secs(2)));
    assert_eq!(keep_alive_timeout("max=3"), None);
}
