//! The rule classifier of one interface direction: tuple-space search, VPP's "hash ACL" design
//! (`hash_lookup.c`, `acl_hash_lookup_doc.md`).
//!
//! Every rule of the ACLs applied to an interface direction becomes one or two *entries*: a
//! (mask, masked value) pair and its *priority*, the rule's position in the concatenated ordered
//! ACL list. Entries with the same mask share a *mask table*, a hash table from masked key to the
//! chain of entries with that key (ordered by priority). A packet is matched by masking its key
//! with each table's mask and probing that table once, keeping the best (lowest) priority. The
//! cost is one probe per distinct mask, whatever the number of rules.
//!
//! Two refinements:
//! - Tables are ordered by the lowest priority they hold, and the search stops as soon as the best
//!   match found beats the next table's lowest priority (an early rule of a popular mask ends the
//!   search after one probe).
//! - Port ranges that are neither one port nor the whole range cannot be expressed by a mask:
//!   those entries mask the port out and carry a range check, done while walking the chain (as
//!   VPP's `need_portrange_check`).
//!
//! A rule with protocol 0 gives one entry (addresses only). A rule with a protocol gives an entry
//! for initial fragments and unfragmented packets (protocol, ports, TCP flags, "L4 valid") and one
//! for non-first fragments (protocol only), VPP's `l4_match_nonfirst_fragment`.

use std::collections::HashMap;
use std::fmt::Write;

use crate::hash::KeyHash;
use crate::rules::{prefix_mask, Acl, Action};
use crate::tuple::{proto, Tuple, F_L4_VALID, F_NONFIRST_FRAGMENT, F_TCP_FLAGS_VALID};

const NONE: u32 = u32::MAX;

/// Bits of the second key word.
const K1_SPORT_SHIFT: u32 = 48;
const K1_DPORT_SHIFT: u32 = 32;
const K1_PROTO_SHIFT: u32 = 24;
const K1_TCPF_SHIFT: u32 = 16;

/// The classifier key of a packet: (source << 32 | destination, host order), (sport, dport,
/// proto, TCP flags, flag bits).
#[inline(always)]
pub fn key(t: &Tuple) -> (u64, u64) {
    (
        (u32::from_be_bytes(t.src) as u64) << 32 | u32::from_be_bytes(t.dst) as u64,
        (t.sport as u64) << K1_SPORT_SHIFT
            | (t.dport as u64) << K1_DPORT_SHIFT
            | (t.proto as u64) << K1_PROTO_SHIFT
            | (t.tcp_flags as u64) << K1_TCPF_SHIFT
            | (t.flags & (F_L4_VALID | F_NONFIRST_FRAGMENT | F_TCP_FLAGS_VALID)) as u64,
    )
}

/// One entry (a rule, or the non-first-fragment form of a rule).
#[derive(Clone, Copy, Debug)]
struct Entry {
    prio: u32,
    acl: u32,
    rule: u32,
    action: Action,
    /// Walk on when the port range check fails.
    check: bool,
    sport: (u16, u16),
    dport: (u16, u16),
    /// Next entry with the same mask and key (higher priority number), or NONE.
    next: u32,
}

/// One mask type.
#[derive(Clone, Debug)]
struct MaskTable {
    m0: u64,
    m1: u64,
    /// The packet flag bits every key of the table requires (mask, value): a table of
    /// non-first-fragment forms is skipped for other packets without a probe, and the reverse.
    fm: u8,
    fv: u8,
    min_prio: u32,
    /// Masked key -> first entry of its chain.
    hash: KeyHash,
}

/// The result of a classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// Action of the matching rule.
    pub action: Action,
    /// ACL index.
    pub acl: u32,
    /// Rule index within that ACL.
    pub rule: u32,
}

/// The compiled classifier of one interface direction.
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    tables: Vec<MaskTable>,
    /// For each value of a packet's flag bits (the low byte of its second key word, a subset of
    /// 0x0f), the tables whose flag requirement it meets, by lowest priority: the packet loop
    /// visits only tables it can match (a non-fragment never walks past the fragment forms).
    order: [Vec<u32>; 16],
    entries: Vec<Entry>,
    n_rules: u32,
}

