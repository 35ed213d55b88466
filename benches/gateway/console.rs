//! Section 6: console pages, rendered by the server and fetched as a browser does (GET, the
//! whole HTML read): the servers list of an org with 50 servers, the Tools tab of a server with
//! 1,000 tools (its first page of 50, the search box counting all), and the usage of a server
//! over 90 days. Concurrency 1, on loopback, so the latency is the server's time per page.
//! Beside each, the baseline: the REST answer the page is made from, in the same run.

use std::time::Duration;

use serde_json::json;

use crate::client::{create_server, post_json};
use crate::load::load_middle;

/// Times one page; prints its p50, p99 and the gateway's CPU per page.
async fn page(client: &reqwest::Client, pid: u32, title: &str, url: String) {
    let probe = client.get(&url).send().await.expect("page");
    assert!(probe.status().is_success(), "{url}: {}", probe.status());
    let size = probe.bytes().await.unwrap().len();
    let client = client.clone();
    let stats = load_middle(pid, 1, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let r = client.get(&url).send().await.expect("page");
            assert!(r.status().is_success());
            r.bytes().await.expect("body");
        }
    })
    .await;
    println!(
        "| {title} | {:.1} KiB | {:.2} | {:.2} | {:.0} | {:.0} |",
        size as f64 / 1024.0,
        stats.p50_ms,
        stats.p99_ms,
        stats.rps,
        stats.cpu_us.unwrap_or(0.0)
    );
}

pub(crate) async fn console_pages(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    backend: std::net::SocketAddr,
) {
    for i in 0..50 {
        create_server(client, base, &format!("Console {i:02}"), &format!("console-{i:02}")).await;
    }
    let (big_id, big_key) = create_server(client, base, "Console big", "console-big").await;
    for i in 0..1000 {
        post_json(
            client,
            &format!("{base}/api/orgs/default/servers/{big_id}/tools"),
            &[],
            &json!({"name": format!("tool_{i:04}"), "description": "A tool of the console bench", "method": "GET",
                    "endpointUrl": format!("http://{backend}/weather/{{city}}"),
                    "parameters": [{"name": "city", "location": "path", "type": "string", "required": true}]}),
        )
        .await;
    }
    // Some usage to chart: calls of a few tools today.
    let call = |i: usize| {
        json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": format!("tool_{:04}", i % 10),
            "arguments": {"city": "x"}, "_meta": crate::client::stateless_meta()}})
    };
    for i in 0..200 {
        let name = format!("tool_{:04}", i % 10);
        let headers = [
            ("x-api-key", big_key.as_str()),
            ("mcp-protocol-version", crate::STATELESS),
            ("mcp-method", "tools/call"),
            ("mcp-name", name.as_str()),
        ];
        post_json(client, &format!("{base}/mcp/default/console-big"), &headers, &call(i)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    println!();
    println!("Console pages (GET, whole page read; concurrency 1):");
    println!();
    println!("| page | size | p50 ms | p99 ms | pages/s | gateway CPU µs/page |");
    println!("|---|---|---|---|---|---|");
    let org = format!("{base}/orgs/default");
    let api = format!("{base}/api/orgs/default");
    page(client, pid, "servers list (51 servers)", format!("{org}/servers")).await;
    page(client, pid, "— its REST answer, list_servers", format!("{api}/servers")).await;
    page(client, pid, "Tools tab, 1,000 tools", format!("{org}/servers/{big_id}/tools")).await;
    page(client, pid, "— its REST answer, list_tools", format!("{api}/servers/{big_id}/tools")).await;
    page(client, pid, "usage, one server, 90 days", format!("{org}/usage?range=90d&server={big_id}")).await;
    page(
        client,
        pid,
        "— its REST answers, timeseries",
        format!("{api}/usage/timeseries?range=90d&serverId={big_id}"),
    )
    .await;
}
