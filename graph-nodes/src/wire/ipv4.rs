//! IPv4 header view (RFC 791).

use std::net::Ipv4Addr;

use super::checksum;
use super::{array, be16, put_be16, Error, Field, Result};

/// IP protocol numbers used by the dataplane.
pub mod protocol {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// Flag bits of the flags/fragment-offset word (host order).
pub mod flags {
    /// More fragments.
    pub const MORE_FRAGMENTS: u16 = 1 << 13;
    /// Don't fragment.
    pub const DONT_FRAGMENT: u16 = 1 << 14;
    /// Reserved bit, VPP calls it CONGESTION.
    pub const CONGESTION: u16 = 1 << 15;
    /// Mask of the 13-bit fragment offset (in 8-byte units).
    pub const OFFSET_MASK: u16 = 0x1fff;
}

mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and validates the length fields (see [`check_len`](Self::check_len)).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validates, in order: the buffer holds 20 bytes; IHL >= 5; the
    /// IHL*4-byte header fits the buffer; total length >= header length;
    /// total length <= buffer length (trailing L2 padding is allowed).
    /// The version nibble is *not* checked (ip4-input reports it itself).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let d = self.buffer.as_ref();
        if d.len() < HEADER_LEN {
            return Err(Error);
        }
        let hl = usize::from(d[field::VER_IHL] & 0x0f) * 4;
        let tl = usize::from(be16(&d[field::LENGTH]));
        if hl < HEADER_LEN || hl > d.len() || tl < hl || tl > d.len() {
            return Err(Error);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The underlying buffer.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version nibble.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Length of the options (header length - 20; 0 if IHL < 5).
    #[inline]
    pub fn options_len(&self) -> usize {
        self.header_len().saturating_sub(HEADER_LEN)
    }

    /// The option bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &self.buffer.as_ref()[HEADER_LEN..hl]
    }

    /// Type of service byte (DSCP + ECN).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total length field.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }

