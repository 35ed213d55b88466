//! The series that tell a fleet's nodes apart and say how each is doing, read when `/metrics`
//! is rendered: which node and release, its upstream connections, its database pool, how far
//! its usage buffers are behind, whether it is draining (`docs/OPERATIONS.md` "Metrics").

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// What a node reports about itself at one moment.
pub struct NodeReadings<'a> {
    /// This process's id (as in the `requestState` of the calls it parks).
    pub node: &'a str,
    /// Upstream connections shared by every caller.
    pub upstream_shared: usize,
    /// Upstream connections held for one client session (or one person).
    pub upstream_sessions: usize,
    /// Database connections open, idle, and at most.
    pub db_pool: PoolReading,
    /// Usage rollups and call logs waiting to be written.
    pub usage_pending: usize,
    /// Seconds since the usage buffers were last written out whole.
    pub usage_flush_age: f64,
    /// Whether the node is draining before it stops.
    pub draining: bool,
}

/// A database pool's connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolReading {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    node: String,
    version: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The node's gauges, registered once.
pub struct NodeGauges {
    info: Family<NodeLabels, Gauge>,
    upstreams: Family<KindLabels, Gauge>,
    db_pool: Family<StateLabels, Gauge>,
    db_pool_max: Gauge,
    usage_pending: Gauge,
    usage_flush_age: Gauge<f64, AtomicU64>,
    draining: Gauge,
}

impl NodeGauges {
    /// Registers the gauges in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let gauges = Self {
            info: Family::default(),
            upstreams: Family::default(),
            db_pool: Family::default(),
            db_pool_max: Gauge::default(),
            usage_pending: Gauge::default(),
            usage_flush_age: Gauge::default(),
            draining: Gauge::default(),
        };
        registry.register("node_info", "This node: its id and release (always 1)", gauges.info.clone());
        registry.register(
            "upstream_connections",
            "Upstream connections open on this node: shared by every caller, or held for one client session or person",
            gauges.upstreams.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections of this node, idle or in use",
            gauges.db_pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Database connections this node opens at most",
            gauges.db_pool_max.clone(),
        );
        registry.register(
            "usage_pending",
            "Usage rollups and call logs counted on this node and not yet written",
            gauges.usage_pending.clone(),
        );
        registry.register(
            "usage_flush_age_seconds",
            "Seconds since this node last wrote its usage buffers out whole",
            gauges.usage_flush_age.clone(),
        );
        registry.register("draining", "1 while this node drains before it stops", gauges.draining.clone());
        gauges
    }

    /// Sets every gauge to `r`.
    pub fn set(&self, r: &NodeReadings<'_>) {
        let labels = NodeLabels { node: r.node.to_string(), version: env!("CARGO_PKG_VERSION") };
        self.info.get_or_create(&labels).set(1);
        self.upstreams.get_or_create(&KindLabels { kind: "shared" }).set(r.upstream_shared as i64);
        self.upstreams.get_or_create(&KindLabels { kind: "session" }).set(r.upstream_sessions as i64);
        let in_use = r.db_pool.open.saturating_sub(r.db_pool.idle);
        self.db_pool.get_or_create(&StateLabels { state: "idle" }).set(i64::from(r.db_pool.idle));
        self.db_pool.get_or_create(&StateLabels { state: "in_use" }).set(i64::from(in_use));
        self.db_pool_max.set(i64::from(r.db_pool.max));
        self.usage_pending.set(r.usage_pending as i64);
        self.usage_flush_age.set(r.usage_flush_age);
        self.draining.set(i64::from(r.draining));
    }
}
