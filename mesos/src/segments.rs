//! Long JSON arrays (the tasks and agents of `/master/state` and `GET_STATE`) written on every core, a segment at a time, and joined in order; no C++ counterpart (C++ writes them on one thread).
//!
//! The array is cut into segments of a fixed number of items. Helper threads and the
//! calling thread take segments in turn and write each into a buffer of its own; the calling
//! thread hands finished segments to its [`Writer`] in array order as soon as they are
//! ready (a streaming writer sends them on without copying them). Taking segments in order
//! keeps the finished-but-not-yet-handed-on ones few, so memory stays bounded by a few
//! segments per thread rather than by the array.
//!
//! Writing a task is bound by memory latency more than by computation (its strings are
//! scattered over the heap), so more cores keep more cache misses in flight.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::buffers::CHUNKS;
use crate::json::{Writer, CHUNK_SIZE};

/// Arrays with fewer segments than this are written on the calling thread alone: a thread
/// costs tens of microseconds to start.
const PARALLEL_MINIMUM_SEGMENTS: usize = 4;

/// How far ahead of the segment due next a helper may write: when the writer's sink is slow
/// (a streamed answer waits for its client), helpers wait rather than pile up segments.
const LEAD: usize = 4;

/// The number of cores this process may use, asked once.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Writes `items` as a JSON array: `write` writes a run of consecutive items as array
/// elements, exactly one per item (into the writer it is given, which places the commas).
/// `item_size` is a guess of the bytes an item takes, which sets the segment length (about
/// one chunk).
pub fn write_array<T: Sync>(w: &mut Writer, items: &[T], item_size: usize, write: impl Fn(&mut Writer, &[T]) + Sync) {
    w.begin_array();
    write_elements(w, items, item_size, write);
    w.end_array();
}

/// As [`write_array`], without the brackets: the elements go into the array `w` is in.
pub fn write_elements<T: Sync>(
    w: &mut Writer,
    items: &[T],
    item_size: usize,
    write: impl Fn(&mut Writer, &[T]) + Sync,
) {
    let per_segment = (CHUNK_SIZE / item_size.max(1)).max(1);
    let segments = items.len().div_ceil(per_segment);
    let helpers = cores().saturating_sub(1).min(segments.saturating_sub(1));
    if helpers == 0 || segments < PARALLEL_MINIMUM_SEGMENTS {
        // One run, straight into `w`; a streaming writer still hands on chunks as it goes.
        write(w, items);
        return;
    }
    let shared = Shared {
        items,
        per_segment,
        segments,
        lookahead: LEAD * (helpers + 1),
        v1: w.is_v1(),
        // Each item is one element, so every segment after the first follows one.
        first_follows: w.needs_separator(),
        next: AtomicUsize::new(0),
        emitted: AtomicUsize::new(0),
        done: Mutex::new(Done { texts: (0..segments).map(|_| None).collect(), panic: None, aborted: false }),
        ready: Condvar::new(),
    };
    let write = &write;
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            // A helper that cannot start leaves its share to the others and this thread.
            let _ = std::thread::Builder::new().spawn_scoped(scope, || shared.help(write));
        }
        // However the calling thread leaves (done, or unwinding from a panic), helpers still
        // waiting are let go, so that the scope can join them.
        let _release = Release(&shared.done, &shared.ready);
        shared.join_into(w, write);
    });
}

/// What the threads writing one array share.
struct Shared<'a, T> {
    items: &'a [T],
    per_segment: usize,
    segments: usize,
    /// How far ahead of the segment due next any thread may write.
    lookahead: usize,
    v1: bool,
    /// Whether the first segment follows elements already written.
    first_follows: bool,
    /// The next segment nobody has taken.
    next: AtomicUsize,
    /// The next segment to hand on (changed with `done` locked).
    emitted: AtomicUsize,
    done: Mutex<Done>,
    /// Signalled when a segment is finished or handed on, or the work is abandoned.
    ready: Condvar,
}

/// Finished segments not handed on yet, by index.
struct Done {
    texts: Vec<Option<String>>,
    /// A helper's panic, passed on by the calling thread.
    panic: Option<Box<dyn Any + Send>>,
    /// Set when the calling thread is gone or a helper panicked: helpers stop.
    aborted: bool,
}

/// Sets `aborted` and wakes every waiting helper when dropped.
struct Release<'a>(&'a Mutex<Done>, &'a Condvar);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).aborted = true;
        self.1.notify_all();
    }
}

