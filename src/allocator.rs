//! The process's allocator: mimalloc, asked for plain blocks whenever plain blocks will do.
//!
//! Why not `mimalloc::MiMalloc` as it comes: it passes every allocation to
//! `mi_malloc_aligned`, and mimalloc 3 serves that quickly only for blocks of up to 1 KiB whose
//! next free block happens to be aligned. Anything larger whose size class is not a power of
//! two (a 1.5 KiB buffer, a channel's block, a grown `Vec`) takes the over-allocating path:
//! ~280 instructions instead of ~40, about 15 times per relayed call. Every mimalloc block is
//! aligned to 16 bytes (`MI_MAX_ALIGN_SIZE`) or to its size when smaller, so a request for no
//! more alignment than that goes to `mi_malloc` (the rule Rust's own `System` allocator uses),
//! and only larger alignments to the aligned entry points.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Alignment every mimalloc block of at least this size has (`MI_MAX_ALIGN_SIZE`).
const MIN_ALIGN: usize = 16;

/// mimalloc with plain allocations for ordinary alignments.
pub struct Allocator;

fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every method forwards to mimalloc, which returns blocks of at least `size` bytes
// aligned as the layout asks (`plain` holds only where mimalloc's natural alignment covers it)
// or null; blocks are freed and resized only by mimalloc.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI calls; the size and alignment come from a valid `Layout`.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the `GlobalAlloc` contract).
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; a plain resize keeps the
        // natural alignment, which covers the layout's alignment at the new size too.
        unsafe {
            if plain(layout.align(), new_size) {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for() {
        let a = Allocator;
        for size in [1, 7, 8, 15, 16, 24, 100, 1000, 1025, 1536, 3000, 8192, 70_000, 1 << 21] {
            for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero layout; the block is written within its size, resized and
                // freed with the layouts it has.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size}/{align}");
                    p.write_bytes(0xAB, size);
                    let z = a.alloc_zeroed(layout);
                    assert!(!z.is_null() && z as usize % align == 0, "zeroed {size}/{align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    let grown = a.realloc(p, layout, size * 3);
                    assert!(!grown.is_null() && grown as usize % align == 0, "grown {size}/{align}");
                    assert!(std::slice::from_raw_parts(grown, size).iter().all(|&b| b == 0xAB));
                    a.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    a.dealloc(z, layout);
                }
            }
        }
    }
}
