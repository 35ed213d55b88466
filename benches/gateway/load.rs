//! Load generation and what is measured of it: a run at a concurrency, the rounds of a
//! comparison, CPU per call, and the tables printed.

use super::*;

pub(crate) const WARMUP: Duration = Duration::from_secs(1);

pub(crate) const CONCURRENCY: [usize; 3] = [1, 16, 64];

/// The concurrency levels to run: [`CONCURRENCY`], or those `GATEHOUSE_BENCH_CONCURRENCY`
/// lists (comma-separated), e.g. `64` while profiling one level.
pub(crate) fn concurrency_levels() -> Vec<usize> {
    match std::env::var("GATEHOUSE_BENCH_CONCURRENCY") {
        Ok(list) if !list.is_empty() => list.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        _ => CONCURRENCY.to_vec(),
    }
}

pub(crate) fn measure() -> Duration {
    let secs = std::env::var("GATEHOUSE_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

pub(crate) struct Stats {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Calls made, warm-up included.
    pub(crate) total: usize,
    /// CPU time (user + system) per call of the process in the middle, when there is one.
    pub(crate) cpu_us: Option<f64>,
    /// The system (kernel) part of `cpu_us`.
    pub(crate) sys_us: Option<f64>,
    /// CPU time per call of everything but the process in the middle: the load generator and
    /// the backend or upstream (this process, and the peers' process when they have one).
    pub(crate) peer_cpu_us: f64,
}

/// Runs `concurrency` workers calling `call(worker)` in a loop; returns throughput and latency.
pub(crate) async fn load<F, Fut>(concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let measure = measure();
    let warm_end = Instant::now() + WARMUP;
    let end = warm_end + measure;
    let mut tasks = Vec::new();
    let own_before = cpu_seconds(std::process::id());
    let own_before = own_before.0 + own_before.1;
    let peers_before = PEERS_PID.get().map(|&pid| cpu_seconds(pid));
    let peers_used = || {
        let (pid, before) = (PEERS_PID.get().copied().unwrap_or(0), peers_before.unwrap_or_default());
        let after = cpu_seconds(pid);
        after.0 + after.1 - before.0 - before.1
    };
    for worker in 0..concurrency {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut total = 0;
            loop {
                let start = Instant::now();
                if start >= end {
                    break;
                }
                call(worker).await;
                total += 1;
                if start >= warm_end {
                    samples.push(start.elapsed().as_secs_f64() * 1000.0);
                }
            }
            (samples, total)
        }));
    }
    let mut all = Vec::new();
    let mut total = 0;
    for t in tasks {
        let (samples, n) = t.await.unwrap();
        all.extend(samples);
        total += n;
    }
    let own_after = cpu_seconds(std::process::id());
    let peers = PEERS_PID.get().map_or(0.0, |_| peers_used());
    let own_used = own_after.0 + own_after.1 - own_before + peers;
    if std::env::var_os("GATEHOUSE_BENCH_SPLIT").is_some() {
        let per = |s: f64| s * 1e6 / total.max(1) as f64;
        eprintln!("[load generator {:.1} µs/call, peers {:.1} µs/call]", per(own_used - peers), per(peers));
    }
    all.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0.0)
    };
    Stats {
        rps: all.len() as f64 / measure.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        total,
        cpu_us: None,
        sys_us: None,
        peer_cpu_us: own_used * 1e6 / total.max(1) as f64,
    }
}

/// [`load`] against a process in the middle (the gateway or the floor proxy), with that
/// process's CPU time per call.
pub(crate) async fn load_middle<F, Fut>(pid: u32, concurrency: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let callgrind = std::env::var("GATEHOUSE_BENCH_WRAP").is_ok_and(|w| w.contains("callgrind"));
    if callgrind {
        // Counts from zero here, so that the dump after the run holds this run's calls only.
        callgrind_control("-z", pid);
    }
    let before = cpu_seconds(pid);
    let mut stats = load(concurrency, call).await;
    let after = cpu_seconds(pid);
    let calls = stats.total.max(1) as f64;
    if callgrind {
        let instructions = callgrind_control("-d", pid).and_then(|()| dumped_instructions(pid));
        let per_call = instructions.map(|i| format!("{:.1} k", i as f64 / calls / 1000.0));
        eprintln!(
            "[pid {pid} c{concurrency}: {} calls, {} instructions per call]",
            stats.total,
            per_call.as_deref().unwrap_or("?")
        );
    } else if std::env::var_os("GATEHOUSE_BENCH_WRAP").is_some() {
        // Under another profiler: what divides its counts into per-call figures.
        eprintln!("[pid {pid} c{concurrency}: {} calls]", stats.total);
    }
    stats.cpu_us = Some(((after.0 + after.1) - (before.0 + before.1)) * 1e6 / calls);
    stats.sys_us = Some((after.1 - before.1) * 1e6 / calls);
    stats
}

/// Runs `callgrind_control <flag> <pid>` (zero the counts, or dump them).
pub(crate) fn callgrind_control(flag: &str, pid: u32) -> Option<()> {
    let status =
        Command::new("callgrind_control").args([flag, &pid.to_string()]).stdout(Stdio::null()).status();
    status.ok().filter(|s| s.success()).map(drop)
}

/// The instruction count of the newest callgrind dump of `pid` (in the working directory).
pub(crate) fn dumped_instructions(pid: u32) -> Option<u64> {
    let prefix = format!("callgrind.out.{pid}.");
    let newest = std::fs::read_dir(".")
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?;
    let text = std::fs::read_to_string(newest.path()).ok()?;
    let totals =
        text.lines().find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))?;
    totals.split_whitespace().next()?.parse().ok()
}

