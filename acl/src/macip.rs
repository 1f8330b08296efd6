//! MACIP ACLs: source guard on an interface (VPP's `macip_acl_*`, Antrea's spoofguard table 10).
//!
//! A MACIP ACL is an ordered list of rules (action, source IPv4 prefix, source MAC and MAC mask).
//! One MACIP ACL can be assigned to an interface; then every frame received on it is checked by
//! the node `acl-plugin-macip-input` (a feature on `device-input`, before `ethernet-input`):
//! - IPv4: the Ethernet source MAC and the IPv4 source address;
//! - ARP: the sender hardware and protocol addresses, and the Ethernet source MAC must equal the
//!   sender hardware address;
//! - IPv6: denied (only IPv4 rules exist);
//! - other EtherTypes pass (ethernet-input decides). One or two VLAN tags are looked through.
//!
//! The first matching rule decides; no match denies. Denied frames are dropped with a named error
//! per kind. (VPP 18.01 builds classifier tables from the rules; the permitted set is the same.)

use std::fmt::Write;
use std::net::Ipv4Addr;

use engine::buffer::BufferIndex;
use engine::feature::SharedFeatures;
use engine::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use engine::trace::TraceRecord;

use crate::rules::prefix_mask;
use crate::{SharedAcl, MACIP_NODE};

/// One MACIP rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacipRule {
    /// 1 permit, 0 deny.
    pub action: u8,
    /// Source prefix.
    pub ip: Ipv4Addr,
    /// Source prefix length.
    pub ip_len: u8,
    /// Source MAC.
    pub mac: [u8; 6],
    /// MAC mask (all ones for an exact MAC).
    pub mac_mask: [u8; 6],
}

impl MacipRule {
    /// VPP's `my_macip_acl_rule_t_pretty_format`.
    pub fn format(&self, s: &mut String) {
        let _ = write!(
            s,
            "ipv4 action {} ip {}/{} mac {} mask {}",
            self.action,
            self.ip,
            self.ip_len,
            engine::interface::format_mac(&self.mac),
            engine::interface::format_mac(&self.mac_mask)
        );
    }
}

/// A MACIP ACL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacipAcl {
    /// Rules in order.
    pub rules: Vec<MacipRule>,
    /// Tag.
    pub tag: String,
}

fn mac_u64(m: &[u8; 6]) -> u64 {
    u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
}

/// A MACIP ACL compiled for the node: (mac & mask, mac mask, ip & mask, ip mask, action).
#[derive(Clone, Debug, Default)]
pub struct CompiledMacip {
    /// The ACL index.
    pub acl: u32,
    rules: Vec<(u64, u64, u32, u32, u8)>,
}

impl CompiledMacip {
    /// Compile an ACL.
    pub fn new(acl: u32, a: &MacipAcl) -> Self {
        CompiledMacip {
            acl,
            rules: a
                .rules
                .iter()
                .map(|r| {
                    let mm = mac_u64(&r.mac_mask);
                    let im = prefix_mask(r.ip_len);
                    (mac_u64(&r.mac) & mm, mm, u32::from(r.ip) & im, im, r.action)
                })
                .collect(),
        }
    }

    /// (action, rule index) of the first rule matching a source MAC and address, or (0, None).
    #[inline]
    pub fn check(&self, mac: u64, ip: u32) -> (u8, Option<u32>) {
        for (i, &(mv, mm, iv, im, action)) in self.rules.iter().enumerate() {
            if mac & mm == mv && ip & im == iv {
                return (action, Some(i as u32));
            }
        }
        (0, None)
    }
}

/// Error (counter) codes of the MACIP node.
pub mod errors {
    /// IPv4 source MAC/address not permitted.
    pub const DENY_IP4: u32 = 0;
    /// ARP sender MAC/address not permitted.
    pub const DENY_ARP: u32 = 1;
    /// IPv6 from a guarded interface.
    pub const DENY_IP6: u32 = 2;
    /// Permitted (counter only).
    pub const PERMIT: u32 = 3;
    /// Not on a feature arc.
    pub const NO_ARC: u32 = 4;
    /// Strings.
    pub const STRINGS: &[&str] = &[
        "MACIP deny: IPv4 source MAC/address not permitted",
        "MACIP deny: ARP sender MAC/address not permitted",
        "MACIP deny: IPv6 not permitted",
        "MACIP permit packets",
        "packet not on a feature arc",
    ];
}

