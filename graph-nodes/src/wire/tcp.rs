//! TCP header view (RFC 793).

use std::net::Ipv4Addr;

use super::checksum;
use super::{be16, be32, put_be16, put_be32, Error, Field, Result};

/// TCP flag bits (byte 13 of the header).
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = field::URGENT.end;

/// A read/write view of a TCP segment.
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

    /// Validates: 20 bytes present; data offset >= 5; the header (data
    /// offset * 4) fits the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let d = self.buffer.as_ref();
        if d.len() < HEADER_LEN {
            return Err(Error);
        }
        let hl = usize::from(d[field::DATA_OFF] >> 4) * 4;
        if hl < HEADER_LEN || hl > d.len() {
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

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::SEQ_NUM])
    }

    /// Acknowledgement number.
    #[inline]
    pub fn ack_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::ACK_NUM])
    }

    /// Header length in bytes (data offset * 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The flag byte (FIN..CWR).
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// FIN flag.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags() & flags::FIN != 0
    }

    /// SYN flag.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags() & flags::SYN != 0
    }

    /// RST flag.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags() & flags::RST != 0
    }

    /// PSH flag.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags() & flags::PSH != 0
    }

    /// ACK flag.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags() & flags::ACK != 0
    }

    /// URG flag.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags() & flags::URG != 0
    }

    /// Window size.
    #[inline]
    pub fn window_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WIN_SIZE])
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::URGENT])
    }

    /// Option bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &self.buffer.as_ref()[HEADER_LEN..hl]
    }

    /// Payload after the header (to the end of the buffer).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &self.buffer.as_ref()[hl..]
    }

    /// Verifies the checksum over the whole buffer (header + payload) with
    /// the IPv4 pseudo-header.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        checksum::verify_ipv4_l4_checksum(
            src,
            dst,
            super::ipv4::protocol::TCP,
            self.buffer.as_ref(),
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

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, v: u32) {
        put_be32(&mut self.buffer.as_mut()[field::SEQ_NUM], v);
    }

    /// Sets the acknowledgement number.
    #[inline]
    pub fn set_ack_number(&mut self, v: u32) {
        put_be32(&mut self.buffer.as_mut()[field::ACK_NUM], v);
    }

    /// Sets the header length in bytes (multiple of 4, 20..=60); keeps the
    /// reserved bits.
    #[inline]
    pub fn set_header_len(&mut self, bytes: usize) {
        let d = self.buffer.as_mut();
        d[field::DATA_OFF] = (d[field::DATA_OFF] & 0x0f) | (((bytes / 4) as u8) << 4);
    }

    /// Sets the flag byte.
    #[inline]
    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[field::FLAGS] = v;
    }

    /// Sets the window size.
    #[inline]
    pub fn set_window_len(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::WIN_SIZE], v);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::CHECKSUM], v);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, v: u16) {
        put_be16(&mut self.buffer.as_mut()[field::URGENT], v);
    }

    /// Computes and stores the checksum over the whole buffer with the IPv4
    /// pseudo-header.
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let c =
            checksum::ipv4_l4_checksum(src, dst, super::ipv4::protocol::TCP, self.buffer.as_ref());
        self.set_checksum(c);
    }

    /// Mutable option bytes.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &mut self.buffer.as_mut()[HEADER_LEN..hl]
    }

    /// Mutable payload.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len().max(HEADER_LEN);
        &mut self.buffer.as_mut()[hl..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_parse_cross_check() {
        let src = Ipv4Addr::new(10, 1, 1, 12);
        let dst = Ipv4Addr::new(10, 1, 1, 9);
        let mut b = [0u8; 44];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_src_port(39820);
        p.set_dst_port(8080);
        p.set_seq_number(0x8c66e434);
        p.set_ack_number(0);
        p.set_header_len(40);
        p.set_flags(flags::SYN);
        p.set_window_len(29200);
        p.set_urgent_at(0);
        p.options_mut()[..6].copy_from_slice(&[2, 4, 5, 0xb4, 4, 2]);
        p.payload_mut().copy_from_slice(b"abcd");
        p.fill_checksum(src, dst);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum(src, dst));
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh() && !p.urg());
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.options().len(), 20);
        assert_eq!(p.payload(), b"abcd");
        let e = etherparse::TcpHeaderSlice::from_slice(&b).unwrap();
        assert_eq!(e.source_port(), 39820);
        assert_eq!(e.destination_port(), 8080);
        assert_eq!(e.sequence_number(), 0x8c66e434);
        assert_eq!(e.window_size(), 29200);
        assert_eq!(
            e.to_header()
                .calc_checksum_ipv4_raw(src.octets(), dst.octets(), b"abcd")
                .unwrap(),
            p.checksum()
        );
    }

    #[test]
    fn check_len_rules() {
        let mut b = [0u8; 40];
        b[12] = 0xa0;
        assert!(Packet::new_checked(&b[..]).is_ok());
        for n in 0..40 {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
        b[12] = 0x40;
        assert!(Packet::new_checked(&b[..]).is_err());
    }
}
