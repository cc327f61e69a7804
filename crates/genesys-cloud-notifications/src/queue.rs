//! The queue between a subscription's workers and its consumer.
//!
//! Events wait in it up to the subscription's buffer; past that they are dropped and counted,
//! and the consumer hears of the loss ([`Item::Lost`], with the time it covers) where it
//! happened. Every other item (connection changes, gaps, resync states) always gets in: they
//! are few, and a consumer that misses one cannot know its view is stale.

use crate::item::Item;
use chrono::{DateTime, Utc};
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

/// A run of dropped events, not told yet.
struct LostRun {
    count: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

struct State {
    items: VecDeque<Item>,
    /// Events among `items` (what the buffer bounds).
    events: usize,
    lost: Option<LostRun>,
}

/// What became of an event handed to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    /// Dropped for a slow consumer (counted); `first` when it starts a run of losses.
    Dropped {
        first: bool,
    },
    /// The consumer is gone.
    Closed,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    capacity: usize,
    waker: AtomicWaker,
    /// The consumer left.
    closed: AtomicBool,
    closing: tokio::sync::Notify,
    /// Workers still running; when none is, the stream ends after its last item.
    producers: AtomicUsize,
    /// Losses told to the consumer so far (the workers resync after each).
    losses_told: AtomicU64,
    told: tokio::sync::Notify,
    pub(crate) received: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) duplicates: AtomicU64,
}

impl Queue {
    pub(crate) fn new(capacity: usize, producers: usize) -> Self {
        Self {
            state: Mutex::new(State { items: VecDeque::new(), events: 0, lost: None }),
            capacity: capacity.max(1),
            waker: AtomicWaker::new(),
            closed: AtomicBool::new(false),
            closing: tokio::sync::Notify::new(),
            producers: AtomicUsize::new(producers),
            losses_told: AtomicU64::new(0),
            told: tokio::sync::Notify::new(),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands an event (or an undecodable one) on, or drops it when the buffer is full.
    pub(crate) fn event(&self, item: Item) -> Delivery {
        if self.is_closed() {
            return Delivery::Closed;
        }
        let mut state = self.lock();
        if state.events >= self.capacity {
            let first = Self::count_lost(&mut state);
            drop(state);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Delivery::Dropped { first };
        }
        Self::tell_lost(&mut state);
        state.events += 1;
        state.items.push_back(item);
        drop(state);
        self.waker.wake();
        Delivery::Queued
    }

    /// Hands on an item that is never dropped (a connection change, a gap, a state).
    /// `false` when the consumer is gone.
    pub(crate) fn control(&self, item: Item) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut state = self.lock();
        Self::tell_lost(&mut state);
        state.items.push_back(item);
        drop(state);
        self.waker.wake();
        true
    }

    /// An event dropped before it reached the queue (held back too long): counted and told as
    /// the buffer's losses are.
    pub(crate) fn lose(&self) {
        Self::count_lost(&mut self.lock());
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.waker.wake();
    }

    /// Adds one event to the pending loss; whether it starts one.
    fn count_lost(state: &mut State) -> bool {
        let now = Utc::now();
        let first = state.lost.is_none();
        let run = state.lost.get_or_insert(LostRun { count: 0, from: now, to: now });
        run.count += 1;
        run.to = now;
        first
    }

    /// Queues the pending loss, where it happened (before what comes after it).
    fn tell_lost(state: &mut State) {
        if let Some(run) = state.lost.take() {
            state.items.push_back(Item::Lost { count: run.count, from: run.from, to: run.to });
        }
    }

    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        for registered in [false, true] {
            let mut state = self.lock();
            if let Some(item) = state.items.pop_front() {
                match &item {
                    Item::Event(_) | Item::Undecodable(_) => state.events -= 1,
                    Item::Lost { .. } => self.loss_was_told(),
                    _ => {}
                }
                return Poll::Ready(Some(item));
            }
            if let Some(run) = state.lost.take() {
                self.loss_was_told();
                return Poll::Ready(Some(Item::Lost { count: run.count, from: run.from, to: run.to }));
            }
            if self.producers.load(Ordering::Acquire) == 0 {
                return Poll::Ready(None);
            }
            if !registered {
                drop(state);
                // Registered, then looked at again: an item queued in between is not missed.
                self.waker.register(cx.waker());
            }
        }
        Poll::Pending
    }

    /// The consumer leaves.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.closing.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Resolves when the consumer has left.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.closing.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    fn loss_was_told(&self) {
        self.losses_told.fetch_add(1, Ordering::AcqRel);
        self.told.notify_waiters();
    }

    /// Resolves when the consumer has been told of more losses than `seen`: their count.
    pub(crate) async fn loss_told(&self, seen: u64) -> u64 {
        loop {
            let notified = self.told.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let told = self.losses_told.load(Ordering::Acquire);
            if told != seen {
                return told;
            }
            notified.await;
        }
    }

    /// A worker ended.
    pub(crate) fn producer_done(&self) {
        self.producers.fetch_sub(1, Ordering::AcqRel);
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ConnectionEvent;

    fn next(q: &Queue) -> Option<Item> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match q.poll_next(&mut cx) {
            Poll::Ready(item) => item,
            Poll::Pending => panic!("nothing queued"),
        }
    }

    #[test]
    fn control_items_get_past_a_full_buffer_and_the_loss_is_told_where_it_happened() {
        let q = Queue::new(2, 1);
        let ev = |n: u64| {
            Item::Undecodable(crate::event::Undecodable {
                topic: format!("t{n}"),
                raw: String::new(),
                error: String::new(),
                received: DateTime::<Utc>::UNIX_EPOCH,
            })
        };
        assert_eq!(q.event(ev(1)), Delivery::Queued);
        assert_eq!(q.event(ev(2)), Delivery::Queued);
        assert_eq!(q.event(ev(3)), Delivery::Dropped { first: true });
        assert_eq!(q.event(ev(4)), Delivery::Dropped { first: false });
        let gap = Item::Connection(ConnectionEvent::Reconnecting { attempt: 1, reason: "x".into() });
        assert!(q.control(gap.clone()));
        assert_eq!(next(&q), Some(ev(1)));
        assert_eq!(next(&q), Some(ev(2)));
        assert!(matches!(next(&q), Some(Item::Lost { count: 2, .. })), "the loss, before what came after it");
        assert_eq!(next(&q), Some(gap));
        assert_eq!(q.event(ev(5)), Delivery::Queued);
        assert_eq!(next(&q), Some(ev(5)));
        q.producer_done();
        assert_eq!(next(&q), None);
    }
}
