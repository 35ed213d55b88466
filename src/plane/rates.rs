//! Rate-limit budgets on this node, leased from the counters every node shares in the database.
//!
//! A window's counter in the database says how many calls all nodes together were granted. A
//! node takes a lease of several calls at once (a twentieth of the limit, at most 1,000) and
//! admits calls from memory until the lease is spent, so a limited call costs a database write
//! once per lease rather than once per call. Leases are granted from what is left of the limit,
//! so no window ever admits more than its limit; what a node leased and did not use before the
//! window ended is the only budget lost (at most one lease per node). Once the limit is
//! reached, the node refuses the rest of the window from memory.

use hashbrown::HashMap;
use std::sync::Mutex;

/// Counters remembered at most; windows that ended are swept when there are more.
const SWEEP_ABOVE: usize = 10_000;

/// The calls one lease takes for a limit of `requests` per window.
pub fn lease_size(requests: i64) -> i64 {
    (requests / 20).clamp(1, 1_000)
}

/// What a call may do with a counter's budget on this node.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Admitted from the lease held here.
    Admitted,
    /// The window's limit is reached; the refusals this node made in it so far (this one
    /// included).
    Refused(i64),
    /// Nothing left here: lease more from the database, then [`RateBudgets::grant`].
    Lease,
}

#[derive(Default)]
struct Budget {
    /// Calls leased and not yet admitted.
    left: i64,
    /// The database granted no more in this window.
    exhausted: bool,
    refused: i64,
    /// When the window ends (ms since the epoch).
    ends: i64,
}

/// The budgets of the windows in use on this node, by counter key.
#[derive(Default)]
pub struct RateBudgets {
    counters: Mutex<HashMap<String, Budget>>,
}

impl RateBudgets {
    /// Takes one call from `counter`'s budget.
    pub fn take(&self, counter: &str) -> Take {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let Some(budget) = counters.get_mut(counter) else { return Take::Lease };
        if budget.left > 0 {
            budget.left -= 1;
            Take::Admitted
        } else if budget.exhausted {
            budget.refused += 1;
            Take::Refused(budget.refused)
        } else {
            Take::Lease
        }
    }

    /// Adds what the database granted (`granted` of the lease asked for, none once the limit
    /// is reached) and takes one call from it, as [`Self::take`] would.
    pub fn grant(&self, counter: &str, ends: i64, granted: i64, now: i64) -> Take {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        if counters.len() >= SWEEP_ABOVE && !counters.contains_key(counter) {
            counters.retain(|_, b| b.ends > now);
        }
        let budget = counters.entry_ref(counter).or_insert_with(|| Budget { ends, ..Default::default() });
        budget.left += granted.max(0);
        if granted <= 0 {
            budget.exhausted = true;
        }
        if budget.left > 0 {
            budget.left -= 1;
            Take::Admitted
        } else {
            budget.refused += 1;
            Take::Refused(budget.refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_admits_its_calls_then_asks_again() {
        let budgets = RateBudgets::default();
        assert_eq!(budgets.take("p:k:1"), Take::Lease);
        assert_eq!(budgets.grant("p:k:1", 10, 3, 0), Take::Admitted);
        assert_eq!(budgets.take("p:k:1"), Take::Admitted);
        assert_eq!(budgets.take("p:k:1"), Take::Admitted);
        assert_eq!(budgets.take("p:k:1"), Take::Lease);
        // The limit is reached: refused from memory from then on, refusals counted.
        assert_eq!(budgets.grant("p:k:1", 10, 0, 0), Take::Refused(1));
        assert_eq!(budgets.take("p:k:1"), Take::Refused(2));
    }

    #[test]
    fn leases_are_a_twentieth_of_the_limit_within_bounds() {
        assert_eq!(lease_size(1), 1);
        assert_eq!(lease_size(100), 5);
        assert_eq!(lease_size(1_000_000), 1_000);
    }

    #[test]
    fn ended_windows_are_swept_when_many() {
        let budgets = RateBudgets::default();
        for i in 0..SWEEP_ABOVE {
            budgets.grant(&format!("old:{i}"), 5, 1, 0);
        }
        budgets.grant("new", 100, 1, 50);
        assert_eq!(budgets.counters.lock().unwrap().len(), 1);
    }
}
