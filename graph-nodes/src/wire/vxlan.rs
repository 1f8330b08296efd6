//! VXLAN header view (RFC 7348): flags (the I bit says the VNI is valid), 24-bit VNI.

use super::{be32, put_be32, Error, Field, Rest, Result};

mod field {
    use super::{Field, Rest};
    pub const FLAGS: usize = 0;
    pub const VNI: Field = 4..8;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;
/// The I flag: the VNI is valid.
pub const FLAG_I: u8 = 0x08;
/// UDP destination port.
pub const UDP_PORT: u16 = 4789;

/// A read/write view of a VXLAN header and its payload (the inner Ethernet frame).
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

    /// Validates: the 8-byte header is present.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error);
        }
        Ok(())
    }

    /// Flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The VNI (valid only with the I flag).
    #[inline]
    pub fn vni(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VNI]) >> 8
    }

    /// The inner frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Write a header with the I flag and `vni`.
    #[inline]
    pub fn set_header(&mut self, vni: u32) {
        let b = self.buffer.as_mut();
        b[..4].copy_from_slice(&[FLAG_I, 0, 0, 0]);
        put_be32(&mut b[field::VNI], vni << 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vni_and_flags() {
        let mut b = [0u8; 10];
        Packet::new_unchecked(&mut b[..]).set_header(10);
        assert_eq!(&b[..8], &[8, 0, 0, 0, 0, 0, 10, 0]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.flags(), p.vni(), p.payload().len()), (8, 10, 2));
        assert!(Packet::new_checked(&b[..7]).is_err());
    }
}
