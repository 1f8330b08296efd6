//! `ip4-input` and `ip4-input-no-checksum`: validate the IPv4 header (version, header length,
//! header checksum, total length against the frame, TTL, fragment offset 1) with VPP's error
//! names, then start the `ip4-unicast` feature arc or go to `ip4-lookup`.

use engine::buffer::{flags, BufferIndex};
use engine::feature::{FeatureMain, SharedFeatures};
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;

use crate::format::format_ip4_header;
use crate::nodes::{head_bytes, trace_bytes};

/// Next slots.
pub mod next {
    /// error-drop
    pub const DROP: u16 = 0;
    /// ip4-lookup
    pub const LOOKUP: u16 = 1;
    /// ip4-icmp-error
    pub const ICMP_ERROR: u16 = 2;
    /// ip4-sv-reassembly-feature (fragments, on interfaces with features)
    pub const SV_REASS: u16 = 3;
    /// Names.
    pub const NAMES: &[&str] = &[
        "error-drop",
        "ip4-lookup",
        "ip4-icmp-error",
        "ip4-sv-reassembly-feature",
    ];
}

/// VPP's ip4 error strings (shared by ip4-input, ip4-lookup, ip4-rewrite, ip4-local...).
pub mod errors {
    /// valid ip4 packets
    pub const NONE: u32 = 0;
    /// ip4 length < 20 bytes
    pub const TOO_SHORT: u32 = 1;
    /// ip4 length > l2 length
    pub const BAD_LENGTH: u32 = 2;
    /// bad ip4 checksum
    pub const BAD_CHECKSUM: u32 = 3;
    /// ip4 version != 4
    pub const VERSION: u32 = 4;
    /// ip4 options present
    pub const OPTIONS: u32 = 5;
    /// ip4 fragment offset == 1
    pub const FRAGMENT_OFFSET_ONE: u32 = 6;
    /// ip4 ttl <= 1
    pub const TIME_EXPIRED: u32 = 7;
    /// ip4 MTU exceeded and DF set
    pub const MTU_EXCEEDED: u32 = 8;
    /// ip4 destination lookup miss
    pub const DST_LOOKUP_MISS: u32 = 9;
    /// ip4 adjacency drop
    pub const ADJACENCY_DROP: u32 = 10;
    /// unknown ip protocol
    pub const UNKNOWN_PROTOCOL: u32 = 11;
    /// bad tcp checksum
    pub const TCP_CHECKSUM: u32 = 12;
    /// bad udp checksum
    pub const UDP_CHECKSUM: u32 = 13;
    /// inconsistent udp/ip lengths
    pub const UDP_LENGTH: u32 = 14;
    /// ip4 MTU exceeded (fragmentation not supported)
    pub const MTU_NO_FRAG: u32 = 15;
    /// no headroom for the L2 rewrite
    pub const NO_HEADROOM: u32 = 16;
    /// ip4 fragment for this node (no reassembly)
    pub const FRAGMENT_FOR_US: u32 = 17;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "valid ip4 packets",
        "ip4 length < 20 bytes",
        "ip4 length > l2 length",
        "bad ip4 checksum",
        "ip4 version != 4",
        "ip4 options present",
        "ip4 fragment offset == 1",
        "ip4 ttl <= 1",
        "ip4 MTU exceeded and DF set",
        "ip4 destination lookup miss",
        "ip4 adjacency drop",
        "unknown ip protocol",
        "bad tcp checksum",
        "bad udp checksum",
        "inconsistent udp/ip lengths",
        "ip4 MTU exceeded (fragmentation not supported)",
        "no headroom for the L2 rewrite",
        "ip4 fragment for this node (no reassembly)",
    ];
}

/// ICMP type/code/data for ip4-icmp-error, kept in the buffer's opaque words 0..2.
pub mod icmp_meta {
    /// Opaque word of the ICMP type.
    pub const TYPE: usize = 0;
    /// Opaque word of the ICMP code.
    pub const CODE: usize = 1;
    /// Opaque word of the 4 data bytes (e.g. the next-hop MTU).
    pub const DATA: usize = 2;
}

/// Ask ip4-icmp-error to send `icmp_type`/`code` about this buffer.
#[inline]
pub fn set_icmp_error(m: &mut engine::buffer::BufferMeta, icmp_type: u8, code: u8, data: u32) {
    m.opaque[icmp_meta::TYPE] = icmp_type as u32;
    m.opaque[icmp_meta::CODE] = code as u32;
    m.opaque[icmp_meta::DATA] = data;
    // The opaque words now describe the error, not a fragment.
    m.flags &= !flags::REASS_L4;
}

