//! Internet checksum (RFC 1071) and incremental updates (RFC 1624) with VPP's
//! exact `ip_csum_t` semantics.
//!
//! Values passed in and returned are *field values*: the 16-bit (or 32-bit)
//! number read big-endian from the packet, i.e. what VPP prints after
//! `clib_net_to_host_u16`.
//!
//! # VPP parity
//!
//! VPP 18.01 updates checksums incrementally with `ip_csum_update` on a
//! 64-bit `ip_csum_t` accumulator that holds fields loaded in *host* order
//! (little-endian on x86-64) and folds once at the end with `ip_csum_fold`.
//! One's-complement arithmetic has two representations of zero (`0x0000`
//! and `0xffff`); which one VPP ends up storing depends on the exact
//! sequence of carries and borrows. [`IpCsum`] reproduces that sequence bit
//! for bit (little-endian loads, `ip_csum_with_carry`, `ip_csum_add_even`,
//! `ip_csum_sub_even`, the 64-bit `ip_csum_fold`), so the rewritten checksums
//! equal VPP's, including the `0x0000`/`0xffff` edge cases.
//!
//! The TTL decrement of `ip4-rewrite` uses a different shortcut formula,
//! reproduced by [`ttl_decrement`].

use std::net::Ipv4Addr;

/// Adds `x` to `sum` with end-around carry (VPP `ip_csum_with_carry`).
#[inline(always)]
fn with_carry(sum: u64, x: u64) -> u64 {
    let t = sum.wrapping_add(x);
    t.wrapping_add(u64::from(t < x))
}

/// Adds `data` to the unfolded one's-complement accumulator `acc`.
///
/// The data is summed as big-endian 16-bit words; an odd trailing byte is
/// padded with a zero low byte (RFC 1071). Sums 8 bytes per step into a
/// 64-bit accumulator with end-around carry, so it never overflows or
/// panics. Only call it with `data` starting at an even offset of the
/// checksummed region (or fold and re-add the odd part yourself).
#[inline]
pub fn accumulate(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc = with_carry(acc, w);
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc = with_carry(acc, u64::from(u16::from_be_bytes([rest[0], rest[1]])));
        rest = &rest[2..];
    }
    if let Some(&b) = rest.first() {
        acc = with_carry(acc, u64::from(b) << 8);
    }
    acc
}

/// Folds a 64-bit accumulator to 16 bits (VPP `ip_csum_fold`, 64-bit path).
///
/// Returns 0 only if the accumulator is exactly 0.
#[inline]
pub fn fold(acc: u64) -> u16 {
    let mut c = (acc & 0xffff_ffff) + (acc >> 32);
    c = (c & 0xffff) + (c >> 16);
    c = (c & 0xffff) + (c >> 16);
    c = (c & 0xffff) + (c >> 16);
    c as u16
}

/// The folded (not complemented) one's-complement sum of `data`.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    fold(accumulate(0, data))
}

/// The Internet checksum of `data`: the complement of [`data`].
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !self::data(data)
}

/// Checksum of an IPv4 header (`hdr` = the IHL*4 header bytes), computed as
/// if the checksum field (bytes 10..12) were zero. This is the value to
/// store. Never panics (a short `hdr` is summed as far as it goes).
#[inline]
pub fn ipv4_header_checksum(hdr: &[u8]) -> u16 {
    let head = &hdr[..hdr.len().min(10)];
    let tail = hdr.get(12..).unwrap_or(&[]);
    !fold(accumulate(accumulate(0, head), tail))
}

/// VPP's `ip4_header_checksum()`: like [`ipv4_header_checksum`], except that
/// a computed `0x0000` is reported as `0xffff` when the stored checksum is
/// `0xffff` (both represent zero). This is the value `format_ip4_header`
/// prints in `(should be 0x....)` and compares against the stored value.
#[inline]
pub fn ipv4_header_checksum_vpp(hdr: &[u8]) -> u16 {
    let c = ipv4_header_checksum(hdr);
    let stored = stored_ipv4_checksum(hdr);
    if c == 0 && stored == 0xffff {
        0xffff
    } else {
        c
    }
}