fn port_mask(r: (u16, u16)) -> (u64, bool) {
    if r.0 == r.1 {
        (0xffff, false)
    } else if r == (0, 65535) {
        (0, false)
    } else {
        (0, true)
    }
}

impl Classifier {
    /// Compile the ordered ACL list `(acl index, acl)` of an interface direction.
    pub fn build(acls: &[(u32, &Acl)]) -> Classifier {
        // (mask) -> table index; (table, key) -> tail entry of the chain.
        let mut by_mask: HashMap<(u64, u64), usize> = HashMap::new();
        let mut tails: HashMap<(usize, u64, u64), u32> = HashMap::new();
        let mut keys: Vec<Vec<(u64, u64, u32)>> = Vec::new();
        let mut c = Classifier::default();
        let mut prio = 0u32;
        for &(ai, acl) in acls {
            for (ri, r) in acl.rules.iter().enumerate() {
                let sm = prefix_mask(r.src_len) as u64;
                let dm = prefix_mask(r.dst_len) as u64;
                let m0 = sm << 32 | dm;
                let v0 = (u32::from(r.src) as u64) << 32 | u32::from(r.dst) as u64;
                let mut forms: Vec<(u64, u64, bool)> = Vec::with_capacity(2);
                if r.proto == 0 {
                    forms.push((0, 0, false));
                } else {
                    let p = (r.proto as u64) << K1_PROTO_SHIFT;
                    let pm = 0xffu64 << K1_PROTO_SHIFT;
                    let (spm, sc) = port_mask(r.sport);
                    let (dpm, dc) = port_mask(r.dport);
                    let mut m1 = pm
                        | spm << K1_SPORT_SHIFT
                        | dpm << K1_DPORT_SHIFT
                        | (F_L4_VALID | F_NONFIRST_FRAGMENT) as u64;
                    let mut v1 = p
                        | (r.sport.0 as u64) << K1_SPORT_SHIFT
                        | (r.dport.0 as u64) << K1_DPORT_SHIFT
                        | F_L4_VALID as u64;
                    if r.proto == proto::TCP && r.tcp_flags_mask != 0 {
                        m1 |= (r.tcp_flags_mask as u64) << K1_TCPF_SHIFT | F_TCP_FLAGS_VALID as u64;
                        v1 |=
                            (r.tcp_flags_value as u64) << K1_TCPF_SHIFT | F_TCP_FLAGS_VALID as u64;
                    }
                    forms.push((m1, v1 & m1, sc || dc));
                    let fm = pm | F_NONFIRST_FRAGMENT as u64;
                    forms.push((fm, p | F_NONFIRST_FRAGMENT as u64, false));
                }
                for (m1, v1, check) in forms {
                    let ti = *by_mask.entry((m0, m1)).or_insert_with(|| {
                        c.tables.push(MaskTable {
                            m0,
                            m1,
                            fm: m1 as u8,
                            fv: v1 as u8,
                            min_prio: prio,
                            hash: KeyHash::default(),
                        });
                        keys.push(Vec::new());
                        c.tables.len() - 1
                    });
                    let k0 = v0 & m0;
                    let e = c.entries.len() as u32;
                    c.entries.push(Entry {
                        prio,
                        acl: ai,
                        rule: ri as u32,
                        action: r.action,
                        check,
                        sport: r.sport,
                        dport: r.dport,
                        next: NONE,
                    });
                    match tails.insert((ti, k0, v1), e) {
                        Some(tail) => c.entries[tail as usize].next = e,
                        None => keys[ti].push((k0, v1, e)),
                    }
                }
                prio += 1;
            }
        }
        for (t, ks) in c.tables.iter_mut().zip(keys) {
            t.hash = KeyHash::with_capacity(ks.len());
            for (k0, k1, e) in ks {
                t.hash.insert(k0, k1, e);
            }
        }
        c.tables.sort_by_key(|t| t.min_prio);
        for (pf, list) in c.order.iter_mut().enumerate() {
            *list = (0..c.tables.len())
                .filter(|&i| pf as u8 & c.tables[i].fm == c.tables[i].fv)
                .map(|i| i as u32)
                .collect();
        }
        c.n_rules = prio;
        c
    }

