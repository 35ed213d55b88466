//! Idle sockets cannot take the server down: an outsider opens thousands of connections and
//! sends nothing (or sends headers a byte at a time); `/health` keeps answering, the idle
//! sockets are closed once their time is up, and at the cap new connections are closed at once
//! while the server goes on. A request being served (an open SSE stream) is not cut.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Options, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

async fn server(backend: Backend, max_connections: Option<usize>) -> TestServer {
    TestServer::start(
        backend,
        Options {
            mode: Some(gatehouse::config::Mode::Dev),
            max_connections,
            header_timeout: Some(HEADER_TIMEOUT),
            idle_timeout: Some(IDLE_TIMEOUT),
            ..Default::default()
        },
    )
    .await
}

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Opens `n` sockets that send nothing (as many as the descriptor limit leaves room for).
async fn idle_sockets(server: &TestServer, n: usize) -> Vec<TcpStream> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024) as usize;
    // Each socket takes a descriptor on both ends, both in this process.
    let n = n.min(limit.saturating_sub(512) / 2);
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        sockets.push(TcpStream::connect(addr(server)).await.expect("connect"));
    }
    sockets
}

/// Whether the server has closed `socket`, waiting at most `wait`.
async fn closed_within(socket: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(wait, socket.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

/// Waits until every socket is closed by the server; panics after `limit`.
async fn all_closed(sockets: &mut [TcpStream], limit: Duration) {
    let start = Instant::now();
    for (i, socket) in sockets.iter_mut().enumerate() {
        let left = limit.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
        assert!(closed_within(socket, left).await, "idle socket {i} still open after {limit:?}");
    }
}

async fn idle_sockets_are_closed_and_health_still_answers(backend: Backend) {
    let server = server(backend, None).await;
    let mut sockets = idle_sockets(&server, 3000).await;
    assert!(sockets.len() >= 1000, "only {} sockets could be opened", sockets.len());
    server.get("/health", None).await.expect(200);
    let newest = sockets.last_mut().unwrap();
    assert!(!closed_within(newest, Duration::from_millis(200)).await, "closed before its time");
    // Closed by the header timeout (they never sent a byte), with room to spare.
    all_closed(&mut sockets, HEADER_TIMEOUT * 10).await;
    let metrics = server.get("/metrics", None).await.expect(200).text;
    assert!(metrics.contains("gatehouse_connections_timed_out_total"), "{metrics}");
    server.get("/health", None).await.expect(200);
}

async fn slow_headers_and_idle_keep_alive_are_closed(backend: Backend) {
    let server = server(backend, None).await;
    // Headers a byte at a time, each byte well within the idle time: the header time still ends.
    let mut slow = TcpStream::connect(addr(&server)).await.unwrap();
    let started = Instant::now();
    let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = false;
    for byte in head {
        if slow.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(300)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a request trickling its headers was never cut off");
    assert!(started.elapsed() >= HEADER_TIMEOUT, "cut before its time: {:?}", started.elapsed());

    // A kept-alive connection: one request answered, then silence.
    let mut kept = TcpStream::connect(addr(&server)).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = kept.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        !closed_within(&mut kept, HEADER_TIMEOUT + Duration::from_millis(200)).await,
        "idle rule, not header"
    );
    assert!(closed_within(&mut kept, IDLE_TIMEOUT * 10).await, "an idle kept-alive connection stays open");
}

async fn at_the_cap_new_connections_are_shed_and_the_server_goes_on(backend: Backend) {
    let server = server(backend, Some(200)).await;
    let mut sockets = idle_sockets(&server, 500).await;
    // The newest are closed at once; the first 200 (minus the server's own) wait for their time.
    let mut shed = 0;
    for socket in sockets.iter_mut().rev().take(250) {
        if closed_within(socket, Duration::from_millis(500)).await {
            shed += 1;
        }
    }
    assert!(shed >= 250 - 10, "only {shed} of the connections beyond the cap were closed");
    all_closed(&mut sockets, HEADER_TIMEOUT * 10).await;
    server.get("/health", None).await.expect(200);
    let metrics = server.get("/metrics", None).await.expect(200).text;
    let shed_total = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gatehouse_connections_shed_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(shed_total >= 250.0, "{metrics}");
}

/// An SSE stream is a request being served: the idle time does not apply to it.
async fn an_open_stream_outlives_the_idle_time(backend: Backend) {
    let server = server(backend, None).await;
    let created =
        server.post("/api/orgs/default/servers", None, json!({"name": "Streams"})).await.expect(201);
    let slug = created.body["server"]["slug"].as_str().unwrap().to_string();
    let sid = created.body["server"]["serverId"].as_str().unwrap().to_string();
    let key = server
        .post(&format!("/api/orgs/default/servers/{sid}/keys"), None, json!({"label": "k"}))
        .await
        .expect(201)
        .body["rawValue"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    let head = format!(
        "GET /sse/default/{slug} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let until = Instant::now() + IDLE_TIMEOUT * 2;
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(n)) => assert!(n > 0, "the stream was closed while being served"),
            Ok(Err(e)) => panic!("the stream was cut: {e}"),
        }
    }
}

backend_tests!(
    idle_sockets_are_closed_and_health_still_answers,
    slow_headers_and_idle_keep_alive_are_closed,
    at_the_cap_new_connections_are_shed_and_the_server_goes_on,
    an_open_stream_outlives_the_idle_time,
);
