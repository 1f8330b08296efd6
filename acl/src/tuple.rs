//! The packet 5-tuple as VPP 18.01's ACL plugin extracts it (`acl_fill_5tuple` in
//! `src/plugins/acl/fa_node.c`), its six-word `fa_5tuple_t` layout printed as `pkt info`, and the
//! human-readable line of `format_fa_5tuple`.
//!
//! Layout of the six little-endian words (`fa_5tuple_t` for IPv4):
//! - w0 = 0, w2 = 0 (the unused 12 bytes of each `ip46_address_t`);
//! - w1 = source address bytes read as a little-endian `u32`, shifted left 32;
//! - w3 = destination address, same form;
//! - w4 = `lsb16(sw_if_index) << 48 | proto << 32 | port[1] << 16 | port[0]`;
//! - w5 = `flags << 56 | tcp_flags << 48 | 0xffff << 32 | sw_if_index` (the `0xffff` is the
//!   `mask_type_index_lsb` the node sets to `~0`).
//!
//! ICMP type and code are carried in `port[0]` and `port[1]`, as in VPP.

use std::fmt::Write;

/// Flag byte bit: the TCP flags byte is meaningful (TCP).
pub const F_TCP_FLAGS_VALID: u8 = 0x01;
/// Flag byte bit: seen by an input node.
pub const F_IS_INPUT: u8 = 0x02;
/// Flag byte bit: the L4 header was inside the packet.
pub const F_L4_VALID: u8 = 0x04;
/// Flag byte bit: a fragment other than the first (no L4 information).
pub const F_NONFIRST_FRAGMENT: u8 = 0x08;
/// Flag byte bit: IPv6.
pub const F_IP6: u8 = 0x10;

/// IP protocol numbers used here.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

/// What the ACL plugin extracts from an IPv4 packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuple {
    /// Source address (wire order).
    pub src: [u8; 4],
    /// Destination address (wire order).
    pub dst: [u8; 4],
    /// IP protocol.
    pub proto: u8,
    /// Source port, or ICMP type.
    pub sport: u16,
    /// Destination port, or ICMP code.
    pub dport: u16,
    /// TCP flags byte (also read, but not valid, for UDP, as VPP does).
    pub tcp_flags: u8,
    /// `F_*` bits except [`F_IS_INPUT`].
    pub flags: u8,
}

impl Tuple {
    /// Parse the IPv4 header at `l3` in `d` (`d` runs to the end of the packet, like VPP's
    /// `current_length`). Returns None if even the IPv4 header is not there.
    ///
    /// As VPP: a packet is a non-first fragment when its fragment offset is not zero, then L4 is
    /// not looked at; L4 is valid when at least 8 bytes follow the IP header; TCP and UDP give
    /// ports and the byte at L4 offset 13 (the TCP flags), ICMP gives type and code.
    /// Two deliberate differences from 18.01, for correctness: the L4 header is found with the
    /// header length (VPP assumes 20 bytes), and the fragment offset is the full 13-bit field
    /// (VPP tests `0xfff`).
    #[inline(always)]
    pub fn parse(d: &[u8], l3: usize) -> Option<Tuple> {
        let ip = d.get(l3..)?;
        // Fast path: 20-byte header, not a fragment, TCP or UDP with 14 L4 bytes.
        if let Some(h) = ip.first_chunk::<34>() {
            if h[0] == 0x45
                && h[6] & 0x1f == 0
                && h[7] == 0
                && (h[9] == proto::TCP || h[9] == proto::UDP)
            {
                let is_tcp = h[9] == proto::TCP;
                return Some(Tuple {
                    src: [h[12], h[13], h[14], h[15]],
                    dst: [h[16], h[17], h[18], h[19]],
                    proto: h[9],
                    sport: u16::from_be_bytes([h[20], h[21]]),
                    dport: u16::from_be_bytes([h[22], h[23]]),
                    tcp_flags: h[33],
                    flags: F_L4_VALID | if is_tcp { F_TCP_FLAGS_VALID } else { 0 },
                });
            }
        }
        let h: &[u8; 20] = ip.first_chunk::<20>()?;
        let mut t = Tuple {
            src: [h[12], h[13], h[14], h[15]],
            dst: [h[16], h[17], h[18], h[19]],
            proto: h[9],
            ..Tuple::default()
        };
        let frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
        if frag != 0 {
            t.flags = F_NONFIRST_FRAGMENT;
            return Some(t);
        }
        let l4 = ((h[0] & 0x0f) as usize * 4).max(20);
        let Some(l4h) = ip.get(l4..) else {
            return Some(t);
        };
        if l4h.len() < 8 {
            return Some(t);
        }
        t.flags = F_L4_VALID;
        match t.proto {
            proto::ICMP => {
                t.sport = l4h[0] as u16;
                t.dport = l4h[1] as u16;
            }
            proto::TCP | proto::UDP => {
                t.sport = u16::from_be_bytes([l4h[0], l4h[1]]);
                t.dport = u16::from_be_bytes([l4h[2], l4h[3]]);
                t.tcp_flags = l4h.get(13).copied().unwrap_or(0);
                if t.proto == proto::TCP {
                    t.flags |= F_TCP_FLAGS_VALID;
                }
            }
            _ => {}
        }
        Some(t)
    }