#[inline]
fn stored_ipv4_checksum(hdr: &[u8]) -> u16 {
    match hdr.get(10..12) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => 0,
    }
}

/// True if the IPv4 header checksum is valid, with VPP's
/// `ip4_header_checksum_is_valid` semantics.
#[inline]
pub fn verify_ipv4_header_checksum(hdr: &[u8]) -> bool {
    stored_ipv4_checksum(hdr) == ipv4_header_checksum_vpp(hdr)
}

/// Unfolded accumulator of the IPv4 pseudo-header (RFC 793/768):
/// source, destination, zero, protocol, L4 length.
#[inline]
pub fn pseudo_header_ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u64 {
    let s = u64::from(u32::from(src));
    let d = u64::from(u32::from(dst));
    let mut acc = with_carry(s, d);
    acc = with_carry(acc, u64::from(protocol));
    with_carry(acc, u64::from(length))
}

/// TCP/UDP checksum over the pseudo-header and `segment` (header + payload).
///
/// The checksum field inside `segment` must be zero when computing a value
/// to store. (UDP callers must map a result of 0 to 0xffff themselves; the
/// `udp` view's `fill_checksum` does.) Lengths above 65535 are truncated in
/// the pseudo-header, as on the wire.
#[inline]
pub fn ipv4_l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> u16 {
    let acc = pseudo_header_ipv4(src, dst, protocol, segment.len() as u16);
    !fold(accumulate(acc, segment))
}

/// True if the TCP/UDP checksum stored inside `segment` is valid.
#[inline]
pub fn verify_ipv4_l4_checksum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> bool {
    let acc = pseudo_header_ipv4(src, dst, protocol, segment.len() as u16);
    matches!(fold(accumulate(acc, segment)), 0xffff)
}

/// VPP's `ip_csum_t` accumulator as used by `ip_csum_update` on x86-64.
///
/// Start from the stored checksum with [`IpCsum::from_field`], apply any
/// number of updates, then [`IpCsum::fold`] once, exactly like the NAT code
/// (`sum = tcp->checksum; sum = ip_csum_update(sum, old_addr, new_addr, ..);
/// sum = ip_csum_update(sum, old_port, new_port, ..); tcp->checksum =
/// ip_csum_fold(sum)`). Chaining through one accumulator (rather than folding
/// after every step) matters for the 0x0000/0xffff representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCsum(u64);

impl IpCsum {
    /// Starts from a checksum field value (read big-endian).
    #[inline]
    pub const fn from_field(csum: u16) -> IpCsum {
        // VPP loads the field in host (little-endian) order.
        IpCsum(csum.swap_bytes() as u64)
    }

    /// The raw 64-bit accumulator (little-endian domain, as in VPP).
    #[inline]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// `ip_csum_sub_even` then `ip_csum_add_even` for the host-order loads
    /// of the old and new field values.
    #[inline(always)]
    fn update_raw(self, old: u64, new: u64) -> IpCsum {
        // ip_csum_sub_even: remove old (adding it to the complemented sum).
        let c = with_carry(self.0, old);
        // ip_csum_add_even: add new (subtracting it, with borrow fold).
        let mut d = c.wrapping_sub(new);
        d = d.wrapping_sub(u64::from(d > c));
        IpCsum(d)
    }

    /// Updates for a 16-bit field changing from `old` to `new` (field
    /// values read big-endian, e.g. TCP/UDP ports).
    #[inline]
    pub fn update_u16(self, old: u16, new: u16) -> IpCsum {
        self.update_raw(u64::from(old.swap_bytes()), u64::from(new.swap_bytes()))
    }

    /// Updates for a 32-bit field changing from `old` to `new` (field
    /// values read big-endian, e.g. IPv4 addresses as `u32::from(addr)`).
    #[inline]
    pub fn update_u32(self, old: u32, new: u32) -> IpCsum {
        self.update_raw(u64::from(old.swap_bytes()), u64::from(new.swap_bytes()))
    }

    /// Updates for an IPv4 address field.
    #[inline]
    pub fn update_addr(self, old: Ipv4Addr, new: Ipv4Addr) -> IpCsum {
        self.update_u32(u32::from(old), u32::from(new))
    }

