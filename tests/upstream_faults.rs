//! Story: upstreams misbehave — hang, answer garbage or the wrong response, die — and each
//! gives a clear error, shows in its status, and leaves the others working; a stdio upstream
//! is supervised and restarted with backoff.

mod common;

use common::gateway::{ORG, attach, call, create_server, create_upstream, session, text_of, tool_names};
use common::upstreams::PyUpstream;
use common::{Backend, TestServer};
use serde_json::{Value, json};

/// Upstreams that misbehave: each gives a clear error, shows in status/lastError, and leaves
/// other upstreams working.
async fn faults_story(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Faulty").await;
    // Bad registrations are refused and change nothing.
    server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "x", "transport": "streamable_http", "url": "not a url"}),
        )
        .await
        .expect_error(422, "unprocessable");
    server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "x", "transport": "carrier_pigeon", "url": "http://a"}),
        )
        .await
        .expect_error(400, "invalid_input");
    server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "x", "transport": "stdio", "url": "http://a"}),
        )
        .await
        .expect_error(422, "unprocessable");
    server
        .post(
            &format!("{ORG}/upstreams"),
            None,
            json!({"name": "x", "transport": "streamable_http", "url": "http://a", "requestHeaders": {"Host": "evil"}}),
        )
        .await
        .expect_error(422, "unprocessable");
    assert_eq!(server.get(&format!("{ORG}/upstreams"), None).await.expect(200).body["upstreams"], json!([]));

    // A command that does not exist registers, and says why it cannot connect.
    let missing = create_upstream(
        &server,
        json!({"name": "Ghost", "transport": "stdio", "command": "/nonexistent/gatehouse-test-command"}),
    )
    .await;
    assert_eq!(missing["status"], "error");
    assert!(missing["lastError"].as_str().unwrap().contains("cannot start"), "{missing}");

    // A healthy upstream and a misbehaving one on the same server.
    let good = PyUpstream::start();
    let mut bad = PyUpstream::start();
    let mut ids = Vec::new();
    for (name, up) in [("Good", &good), ("Bad", &bad)] {
        let u = create_upstream(
            &server,
            json!({"name": name, "transport": "streamable_http", "url": up.url(), "approvalPolicy": "auto_approve",
                   "timeoutMs": 1500}),
        )
        .await;
        assert_eq!(u["status"], "connected", "{u}");
        let id = u["upstreamId"].as_str().unwrap().to_string();
        attach(&server, &server_id, &id, json!({})).await;
        ids.push(id);
    }
    let mut client = session(&server, &slug, "2025-11-25").await;

    // Hangs: the call times out with a clear error; the good upstream and lists are unaffected.
    bad.control(json!({"mode": "hang"})).await;
    let hung = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    assert_eq!(hung["error"]["code"], -32603, "{hung}");
    assert!(hung["error"]["message"].as_str().unwrap().contains("did not answer"), "{hung}");
    assert_eq!(text_of(&call(&mut client, "good__echo", json!({"message": "ok"})).await), "Echo: ok");
    assert_eq!(tool_names(&mut client).await.len(), 16);
    let status = server.get(&format!("{ORG}/upstreams/{}", ids[1]), None).await.expect(200).body;
    assert_eq!(status["upstream"]["status"], "error");
    let notes = server.get(&format!("{ORG}/notifications"), None).await.expect(200).body;
    assert!(
        notes["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "upstream.down" && n["data"]["upstreamId"] == ids[1].as_str()),
        "{notes}"
    );
    assert!(status["upstream"]["lastError"].as_str().unwrap().contains("did not answer"));

    // Closes the stream mid-answer.
    bad.control(json!({"mode": "close_mid_stream"})).await;
    let cut = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    assert_eq!(cut["error"]["code"], -32603, "{cut}");

    // An endless list on refresh is refused, and the stored catalogue stays.
    bad.control(json!({"mode": "huge_list"})).await;
    let huge = server.post(&format!("{ORG}/upstreams/{}/tools/refresh", ids[1]), None, json!({})).await;
    let huge = huge.expect_error(502, "upstream_error");
    assert!(huge.text.contains("tools/list"), "{}", huge.text);
    let kept = server.get(&format!("{ORG}/upstreams/{}/tools", ids[1]), None).await.expect(200).body;
    assert_eq!(kept["tools"].as_array().unwrap().len(), 8);

    // An enormous body.
    bad.control(json!({"mode": "huge_body"})).await;
    let huge = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    assert_eq!(huge["error"]["code"], -32603, "{}", &huge.to_string()[..200.min(huge.to_string().len())]);
    assert!(huge["error"]["message"].as_str().unwrap().contains("exceeded"), "{}", huge["error"]);

    // A success in between: the failures above do not add up to an open breaker.
    bad.control(json!({"mode": "normal"})).await;
    assert_eq!(text_of(&call(&mut client, "bad__echo", json!({"message": "back"})).await), "Echo: back");

    // Valid JSON that is not the awaited response fails the call at once, not at its timeout.
    for mode in ["wrong_id", "not_jsonrpc"] {
        bad.control(json!({"mode": mode})).await;
        let stray = call(&mut client, "bad__echo", json!({"message": "x"})).await;
        assert_eq!(stray["error"]["code"], -32603, "{stray}");
        let message = stray["error"]["message"].as_str().unwrap();
        assert!(message.contains("not its JSON-RPC response"), "{mode}: {stray}");
    }

    // Garbage instead of JSON.
    bad.control(json!({"mode": "garbage"})).await;
    let garbage = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    assert_eq!(garbage["error"]["code"], -32603, "{garbage}");

    // Dies mid-call.
    bad.control(json!({"mode": "normal"})).await;
    let died = call(&mut client, "bad__die", json!({})).await;
    assert_eq!(died["error"]["code"], -32603, "{died}");
    bad.kill();
    let gone = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    assert_eq!(gone["error"]["code"], -32603, "{gone}");
    // After five failures in a row the circuit breaker answers at once, without trying.
    let mut fast = Value::Null;
    for _ in 0..6 {
        fast = call(&mut client, "bad__echo", json!({"message": "x"})).await;
    }
    assert!(fast["error"]["message"].as_str().unwrap().contains("is failing; retry"), "{fast}");
    assert_eq!(text_of(&call(&mut client, "good__echo", json!({"message": "still"})).await), "Echo: still");
}

