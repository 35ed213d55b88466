//! Story: calls relayed to upstreams as a client sees them: only the upstream's own headers
//! reach it, each client session has its own upstream session, what the upstream sends during
//! a call streams to the client, and cancellations reach the upstream.

mod common;

use common::gateway::{attach, call, create_server, create_upstream, session, text_of};
use common::schema::assert_valid;
use common::upstreams::{EverythingHttp, PyUpstream, everything};
use common::{Backend, TestServer};
use serde_json::{Value, json};

/// Only the upstream's own headers and credential reach it — nothing from the client's
/// request; and each client session gets its own upstream session.
async fn headers_and_sessions_story(backend: Backend) {
    let upstream = PyUpstream::start();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Sessions").await;
    let up = create_upstream(
        &server,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve",
               "requestHeaders": {"X-Upstream-Tag": "tag-1"},
               "auth": {"type": "bearer", "credential": "upstream-secret-token"}}),
    )
    .await;
    assert!(!up.to_string().contains("upstream-secret-token"));
    assert_eq!(up["auth"], json!({"type": "bearer", "credentialSet": true}));
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;

    let mut alice = session(&server, &slug, "2025-06-18").await;
    let reply = alice
        .post(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "headers", "arguments": {}}}),
            &[("cookie", "client-cookie=1"), ("x-client-secret", "do-not-forward")],
        )
        .await
        .expect(200)
        .body;
    let seen: Value = serde_json::from_str(&text_of(&reply)).unwrap();
    assert_eq!(seen["x-upstream-tag"], "tag-1");
    assert_eq!(seen["authorization"], "Bearer upstream-secret-token");
    assert!(seen.get("cookie").is_none() && seen.get("x-client-secret").is_none(), "{seen}");

    let mut bob = session(&server, &slug, "2025-06-18").await;
    call(&mut alice, "login", json!({"user": "alice"})).await;
    call(&mut bob, "login", json!({"user": "bob"})).await;
    assert_eq!(text_of(&call(&mut alice, "whoami", json!({})).await), "alice");
    assert_eq!(text_of(&call(&mut bob, "whoami", json!({})).await), "bob");
    assert_eq!(
        text_of(&call(&mut alice, "whoami", json!({})).await),
        "alice",
        "the same upstream session again"
    );
}

