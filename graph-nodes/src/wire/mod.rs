//! Packet views (one module per protocol).
//!
//! Every protocol module follows the smoltcp pattern:
//!
//! * `Packet<T: AsRef<[u8]>>` wraps a borrowed or owned byte buffer;
//! * `Packet::new_unchecked` wraps without any check (use it to build
//!   packets into a buffer you know is large enough);
//! * `Packet::new_checked` = `new_unchecked` + [`check_len`](ipv4::Packet::check_len);
//! * field byte ranges live in a private `mod field`;
//! * getters are on `impl<T: AsRef<[u8]>>`, setters on
//!   `impl<T: AsRef<[u8]> + AsMut<[u8]>>`.
//!
//! Contract: once `check_len` (or `new_checked`) has returned `Ok`, no
//! accessor of that view panics. Constructors and `check_len` never panic on
//! any input. Accessors on an unchecked view of a too-short buffer may panic
//! (slice indexing), exactly as in smoltcp.
//!
//! All multi-byte fields are big-endian on the wire; getters return host
//! values. Checksums are returned as the 16-bit value read big-endian
//! (i.e. as VPP prints them with `clib_net_to_host_u16`).

use core::fmt;
use core::ops::{Range, RangeFrom};

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod geneve;
pub mod icmp;
pub mod ipv4;
pub mod tcp;
pub mod udp;
pub mod vxlan;

/// The single, opaque error of the wire views: the buffer is too short or a
/// length field is inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("truncated or malformed packet")
    }
}

impl std::error::Error for Error {}

/// Result type of the wire views.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range of a header field.
pub(crate) type Field = Range<usize>;
/// The bytes from an offset to the end of the buffer.
pub(crate) type Rest = RangeFrom<usize>;

/// Reads a big-endian u16 from the first two bytes of `b`.
#[inline(always)]
pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Reads a big-endian u32 from the first four bytes of `b`.
#[inline(always)]
pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Writes `v` big-endian into the first two bytes of `b`.
#[inline(always)]
pub(crate) fn put_be16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian into the first four bytes of `b`.
#[inline(always)]
pub(crate) fn put_be32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_be_bytes());
}

/// Copies `N` bytes of `b` starting at 0 into an array.
#[inline(always)]
pub(crate) fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}
