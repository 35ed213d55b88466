//! Charts drawn on the server as SVG: readable without a script, labelled for screen readers,
//! each with its numbers in a table beside it.

use maud::{Markup, html};
use serde_json::Value;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;

/// One day of a series: its date and figures.
pub struct Point<'a> {
    pub date: &'a str,
    pub calls: i64,
    pub errors: i64,
    pub p50: i64,
    pub p95: i64,
}

/// Reads the days of a `get_usage_timeseries` answer.
pub fn points(series: &Value) -> Vec<Point<'_>> {
    series["days"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Point {
            date: d["date"].as_str().unwrap_or_default(),
            calls: d["calls"].as_i64().unwrap_or(0),
            errors: d["errors"].as_i64().unwrap_or(0),
            p50: d["latencyP50Ms"].as_i64().unwrap_or(0),
            p95: d["latencyP95Ms"].as_i64().unwrap_or(0),
        })
        .collect()
}

fn axis(max: i64, unit: &str, points: &[Point]) -> Markup {
    let label_at = |i: usize| LEFT + (i as f64 + 0.5) * (WIDTH - LEFT) / points.len().max(1) as f64;
    let picks = [0, points.len() / 2, points.len().saturating_sub(1)];
    html! {
        line.axis x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) {}
        text.tick x=(LEFT - 6.0) y="12" text-anchor="end" { (max) (unit) }
        text.tick x=(LEFT - 6.0) y=(HEIGHT - BOTTOM) text-anchor="end" { "0" }
        @for i in picks {
            @if let Some(p) = points.get(i) {
                text.tick x=(label_at(i)) y=(HEIGHT - 6.0) text-anchor="middle" { (p.date.get(5..).unwrap_or(p.date)) }
            }
        }
    }
}

/// Calls per day as bars, the errors among them in red at their foot.
pub fn calls(title: &str, points: &[Point]) -> Markup {
    let max = points.iter().map(|p| p.calls).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) / points.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let scale = |v: i64| (HEIGHT - BOTTOM - 14.0) * v as f64 / max as f64;
    let total: i64 = points.iter().map(|p| p.calls).sum();
    let errors: i64 = points.iter().map(|p| p.errors).sum();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label={ (title) ": " (total) " calls, " (errors) " errors" } {
                title { (title) }
                (axis(max, "", points))
                @for (i, p) in points.iter().enumerate() {
                    @let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
                    @let h = scale(p.calls);
                    @let e = scale(p.errors);
                    g {
                        title { (p.date) ": " (p.calls) " calls, " (p.errors) " errors" }
                        rect.calls x=(x) y=(HEIGHT - BOTTOM - h) width=(bar) height=(h) {}
                        @if p.errors > 0 { rect.errors x=(x) y=(HEIGHT - BOTTOM - e) width=(bar) height=(e) {} }
                    }
                }
            }
            figcaption { span.key.calls {} " calls " span.key.errors {} " errors" }
        }
    }
}

/// Median and 95th-percentile latency per day as two lines (days without calls left out).
pub fn latency(title: &str, points: &[Point]) -> Markup {
    let max = points.iter().map(|p| p.p95).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT) / points.len().max(1) as f64;
    let at = |pick: fn(&Point) -> i64| -> Vec<(f64, f64)> {
        points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.calls > 0)
            .map(|(i, p)| {
                let x = LEFT + (i as f64 + 0.5) * slot;
                (x, HEIGHT - BOTTOM - (HEIGHT - BOTTOM - 14.0) * pick(p) as f64 / max as f64)
            })
            .collect()
    };
    let (p50, p95) = (at(|p| p.p50), at(|p| p.p95));
    let line =
        |xy: &[(f64, f64)]| xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label={ (title) } {
                title { (title) }
                (axis(max, " ms", points))
                polyline.p95 points=(line(&p95)) {}
                polyline.p50 points=(line(&p50)) {}
                @for (x, y) in &p95 { circle.p95 cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {} }
                @for (x, y) in &p50 { circle.p50 cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {} }
            }
            figcaption { span.key.p50 {} " median " span.key.p95 {} " 95th percentile" }
        }
    }
}

/// The figures of a series as a table (the charts' numbers, for reading and copying).
pub fn table(points: &[Point]) -> Markup {
    html! {
        details.numbers {
            summary { "Numbers by day" }
            table.list.compact {
                thead { tr { th { "Day" } th.num { "Calls" } th.num { "Errors" } th.num { "p50 ms" } th.num { "p95 ms" } } }
                tbody {
                    @for p in points.iter().rev() {
                        tr { td { (p.date) } td.num { (p.calls) } td.num { (p.errors) } td.num { (p.p50) } td.num { (p.p95) } }
                    }
                }
            }
        }
    }
}
