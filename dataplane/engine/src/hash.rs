//! Hashing of fixed-size flow keys for the plugins' tables (NAT44 sessions, ACL sessions and
//! classifier masks).

/// Mix two 64-bit key words into a well-distributed 64-bit hash: one full 64x64->128-bit product
/// of the two (offset) words, folded, so every input bit reaches both halves (tables may index
/// with the low bits and tag with the high ones, or index with the high bits) in one multiply's
/// latency.
#[inline(always)]
pub fn hash2(a: u64, b: u64) -> u64 {
    let m = (a ^ 0x243f_6a88_85a3_08d3) as u128 * (b ^ 0x1319_8a2e_0370_7344) as u128;
    (m as u64) ^ ((m >> 64) as u64)
}