    /// Every field in two words, for a cheap equality test (two compares instead of seven).
    #[inline(always)]
    pub fn packed(&self) -> (u64, u64) {
        (
            u32::from_ne_bytes(self.src) as u64 | (u32::from_ne_bytes(self.dst) as u64) << 32,
            self.proto as u64
                | (self.sport as u64) << 8
                | (self.dport as u64) << 24
                | (self.tcp_flags as u64) << 40
                | (self.flags as u64) << 48,
        )
    }

    /// Give a fragment other than the first its datagram's L4 fields (from the shallow virtual
    /// reassembly): it then matches rules and sessions as its first fragment does.
    #[inline]
    pub fn with_reass(&mut self, r: engine::buffer::ReassL4) {
        if self.flags & F_NONFIRST_FRAGMENT == 0 {
            return;
        }
        match self.proto {
            proto::TCP | proto::UDP => {
                self.sport = u16::from_be_bytes([r.head[0], r.head[1]]);
                self.dport = u16::from_be_bytes([r.head[2], r.head[3]]);
                self.tcp_flags = r.tcp_flags;
                self.flags = F_L4_VALID
                    | if self.proto == proto::TCP {
                        F_TCP_FLAGS_VALID
                    } else {
                        0
                    };
            }
            proto::ICMP => {
                self.sport = r.head[0] as u16;
                self.dport = r.head[1] as u16;
                self.flags = F_L4_VALID;
            }
            _ => {}
        }
    }

    /// TCP flags if valid.
    #[inline(always)]
    pub fn tcp_flags_valid(&self) -> bool {
        self.flags & F_TCP_FLAGS_VALID != 0
    }

    /// The six `pkt info` words for a packet seen on `sw_if_index` by an input or output node.
    pub fn words(&self, sw_if_index: u32, is_input: bool) -> [u64; 6] {
        let flags = self.flags | if is_input { F_IS_INPUT } else { 0 };
        [
            0,
            (u32::from_le_bytes(self.src) as u64) << 32,
            0,
            (u32::from_le_bytes(self.dst) as u64) << 32,
            ((sw_if_index & 0xffff) as u64) << 48
                | (self.proto as u64) << 32
                | (self.dport as u64) << 16
                | self.sport as u64,
            (flags as u64) << 56
                | (self.tcp_flags as u64) << 48
                | 0xffff_u64 << 32
                | sw_if_index as u64,
        ]
    }