/// Rounds per comparison (`GATEHOUSE_BENCH_ROUNDS`, default 3): the direct, gateway and floor
/// runs alternate, so that all three see the same machine (a shared VM's speed drifts by tens
/// of per cent within minutes).
pub(crate) fn rounds() -> usize {
    std::env::var("GATEHOUSE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3).max(1)
}

/// One concurrency level of a comparison: the median round of each path, and each round's
/// ratio to the direct run of the same round.
pub(crate) struct Comparison {
    pub(crate) concurrency: usize,
    pub(crate) direct: Stats,
    pub(crate) through: Stats,
    pub(crate) floor: Stats,
    /// Gateway req/s over direct req/s, per round, sorted.
    pub(crate) ratios: Vec<f64>,
    /// Floor proxy req/s over direct req/s, per round, sorted.
    pub(crate) floor_ratios: Vec<f64>,
}

/// Runs `direct`, `through` (the gateway, process `pid`) and `floor` (the same calls as
/// `direct`, sent through the floor proxy) in alternating rounds.
pub(crate) async fn compare<D, DFut, G, GFut>(
    pid: u32,
    floor_proxy: &FloorProxy,
    concurrency: usize,
    direct: D,
    floor: D,
    through: G,
) -> Comparison
where
    D: Fn(usize) -> DFut + Clone + Send + Sync + 'static,
    DFut: std::future::Future<Output = ()> + Send,
    G: Fn(usize) -> GFut + Clone + Send + Sync + 'static,
    GFut: std::future::Future<Output = ()> + Send,
{
    let (mut ds, mut gs, mut fs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds() {
        ds.push(load(concurrency, direct.clone()).await);
        gs.push(load_middle(pid, concurrency, through.clone()).await);
        fs.push(load_middle(floor_proxy.pid(), concurrency, floor.clone()).await);
    }
    let ratio = |runs: &[Stats]| {
        let mut r: Vec<f64> = ds.iter().zip(runs).map(|(d, x)| x.rps / d.rps.max(1.0)).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (ratios, floor_ratios) = (ratio(&gs), ratio(&fs));
    let comparison = Comparison {
        concurrency,
        direct: median(ds),
        through: median(gs),
        floor: median(fs),
        ratios,
        floor_ratios,
    };
    row("direct", concurrency, &comparison.direct);
    row("gateway", concurrency, &comparison.through);
    row("floor proxy", concurrency, &comparison.floor);
    comparison
}

/// The run with the median throughput.
pub(crate) fn median(mut runs: Vec<Stats>) -> Stats {
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

/// User and system CPU time of a process so far, in seconds (`/proc/<pid>/stat`, in clock
/// ticks of 10 ms).
pub(crate) fn cpu_seconds(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

pub(crate) fn row(path: &str, concurrency: usize, s: &Stats) {
    let cpu = match (s.cpu_us, s.sys_us) {
        (Some(all), Some(sys)) => format!("{all:.0} ({sys:.0})"),
        _ => String::new(),
    };
    let peers = format!("{:.0}", s.peer_cpu_us);
    println!(
        "| {path} | {concurrency} | {:.0} | {:.3} | {:.3} | {cpu} | {peers} |",
        s.rps, s.p50_ms, s.p99_ms
    );
}

pub(crate) fn header(title: &str) {
    println!();
    println!("### {title}");
    println!();
    println!(
        "| path | concurrency | req/s | p50 ms | p99 ms | middle CPU µs/call (system) | client + backend CPU µs/call |"
    );
    println!("|---|---|---|---|---|---|---|");
}

pub(crate) fn summary(results: &[Comparison]) {
    let resent = RESENT.swap(0, Ordering::Relaxed);
    if resent > 0 {
        println!("requests sent again after the peer closed their connection: {resent}");
    }
    println!();
    for c in results {
        let percent = |r: f64| format!("{:.0}%", 100.0 * r);
        let each = |ratios: &[f64]| ratios.iter().copied().map(percent).collect::<Vec<_>>().join(", ");
        let middle = |ratios: &[f64]| percent(ratios[ratios.len() / 2]);
        println!(
            "concurrency {}: added p50 {:.3} ms, throughput {} of direct (rounds: {}); floor proxy {} (rounds: {})",
            c.concurrency,
            c.through.p50_ms - c.direct.p50_ms,
            middle(&c.ratios),
            each(&c.ratios),
            middle(&c.floor_ratios),
            each(&c.floor_ratios),
        );
    }
}

/// One load run firing `call`, with the CPU per call of every process in `middle` summed (a
/// gateway, or several nodes and their balancer).
pub(crate) async fn load_processes(
    concurrency: usize,
    call: &crate::client::Prepared,
    middle: &[u32],
) -> Stats {
    let cpu = || middle.iter().map(|&p| cpu_seconds(p)).fold((0.0, 0.0), |(u, s), (pu, ps)| (u + pu, s + ps));
    let before = cpu();
    let prepared = call.clone();
    let mut stats = load(concurrency, move |_| {
        let prepared = prepared.clone();
        async move { prepared.fire().await }
    })
    .await;
    let after = cpu();
    let per_call = |seconds: f64| seconds * 1e6 / stats.total.max(1) as f64;
    stats.cpu_us = Some(per_call(after.0 + after.1 - before.0 - before.1));
    stats.sys_us = Some(per_call(after.1 - before.1));
    stats
}
