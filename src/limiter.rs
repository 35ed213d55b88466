//! A small in-memory sliding-window limiter for abuse control on public endpoints (login
//! codes per IP). Limits that must hold across nodes are counted in the database instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key over a window.
#[derive(Default)]
pub struct Limiter {
    events: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Limiter {
    /// Records an event for `key` unless `max` already happened within `window`; on refusal
    /// returns how long until the next event would be allowed.
    pub fn check(&self, key: &str, max: usize, window: Duration) -> Result<(), Duration> {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget keys whose window has passed.
            events.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        let times = events.entry(key.to_string()).or_default();
        times.retain(|t| now.duration_since(*t) < window);
        if times.len() >= max {
            let oldest = times[0];
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        times.push(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_per_key() {
        let l = Limiter::default();
        let w = Duration::from_secs(60);
        assert!(l.check("a", 2, w).is_ok());
        assert!(l.check("a", 2, w).is_ok());
        let wait = l.check("a", 2, w).unwrap_err();
        assert!(wait <= w && wait > Duration::from_secs(50));
        assert!(l.check("b", 2, w).is_ok());
    }
}