/// Registration (slot 0 is error-drop).
pub fn registration() -> NodeRegistration {
    NodeRegistration::new(MACIP_NODE, NodeKind::Internal)
        .nexts(&["error-drop"])
        .errors(errors::STRINGS)
}

const KIND_IP4: u8 = 0;
const KIND_ARP: u8 = 1;
const KIND_IP6: u8 = 2;
const KIND_OTHER: u8 = 3;

/// Classify a frame: (kind, source MAC to check, source IPv4 to check).
#[inline]
fn extract(d: &[u8]) -> (u8, u64, u32) {
    let Some(eth) = d.first_chunk::<14>() else {
        return (KIND_OTHER, 0, 0);
    };
    let src_mac = u64::from_be_bytes([0, 0, eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]]);
    let mut off = 12;
    let mut et = u16::from_be_bytes([eth[12], eth[13]]);
    for _ in 0..2 {
        if et == 0x8100 || et == 0x88a8 {
            off += 4;
            match d.get(off..off + 2) {
                Some(b) => et = u16::from_be_bytes([b[0], b[1]]),
                None => return (KIND_OTHER, 0, 0),
            }
        }
    }
    let l3 = off + 2;
    match et {
        0x0800 => match d.get(l3 + 12..l3 + 16) {
            Some(b) => (
                KIND_IP4,
                src_mac,
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            ),
            // Too short for IPv4: nothing to permit it by.
            None => (KIND_IP4, src_mac, u32::MAX),
        },
        0x0806 => match d.get(l3..l3 + 18) {
            Some(a) => {
                let sha = u64::from_be_bytes([0, 0, a[8], a[9], a[10], a[11], a[12], a[13]]);
                let spa = u32::from_be_bytes([a[14], a[15], a[16], a[17]]);
                // The Ethernet source must be the sender; a mismatch can never match a rule.
                let mac = if sha == src_mac { sha } else { u64::MAX };
                (KIND_ARP, mac, spa)
            }
            None => (KIND_ARP, u64::MAX, 0),
        },
        0x86dd => (KIND_IP6, src_mac, 0),
        _ => (KIND_OTHER, src_mac, 0),
    }
}

/// The node.
#[derive(Clone)]
pub struct MacipNode {
    /// Configuration (compiled MACIP ACLs by interface).
    pub main: SharedAcl,
    /// Feature arcs.
    pub features: SharedFeatures,
}

