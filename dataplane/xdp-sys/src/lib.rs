//! AF_XDP sockets through the system's libxdp and libbpf (Debian's libxdp 1.3 / libbpf 1.1),
//! behind a C shim (`shim/xsk_shim.c`) that uses libxdp's inline ring helpers and exposes one
//! call per burst with plain types, declared here by hand.
//!
//! Without libxdp at build time ([`AVAILABLE`] is false) the same functions exist as stubs:
//! `dp_xsk_open` fails with a message naming the packages to install, and nothing else can be
//! reached without a handle.

use std::ffi::{c_char, c_int, c_void};

/// Whether the crate was built against libxdp/libbpf.
pub const AVAILABLE: bool = cfg!(xdp_available);

/// Zero-copy where the driver has it, else copy.
pub const DP_XSK_MODE_AUTO: c_int = 0;
/// Copy mode.
pub const DP_XSK_MODE_COPY: c_int = 1;
/// Zero-copy or fail.
pub const DP_XSK_MODE_ZERO_COPY: c_int = 2;
/// Copy mode with the XDP program in generic (skb) mode.
pub const DP_XSK_MODE_SKB_COPY: c_int = 3;

/// An interface's AF_XDP sockets and XDP program (opaque).
#[repr(C)]
pub struct dp_xsk {
    _private: [u8; 0],
}

/// Options of [`dp_xsk_open`] (`struct dp_xsk_opts`).
#[repr(C)]
#[derive(Debug)]
pub struct dp_xsk_opts {
    /// Host interface name (NUL-terminated).
    pub ifname: *const c_char,
    /// XDP object file, or null for libxdp's default AF_XDP program.
    pub prog_path: *const c_char,
    /// Queues (one socket each), 1..=64.
    pub n_queues: u32,
    /// Descriptors of the fill and rx rings (power of two), 0 for 2048.
    pub ring_size: u32,
    /// One of the `DP_XSK_MODE_*` values.
    pub mode: c_int,
    /// Descriptors of the tx and completion rings (power of two), 0 for `ring_size`.
    pub tx_ring_size: u32,
}

/// Socket statistics (`struct xdp_statistics`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct dp_xsk_stats {
    /// Dropped for other reasons than invalid descriptors.
    pub rx_dropped: u64,
    /// Invalid rx descriptors.
    pub rx_invalid_descs: u64,
    /// Invalid tx descriptors.
    pub tx_invalid_descs: u64,
    /// Dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Fill ring was empty when the kernel needed a frame.
    pub rx_fill_ring_empty_descs: u64,
    /// Tx ring was empty when the kernel looked.
    pub tx_ring_empty_descs: u64,
}

#[cfg(xdp_available)]
extern "C" {
    /// Open AF_XDP sockets on `o.ifname` and attach the XDP program. On failure returns a
    /// negative errno and writes a one-line reason into `err`.
    pub fn dp_xsk_open(
        o: *const dp_xsk_opts,
        out: *mut *mut dp_xsk,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int;
    /// Close the sockets, detach the program (if still ours) and free everything.
    pub fn dp_xsk_close(x: *mut dp_xsk);
    /// Socket descriptor of a queue (-1 if out of range).
    pub fn dp_xsk_fd(x: *const dp_xsk, queue: u32) -> c_int;
    /// Number of queues opened.
    pub fn dp_xsk_n_queues(x: *const dp_xsk) -> u32;
    /// Whether the sockets run in zero-copy mode.
    pub fn dp_xsk_is_zero_copy(x: *const dp_xsk) -> c_int;
    /// Whether the program is attached in native (driver) mode.
    pub fn dp_xsk_is_native(x: *const dp_xsk) -> c_int;
    /// The kernel driver of an interface (ethtool), into `out`.
    pub fn dp_xsk_driver_name(ifname: *const c_char, out: *mut c_char, len: usize) -> c_int;
    /// Views of up to `max` received frames: data pointers and lengths, valid until
    /// [`dp_xsk_rx_release`] (or the next peek) on the same queue.
    pub fn dp_xsk_rx_peek(
        x: *mut dp_xsk,
        queue: u32,
        data: *mut *const c_void,
        len: *mut u32,
        max: u32,
    ) -> u32;
    /// Give the frames of the last peek back to the kernel.
    pub fn dp_xsk_rx_release(x: *mut dp_xsk, queue: u32);
    /// Copy up to `n` frames into free UMEM frames and queue them; returns how many.
    pub fn dp_xsk_tx(
        x: *mut dp_xsk,
        queue: u32,
        data: *const *const c_void,
        len: *const u32,
        n: u32,
    ) -> u32;
    /// Socket statistics of a queue.
    pub fn dp_xsk_stats(x: *const dp_xsk, queue: u32, s: *mut dp_xsk_stats) -> c_int;
}

#[cfg(not(xdp_available))]
mod stub {
    //! Stand-ins when libxdp was missing at build time: opening fails, so no handle exists and
    //! the other functions are never reached with a valid one.
    use super::*;

    const MSG: &[u8] =
        b"AF_XDP support was not built: install libxdp-dev and libbpf-dev, then rebuild\0";

    /// Fails with EOPNOTSUPP and a message naming the packages to install.
    ///
    /// # Safety
    /// `out` must be writable; `err` must be writable for `errlen` bytes (or null).
    pub unsafe extern "C" fn dp_xsk_open(
        _o: *const dp_xsk_opts,
        out: *mut *mut dp_xsk,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int {
        // SAFETY: the caller guarantees `out` is writable.
        unsafe { *out = std::ptr::null_mut() };
        if !err.is_null() && errlen > 0 {
            let n = MSG.len().min(errlen);
            // SAFETY: err is writable for errlen >= n bytes; MSG is n bytes long at least.
            unsafe {
                std::ptr::copy_nonoverlapping(MSG.as_ptr() as *const c_char, err, n);
                *err.add(n - 1) = 0;
            }
        }
        -95
    }
    /// No-op.
    ///
    /// # Safety
    /// None (never given a valid handle).
    pub unsafe extern "C" fn dp_xsk_close(_x: *mut dp_xsk) {}
    /// Always -1.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_fd(_x: *const dp_xsk, _queue: u32) -> c_int {
        -1
    }
    /// Always 0.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_n_queues(_x: *const dp_xsk) -> u32 {
        0
    }
    /// Always 0.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_is_zero_copy(_x: *const dp_xsk) -> c_int {
        0
    }
    /// Always 0.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_is_native(_x: *const dp_xsk) -> c_int {
        0
    }
    /// Always -EOPNOTSUPP.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_driver_name(
        _ifname: *const c_char,
        _out: *mut c_char,
        _len: usize,
    ) -> c_int {
        -95
    }
    /// Always 0.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_rx_peek(
        _x: *mut dp_xsk,
        _queue: u32,
        _data: *mut *const c_void,
        _len: *mut u32,
        _max: u32,
    ) -> u32 {
        0
    }
    /// No-op.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_rx_release(_x: *mut dp_xsk, _queue: u32) {}
    /// Always 0.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_tx(
        _x: *mut dp_xsk,
        _queue: u32,
        _data: *const *const c_void,
        _len: *const u32,
        _n: u32,
    ) -> u32 {
        0
    }
    /// Always -EOPNOTSUPP.
    ///
    /// # Safety
    /// None.
    pub unsafe extern "C" fn dp_xsk_stats(
        _x: *const dp_xsk,
        _queue: u32,
        _s: *mut dp_xsk_stats,
    ) -> c_int {
        -95
    }
}

#[cfg(not(xdp_available))]
pub use stub::*;