/// The node (both flavours).
#[derive(Clone)]
pub struct Ip4Input {
    /// Verify the header checksum.
    pub verify_checksum: bool,
    /// Feature arcs.
    pub features: SharedFeatures,
    /// ip4-unicast arc index.
    pub arc: u8,
}

/// Registrations: ip4-input, then ip4-input-no-checksum as its sibling.
pub fn registrations() -> [NodeRegistration; 2] {
    [
        NodeRegistration::new("ip4-input", NodeKind::Internal)
            .nexts(next::NAMES)
            .errors(errors::STRINGS),
        NodeRegistration::new("ip4-input-no-checksum", NodeKind::Internal)
            .sibling_of("ip4-input")
            .errors(errors::STRINGS),
    ]
}

/// True if the 20-byte header's checksum is valid (its one's-complement sum is 0xffff).
///
/// The one's-complement sum does not depend on byte order (RFC 1071 §2), so the header is summed
/// as native 32-bit words without byte swapping.
#[inline(always)]
pub fn header_checksum_ok(h: &[u8; 20]) -> bool {
    // Two 64-bit words and one 32-bit word, added with end-around carry (a one's-complement
    // sum in any word width folds to the same 16-bit sum).
    let (a, rest) = h.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let (b, rest) = rest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
    let c = rest
        .first_chunk::<4>()
        .map_or(0, |c| u32::from_ne_bytes(*c) as u64);
    let (a, b) = (u64::from_ne_bytes(*a), u64::from_ne_bytes(*b));
    let (s, o1) = a.overflowing_add(b);
    let (s, o2) = s.overflowing_add(c);
    // At most 2 carries; s + 2 cannot wrap unless s > 2^64 - 3, caught by the second add.
    let (s, o3) = s.overflowing_add(o1 as u64 + o2 as u64);
    let s = s + o3 as u64;
    // Fold to 32 and then 16 bits, each with its end-around carry.
    let (x, c) = (s as u32).overflowing_add((s >> 32) as u32);
    let x = x + c as u32;
    let (y, c) = (x as u16).overflowing_add((x >> 16) as u16);
    let y = y + c as u16;
    y == 0xffff
}

/// Check one IPv4 header against the frame; returns the error code (NONE if valid).
#[inline(always)]
pub fn check(d: &[u8], verify_checksum: bool) -> u32 {
    let Some(h) = d.first_chunk::<20>() else {
        return errors::TOO_SHORT;
    };
    let total = u16::from_be_bytes([h[2], h[3]]) as usize;
    // Fast path: one combined test for the common, valid packet.
    let frag = u16::from_be_bytes(*h[6..].first_chunk::<2>().unwrap_or(&[0; 2])) & 0x1fff;
    let plain = (h[0] == 0x45) & (frag != 1) & (total >= 20) & (total <= d.len()) & (h[8] != 0);
    if plain && (!verify_checksum || header_checksum_ok(h)) {
        return errors::NONE;
    }
    slow_check(h, d.len(), verify_checksum)
}

/// The exact error of a packet that failed the fast test (VPP's order of precedence).
#[cold]
fn slow_check(h: &[u8; 20], len: usize, verify_checksum: bool) -> u32 {
    let mut err = errors::NONE;
    if h[0] != 0x45 {
        err = if h[0] >> 4 != 4 {
            errors::VERSION
        } else if h[0] & 0xf < 5 {
            errors::TOO_SHORT
        } else {
            errors::OPTIONS
        };
    }
    if verify_checksum && err == errors::NONE && !header_checksum_ok(h) {
        err = errors::BAD_CHECKSUM;
    }
    let frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
    if frag == 1 {
        err = errors::FRAGMENT_OFFSET_ONE;
    }
    let total = u16::from_be_bytes([h[2], h[3]]) as usize;
    if total < 20 {
        err = errors::TOO_SHORT;
    } else if total > len {
        err = errors::BAD_LENGTH;
    }
    if err == errors::NONE && h[8] == 0 {
        err = errors::TIME_EXPIRED;
    }
    err
}