    /// The first matching rule for a packet, or None (deny by default).
    #[inline]
    pub fn lookup(&self, t: &Tuple) -> Option<Match> {
        let (k0, k1) = key(t);
        let mut best = NONE;
        let mut best_e = NONE;
        for &ti in &self.order[(k1 & 0x0f) as usize] {
            let tb = &self.tables[ti as usize];
            if tb.min_prio >= best {
                break;
            }
            let Some(mut e) = tb.hash.get(k0 & tb.m0, k1 & tb.m1) else {
                continue;
            };
            loop {
                let en = &self.entries[e as usize];
                if en.prio >= best {
                    break;
                }
                if !en.check
                    || (en.sport.0 <= t.sport
                        && t.sport <= en.sport.1
                        && en.dport.0 <= t.dport
                        && t.dport <= en.dport.1)
                {
                    best = en.prio;
                    best_e = e;
                    break;
                }
                e = en.next;
                if e == NONE {
                    break;
                }
            }
        }
        if best_e == NONE {
            return None;
        }
        let en = &self.entries[best_e as usize];
        Some(Match {
            action: en.action,
            acl: en.acl,
            rule: en.rule,
        })
    }

    /// Number of mask tables (the per-packet probe bound).
    pub fn n_masks(&self) -> usize {
        self.tables.len()
    }

    /// Number of rules compiled.
    pub fn n_rules(&self) -> u32 {
        self.n_rules
    }