/// What an upstream sends during a call reaches the client as it happens (progress under the
/// client's token), and the upstream's own requests (sampling, elicitation) go to the client
/// and its answers come back — over stdio and Streamable HTTP.
async fn streaming_relay_story(backend: Backend) {
    let Some(entry) = everything() else { return };
    let Some(remote) = EverythingHttp::start("streamableHttp") else { return };
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Live").await;
    for (name, body) in [
        (
            "Local",
            json!({"transport": "stdio", "command": "node", "args": [entry.display().to_string(), "stdio"]}),
        ),
        ("Remote", json!({"transport": "streamable_http", "url": remote.url("/mcp")})),
    ] {
        let mut body = body;
        body["name"] = json!(name);
        body["approvalPolicy"] = json!("auto_approve");
        let up = create_upstream(&server, body).await;
        assert_eq!(up["status"], "connected", "{up}");
        attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({})).await;
    }
    let mut client = session(&server, &slug, "2025-06-18").await;
    for prefix in ["local", "remote"] {
        // Nothing comes before the answer: one whole SSE event with a length, not a stream.
        let r = client
            .request(
                "tools/call",
                json!({"name": format!("{prefix}__echo"), "arguments": {"message": "whole"}}),
            )
            .await
            .expect(200);
        assert_eq!(r.headers["content-type"], "text/event-stream", "{prefix}");
        assert!(r.headers.get("content-length").is_some(), "{prefix}: {:?}", r.headers);
        assert!(r.body["result"]["content"][0]["text"].as_str().unwrap().contains("whole"), "{}", r.text);
        assert_valid("2025-06-18", "JSONRPCResponse", &r.body);
        // A relayed call that is not JSON-RPC 2.0 is refused, not relayed.
        for jsonrpc in [json!(null), json!("1.0")] {
            let mut call = json!({"id": 4, "method": "tools/call",
                "params": {"name": format!("{prefix}__echo"), "arguments": {"message": "never"}}});
            if !jsonrpc.is_null() {
                call["jsonrpc"] = jsonrpc;
            }
            let r = client.post(call, &[]).await;
            assert_eq!(
                (r.status, r.body["error"]["code"].as_i64()),
                (400, Some(-32600)),
                "{prefix}: {}",
                r.text
            );
        }

        let messages = client
            .post_streaming(
                json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
                    "name": format!("{prefix}__trigger-long-running-operation"),
                    "arguments": {"duration": 0.3, "steps": 3},
                    "_meta": {"progressToken": "my-token"}}}),
                |_| json!({}),
            )
            .await;
        let progress: Vec<&Value> =
            messages.iter().filter(|m| m["method"] == "notifications/progress").collect();
        assert_eq!(progress.len(), 3, "{prefix}: {messages:?}");
        assert!(
            progress.iter().all(|p| p["params"]["progressToken"] == "my-token"),
            "the client's own token"
        );
        for p in &progress {
            assert_valid("2025-06-18", "ProgressNotification", p);
        }
        let last = messages.last().unwrap();
        assert!(last["result"]["content"][0]["text"].as_str().unwrap().contains("completed"), "{last}");

        let mut asked = Vec::new();
        let messages = client
            .post_streaming(
                json!({"jsonrpc": "2.0", "id": "s1", "method": "tools/call", "params": {
                    "name": format!("{prefix}__trigger-sampling-request"), "arguments": {"prompt": "hello"}}}),
                |req| {
                    asked.push(req.clone());
                    json!({"role": "assistant", "content": {"type": "text", "text": "sampled-by-client"},
                           "model": "test-model", "stopReason": "endTurn"})
                },
            )
            .await;
        assert_eq!(asked.len(), 1, "{messages:?}");
        assert_eq!(asked[0]["method"], "sampling/createMessage");
        assert!(
            asked[0]["id"].as_str().unwrap().starts_with("gh-"),
            "gateway ids never collide with the client's"
        );
        assert_valid("2025-06-18", "CreateMessageRequest", &asked[0]);
        let last = messages.last().unwrap();
        assert!(last.to_string().contains("sampled-by-client"), "{prefix}: {last}");
    }
}

