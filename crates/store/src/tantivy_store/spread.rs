//! Work spread over a few threads only when it is worth it.
//!
//! The calling thread starts alone; once it has worked [`SPAWN_AFTER`] with work left, helper
//! threads join it. A small search (a needle, a narrow range) never pays for starting threads,
//! which on a busy machine wait for a core before they run.

use std::time::{Duration, Instant};

/// How long the calling thread works alone before helpers are started.
const SPAWN_AFTER: Duration = Duration::from_millis(2);

/// Runs `work` on the calling thread and, past [`SPAWN_AFTER`], on up to `max_threads - 1`
/// helpers. `work` takes its items from a queue shared with the others until it is empty,
/// calling the given `tick` after each item (where helpers are started). The results of all
/// the threads that ran, `None` for one that panicked.
pub(super) fn spread<T, W>(max_threads: usize, work: W) -> Vec<Option<T>>
where
    T: Send,
    W: Fn(&mut dyn FnMut()) -> T + Sync,
{
    std::thread::scope(|s| {
        let start = Instant::now();
        let work = &work;
        let mut helpers = Vec::new();
        let mut tick = || {
            if helpers.len() + 1 < max_threads && start.elapsed() >= SPAWN_AFTER {
                helpers.push(s.spawn(move || work(&mut || {})));
            }
        };
        let mine = work(&mut tick);
        let mut out = vec![Some(mine)];
        out.extend(helpers.into_iter().map(|h| h.join().ok()));
        out
    })
}

/// Threads one search or aggregation may use: the cores, at most `cap`.
pub(super) fn threads(cap: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, cap)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn every_item_is_done_once_and_helpers_join_long_work() {
        let next = AtomicUsize::new(0);
        let items = 20;
        let work = |tick: &mut dyn FnMut()| {
            let mut done = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < items {
                std::thread::sleep(Duration::from_millis(1));
                done.push(());
                tick();
            }
            done.len()
        };
        let ran: Vec<usize> = spread(2, work).into_iter().map(Option::unwrap).collect();
        assert_eq!(ran.iter().sum::<usize>(), items);
        assert_eq!(ran.len(), 2, "a helper joined after {SPAWN_AFTER:?}");
        // One thread allowed: no helper, however long the work.
        next.store(0, Ordering::Relaxed);
        let ran: Vec<usize> = spread(1, work).into_iter().map(Option::unwrap).collect();
        assert_eq!(ran, vec![items]);
    }
}
