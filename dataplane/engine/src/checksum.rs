//! The Internet checksum's arithmetic (RFC 1071), for the engine's own packet work (drivers
//! finishing offloaded checksums, pg streams filling theirs in). The graph nodes use
//! `graph_nodes::wire::checksum`, which the engine cannot depend on.

/// Add `data` to a one's-complement sum as big-endian 16-bit words (an odd last byte padded
/// with 0); fold with [`fold`].
#[inline]
pub fn sum16(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let Some(&b) = words.remainder().first() {
        acc += u64::from(b) << 8;
    }
    acc
}

/// Fold a sum to 16 bits (not complemented; the checksum is `!fold(..)`).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}
