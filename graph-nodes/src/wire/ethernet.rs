//! Ethernet II frames with up to two VLAN tags (802.1Q `0x8100`, 802.1ad
//! `0x88a8`), as parsed by VPP's ethernet-input.

use super::{array, be16, put_be16, Error, Field, Rest, Result};

/// Well-known EtherType values.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// 802.1ad service tag (QinQ outer tag).
    pub const DOT1AD: u16 = 0x88a8;
    /// 802.1ah (PBB) I-tag.
    pub const DOT1AH: u16 = 0x88e7;
}

mod field {
    use super::{Field, Rest};
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the untagged Ethernet header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;
/// Length of one VLAN tag (TCI + inner EtherType).
pub const VLAN_TAG_LEN: usize = 4;
/// Maximum number of VLAN tags the view skips.
pub const MAX_VLAN_TAGS: usize = 2;

/// True for the TPIDs the view treats as a VLAN tag.
#[inline(always)]
pub const fn is_vlan_tpid(t: u16) -> bool {
    t == ethertype::VLAN || t == ethertype::DOT1AD
}

/// A read/write view of an Ethernet frame.
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

    /// Wraps a buffer and checks that the header (including VLAN tags) fits.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Ensures that the untagged header and every VLAN tag the view will
    /// skip (up to [`MAX_VLAN_TAGS`]) lie within the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let d = self.buffer.as_ref();
        if d.len() < HEADER_LEN {
            return Err(Error);
        }
        let mut off = field::ETHERTYPE.start;
        let mut n = 0;
        while n < MAX_VLAN_TAGS {
            let t = u16::from_be_bytes([d[off], d[off + 1]]);
            if !is_vlan_tpid(t) {
                break;
            }
            off += VLAN_TAG_LEN;
            n += 1;
            if d.len() < off + 2 {
                return Err(Error);
            }
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

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> [u8; 6] {
        array(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> [u8; 6] {
        array(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The EtherType/TPID right after the MAC addresses (before any tag).
    #[inline]
    pub fn outer_ethertype(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ETHERTYPE])
    }

    /// Number of VLAN tags (0..=2) in front of the payload.
    #[inline]
    pub fn vlan_count(&self) -> usize {
        let d = self.buffer.as_ref();
        let mut off = field::ETHERTYPE.start;
        let mut n = 0;
        while n < MAX_VLAN_TAGS && is_vlan_tpid(be16(&d[off..])) {
            off += VLAN_TAG_LEN;
            n += 1;
        }
        n
    }

    /// The TPID of tag `i` (0 = outer), if present.
    #[inline]
    pub fn vlan_tpid(&self, i: usize) -> Option<u16> {
        if i < self.vlan_count() {
            Some(be16(
                &self.buffer.as_ref()[field::ETHERTYPE.start + i * VLAN_TAG_LEN..],
            ))
        } else {
            None
        }
    }

    /// The TCI (PCP/DEI/VID) of tag `i` (0 = outer), if present.
    #[inline]
    pub fn vlan_tci(&self, i: usize) -> Option<u16> {
        if i < self.vlan_count() {
            Some(be16(&self.buffer.as_ref()[HEADER_LEN + i * VLAN_TAG_LEN..]))
        } else {
            None
        }
    }

    /// The VLAN id (12 bits) of tag `i`, if present.
    #[inline]
    pub fn vlan_id(&self, i: usize) -> Option<u16> {
        self.vlan_tci(i).map(|t| t & 0x0fff)
    }

    /// The innermost EtherType, after skipping up to two VLAN tags.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        let n = self.vlan_count();
        be16(&self.buffer.as_ref()[field::ETHERTYPE.start + n * VLAN_TAG_LEN..])
    }

    /// Length of the L2 header: 14 + 4 per VLAN tag.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.vlan_count() * VLAN_TAG_LEN
    }

    /// The bytes after the L2 header (including VLAN tags).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let h = self.header_len();
        &self.buffer.as_ref()[h..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: [u8; 6]) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a);
    }

    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, a: [u8; 6]) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a);
    }

    /// Sets the EtherType/TPID right after the MAC addresses.
    #[inline]
    pub fn set_outer_ethertype(&mut self, t: u16) {
        put_be16(&mut self.buffer.as_mut()[field::ETHERTYPE], t);
    }

    /// Sets the innermost EtherType (after the existing VLAN tags).
    #[inline]
    pub fn set_ethertype(&mut self, t: u16) {
        let n = self.vlan_count();
        put_be16(
            &mut self.buffer.as_mut()[field::ETHERTYPE.start + n * VLAN_TAG_LEN..],
            t,
        );
    }

    /// Mutable payload after the L2 header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let h = self.header_len();
        &mut self.buffer.as_mut()[h..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTAGGED: [u8; 16] = [
        0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
        0x00,
    ];

    #[test]
    fn deconstruct_untagged() {
        let p = Packet::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(p.dst_addr(), [0x02, 0xfe, 0x69, 0x99, 0xeb, 0x9d]);
        assert_eq!(p.src_addr(), [0, 0, 0, 0, 0, 2]);
        assert_eq!(p.ethertype(), ethertype::IPV4);
        assert_eq!(p.vlan_count(), 0);
        assert_eq!(p.header_len(), 14);
        assert_eq!(p.payload(), &[0x45, 0x00]);
        assert_eq!(p.vlan_tci(0), None);
    }

    #[test]
    fn qinq() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[
            0x88, 0xa8, 0x20, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x06, 1,
        ]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(p.vlan_count(), 2);
        assert_eq!(p.vlan_tpid(0), Some(0x88a8));
        assert_eq!(p.vlan_tpid(1), Some(0x8100));
        assert_eq!(p.vlan_id(0), Some(100));
        assert_eq!(p.vlan_tci(0), Some(0x2064));
        assert_eq!(p.vlan_id(1), Some(200));
        assert_eq!(p.ethertype(), ethertype::ARP);
        assert_eq!(p.header_len(), 22);
        assert_eq!(p.payload(), &[1]);
        // Truncated inside a tag.
        for n in 0..f.len() - 1 {
            assert!(Packet::new_checked(&f[..n]).is_err() || n >= 22, "n={n}");
        }
        assert!(Packet::new_checked(&f[..22]).is_ok());
    }

    #[test]
    fn three_tags_stop_after_two() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(p.vlan_count(), 2);
        assert_eq!(p.ethertype(), 0x8100);
    }

    #[test]
    fn setters() {
        let mut f = UNTAGGED;
        let mut p = Packet::new_unchecked(&mut f[..]);
        p.set_dst_addr([1, 2, 3, 4, 5, 6]);
        p.set_src_addr([7, 8, 9, 10, 11, 12]);
        p.set_ethertype(ethertype::IPV6);
        p.payload_mut()[0] = 0x60;
        assert_eq!(
            &f[..16],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x86, 0xdd, 0x60, 0]
        );
    }

    #[test]
    fn cross_check_etherparse() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x30, 0x0a, 0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 253, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ]);
        let p = Packet::new_checked(&f[..]).unwrap();
        let s = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        match s.vlan.unwrap() {
            etherparse::VlanSlice::SingleVlan(v) => {
                assert_eq!(v.vlan_identifier().value(), p.vlan_id(0).unwrap());
                assert_eq!(v.ether_type().0, p.ethertype());
            }
            _ => panic!("expected single vlan"),
        }
    }

    #[test]
    fn never_panics_after_check() {
        let mut x: u32 = 1;
        for len in 0..40 {
            for _ in 0..50 {
                let buf: Vec<u8> = (0..len)
                    .map(|i| {
                        x = x.wrapping_mul(1103515245).wrapping_add(12345);
                        if i == 12 || i == 16 {
                            [0x81, 0x88, 0x08][(x >> 16) as usize % 3]
                        } else if i == 13 || i == 17 {
                            [0x00, 0xa8][(x >> 16) as usize % 2]
                        } else {
                            (x >> 16) as u8
                        }
                    })
                    .collect();
                if let Ok(p) = Packet::new_checked(&buf[..]) {
                    let _ = (p.dst_addr(), p.src_addr(), p.ethertype(), p.payload().len());
                    let _ = (p.vlan_tci(0), p.vlan_tci(1), p.vlan_tpid(1), p.header_len());
                }
            }
        }
    }
}