    /// The session key of this packet: the packet's own direction for input nodes, mirrored
    /// (destination first) for output nodes, plus the interface's low 16 bits
    /// (`acl_make_5tuple_session_key`). So a session made on input admits later input packets of
    /// the same direction and output packets of the reverse direction on the same interface.
    #[inline(always)]
    pub fn session_key(&self, sw_if_index: u32, is_input: bool) -> (u64, u64) {
        let s = u32::from_le_bytes(self.src) as u64;
        let d = u32::from_le_bytes(self.dst) as u64;
        let (a0, a1, p0, p1) = if is_input {
            (s, d, self.sport, self.dport)
        } else {
            (d, s, self.dport, self.sport)
        };
        (
            a0 << 32 | a1,
            ((sw_if_index & 0xffff) as u64) << 48
                | (self.proto as u64) << 32
                | (p1 as u64) << 16
                | p0 as u64,
        )
    }
}

/// Decode the six `pkt info` words and append VPP's `format_fa_5tuple` text for them.
pub fn format_words(s: &mut String, w: &[u64; 6]) {
    let flags = (w[5] >> 56) as u8;
    let tcp_flags = (w[5] >> 48) as u8;
    let sw = w[5] as u32;
    let lsb = (w[4] >> 48) as u16;
    let proto = (w[4] >> 32) as u16;
    let p0 = w[4] as u16;
    let p1 = (w[4] >> 16) as u16;
    let src = ((w[1] >> 32) as u32).to_le_bytes();
    let dst = ((w[3] >> 32) as u32).to_le_bytes();
    let is_ip6 = flags & F_IP6 != 0;
    let _ = write!(
        s,
        "{} sw_if_index {} (lsb16 {}) l3 {}{} ",
        if flags & F_IS_INPUT != 0 {
            "input"
        } else {
            "output"
        },
        sw as i32,
        lsb,
        if is_ip6 { "ip6" } else { "ip4" },
        if flags & F_NONFIRST_FRAGMENT != 0 {
            " non-initial fragment"
        } else {
            ""
        },
    );
    if is_ip6 {
        // Only IPv4 is produced here; print the raw words as VPP's ip6 formatter would.
        let mut a = [0u8; 16];
        a[..8].copy_from_slice(&w[0].to_le_bytes());
        a[8..].copy_from_slice(&w[1].to_le_bytes());
        graph_nodes::format::format_ip6_address(s, a);
        s.push_str(" -> ");
        a[..8].copy_from_slice(&w[2].to_le_bytes());
        a[8..].copy_from_slice(&w[3].to_le_bytes());
        graph_nodes::format::format_ip6_address(s, a);
    } else {
        graph_nodes::format::format_ip4(s, src);
        s.push_str(" -> ");
        graph_nodes::format::format_ip4(s, dst);
    }
    let _ = write!(
        s,
        " l4 proto {} l4_valid {} port {} -> {} tcp flags ({}) {:02x} rsvd {:x}",
        proto,
        (flags & F_L4_VALID != 0) as u8,
        p0,
        p1,
        if flags & F_TCP_FLAGS_VALID != 0 {
            "valid"
        } else {
            "invalid"
        },
        tcp_flags,
        flags >> 5,
    );
}

/// Append the body of an ACL trace record, `format_acl_fa_trace` of 18.01: three lines, the
/// second and third with the literal indentation VPP uses (2 and 3 spaces).
#[allow(clippy::too_many_arguments)]
pub fn format_trace_body(
    s: &mut String,
    sw_if_index: u32,
    next_index: u32,
    action: u8,
    acl: u32,
    rule: u32,
    trace_bits: u32,
    w: &[u64; 6],
) {
    let _ = write!(
        s,
        "acl-plugin: sw_if_index {}, next index {}, action: {}, match: acl {} rule {} trace_bits {:08x}\n  pkt info {:016x} {:016x} {:016x} {:016x} {:016x} {:016x}\n   ",
        sw_if_index as i32,
        next_index as i32,
        action,
        acl as i32,
        rule as i32,
        trace_bits,
        w[0],
        w[1],
        w[2],
        w[3],
        w[4],
        w[5]
    );
    format_words(s, w);
}

#[cfg(test)]
mod tests;
