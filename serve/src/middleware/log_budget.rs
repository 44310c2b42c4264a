//! A budget of log lines per second, so an attack or an overload cannot flood the log:
//! events past the budget are counted instead, and the next line that is written says how
//! many were left out.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// At most `per_second` lines a second.
pub struct LogBudget {
    per_second: u64,
    /// Second (since the first use) and lines written in it, packed: second << 20 | lines.
    window: AtomicU64,
    /// Events not logged since the last line written.
    left_out: AtomicU64,
}

const LINES_BITS: u32 = 20;

fn now_secs() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs()
}

impl LogBudget {
    pub const fn new(per_second: u64) -> Self {
        LogBudget {
            per_second,
            window: AtomicU64::new(0),
            left_out: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this event may be logged (`n` events were left out since the last
    /// line), `None` when it is over the budget (it is counted).
    pub fn take(&self) -> Option<u64> {
        self.take_at(now_secs())
    }

    fn take_at(&self, second: u64) -> Option<u64> {
        let mut current = self.window.load(Ordering::Relaxed);
        loop {
            let (s, lines) = (current >> LINES_BITS, current & ((1 << LINES_BITS) - 1));
            let next = if s != second {
                (second << LINES_BITS) | 1
            } else if lines < self.per_second {
                current + 1
            } else {
                self.left_out.fetch_add(1, Ordering::Relaxed);
                return None;
            };
            match self.window.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.left_out.swap(0, Ordering::Relaxed)),
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_the_budget_per_second_and_the_rest_counted() {
        let b = LogBudget::new(2);
        assert_eq!(b.take_at(7), Some(0));
        assert_eq!(b.take_at(7), Some(0));
        assert_eq!(b.take_at(7), None);
        assert_eq!(b.take_at(7), None);
        // A new second: logged again, saying how many were left out.
        assert_eq!(b.take_at(8), Some(2));
        assert_eq!(b.take_at(8), Some(0));
        assert_eq!(b.take_at(8), None);
    }
}
