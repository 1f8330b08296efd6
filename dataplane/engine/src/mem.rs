//! Large per-thread arrays (buffer memory, buffer metadata) backed by 2 MiB-aligned memory that
//! the kernel is asked to map with transparent huge pages, as VPP uses hugepages: a 256-packet
//! frame then touches a handful of TLB entries instead of one per 4 KiB page.

use std::alloc::{alloc, dealloc, handle_alloc_error, GlobalAlloc, Layout, System};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const HUGE: usize = 2 << 20;

/// A fixed-length array of `T` in huge-page-friendly memory.
pub struct HugeSlice<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    layout: Layout,
}

impl<T: Copy> HugeSlice<T> {
    /// `len` copies of `value`.
    pub fn new(len: usize, value: T) -> Self {
        let bytes = (len * std::mem::size_of::<T>()).max(1);
        let align = if bytes >= HUGE {
            HUGE
        } else {
            4096usize.max(std::mem::align_of::<T>())
        };
        let size = bytes.div_ceil(align) * align;
        let layout = Layout::from_size_align(size, align).expect("valid layout");
        // Not alloc_zeroed: the pages must stay untouched until madvise, or they fault in as
        // 4 KiB pages. Every element is written below.
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc(layout) };
        let Some(p) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        #[cfg(target_os = "linux")]
        if align == HUGE {
            // SAFETY: the range is the allocation just made; madvise only changes how the
            // kernel backs it (failure is harmless: we keep 4 KiB pages).
            unsafe {
                libc::madvise(raw as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
            }
        }
        let ptr = p.cast::<T>();
        for i in 0..len {
            // SAFETY: i < len and the allocation holds len values of T with T's alignment.
            unsafe { ptr.as_ptr().add(i).write(value) };
        }
        HugeSlice { ptr, len, layout }
    }
}

impl<T: Copy> Deref for HugeSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: ptr points to len initialised values owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> DerefMut for HugeSlice<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref; &mut self makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeSlice<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout; T is Copy so nothing to drop.
        unsafe { dealloc(self.ptr.as_ptr() as *mut u8, self.layout) }
    }
}

// SAFETY: HugeSlice owns its memory exclusively, like Vec<T>.
unsafe impl<T: Copy + Send> Send for HugeSlice<T> {}
// SAFETY: shared access only hands out &[T], like Vec<T>.
unsafe impl<T: Copy + Sync> Sync for HugeSlice<T> {}

/// Ask the CPU to bring the cache line holding `*r` into cache (a hint: no effect on program
/// state). Node loops call it a stage ahead of the load, as VPP's `CLIB_PREFETCH` does.
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: prefetch never faults and has no memory effects; the address is a live
        // reference anyway.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch(r as *const T as *const i8, _MM_HINT_T0)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// The system allocator with counters, so that `show memory` can say how much of the heap is
/// in use (VPP reports its own mspace; Rust has no heap of its own to ask). One relaxed atomic
/// add per allocation and per free: the fast path does not allocate, so forwarding never pays it.
pub struct CountingAlloc;

static HEAP_USED: AtomicUsize = AtomicUsize::new(0);
static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);
static HEAP_ALLOCS: AtomicU64 = AtomicU64::new(0);
static HEAP_FREES: AtomicU64 = AtomicU64::new(0);

impl CountingAlloc {
    #[inline]
    fn added(size: usize) {
        let now = HEAP_USED.fetch_add(size, Ordering::Relaxed) + size;
        HEAP_ALLOCS.fetch_add(1, Ordering::Relaxed);
        if now > HEAP_PEAK.load(Ordering::Relaxed) {
            HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    #[inline]
    fn removed(size: usize) {
        HEAP_USED.fetch_sub(size, Ordering::Relaxed);
        HEAP_FREES.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::added(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::added(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (i.e. System) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Self::removed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` for `ptr`; `new_size` is the caller's, checked by it.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // One block replaced by another: count the size change, not an alloc and a free.
            if new_size >= layout.size() {
                let d = new_size - layout.size();
                let now = HEAP_USED.fetch_add(d, Ordering::Relaxed) + d;
                HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                HEAP_USED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// What the counting allocator has seen.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    /// Bytes in live allocations.
    pub used: usize,
    /// Most bytes ever live at once.
    pub peak: usize,
    /// Allocations made.
    pub allocs: u64,
    /// Allocations freed.
    pub frees: u64,
}

/// Heap counters now.
pub fn heap_stats() -> HeapStats {
    HeapStats {
        used: HEAP_USED.load(Ordering::Relaxed),
        peak: HEAP_PEAK.load(Ordering::Relaxed),
        allocs: HEAP_ALLOCS.load(Ordering::Relaxed),
        frees: HEAP_FREES.load(Ordering::Relaxed),
    }
}

/// Sizes as VPP's `format_msize`: bytes below 1K, else K/M/G with two decimals.
pub fn format_msize(a: u64) -> String {
    let f = a as f64;
    if a >= 1 << 30 {
        format!("{:.2}G", f / (1u64 << 30) as f64)
    } else if a >= 1 << 20 {
        format!("{:.2}M", f / (1u64 << 20) as f64)
    } else if a >= 1 << 10 {
        format!("{:.2}K", f / 1024.0)
    } else {
        format!("{a}")
    }
}

/// Fields of `/proc/self/status` and `/proc/self/smaps_rollup` in bytes, by name (`VmRSS`,
/// `VmHWM`, `VmSize`, `RssAnon`, `AnonHugePages`...); empty where /proc is not there.
pub fn process_memory() -> Vec<(String, u64)> {
    let mut v = Vec::new();
    for f in ["/proc/self/status", "/proc/self/smaps_rollup"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines() {
            let Some((k, rest)) = line.split_once(':') else {
                continue;
            };
            let mut w = rest.split_whitespace();
            if let (Some(n), Some("kB")) = (w.next(), w.next()) {
                if let Ok(kb) = n.parse::<u64>() {
                    if !v.iter().any(|(x, _): &(String, u64)| x == k) {
                        v.push((k.to_string(), kb * 1024));
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocator_counts_live_bytes() {
        let before = heap_stats();
        let v: Vec<u8> = Vec::with_capacity(1 << 20);
        let during = heap_stats();
        // Other tests allocate concurrently: only bounds hold.
        assert!(during.allocs > before.allocs);
        assert!(during.peak >= 1 << 20);
        drop(v);
        assert!(heap_stats().frees > before.frees);
    }

    #[test]
    fn sizes_as_vpp_prints_them() {
        assert_eq!(format_msize(512), "512");
        assert_eq!(format_msize(1536), "1.50K");
        assert_eq!(format_msize(3 << 20), "3.00M");
        assert_eq!(format_msize(5 << 30), "5.00G");
    }

    #[test]
    fn proc_figures() {
        let p = process_memory();
        assert!(p.iter().any(|(k, v)| k == "VmRSS" && *v > 0), "{p:?}");
    }

    #[test]
    fn filled_and_writable() {
        let mut h = HugeSlice::new(1_000_000, 7u32);
        assert_eq!(h.len(), 1_000_000);
        assert!(h.iter().all(|&x| x == 7));
        h[999_999] = 9;
        assert_eq!(h[999_999], 9);
        assert_eq!(h.as_ptr() as usize % HUGE, 0);
        let small = HugeSlice::new(3, 1u8);
        assert_eq!(&small[..], &[1, 1, 1]);
    }
}
