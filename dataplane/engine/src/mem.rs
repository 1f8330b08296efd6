//! Large per-thread arrays (buffer memory, buffer metadata) backed by 2 MiB-aligned memory that
//! the kernel is asked to map with transparent huge pages, as VPP uses hugepages: a 256-packet
//! frame then touches a handful of TLB entries instead of one per 4 KiB page.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

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

#[cfg(test)]
mod tests {
    use super::*;

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