    /// True when no rule is compiled (every packet is denied).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Text for `show acl-plugin tables`: one line per mask table.
    pub fn describe(&self, s: &mut String, indent: &str) {
        for (i, t) in self.tables.iter().enumerate() {
            let _ = writeln!(
                s,
                "{indent}mask {i}: {:016x} {:016x} keys {} first rule position {}",
                t.m0,
                t.m1,
                t.hash.len(),
                t.min_prio
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{linear_match, Rule};
    use std::net::Ipv4Addr;

    fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Addresses and ports from small pools, so that random rules and packets meet.
    fn addr(st: &mut u64) -> [u8; 4] {
        [
            10,
            (rng(st) % 2) as u8,
            (rng(st) % 3) as u8,
            (rng(st) % 4) as u8,
        ]
    }

    fn port(st: &mut u64) -> u16 {
        [0, 22, 53, 80, 443, 1000, 8080, 65535][(rng(st) % 8) as usize]
    }

    fn range(st: &mut u64) -> (u16, u16) {
        match rng(st) % 4 {
            0 => (0, 65535),
            1 => {
                let p = port(st);
                (p, p)
            }
            _ => {
                let (a, b) = (port(st), port(st));
                (a.min(b), a.max(b))
            }
        }
    }

    fn random_rule(st: &mut u64) -> Rule {
        let lens = [0u8, 8, 16, 24, 30, 32];
        Rule {
            action: Action::from_u8((rng(st) % 3) as u8).unwrap(),
            src: Ipv4Addr::from(addr(st)),
            src_len: lens[(rng(st) % 6) as usize],
            dst: Ipv4Addr::from(addr(st)),
            dst_len: lens[(rng(st) % 6) as usize],
            proto: [0u8, 1, 6, 17][(rng(st) % 4) as usize],
            sport: range(st),
            dport: range(st),
            tcp_flags_value: [0u8, 0x02, 0x12, 0x10][(rng(st) % 4) as usize],
            tcp_flags_mask: [0u8, 0x02, 0x12, 0xff][(rng(st) % 4) as usize],
        }
    }

    fn random_tuple(st: &mut u64) -> Tuple {
        let proto = [1u8, 6, 17, 47][(rng(st) % 4) as usize];
        let mut t = Tuple {
            src: addr(st),
            dst: addr(st),
            proto,
            ..Default::default()
        };
        match rng(st) % 8 {
            0 => t.flags = F_NONFIRST_FRAGMENT,
            1 => t.flags = 0,
            _ => {
                t.flags = F_L4_VALID;
                t.sport = port(st);
                t.dport = port(st);
                t.tcp_flags = [0x02u8, 0x12, 0x10, 0x11][(rng(st) % 4) as usize];
                if proto == 6 {
                    t.flags |= F_TCP_FLAGS_VALID;
                }
            }
        }
        t
    }

    #[test]
    fn equals_linear_first_match_on_random_rule_sets() {
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300 {
            let n_acls = 1 + (rng(&mut st) % 3) as usize;
            let acls: Vec<Acl> = (0..n_acls)
                .map(|_| Acl {
                    rules: (0..(rng(&mut st) % 12))
                        .map(|_| random_rule(&mut st))
                        .collect(),
                    tag: String::new(),
                })
                .collect();
            let list: Vec<(u32, &Acl)> = acls
                .iter()
                .enumerate()
                .map(|(i, a)| (i as u32 * 7 + 1, a))
                .collect();
            let c = Classifier::build(&list);
            for _ in 0..200 {
                let t = random_tuple(&mut st);
                let want = linear_match(&list, &t);
                let got = c.lookup(&t).map(|m| (m.action, m.acl, m.rule)).unwrap_or((
                    Action::Deny,
                    u32::MAX,
                    u32::MAX,
                ));
                assert_eq!(got, want, "{t:?}\n{list:?}");
            }
        }
    }

    #[test]
    fn probes_depend_on_masks_not_rules() {
        // 10 000 rules of one shape: one mask table (two with the fragment form).
        let rules: Vec<Rule> = (0..10_000u32)
            .map(|i| Rule {
                dst: Ipv4Addr::from(0x0a00_0000 + i),
                dst_len: 32,
                src: Ipv4Addr::new(10, 1, 1, 0),
                src_len: 24,
                proto: 6,
                dport: (80, 80),
                ..Rule::default()
            })
            .collect();
        let acl = Acl {
            rules,
            tag: String::new(),
        };
        let c = Classifier::build(&[(0, &acl)]);
        assert_eq!(c.n_masks(), 2);
        assert_eq!(c.n_rules(), 10_000);
        let t = Tuple {
            src: [10, 1, 1, 3],
            dst: (0x0a00_0000u32 + 9_999).to_be_bytes(),
            proto: 6,
            sport: 1234,
            dport: 80,
            tcp_flags: 2,
            flags: F_L4_VALID | F_TCP_FLAGS_VALID,
        };
        assert_eq!(c.lookup(&t).unwrap().rule, 9_999);
    }

    #[test]
    fn overlapping_port_ranges_walk_the_chain_in_order() {
        let r = |lo: u16, hi: u16, action| Rule {
            proto: 17,
            dport: (lo, hi),
            action,
            ..Rule::default()
        };
        let acl = Acl {
            rules: vec![
                r(0, 42, Action::Deny),
                r(100, 400, Action::Permit),
                r(230, 60000, Action::Deny),
            ],
            tag: String::new(),
        };
        let c = Classifier::build(&[(5, &acl)]);
        let udp = |dport| Tuple {
            proto: 17,
            dport,
            flags: F_L4_VALID,
            ..Default::default()
        };
        assert_eq!(c.lookup(&udp(300)).unwrap().rule, 1);
        assert_eq!(c.lookup(&udp(500)).unwrap().rule, 2);
        assert_eq!(c.lookup(&udp(10)).unwrap().rule, 0);
        assert!(c.lookup(&udp(60001)).is_none());
        assert!(Classifier::build(&[]).lookup(&udp(1)).is_none());
    }
}
