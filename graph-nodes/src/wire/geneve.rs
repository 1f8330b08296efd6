//! Geneve header view (RFC 8926): version, options length (in 4-byte words), the O and C flags,
//! protocol type, 24-bit VNI, then the options.

use super::{be16, be32, put_be16, put_be32, Error, Field, Result};

mod field {
    use super::Field;
    pub const VER_OPTLEN: usize = 0;
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: Field = 2..4;
    pub const VNI: Field = 4..8;
}

/// Length of the fixed header.
pub const BASE_LEN: usize = 8;
/// The O flag: control (OAM) packet.
pub const FLAG_OAM: u8 = 0x80;
/// The C flag: critical options are present.
pub const FLAG_CRITICAL: u8 = 0x40;
/// Protocol type of an Ethernet payload (transparent Ethernet bridging).
pub const PROTO_TEB: u16 = 0x6558;
/// Protocol type of an IPv4 payload.
pub const PROTO_IP4: u16 = 0x0800;
/// UDP destination port.
pub const UDP_PORT: u16 = 6081;

/// A read/write view of a Geneve header, its options and payload.
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

    /// Validates: the fixed header is present and the options do not run past the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let d = self.buffer.as_ref();
        if d.len() < BASE_LEN || d.len() < BASE_LEN + 4 * (d[field::VER_OPTLEN] & 0x3f) as usize {
            return Err(Error);
        }
        Ok(())
    }

    /// True if the fixed header is there but the options length runs past the buffer.
    pub fn options_too_long(&self) -> bool {
        let d = self.buffer.as_ref();
        d.len() >= BASE_LEN && self.check_len().is_err()
    }

    /// Version (0 is the only one defined).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPTLEN] >> 6
    }

    /// Length of the options in bytes.
    #[inline]
    pub fn options_len(&self) -> usize {
        4 * (self.buffer.as_ref()[field::VER_OPTLEN] & 0x3f) as usize
    }

    /// Header length, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        BASE_LEN + self.options_len()
    }

    /// O and C flags.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Protocol type of the payload.
    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PROTOCOL])
    }

    /// VNI.
    #[inline]
    pub fn vni(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VNI]) >> 8
    }

    /// The payload after the options.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Write a header without options.
    #[inline]
    pub fn set_header(&mut self, protocol: u16, vni: u32) {
        let b = self.buffer.as_mut();
        b[field::VER_OPTLEN] = 0;
        b[field::FLAGS] = 0;
        put_be16(&mut b[field::PROTOCOL], protocol);
        put_be32(&mut b[field::VNI], vni << 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_options() {
        let mut b = [0u8; 20];
        Packet::new_unchecked(&mut b[..]).set_header(PROTO_TEB, 0x123456);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.version(), p.protocol(), p.vni(), p.header_len()),
            (0, PROTO_TEB, 0x123456, 8)
        );
        b[0] = 2; // 8 bytes of options
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.options_len(), p.payload().len()), (8, 4));
        b[0] = 4; // 16 bytes of options: past the 20-byte buffer
        assert!(Packet::new_checked(&b[..]).is_err());
        assert!(Packet::new_unchecked(&b[..]).options_too_long());
        assert!(Packet::new_checked(&b[..7]).is_err());
        assert!(!Packet::new_unchecked(&b[..7]).options_too_long());
    }
}
