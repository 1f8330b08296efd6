//! ACL rules (VPP's `acl_rule_t` for IPv4) and their reference, linear semantics.
//!
//! A rule matches when the destination and source prefixes contain the packet's addresses and,
//! if its protocol is not 0: the protocol is equal and either the packet is a non-first fragment
//! (then nothing more is compared, VPP's `l4_match_nonfirst_fragment` default), or L4 is valid,
//! both ports (ICMP: type and code) are in their ranges and, for TCP with a non-zero flags mask,
//! `tcp_flags & mask == value & mask`. The first matching rule of the first matching ACL wins.
//!
//! [`Rule::matches`] is the reference the hash classifier ([`crate::classify`]) is tested against.

use std::fmt::Write;
use std::net::Ipv4Addr;

use crate::tuple::{proto, Tuple, F_L4_VALID, F_NONFIRST_FRAGMENT};

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Drop (0).
    Deny = 0,
    /// Forward (1).
    Permit = 1,
    /// Forward and create a session that admits the reverse direction (2).
    PermitReflect = 2,
}

impl Action {
    /// From VPP's `is_permit` number.
    pub fn from_u8(v: u8) -> Option<Action> {
        match v {
            0 => Some(Action::Deny),
            1 => Some(Action::Permit),
            2 => Some(Action::PermitReflect),
            _ => None,
        }
    }

    /// VPP's `format_acl_action` text.
    pub fn name(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Permit => "permit",
            Action::PermitReflect => "permit+reflect",
        }
    }
}

/// One IPv4 ACL rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Action.
    pub action: Action,
    /// Source prefix address as configured (host bits are ignored when matching).
    pub src: Ipv4Addr,
    /// Source prefix length.
    pub src_len: u8,
    /// Destination prefix address.
    pub dst: Ipv4Addr,
    /// Destination prefix length.
    pub dst_len: u8,
    /// IP protocol; 0 matches any protocol and ignores ports and flags.
    pub proto: u8,
    /// Source port range (ICMP: type range), inclusive.
    pub sport: (u16, u16),
    /// Destination port range (ICMP: code range), inclusive.
    pub dport: (u16, u16),
    /// TCP flags value.
    pub tcp_flags_value: u8,
    /// TCP flags mask (0: flags are not compared).
    pub tcp_flags_mask: u8,
}

impl Default for Rule {
    /// VPP's CLI default rule: permit, any address, any protocol, full port ranges.
    fn default() -> Self {
        Rule {
            action: Action::Permit,
            src: Ipv4Addr::UNSPECIFIED,
            src_len: 0,
            dst: Ipv4Addr::UNSPECIFIED,
            dst_len: 0,
            proto: 0,
            sport: (0, 65535),
            dport: (0, 65535),
            tcp_flags_value: 0,
            tcp_flags_mask: 0,
        }
    }
}

/// The network mask of a prefix length, as a host-order `u32`.
#[inline]
pub fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32) as u32)
    }
}

impl Rule {
    /// Reference match (see the module documentation).
    pub fn matches(&self, t: &Tuple) -> bool {
        let sm = prefix_mask(self.src_len);
        let dm = prefix_mask(self.dst_len);
        if u32::from_be_bytes(t.dst) & dm != u32::from(self.dst) & dm {
            return false;
        }
        if u32::from_be_bytes(t.src) & sm != u32::from(self.src) & sm {
            return false;
        }
        if self.proto == 0 {
            return true;
        }
        if t.proto != self.proto {
            return false;
        }
        if t.flags & F_NONFIRST_FRAGMENT != 0 {
            return true;
        }
        if t.flags & F_L4_VALID == 0 {
            return false;
        }
        if t.sport < self.sport.0 || t.sport > self.sport.1 {
            return false;
        }
        if t.dport < self.dport.0 || t.dport > self.dport.1 {
            return false;
        }
        if self.proto == proto::TCP
            && self.tcp_flags_mask != 0
            && (!t.tcp_flags_valid()
                || t.tcp_flags & self.tcp_flags_mask != self.tcp_flags_value & self.tcp_flags_mask)
        {
            return false;
        }
        true
    }

    /// One line of `show acl-plugin acl` (18.01 `acl_print_acl`), without the index column.
    pub fn format(&self, s: &mut String) {
        let _ = write!(
            s,
            "ipv4 {} src {}/{} dst {}/{} proto {} sport {}",
            self.action.name(),
            self.src,
            self.src_len,
            self.dst,
            self.dst_len,
            self.proto,
            self.sport.0
        );
        if self.sport.0 != self.sport.1 {
            let _ = write!(s, "-{}", self.sport.1);
        }
        let _ = write!(s, " dport {}", self.dport.0);
        if self.dport.0 != self.dport.1 {
            let _ = write!(s, "-{}", self.dport.1);
        }
        if self.tcp_flags_mask != 0 || self.tcp_flags_value != 0 {
            let _ = write!(
                s,
                " tcpflags {} mask {}",
                self.tcp_flags_value, self.tcp_flags_mask
            );
        }
    }
}

/// An ACL: ordered rules and a tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    /// Rules in match order.
    pub rules: Vec<Rule>,
    /// Free-form tag (`cli` when created from the CLI without one).
    pub tag: String,
}

/// Reference lookup over an ordered ACL list: (action, acl index, rule index) of the first match,
/// or `(Deny, u32::MAX, u32::MAX)` (VPP's `~0`) when nothing matches.
pub fn linear_match(acls: &[(u32, &Acl)], t: &Tuple) -> (Action, u32, u32) {
    for (ai, a) in acls {
        for (ri, r) in a.rules.iter().enumerate() {
            if r.matches(t) {
                return (r.action, *ai, ri as u32);
            }
        }
    }
    (Action::Deny, u32::MAX, u32::MAX)
}