    /// The raw flags + fragment offset word (host order).
    #[inline]
    pub fn flags_and_frag(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::FLG_OFF])
    }

    /// DF flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_and_frag() & flags::DONT_FRAGMENT != 0
    }

    /// MF flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_and_frag() & flags::MORE_FRAGMENTS != 0
    }

    /// Fragment offset in bytes (field * 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_and_frag() & flags::OFFSET_MASK) << 3
    }

    /// True if MF is set or the offset is non-zero.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flags_and_frag() & (flags::MORE_FRAGMENTS | flags::OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol number.
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(&self.buffer.as_ref()[field::SRC_ADDR]))
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(&self.buffer.as_ref()[field::DST_ADDR]))
    }

    /// The header bytes (IHL*4, at least 20).
    #[inline]
    pub fn header(&self) -> &[u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &self.buffer.as_ref()[..hl]
    }

    /// The payload: from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let hl = self.header_len().max(HEADER_LEN);
        let tl = usize::from(self.total_len()).max(hl);
        &self.buffer.as_ref()[hl..tl]
    }

    /// The header checksum VPP computes (`ip4_header_checksum`, including
    /// its 0/0xffff special case).
    #[inline]
    pub fn expected_checksum(&self) -> u16 {
        checksum::ipv4_header_checksum_vpp(self.header())
    }

    /// True if the header checksum is valid (VPP semantics).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify_ipv4_header_checksum(self.header())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length in bytes (multiple of 4, 20..=60).
    #[inline]
    pub fn set_version_and_header_len(&mut self, version: u8, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = (version << 4) | ((header_len / 4) as u8 & 0x0f);
    }

    /// Sets the type of service byte.
    #[inline]
    pub fn set_tos(&mut self, v: u8) {
        self.buffer.as_mut()[field::TOS] = v;
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::LENGTH], v);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::IDENT], v);
    }

    /// Sets the raw flags + fragment offset word.
    #[inline]
    pub fn set_flags_and_frag(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::FLG_OFF], v);
    }

    /// Sets or clears DF.
    #[inline]
    pub fn set_dont_frag(&mut self, on: bool) {
        let mut v = self.flags_and_frag() & !flags::DONT_FRAGMENT;
        if on {
            v |= flags::DONT_FRAGMENT;
        }
        self.set_flags_and_frag(v);
    }

    /// Sets or clears MF.
    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        let mut v = self.flags_and_frag() & !flags::MORE_FRAGMENTS;
        if on {
            v |= flags::MORE_FRAGMENTS;
        }
        self.set_flags_and_frag(v);
    }

    /// Sets the fragment offset in bytes (must be a multiple of 8).
    #[inline]
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (self.flags_and_frag() & !flags::OFFSET_MASK) | ((bytes >> 3) & flags::OFFSET_MASK);
        self.set_flags_and_frag(v);
    }

    /// Sets the TTL (checksum untouched).
    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = v;
    }

    /// Sets the header checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::CHECKSUM], v);
    }

    /// Sets the source address (checksum untouched).
    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Sets the destination address (checksum untouched).
    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Recomputes and stores the header checksum.
    #[inline]
    pub fn fill_checksum(&mut self) {
        let c = checksum::ipv4_header_checksum(self.header());
        self.set_checksum(c);
    }

    /// Decrements the TTL by one and updates the checksum exactly like
    /// VPP's ip4-rewrite ([`checksum::ttl_decrement`]). The caller checks
    /// for TTL <= 1 beforehand (VPP sends ICMP time-exceeded).
    #[inline]
    pub fn decrement_ttl(&mut self) {
        let ttl = self.ttl();
        self.set_ttl(ttl.wrapping_sub(1));
        let c = checksum::ttl_decrement(self.checksum());
        self.set_checksum(c);
    }

    /// Mutable payload (header end .. total length).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len().max(HEADER_LEN);
        let tl = usize::from(self.total_len()).max(hl);
        &mut self.buffer.as_mut()[hl..tl]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // POD_TO_POD_SAME_NODE ip4-rewrite dump, bytes 14.. (IP + 26 TCP bytes).
    const DUMP: &str = "00000000000202fe167939cb08004500003c341e40003f06f1870a01010c0a01\
                        01099b8c1f908c66e43400000000a0027210c3de0000020405b40402";

    #[test]
    fn deconstruct_trace_packet() {
        let f = hex(DUMP);
        let mut ip = f[14..].to_vec();
        ip.resize(60, 0); // full 60-byte datagram
        let p = Packet::new_checked(&ip[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 60);
        assert_eq!(p.ident(), 0x341e);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 63);
        assert_eq!(p.protocol(), protocol::TCP);
        assert_eq!(p.checksum(), 0xf187);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 1, 1, 12));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 1, 1, 9));
        assert_eq!(p.payload().len(), 40);
        assert_eq!(p.options_len(), 0);
        let e = etherparse::Ipv4HeaderSlice::from_slice(&ip).unwrap();
        assert_eq!(e.identification(), p.ident());
        assert_eq!(e.header_checksum(), p.checksum());
        assert_eq!(e.ttl(), p.ttl());
        assert_eq!(e.dont_fragment(), p.dont_frag());
    }

    #[test]
    fn check_len_rules() {
        let f = hex(DUMP);
        let mut ip = f[14..].to_vec();
        ip.resize(60, 0);
        for n in 0..60 {
            assert!(Packet::new_checked(&ip[..n]).is_err(), "n={n}");
        }
        // Trailing padding is fine.
        let mut padded = ip.clone();
        padded.extend_from_slice(&[0, 0]);
        assert!(Packet::new_checked(&padded[..]).is_ok());
        // IHL < 5.
        let mut bad = ip.clone();
        bad[0] = 0x44;
        assert!(Packet::new_checked(&bad[..]).is_err());
        // Total length < header length.
        let mut bad = ip.clone();
        bad[2] = 0;
        bad[3] = 19;
        assert!(Packet::new_checked(&bad[..]).is_err());
        // IHL 15 within a 60-byte buffer is fine.
        let mut ok = ip.clone();
        ok[0] = 0x4f;
        assert!(Packet::new_checked(&ok[..]).is_ok());
        assert_eq!(Packet::new_checked(&ok[..]).unwrap().options_len(), 40);
    }

    #[test]
    fn build_and_cross_check() {
        let mut b = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_version_and_header_len(4, 20);
        p.set_tos(0);
        p.set_total_len(28);
        p.set_ident(0x1234);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(1480);
        p.set_more_frags(false);
        p.set_ttl(64);
        p.set_protocol(protocol::UDP);
        p.set_src_addr(Ipv4Addr::new(192, 168, 16, 1));
        p.set_dst_addr(Ipv4Addr::new(192, 168, 16, 2));
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        let e = etherparse::Ipv4HeaderSlice::from_slice(&b).unwrap();
        assert_eq!(e.to_header().calc_header_checksum(), e.header_checksum());
        assert_eq!(e.fragments_offset().value() * 8, 1480);
        assert_eq!(e.source(), [192, 168, 16, 1]);
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.decrement_ttl();
        assert_eq!(p.ttl(), 63);
        assert!(p.verify_checksum());
    }

    #[test]
    fn decrement_ttl_matches_trace() {
        // HOST_TO_POD: 172.30.1.2 -> 10.1.1.6, ttl 64, checksum 0xe443.
        let mut h = hex("4500003c9e5140004006e443ac1e01020a010106");
        // 20 bytes but total length 60: not a complete datagram.
        assert!(Packet::new_checked(&h[..]).is_err());
        h.resize(60, 0);
        let mut p = Packet::new_checked(&mut h[..]).unwrap();
        assert!(p.verify_checksum());
        p.decrement_ttl();
        assert_eq!(p.checksum(), 0xe543);
        assert_eq!(p.ttl(), 63);
    }
}