/// A stdio upstream is a supervised child: started on demand, restarted after it dies (with
/// backoff, failing fast meanwhile), and its stderr goes to the log.
async fn stdio_supervision_story(backend: Backend) {
    let server = TestServer::dev(backend).await;
    let (server_id, slug) = create_server(&server, "Child").await;
    let up = create_upstream(
        &server,
        json!({"name": "Kid", "transport": "stdio", "command": "python3",
               "args": [common::upstreams::script(), "stdio"], "approvalPolicy": "auto_approve"}),
    )
    .await;
    assert_eq!(up["status"], "connected", "{up}");
    attach(&server, &server_id, up["upstreamId"].as_str().unwrap(), json!({"prefix": ""})).await;
    let mut client = session(&server, &slug, "2025-11-25").await;
    assert_eq!(text_of(&call(&mut client, "echo", json!({"message": "1"})).await), "Echo: 1");
    let died = call(&mut client, "die", json!({})).await;
    assert_eq!(died["error"]["code"], -32603, "{died}");
    // Right after a young death the restart waits; calls fail fast with the reason.
    let waiting = call(&mut client, "echo", json!({"message": "2"})).await;
    assert!(waiting["error"]["message"].as_str().unwrap().contains("restarting"), "{waiting}");
    // Then the process is started again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let reply = call(&mut client, "echo", json!({"message": "3"})).await;
        if reply["result"]["content"][0]["text"] == "Echo: 3" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the stdio upstream was not restarted: {reply}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

backend_tests!(faults_story, stdio_supervision_story,);
