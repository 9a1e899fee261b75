//! The memory allocator: mimalloc, measurably faster than glibc malloc for the many small
//! allocations of JSON handling.
//!
//! While ingesting, tantivy allocates its indexing buffers afresh for every segment (each
//! commit, every 500 ms) and frees them when the segment is written. With mimalloc's default
//! purge delay (1 s) that memory goes back to the operating system between commits and is
//! faulted in and zeroed again for the next segment: the kernel's page clearing alone was 8% of
//! the server's CPU. ferrodef keeps freed memory for reuse instead (peak RSS while ingesting
//! +~60 MiB, measured in BENCHMARKS.md). Setting `MIMALLOC_PURGE_DELAY` in the environment
//! (milliseconds; 0 = at once) restores mimalloc's own behaviour.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t` (libmimalloc-sys names no constant
/// for it; the test below checks the index by its documented default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse (no purging to the OS), unless `MIMALLOC_PURGE_DELAY` is set.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting a mimalloc option is a plain store into its option table; the
        // index is a valid option (checked by the test).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// The purge delay in effect, in milliseconds (-1: never).
pub fn purge_delay() -> i64 {
    // SAFETY: reading a mimalloc option by a valid index.
    i64::from(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            // The environment decides; nothing of ours to check.
            keep_freed_memory();
            return;
        }
        // mimalloc 3's default purge delay, 1000 ms: the index names that option.
        assert_eq!(purge_delay(), 1000);
        keep_freed_memory();
        assert_eq!(purge_delay(), -1);
    }
}