impl<T: Sync> Shared<'_, T> {
    fn done(&self) -> std::sync::MutexGuard<'_, Done> {
        self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next segment nobody has taken, taken.
    fn take(&self) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < self.segments).then_some(index)
    }

    /// Segment `index` written into a buffer of its own, with the comma that separates it
    /// from the elements before it.
    fn render(&self, index: usize, write: &(impl Fn(&mut Writer, &[T]) + Sync)) -> String {
        let start = index * self.per_segment;
        let end = (start + self.per_segment).min(self.items.len());
        // Room for twice the expected size: item sizes are guesses, and a buffer that grows
        // copies itself into fresh memory.
        let mut writer = Writer::with_buffer(CHUNKS.take(2 * CHUNK_SIZE), self.v1);
        if index > 0 || self.first_follows {
            writer.follow_elements();
        }
        write(&mut writer, &self.items[start..end]);
        writer.into_string()
    }

    /// A helper thread: writes segments until none is left, never more than `lookahead`
    /// ahead of the one due next.
    fn help(&self, write: &(impl Fn(&mut Writer, &[T]) + Sync)) {
        while let Some(index) = self.take() {
            let mut done = self.done();
            while !done.aborted && index >= self.emitted.load(Ordering::Relaxed) + self.lookahead {
                done = self.ready.wait(done).unwrap_or_else(PoisonError::into_inner);
            }
            if done.aborted {
                return;
            }
            drop(done);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.render(index, write))) {
                Ok(text) => self.done().texts[index] = Some(text),
                Err(panic) => {
                    let mut done = self.done();
                    done.panic = Some(panic);
                    done.aborted = true;
                    drop(done);
                    self.ready.notify_all();
                    return;
                }
            }
            self.ready.notify_all();
        }
    }

    /// The calling thread: hands segments to `w` in order, writing segments itself while
    /// the next one to hand on is not ready (within the same lookahead as the helpers).
    fn join_into(&self, w: &mut Writer, write: &(impl Fn(&mut Writer, &[T]) + Sync)) {
        let mut emitted = 0;
        // Hands segment `emitted` on and lets the helpers go further.
        let hand_on = |w: &mut Writer, emitted: &mut usize, text: String| {
            w.part(text);
            *emitted += 1;
            let _done = self.done();
            self.emitted.store(*emitted, Ordering::Relaxed);
            self.ready.notify_all();
        };
        while emitted < self.segments {
            let ready = self.done().texts[emitted].take();
            if let Some(text) = ready {
                hand_on(w, &mut emitted, text);
                continue;
            }
            if self.next.load(Ordering::Relaxed) < emitted + self.lookahead {
                if let Some(index) = self.take() {
                    let text = self.render(index, write);
                    if index == emitted {
                        hand_on(w, &mut emitted, text);
                    } else {
                        self.done().texts[index] = Some(text);
                    }
                    continue;
                }
            }
            // Wait for the segment due next.
            let mut done = self.done();
            loop {
                if let Some(panic) = done.panic.take() {
                    drop(done);
                    std::panic::resume_unwind(panic);
                }
                if done.texts[emitted].is_some() {
                    break;
                }
                done = self.ready.wait(done).unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn numbers(w: &mut Writer, run: &[u64]) {
        for &n in run {
            w.begin_object();
            w.key_ident("n");
            w.u64(n);
            w.end_object();
        }
    }

    fn expected(items: &[u64]) -> String {
        let mut w = Writer::new();
        w.begin_array();
        numbers(&mut w, items);
        w.end_array();
        w.into_string()
    }

    #[test]
    fn a_long_array_comes_out_whole_and_in_order() {
        let items: Vec<u64> = (0..200_000).collect();
        let mut w = Writer::new();
        w.begin_object();
        w.key_ident("a");
        // A small item size makes many short segments.
        write_array(&mut w, &items, 64, numbers);
        w.end_object();
        assert_eq!(w.into_string(), format!("{{\"a\":{}}}", expected(&items)));
    }

    #[test]
    fn short_and_empty_arrays_are_written_in_place() {
        for items in [vec![], vec![7u64], (0..100).collect()] {
            let mut w = Writer::new();
            write_array(&mut w, &items, 64, numbers);
            assert_eq!(w.into_string(), expected(&items));
        }
    }

    #[test]
    fn a_streaming_writer_hands_on_chunks_that_join_into_the_document() {
        let items: Vec<u64> = (0..300_000).collect();
        let chunks = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&chunks);
        let mut w = Writer::streaming(false, move |text: String| sink.lock().unwrap().push(text));
        w.begin_object();
        w.key_ident("a");
        write_array(&mut w, &items, 16, numbers);
        w.key_ident("b");
        write_array(&mut w, &items[..10], 16, numbers);
        w.end_object();
        assert_eq!(w.finish(), "");
        let chunks = chunks.lock().unwrap();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= 2 * CHUNK_SIZE), "chunks stay near the chunk size");
        let expected = format!("{{\"a\":{},\"b\":{}}}", expected(&items), expected(&items[..10]));
        assert_eq!(chunks.concat(), expected);
    }

    #[test]
    fn a_panic_on_a_helper_thread_reaches_the_caller() {
        let items: Vec<u64> = (0..100_000).collect();
        let helper_ran = std::sync::atomic::AtomicBool::new(false);
        let main = std::thread::current().id();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut w = Writer::new();
            write_array(&mut w, &items, 64, |w, run| {
                if std::thread::current().id() != main {
                    helper_ran.store(true, Ordering::SeqCst);
                    panic!("helper failed");
                }
                numbers(w, run);
            });
            w.into_string()
        }));
        match result {
            Err(_) => assert!(helper_ran.load(Ordering::SeqCst)),
            // Only when no helper got a segment (one core, or a thread that never started).
            Ok(text) => assert!(!helper_ran.load(Ordering::SeqCst) && text == expected(&items)),
        }
    }

    #[test]
    fn a_panic_on_the_calling_thread_lets_waiting_helpers_go() {
        // Many small segments, so that helpers wait for the calling thread to hand some on.
        let items: Vec<u64> = (0..200_000).collect();
        let main = std::thread::current().id();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut w = Writer::new();
            write_array(&mut w, &items, 4096, |w, run| {
                if std::thread::current().id() == main && run[0] > 0 {
                    panic!("the caller failed");
                }
                numbers(w, run);
            });
            w.into_string()
        }));
        // Reaching here at all is the point: the scope joined every helper.
        if let Ok(text) = result {
            assert_eq!(text, expected(&items));
        }
    }
}
