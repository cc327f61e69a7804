//! The retry budget a client's calls share.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The retry budget a client's calls share, on the model of the AWS SDKs' standard retry
/// mode ("retry quota"): during an outage, retries would multiply the load on a service that
/// is already failing, so they draw on one budget that only successes fill.
///
/// - The budget starts full at [`RetryBudget::DEFAULT_CAPACITY`] (500).
/// - A retry after a 5xx, a broken connection or a failed connect costs
///   [`RetryBudget::RETRY_COST`] (5); after a timeout, [`RetryBudget::TIMEOUT_COST`] (10).
/// - A call that succeeds gives back what its retries cost, or 1 when it needed none, up to
///   the capacity.
/// - When the budget cannot pay for a retry, the call ends with the error it has.
///
/// So a healthy client never notices it, and a client whose calls all fail makes at most
/// 100 extra attempts (500 / 5) over all its calls, however many calls it makes, until
/// calls succeed again. A 429 is not charged: it carries the service's own schedule
/// (`Retry-After`), and the pacer keeps calls under the limit. The 404s a call asks to wait
/// out (a read right after a create) are not charged either.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    available: AtomicU32,
    refused: AtomicU64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl RetryBudget {
    /// The budget's default size.
    pub const DEFAULT_CAPACITY: u32 = 500;
    /// What a retry after a 5xx or a broken or failed connection costs.
    pub const RETRY_COST: u32 = 5;
    /// What a retry after a timeout costs.
    pub const TIMEOUT_COST: u32 = 10;

    /// A full budget of `capacity`.
    pub fn new(capacity: u32) -> Self {
        Self { capacity, available: AtomicU32::new(capacity), refused: AtomicU64::new(0) }
    }

    /// What is left now.
    pub fn available(&self) -> u32 {
        self.available.load(Ordering::Relaxed)
    }

    /// Retries refused so far because the budget could not pay for them.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Takes `cost` for a retry, if the budget has it.
    pub(crate) fn withdraw(&self, cost: u32) -> bool {
        let paid = self.available.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| left.checked_sub(cost));
        if paid.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        paid.is_ok()
    }

    /// Gives `amount` back after a success, up to the capacity.
    pub(crate) fn deposit(&self, amount: u32) {
        let _ = self.available.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
            (left < self.capacity).then(|| left.saturating_add(amount).min(self.capacity))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_draw_on_the_budget_and_successes_fill_it() {
        let budget = RetryBudget::new(12);
        assert!(budget.withdraw(RetryBudget::RETRY_COST));
        assert!(budget.withdraw(RetryBudget::RETRY_COST));
        assert!(!budget.withdraw(RetryBudget::RETRY_COST), "2 left");
        assert_eq!((budget.available(), budget.refused()), (2, 1));
        budget.deposit(5);
        assert!(budget.withdraw(RetryBudget::RETRY_COST));
        budget.deposit(100);
        assert_eq!(budget.available(), 12, "never past the capacity");
    }
}