    /// Updates for a 1-byte field; `odd_offset` tells whether the byte sits
    /// at an odd offset of the checksummed region (VPP shifts it into the
    /// high half of the little-endian word in that case).
    #[inline]
    pub fn update_u8(self, old: u8, new: u8, odd_offset: bool) -> IpCsum {
        let (o, n) = if odd_offset {
            (u64::from(old) << 8, u64::from(new) << 8)
        } else {
            (u64::from(old), u64::from(new))
        };
        self.update_raw(o, n)
    }

    /// `ip_csum_fold`, returned as a field value (to store big-endian).
    #[inline]
    pub fn fold(self) -> u16 {
        fold(self.0).swap_bytes()
    }
}

/// Incremental update of `csum` for a 16-bit field `old -> new`
/// (one `ip_csum_update` + `ip_csum_fold`).
#[inline]
pub fn update_u16(csum: u16, old: u16, new: u16) -> u16 {
    IpCsum::from_field(csum).update_u16(old, new).fold()
}

/// Incremental update of `csum` for a 32-bit field `old -> new`, e.g. an
/// IPv4 address (one `ip_csum_update` + `ip_csum_fold`).
#[inline]
pub fn update_u32(csum: u16, old: u32, new: u32) -> u16 {
    IpCsum::from_field(csum).update_u32(old, new).fold()
}