impl engine::march::Kernel for Ip4Input {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [next::LOOKUP; FRAME_SIZE];
        let node = cx.node_index();
        let ebase = cx.error_index(0);
        let features = cx.config().get(self.features);
        let verify = self.verify_checksum;
        let mut expired = 0;
        // The last receive interface and the slot to its first ip4-unicast feature, if any.
        let (mut last_rx, mut has_features, mut feature_slot) = (u32::MAX, false, None);
        let mut bufs = cx.vm.buffers.frame_view();
        for (slot_out, &bi) in nexts.iter_mut().zip(frame) {
            let (m, d) = bufs.meta_and_data_mut(bi);
            let err = check(d, verify);
            if err == errors::NONE {
                m.flags |= flags::IP4_CHECKSUM_OK;
                let rx = m.sw_if_index[0];
                if rx != last_rx {
                    last_rx = rx;
                    has_features = features.has_features(self.arc, rx);
                    feature_slot = features.start_slot(self.arc, node, rx);
                }
                if has_features {
                    if d[6] & 0x3f != 0 || d[7] != 0 {
                        // A fragment: NAT44 and ACLs need its datagram's L4 fields first.
                        *slot_out = next::SV_REASS;
                    } else if let Some(slot) = feature_slot {
                        FeatureMain::enter(self.arc, m);
                        *slot_out = slot;
                    }
                }
            } else {
                m.error = ebase + err;
                if err == errors::TIME_EXPIRED {
                    set_icmp_error(m, 11, 0, 0);
                    *slot_out = next::ICMP_ERROR;
                    expired += 1;
                } else {
                    *slot_out = next::DROP;
                }
            }
        }
        if cx.tracing() {
            trace_headers(cx, frame);
        }
        cx.count_error(errors::TIME_EXPIRED, expired);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

/// Trace the frame's traced packets: 64 bytes from the IPv4 header (which the node does not
/// change).
#[cold]
fn trace_headers(cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
    for &bi in frame {
        if !cx.vm.buffers.meta(bi).is_traced() {
            continue;
        }
        let Some((bytes, c)) = head_bytes::<64>(cx, bi, 0) else {
            continue;
        };
        if let Some(r) = cx.trace(bi) {
            trace_bytes(r, &bytes[..c], 64);
        }
    }
}

impl Node for Ip4Input {
    engine::fork_by_clone!();
    engine::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        format_ip4_header(s, rec.data(), 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum;

    fn hdr() -> Vec<u8> {
        // POD_TO_SERVICE_HOST SYN: 10.1.1.3 -> 10.104.221.85, checksum 0xe946.
        let mut h = vec![
            0x45, 0x00, 0x00, 0x3c, 0x5e, 0xb4, 0x40, 0x00, 0x40, 0x06, 0xe9, 0x46, 10, 1, 1, 3,
            10, 104, 221, 85,
        ];
        h.resize(60, 0);
        h
    }

    #[test]
    fn fast_checksum_agrees_with_the_reference() {
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut h = [0u8; 20];
            for b in h.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            assert_eq!(
                header_checksum_ok(&h),
                checksum::verify_ipv4_header_checksum(&h),
                "{h:02x?}"
            );
            let c = checksum::ipv4_header_checksum(&{
                let mut z = h;
                z[10] = 0;
                z[11] = 0;
                z
            });
            h[10..12].copy_from_slice(&c.to_be_bytes());
            assert!(header_checksum_ok(&h));
        }
    }

    #[test]
    fn checksum_of_extreme_headers() {
        for fill in [0x00u8, 0xff, 0xfe, 0x01, 0x80] {
            for pos in 0..20 {
                let mut h = [fill; 20];
                h[pos] ^= 0x5a;
                assert_eq!(
                    header_checksum_ok(&h),
                    checksum::verify_ipv4_header_checksum(&h),
                    "{h:02x?}"
                );
            }
        }
        assert!(header_checksum_ok(&[0xff; 20]));
    }

    #[test]
    fn errors_by_field() {
        let h = hdr();
        assert_eq!(check(&h, true), errors::NONE);
        let mut b = h.clone();
        b[11] ^= 1;
        assert_eq!(check(&b, true), errors::BAD_CHECKSUM);
        assert_eq!(check(&b, false), errors::NONE);
        let mut v = h.clone();
        v[0] = 0x65;
        assert_eq!(check(&v, false), errors::VERSION);
        let mut o = h.clone();
        o[0] = 0x46;
        assert_eq!(check(&o, false), errors::OPTIONS);
        let mut s = h.clone();
        s[0] = 0x44;
        assert_eq!(check(&s, false), errors::TOO_SHORT);
        assert_eq!(check(&h[..59], true), errors::BAD_LENGTH);
        for n in 0..20 {
            assert_eq!(check(&h[..n], true), errors::TOO_SHORT);
        }
        let mut t = h.clone();
        t[8] = 0;
        t[10] = 0;
        t[11] = 0;
        let c = checksum::ipv4_header_checksum(&t[..20]);
        t[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(check(&t, true), errors::TIME_EXPIRED);
        let mut f = h.clone();
        f[6] = 0x00;
        f[7] = 0x01;
        assert_eq!(check(&f, false), errors::FRAGMENT_OFFSET_ONE);
        let mut l = h.clone();
        l[2] = 0;
        l[3] = 10;
        assert_eq!(check(&l, false), errors::TOO_SHORT);
    }
}
