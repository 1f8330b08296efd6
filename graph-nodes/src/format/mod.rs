//! VPP 18.01 text formatters, byte for byte.
//!
//! Every formatter appends to a `&mut String`, like VPP's `format (s, ...)`
//! appends to a `u8 *` vector. Multi-line formatters indent their
//! continuation lines relative to [`column()`] (VPP's `format_get_indent`):
//! the number of bytes after the last `'\n'` of the string at the moment the
//! formatter starts. So the same formatter prints at column 2 for ip4-input
//! and at column 4 for ip4-local, exactly as VPP does.
//!
//! # Bytes and lengths
//!
//! VPP's header formatters take a pointer and a `max_header_bytes` and read
//! memory freely (trace records are fixed-size copies). Here they take a
//! slice and the same `max_bytes`:
//!
//! * every truncation decision VPP makes on `max_bytes` is made the same way;
//! * in addition, a header that does not fit in `data` prints the same
//!   `... header truncated` text as when it does not fit in `max_bytes`
//!   (VPP would print whatever followed in memory);
//! * the few reads VPP does *beyond* the fixed header (the IPv4 checksum over
//!   IHL*4 bytes, the generic ARP address dump) read bytes past the end of
//!   `data` as zero.
//!
//! Pass the trace record's whole copy (e.g. 64 bytes for ip4-input, zero
//! padded or with the buffer's trailing bytes) to get VPP's exact output.
//!
//! Nothing here panics, on any input.

mod basic;
mod ethernet;
mod float;
mod ip;
mod l4;

#[cfg(test)]
mod tests;

pub use basic::{
    format_hex_bytes, format_ip4, format_ip6_address, format_mac, format_time_interval,
    format_time_interval_hmsu, pad_center, pad_left, pad_right,
};
pub use ethernet::{
    ethernet_type_name, format_ethernet_arp_header, format_ethernet_header,
    format_ethernet_header_with_length, format_ethernet_type, format_ethernet_vlan_tci,
    format_mpls_header,
};
pub use float::{format_vpp_float, format_vpp_float_e};
pub use ip::{format_ip4_header, format_ip6_header, format_ip_protocol, ip_protocol_name};
pub use l4::{
    format_gre_header, format_icmp6_header, format_ip4_icmp_header, format_ip4_icmp_type_and_code,
    format_tcp_flags, format_tcp_header, format_udp_header,
};

/// The current output column of `s`: the number of bytes after the last
/// `'\n'`, or the whole length if there is none (VPP `format_get_indent`,
/// which counts bytes).
#[inline]
pub fn column(s: &str) -> usize {
    match s.as_bytes().iter().rposition(|&b| b == b'\n') {
        Some(i) => s.len() - i - 1,
        None => s.len(),
    }
}

/// Appends `n` spaces (VPP `format_white_space`).
#[inline]
pub fn white_space(s: &mut String, n: usize) {
    s.reserve(n);
    for _ in 0..n {
        s.push(' ');
    }
}

/// Appends `'\n'` followed by `indent` spaces (`"\n%U", format_white_space`).
#[inline]
pub fn newline(s: &mut String, indent: usize) {
    s.push('\n');
    white_space(s, indent);
}

/// Reads a big-endian u16 at `off`, `None` if out of range.
#[inline]
pub(crate) fn get16(d: &[u8], off: usize) -> Option<u16> {
    d.get(off..off.checked_add(2)?)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Reads a big-endian u16 at `off`; bytes beyond `d` read as zero.
#[inline]
pub(crate) fn be16_or0(d: &[u8], off: usize) -> u16 {
    let b = |i: usize| d.get(i).copied().unwrap_or(0);
    u16::from_be_bytes([b(off), b(off.saturating_add(1))])
}

/// Reads a big-endian u32 at `off`; bytes beyond `d` read as zero.
#[inline]
pub(crate) fn be32_or0(d: &[u8], off: usize) -> u32 {
    let b = |i: usize| d.get(i).copied().unwrap_or(0);
    u32::from_be_bytes([
        b(off),
        b(off.saturating_add(1)),
        b(off.saturating_add(2)),
        b(off.saturating_add(3)),
    ])
}