/// The IPv4 checksum after `ip4-rewrite` decrements the TTL by one, with
/// VPP's formula: `c = csum + htons(0x0100); c += c >= 0xffff;` on the
/// host-order (little-endian) field, truncated to 16 bits.
/// E.g. `0xe443 -> 0xe543`.
#[inline]
pub fn ttl_decrement(csum: u16) -> u16 {
    let mut c = u32::from(csum.swap_bytes()) + 0x0001;
    c += u32::from(c >= 0xffff);
    (c as u16).swap_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            s += u32::from(w);
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn sum_matches_naive_for_all_lengths() {
        let mut x: u32 = 12345;
        let buf: Vec<u8> = (0..300)
            .map(|_| {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        for n in 0..buf.len() {
            let a = data(&buf[..n]);
            let b = naive(&buf[..n]);
            // Both are valid representations; equal except 0 vs 0xffff.
            assert!(
                a == b || (a == 0xffff && b == 0) || (a == 0 && b == 0xffff),
                "n={n}"
            );
            assert_eq!(a % 0xffff, b % 0xffff);
        }
        assert_eq!(data(&[0xff; 64]), 0xffff);
        assert_eq!(data(&[0; 64]), 0);
        assert_eq!(data(&[]), 0);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn ipv4_header_from_trace() {
        // HOST_TO_POD ip4-rewrite dump, IP header after TTL decrement.
        let h = hex("4500003c9e5140003f06e543ac1e01020a010106");
        assert_eq!(ipv4_header_checksum(&h), 0xe543);
        assert!(verify_ipv4_header_checksum(&h));
        let mut bad = h.clone();
        bad[11] = 0x44;
        assert!(!verify_ipv4_header_checksum(&bad));
        assert_eq!(ipv4_header_checksum_vpp(&bad), 0xe543);
        // Short inputs never panic.
        for n in 0..h.len() {
            let _ = ipv4_header_checksum_vpp(&h[..n]);
            let _ = verify_ipv4_header_checksum(&h[..n]);
        }
    }

    #[test]
    fn vpp_zero_special_case() {
        // A header whose checksum computes to 0x0000 but stores 0xffff.
        // Find one by adjusting the id field.
        let mut h = hex("450000140000000040010000c0a80001c0a80002");
        let c = ipv4_header_checksum(&h);
        // Set id so that the sum becomes 0xffff (checksum 0).
        let id = c; // adding c to the sum makes it 0xffff
        h[4..6].copy_from_slice(&id.to_be_bytes());
        assert_eq!(ipv4_header_checksum(&h), 0);
        h[10] = 0xff;
        h[11] = 0xff;
        assert_eq!(ipv4_header_checksum_vpp(&h), 0xffff);
        assert!(verify_ipv4_header_checksum(&h));
        h[10] = 0;
        h[11] = 0;
        assert!(verify_ipv4_header_checksum(&h));
    }

    #[test]
    fn ttl_decrement_matches_traces() {
        assert_eq!(ttl_decrement(0xe443), 0xe543); // HOST_TO_POD
        assert_eq!(ttl_decrement(0xf087), 0xf187); // POD_TO_POD_SAME_NODE
        assert_eq!(ttl_decrement(0x24a6), 0x25a6);
        assert_eq!(ttl_decrement(0x1b2b), 0x1c2b); // VXLAN outer
        assert_eq!(ttl_decrement(0xe93f), 0xea3f); // POD_TO_INTERNET SYN-ACK
        assert_eq!(ttl_decrement(0x64bc), 0x65bc);
        // Carry out of the high byte: 0xffxx wraps with end-around carry.
        assert_eq!(ttl_decrement(0xff00), 0x0001);
        // VPP quirk: the LE value 0xfffe becomes 0xffff and then +1 -> 0x0000.
        assert_eq!(ttl_decrement(0xfeff), 0x0000);
        assert_eq!(ttl_decrement(0xffff), 0x0100);
    }

    #[test]
    fn ttl_decrement_is_a_valid_update() {
        for c in 0..=0xffffu16 {
            let n = ttl_decrement(c);
            // TTL is the high byte of word 4: subtracting 0x0100 from the sum
            // adds 0x0100 to the complemented checksum (mod 0xffff).
            let expect = (u32::from(c) + 0x0100) % 0xffff;
            assert_eq!(u32::from(n) % 0xffff, expect, "c={c:#06x}");
        }
    }

    #[test]
    fn dnat_tcp_pod_to_service() {
        // POD_TO_SERVICE_SAME_NODE: 10.1.1.3:51082 -> 10.104.221.85:80
        // DNAT to 10.1.1.5:8080, TCP checksum 0x50b8 -> 0x0e30.
        let old_ip = Ipv4Addr::new(10, 104, 221, 85);
        let new_ip = Ipv4Addr::new(10, 1, 1, 5);
        let c = IpCsum::from_field(0x50b8)
            .update_addr(old_ip, new_ip)
            .update_u16(80, 8080)
            .fold();
        assert_eq!(c, 0x0e30);
        // IP header checksum 0x8804 -> 0x64bc.
        assert_eq!(
            update_u32(0x8804, u32::from(old_ip), u32::from(new_ip)),
            0x64bc
        );
        // Folding between the two steps gives the same value here.
        let c2 = update_u16(
            update_u32(0x50b8, u32::from(old_ip), u32::from(new_ip)),
            80,
            8080,
        );
        assert_eq!(c2, 0x0e30);
    }

    #[test]
    fn snat_tcp_pod_to_internet() {
        // POD_TO_INTERNET: 10.1.1.3:41084 -> 192.168.16.1:25801,
        // TCP checksum 0x91d0 -> 0x07de.
        let c = IpCsum::from_field(0x91d0)
            .update_addr(Ipv4Addr::new(10, 1, 1, 3), Ipv4Addr::new(192, 168, 16, 1))
            .update_u16(41084, 25801)
            .fold();
        assert_eq!(c, 0x07de);
        // IP header: 0x3154 (ttl 64) -> SNAT; after ip4-rewrite TTL 63 it
        // is 0x6cae. SNAT happens after rewrite (in2out-output).
        let after_ttl = ttl_decrement(0x3154);
        assert_eq!(after_ttl, 0x3254);
        let snat = update_u32(
            after_ttl,
            u32::from(Ipv4Addr::new(10, 1, 1, 3)),
            u32::from(Ipv4Addr::new(192, 168, 16, 1)),
        );
        assert_eq!(snat, 0x6cae);
    }

    #[test]
    fn un_snat_syn_ack_pod_to_internet() {
        // POD_TO_INTERNET SYN-ACK: 31.134.97.51:80 -> 192.168.16.1:25801
        // out2in to 10.1.1.3:41084; IP 0x239a -> 0xe93f, TCP 0xb12b -> 0x3b1e.
        let a = Ipv4Addr::new(192, 168, 16, 1);
        let b = Ipv4Addr::new(10, 1, 1, 3);
        assert_eq!(update_u32(0x239a, u32::from(a), u32::from(b)), 0xe93f);
        let c = IpCsum::from_field(0xb12b)
            .update_addr(a, b)
            .update_u16(25801, 41084)
            .fold();
        assert_eq!(c, 0x3b1e);
    }

    #[test]
    fn incremental_equals_full_recompute_mod_ffff() {
        let mut x: u32 = 7;
        let mut rnd = || {
            x = x.wrapping_mul(1664525).wrapping_add(1013904223);
            x
        };
        for _ in 0..20000 {
            let mut hdr = [0u8; 20];
            for b in hdr.iter_mut() {
                *b = rnd() as u8;
            }
            hdr[10] = 0;
            hdr[11] = 0;
            let c0 = ipv4_header_checksum(&hdr);
            hdr[10..12].copy_from_slice(&c0.to_be_bytes());
            let old = u32::from_be_bytes([hdr[16], hdr[17], hdr[18], hdr[19]]);
            let new = rnd();
            let inc = update_u32(c0, old, new);
            hdr[16..20].copy_from_slice(&new.to_be_bytes());
            hdr[10] = 0;
            hdr[11] = 0;
            let full = ipv4_header_checksum(&hdr);
            assert_eq!(u32::from(inc) % 0xffff, u32::from(full) % 0xffff);
            hdr[10..12].copy_from_slice(&inc.to_be_bytes());
            assert!(verify_ipv4_header_checksum(&hdr) || inc == 0 || inc == 0xffff);
        }
    }

    #[test]
    fn update_edge_cases_follow_vpp_arithmetic() {
        // No change: the accumulator is c + old - old = c, fold(c) = c.
        assert_eq!(update_u16(0x1234, 7, 7), 0x1234);
        // Zero checksum with old == new stays zero (accumulator 0).
        assert_eq!(update_u16(0x0000, 5, 5), 0x0000);
        // 0xffff + 0 - 0 stays 0xffff.
        assert_eq!(update_u16(0xffff, 0, 0), 0xffff);
        // Result zero: csum 0x0001 (LE 0x0100) + old 0 - new 0x0100 (LE 0x0001)
        // → 0x0100 - 0x0001... pick values making the accumulator exactly 0.
        assert_eq!(update_u16(0x0100, 0x0000, 0x0100), 0x0000);
        // Borrow: csum 0, old 0, new 1: 0 - LE(1)=0x0100 borrows, giving
        // 0xffff_ffff_ffff_feff which folds to 0xfeff -> field 0xfffe.
        assert_eq!(update_u16(0x0000, 0x0000, 0x0001), 0xfffe);
        // u8 updates: TTL at even offset 8, protocol at odd offset 9.
        let h = hex("4500003c9e5140004006e443ac1e01020a010106");
        let mut h2 = h.clone();
        h2[8] = 0x3f;
        h2[10] = 0;
        h2[11] = 0;
        let full = ipv4_header_checksum(&h2);
        let inc = IpCsum::from_field(0xe443)
            .update_u8(0x40, 0x3f, false)
            .fold();
        assert_eq!(inc, full);
        let inc2 = IpCsum::from_field(0xe443).update_u8(6, 17, true).fold();
        let mut h3 = h.clone();
        h3[9] = 17;
        h3[10] = 0;
        h3[11] = 0;
        assert_eq!(inc2, ipv4_header_checksum(&h3));
    }

    #[test]
    fn l4_checksum_and_pseudo_header() {
        // UDP datagram 10.0.0.1:1000 -> 10.0.0.2:2000, payload "hi".
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let mut seg = vec![0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0a, 0x00, 0x00, b'h', b'i'];
        let c = ipv4_l4_checksum(src, dst, 17, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify_ipv4_l4_checksum(src, dst, 17, &seg));
        seg[9] ^= 1;
        assert!(!verify_ipv4_l4_checksum(src, dst, 17, &seg));
    }
}