impl Node for MacipNode {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let am = cx.config().get(self.main);
        let features = cx.config().get(self.features);
        let ebase = cx.error_index(0);
        let tracing = cx.tracing();
        let mut nexts = [0u16; FRAME_SIZE];
        let mut n_permit = 0u64;
        for (k, &bi) in frame.iter().enumerate() {
            let (m, d) = cx.vm.buffers.meta_and_data_mut(bi);
            let sw = m.sw_if_index[0];
            let (kind, mac, ip) = extract(d);
            let (mut action, rule, acl) =
                match am.macip_compiled.get(sw as usize).and_then(|c| c.as_ref()) {
                    Some(c) => match kind {
                        KIND_IP4 | KIND_ARP => {
                            let (a, r) = c.check(mac, ip);
                            (a, r, c.acl)
                        }
                        KIND_IP6 => (0, None, c.acl),
                        _ => (1, None, c.acl),
                    },
                    // No MACIP ACL (any more): nothing to guard.
                    None => (1, None, u32::MAX),
                };
            let mut error = match kind {
                KIND_ARP => errors::DENY_ARP,
                KIND_IP6 => errors::DENY_IP6,
                _ => errors::DENY_IP4,
            };
            let mut next = 0u16;
            if action != 0 {
                match features.next(m) {
                    Some(n) => {
                        next = n;
                        n_permit += 1;
                    }
                    None => {
                        action = 0;
                        error = errors::NO_ARC;
                    }
                }
            }
            if next == 0 {
                m.error = ebase + error;
            }
            nexts[k] = next;
            if tracing && m.is_traced() {
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = sw as u64;
                    r.u[1] = next as u64;
                    r.u[2] = acl as u64;
                    r.u[3] = rule.unwrap_or(u32::MAX) as u64;
                    r.u[4] = mac;
                    r.u[5] = ip as u64;
                    r.data[0] = action;
                    r.data[1] = kind;
                    r.data_len = 2;
                }
            }
        }
        cx.count_error(errors::PERMIT, n_permit);
        cx.enqueue(frame, &nexts[..frame.len()]);
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        let kind = match rec.data[1] {
            KIND_IP4 => "ip4",
            KIND_ARP => "arp",
            KIND_IP6 => "ip6",
            _ => "other",
        };
        let m = rec.u[4].to_be_bytes();
        let _ = write!(
            s,
            "acl-plugin-macip: sw_if_index {}, next index {}, action: {}, match: macip acl {} rule {}\n  {} src mac {} ip {}",
            rec.u[0] as u32 as i32,
            rec.u[1] as u32 as i32,
            rec.data[0],
            rec.u[2] as u32 as i32,
            rec.u[3] as u32 as i32,
            kind,
            engine::interface::format_mac(&[m[2], m[3], m[4], m[5], m[6], m[7]]),
            Ipv4Addr::from(rec.u[5] as u32)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(src: [u8; 6], et: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xffu8; 6];
        v.extend_from_slice(&src);
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn first_match_on_mac_and_prefix() {
        let mac = [0xbe, 0x2c, 0xbf, 0xe4, 0xec, 0xc5];
        let acl = MacipAcl {
            rules: vec![
                MacipRule {
                    action: 0,
                    ip: Ipv4Addr::new(10, 222, 1, 49),
                    ip_len: 32,
                    mac,
                    mac_mask: [0xff; 6],
                },
                MacipRule {
                    action: 1,
                    ip: Ipv4Addr::new(10, 222, 1, 0),
                    ip_len: 24,
                    mac: [0xbe, 0x2c, 0xbf, 0, 0, 0],
                    mac_mask: [0xff, 0xff, 0xff, 0, 0, 0],
                },
            ],
            tag: "t".into(),
        };
        let c = CompiledMacip::new(3, &acl);
        let m = mac_u64(&mac);
        assert_eq!(c.check(m, 0x0ade_0130), (1, Some(1)));
        assert_eq!(c.check(m, 0x0ade_0131), (0, Some(0)));
        assert_eq!(c.check(m, 0x0ade_0230), (0, None));
        assert_eq!(
            c.check(mac_u64(&[2, 0, 0, 0, 0, 1]), 0x0ade_0130),
            (0, None)
        );
        let mut s = String::new();
        acl.rules[1].format(&mut s);
        assert_eq!(
            s,
            "ipv4 action 1 ip 10.222.1.0/24 mac be:2c:bf:00:00:00 mask ff:ff:ff:00:00:00"
        );
    }

    #[test]
    fn extract_ipv4_arp_vlan() {
        let src = [2, 0, 0, 0, 0, 9];
        let mut ip = [0u8; 20];
        ip[12..16].copy_from_slice(&[10, 0, 0, 9]);
        assert_eq!(
            extract(&eth(src, 0x0800, &ip)),
            (KIND_IP4, 0x0200_0000_0009, 0x0a00_0009)
        );
        let mut arp = [0u8; 28];
        arp[8..14].copy_from_slice(&src);
        arp[14..18].copy_from_slice(&[10, 0, 0, 9]);
        assert_eq!(extract(&eth(src, 0x0806, &arp)).2, 0x0a00_0009);
        assert_eq!(extract(&eth(src, 0x0806, &arp)).1, 0x0200_0000_0009);
        // Ethernet source differs from the ARP sender: can never be permitted.
        assert_eq!(extract(&eth([2, 0, 0, 0, 0, 8], 0x0806, &arp)).1, u64::MAX);
        let mut tagged = vec![0, 5, 0x08, 0x00];
        tagged.extend_from_slice(&ip);
        assert_eq!(extract(&eth(src, 0x8100, &tagged)).0, KIND_IP4);
        assert_eq!(extract(&eth(src, 0x86dd, &[0; 40])).0, KIND_IP6);
        assert_eq!(extract(&[0u8; 10]).0, KIND_OTHER);
    }
}
