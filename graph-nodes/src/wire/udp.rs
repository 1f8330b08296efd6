//! UDP header view (RFC 768).

use std::net::Ipv4Addr;

use super::checksum;
use super::{be16, put_be16, Error, Field, Result};

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A read/write view of a UDP datagram.
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

    /// Wraps a buffer and validates it (see [`check_len`](Self::check_len)).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validates: 8 bytes present; 8 <= length field <= buffer length.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let d = self.buffer.as_ref();
        if d.len() < HEADER_LEN {
            return Err(Error);
        }
        let l = usize::from(be16(&d[field::LENGTH]));
        if l < HEADER_LEN || l > d.len() {
            return Err(Error);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// Length field (header + payload).
    #[inline]
    pub fn len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// True if the length field says there is no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field (0 = not computed).
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Payload, bounded by the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = usize::from(self.len()).max(HEADER_LEN);
        &self.buffer.as_ref()[HEADER_LEN..end]
    }

    /// Verifies the checksum (a zero checksum is "not computed" and valid).
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let end = usize::from(self.len()).max(HEADER_LEN);
        checksum::verify_ipv4_l4_checksum(
            src,
            dst,
            super::ipv4::protocol::UDP,
            &self.buffer.as_ref()[..end],
        )
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port (checksum untouched).
    #[inline]
    pub fn set_src_port(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::SRC_PORT], v);
    }

    /// Sets the destination port (checksum untouched).
    #[inline]
    pub fn set_dst_port(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::DST_PORT], v);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::LENGTH], v);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::CHECKSUM], v);
    }

    /// Computes and stores the checksum over `length` bytes with the IPv4
    /// pseudo-header; a computed 0 is stored as 0xffff.
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let end = usize::from(self.len()).max(HEADER_LEN);
        let c = checksum::ipv4_l4_checksum(
            src,
            dst,
            super::ipv4::protocol::UDP,
            &self.buffer.as_ref()[..end],
        );
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }

    /// Mutable payload, bounded by the length field.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len()).max(HEADER_LEN);
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_parse_cross_check() {
        let src = Ipv4Addr::new(192, 168, 16, 1);
        let dst = Ipv4Addr::new(192, 168, 16, 2);
        let mut b = [0u8; 14];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_src_port(50038);
        p.set_dst_port(4789);
        p.set_len(13);
        p.payload_mut().copy_from_slice(b"hello");
        p.fill_checksum(src, dst);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), b"hello");
        assert!(p.verify_checksum(src, dst));
        assert!(!p.is_empty());
        let e = etherparse::UdpHeaderSlice::from_slice(&b).unwrap();
        assert_eq!(e.source_port(), 50038);
        assert_eq!(e.destination_port(), 4789);
        assert_eq!(e.length(), 13);
        assert_eq!(
            e.to_header()
                .calc_checksum_ipv4_raw(src.octets(), dst.octets(), b"hello")
                .unwrap(),
            p.checksum()
        );
    }

    #[test]
    fn check_len_rules() {
        let b = [0xc3, 0x76, 0x12, 0xb5, 0x00, 0x08, 0, 0];
        assert!(Packet::new_checked(&b[..]).is_ok());
        for n in 0..8 {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
        let b = [0xc3, 0x76, 0x12, 0xb5, 0x00, 0x09, 0, 0];
        assert!(Packet::new_checked(&b[..]).is_err());
        let b = [0xc3, 0x76, 0x12, 0xb5, 0x00, 0x07, 0, 0];
        assert!(Packet::new_checked(&b[..]).is_err());
        let p = Packet::new_checked(&[0u8, 1, 0, 2, 0, 8, 0, 0][..]).unwrap();
        assert!(p.is_empty());
        assert!(p.verify_checksum(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
    }
}
