//! Large text buffers kept for reuse between renderings of big JSON documents (`/master/state` of a large cluster is hundreds of MB); no C++ counterpart, where each rendering allocates afresh.
//!
//! Memory the process has never written costs a page fault and a page of zeroes on its first
//! write; a fresh buffer of a few hundred MB pays that for each page, every time. A pool hands
//! the same buffer out again once the previous document is dropped (for an HTTP body, once it
//! has been sent), so a repeated rendering writes into pages that are already there. A pool
//! keeps at most `keep` spare buffers, the largest it was given; they stay allocated until the
//! process exits.

use std::sync::Mutex;

use ::bytes::Bytes;

/// The chunks of streamed documents and the segments of long arrays written on several
/// threads (`crate::json::Writer::streaming`, `crate::segments`): about 1 MB each. A
/// streamed `/master/state` of a large cluster keeps a few dozen in flight.
pub static CHUNKS: BufferPool = BufferPool::new(64);

/// Spare buffers, handed out largest first. They are kept as bytes and handed out as text
/// ([`BufferPool::take`]) or bytes ([`BufferPool::take_bytes`]); an emptied buffer is both.
pub struct BufferPool {
    keep: usize,
    spare: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// A pool that keeps up to `keep` spare buffers.
    pub const fn new(keep: usize) -> BufferPool {
        BufferPool { keep, spare: Mutex::new(Vec::new()) }
    }

    fn spare(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A panic while holding the lock leaves a valid list behind.
        self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An empty buffer that holds at least `capacity` bytes: the largest spare one when it is
    /// big enough, else a new one (a spare too small is dropped rather than grown, since
    /// growing copies its whole old allocation). Handing out the largest rather than the
    /// smallest that fits measured faster: size hints are guesses, and a buffer that proves
    /// too small is grown, which copies it into fresh pages.
    pub fn take(&self, capacity: usize) -> String {
        // An empty vector is valid UTF-8.
        String::from_utf8(self.take_bytes(capacity)).unwrap_or_default()
    }

    /// As [`BufferPool::take`], as bytes.
    pub fn take_bytes(&self, capacity: usize) -> Vec<u8> {
        let chosen = {
            let mut spare = self.spare();
            let fitting =
                (0..spare.len()).filter(|&i| spare[i].capacity() >= capacity).min_by_key(|&i| spare[i].capacity());
            let index = fitting.or_else(|| (0..spare.len()).max_by_key(|&i| spare[i].capacity()));
            index.map(|i| spare.swap_remove(i))
        };
        match chosen {
            Some(mut buffer) if buffer.capacity() >= capacity => {
                buffer.clear();
                buffer
            }
            _ => Vec::with_capacity(capacity),
        }
    }

    /// Takes `buffer` back for later use; the smallest spare goes when there are too many.
    pub fn give(&self, buffer: String) {
        self.give_bytes(buffer.into_bytes());
    }

    /// As [`BufferPool::give`], for bytes.
    pub fn give_bytes(&self, buffer: Vec<u8>) {
        if self.keep == 0 || buffer.capacity() == 0 {
            return;
        }
        let mut buffer = buffer;
        buffer.clear();
        let mut spare = self.spare();
        spare.push(buffer);
        if spare.len() > self.keep {
            if let Some(index) = (0..spare.len()).min_by_key(|&i| spare[i].capacity()) {
                let smallest = spare.swap_remove(index);
                drop(spare);
                drop(smallest);
            }
        }
    }

    /// `text` as bytes that come back to this pool when the last reference is dropped.
    pub fn into_bytes(&'static self, text: String) -> Bytes {
        self.vec_into_bytes(text.into_bytes())
    }

    /// `bytes` as [`Bytes`] that come back to this pool when the last reference is dropped.
    pub fn vec_into_bytes(&'static self, bytes: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled { bytes, pool: self })
    }

    /// How many spare buffers the pool holds.
    pub fn spare_count(&self) -> usize {
        self.spare().len()
    }
}

/// A buffer on loan from a pool.
struct Pooled {
    bytes: Vec<u8>,
    pool: &'static BufferPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_bytes(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_handed_out_again_empty() {
        static POOL: BufferPool = BufferPool::new(1);
        let mut text = POOL.take(1024);
        text.push_str("{\"a\":1}");
        let address = text.as_ptr();
        let bytes = POOL.into_bytes(text);
        assert_eq!(&bytes[..], b"{\"a\":1}");
        let copy = bytes.clone();
        drop(bytes);
        assert_eq!(POOL.spare_count(), 0, "still referenced");
        drop(copy);
        assert_eq!(POOL.spare_count(), 1);
        let again = POOL.take(512);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), address);
        assert!(again.capacity() >= 1024);
    }

    #[test]
    fn a_spare_too_small_is_replaced_and_the_smallest_spare_goes() {
        let pool = BufferPool::new(2);
        pool.give(String::with_capacity(10));
        pool.give(String::with_capacity(1000));
        pool.give(String::with_capacity(100));
        assert_eq!(pool.spare_count(), 2);
        let big = pool.take(500);
        assert!(big.capacity() >= 1000);
        let fresh = pool.take(5000);
        assert!(fresh.capacity() >= 5000);
        // The 100-byte spare was taken and dropped for being too small.
        assert_eq!(pool.spare_count(), 0);
    }
}