/// A relayed call the client cancels, and calls it walks away from: a `notifications/cancelled`
/// reaches the upstream and the call's stream ends without an answer (basic/utilities/
/// cancellation); a stateful client that drops the connection mid-call cancels nothing, and the
/// call runs to its end (basic/transports: a disconnection SHOULD NOT be read as a
/// cancellation); a 2026-07-28 client's disconnect is its cancellation, and reaches the
/// upstream as one. Either way the session (or the client) goes on.
async fn cancellation_story(backend: Backend) {
    let upstream = PyUpstream::start();
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Cancel").await;
    let up = create_upstream(
        &server,
        json!({"name": "Py", "transport": "streamable_http", "url": upstream.url(), "approvalPolicy": "auto_approve"}),
    )
    .await;
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let stats_url = upstream.base("/stats");
    // Polls the upstream's counters until `done` holds (the upstream is the witness, not a clock).
    let wait_for = |what: &'static str, done: fn(&Value) -> bool| {
        let url = stats_url.clone();
        async move {
            for _ in 0..400 {
                let stats: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
                if done(&stats) {
                    return stats;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the upstream never saw {what}");
        }
    };

    let mut client = session(&server, &slug, "2025-06-18").await;
    let slow = |id: i64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "slow", "arguments": {"ms": 1500}}})
    };
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 41, "reason": "changed my mind"}});
    let (answer, _) = tokio::join!(client.post(slow(41), &[]), async {
        wait_for("the first call", |s| s["slowStarted"] == 1).await;
        client.post(cancel, &[]).await.expect(202);
    });
    let answer = answer.expect(200);
    assert!(!answer.text.contains("\"result\""), "a cancelled call gets no answer: {}", answer.text);
    let stats = wait_for("the cancellation", |s| !s["cancelled"].as_array().unwrap().is_empty()).await;
    assert_eq!(stats["cancelled"][0]["reason"], "changed my mind", "{stats}");
    assert!(stats["cancelled"][0]["requestId"].is_number(), "the upstream's own id: {stats}");

    // Walking away: the POST is dropped once the upstream has the call.
    tokio::select! {
        r = client.post(slow(42), &[]) => panic!("answered before the client left: {}", r.text),
        _ = wait_for("the second call", |s| s["slowStarted"] == 2) => {}
    }
    let r =
        client.request("tools/call", json!({"name": "echo", "arguments": {"message": "still here"}})).await;
    assert_eq!(text_of(&r.expect(200).body), "Echo: still here");
    let stats = wait_for("both calls end", |s| s["slowDone"] == 2).await;
    assert_eq!(stats["cancelled"].as_array().unwrap().len(), 1, "walking away cancels nothing: {stats}");
    // The gateway saw it through too: it counts a call when the call has ended.
    slow_calls_counted(&server, "ok", 1).await;
    slow_calls_counted(&server, "error", 1).await;

    // A 2026-07-28 client's disconnect is its cancellation (basic/patterns/cancellation §
    // Transport-Specific Cancellation): the upstream is told, and the call ends as cancelled.
    let mut modern = session(&server, &slug, "2026-07-28").await;
    tokio::select! {
        r = modern.request("tools/call", json!({"name": "slow", "arguments": {"ms": 1500}})) => {
            panic!("answered before the client left: {}", r.text)
        }
        _ = wait_for("the third call", |s| s["slowStarted"] == 3) => {}
    }
    let stats =
        wait_for("the disconnect's cancellation", |s| s["cancelled"].as_array().unwrap().len() == 2).await;
    assert_eq!(stats["cancelled"][1]["reason"], "the client disconnected", "{stats}");
    slow_calls_counted(&server, "error", 2).await;
    let r = modern.request("tools/call", json!({"name": "echo", "arguments": {"message": "again"}})).await;
    assert_eq!(text_of(&r.expect(200).body), "Echo: again");
    slow_calls_counted(&server, "ok", 1).await;

    // The same for a relayed request the MRTR bridge does not carry (completion/complete).
    let complete = |value: &str| json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "who", "value": value}});
    let r = modern.request("completion/complete", complete("al")).await.expect(200);
    assert_eq!(r.body["result"]["completion"]["values"], json!(["al-1"]), "{}", r.text);
    tokio::select! {
        r = modern.request("completion/complete", complete("slow")) => {
            panic!("answered before the client left: {}", r.text)
        }
        _ = wait_for("the slow completion", |s| s["slowStarted"] == 4) => {}
    }
    let stats = wait_for("its cancellation", |s| s["cancelled"].as_array().unwrap().len() == 3).await;
    assert_eq!(stats["cancelled"][2]["reason"], "the client disconnected", "{stats}");
}

/// Waits until the gateway's metrics count `n` calls of `slow` with this outcome (a call is
/// counted when it has ended, whether or not its client was still there).
async fn slow_calls_counted(server: &TestServer, outcome: &str, n: u64) {
    let label = format!("outcome=\"{outcome}\"");
    for _ in 0..400 {
        let metrics = server.get("/metrics", None).await.expect(200).text;
        let count = metrics
            .lines()
            .find(|l| {
                l.starts_with("gatehouse_mcp_calls_total{")
                    && l.contains("tool=\"slow\"")
                    && l.contains(&label)
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0);
        if count == n {
            return;
        }
        assert!(count < n, "more slow calls counted {outcome} than made: {count}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the gateway never counted {n} slow calls {outcome}");
}

backend_tests!(headers_and_sessions_story, streaming_relay_story, cancellation_story,);
