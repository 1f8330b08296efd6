//! Packet trace storage (VPP's `trace add` / `show trace`).
//!
//! On the fast path a node stores a small plain [`TraceRecord`] per traced packet: a few integers and
//! a copy of up to 128 packet bytes. Text is produced only by `show trace`, by the node's own
//! formatter, in VPP's layout.

use crate::buffer::INVALID_INDEX;

/// Bytes of packet data a record can hold.
pub const TRACE_DATA_BYTES: usize = 128;
/// Default number of packets `show trace` prints (VPP's default).
pub const SHOW_TRACE_DEFAULT_MAX: usize = 50;

/// One node's record for one traced packet.
#[derive(Clone, Copy, Debug)]
pub struct TraceRecord {
    /// Node that captured the record.
    pub node: u32,
    /// Dispatch time of that node, in nanoseconds of the thread clock.
    pub time_ns: u64,
    next: u32,
    /// Node-specific integers.
    pub u: [u64; 8],
    /// Valid bytes in `data`.
    pub data_len: u16,
    /// A copy of packet bytes (what depends on the node).
    pub data: [u8; TRACE_DATA_BYTES],
}

impl TraceRecord {
    const EMPTY: TraceRecord = TraceRecord {
        node: 0,
        time_ns: 0,
        next: INVALID_INDEX,
        u: [0; 8],
        data_len: 0,
        data: [0; TRACE_DATA_BYTES],
    };

    /// Copy up to [`TRACE_DATA_BYTES`] (and at most `max`) bytes of `bytes` into the record.
    #[inline]
    pub fn set_data(&mut self, bytes: &[u8], max: usize) {
        let n = bytes.len().min(max).min(TRACE_DATA_BYTES);
        self.data[..n].copy_from_slice(&bytes[..n]);
        self.data_len = n as u16;
    }

    /// The captured bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.data[..self.data_len as usize]
    }
}

#[derive(Clone, Copy, Debug)]
struct PacketTrace {
    head: u32,
    tail: u32,
    first_time: u64,
}

/// Which packets `trace add NODE N filter ...` starts tracing: an IPv4 5-tuple, each field
/// optional. Checked on the frame as the input node received it (Ethernet, one VLAN tag
/// allowed); a packet the filter cannot read is not traced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TupleFilter {
    /// Source prefix (address, length).
    pub src: Option<(u32, u8)>,
    /// Destination prefix (address, length).
    pub dst: Option<(u32, u8)>,
    /// IP protocol.
    pub proto: Option<u8>,
    /// TCP/UDP source port.
    pub sport: Option<u16>,
    /// TCP/UDP destination port.
    pub dport: Option<u16>,
}

fn prefix_match(addr: u32, p: Option<(u32, u8)>) -> bool {
    p.is_none_or(|(a, len)| {
        let mask = if len == 0 {
            0
        } else {
            u32::MAX << (32 - len as u32)
        };
        addr & mask == a & mask
    })
}

impl TupleFilter {
    /// True if the frame `eth` (starting at its Ethernet header) matches.
    pub fn matches(&self, eth: &[u8]) -> bool {
        let mut off = 12;
        let Some(mut et) = eth
            .get(off..off + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
        else {
            return false;
        };
        if et == 0x8100 || et == 0x88a8 {
            off += 4;
            match eth.get(off..off + 2) {
                Some(b) => et = u16::from_be_bytes([b[0], b[1]]),
                None => return false,
            }
        }
        if et != 0x0800 {
            return false;
        }
        let Some(ip) = eth.get(off + 2..) else {
            return false;
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 {
            return false;
        }
        let ihl = (ip[0] & 15) as usize * 4;
        let word = |o: usize| u32::from_be_bytes([ip[o], ip[o + 1], ip[o + 2], ip[o + 3]]);
        let proto = ip[9];
        if !prefix_match(word(12), self.src)
            || !prefix_match(word(16), self.dst)
            || self.proto.is_some_and(|p| p != proto)
        {
            return false;
        }
        if self.sport.is_none() && self.dport.is_none() {
            return true;
        }
        // Ports: TCP or UDP, first fragment only.
        let first_fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff == 0;
        if !(proto == 6 || proto == 17) || !first_fragment || ihl < 20 {
            return false;
        }
        let Some(l4) = ip.get(ihl..ihl + 4) else {
            return false;
        };
        let (sp, dp) = (
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        );
        self.sport.is_none_or(|p| p == sp) && self.dport.is_none_or(|p| p == dp)
    }
}

/// `trace filter include|exclude NODE COUNT`, as VPP: after each dispatch, the traces that do
/// not visit (include) or do visit (exclude) the node are thrown away, and at most COUNT are
/// kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFilter {
    /// The node a kept trace must (include) or must not (exclude) visit.
    pub node: u32,
    /// Include (true) or exclude (false).
    pub include: bool,
    /// Traces to keep.
    pub count: u32,
    /// Stop tracing once `count` traces are kept (`trace add ... filter drops`, whose budget
    /// is unbounded).
    pub stop_when_full: bool,
}

/// Per-thread trace buffer.
#[derive(Debug, Default)]
pub struct TraceMain {
    /// Fast check for nodes: any tracing configured or in progress.
    pub active: bool,
    packets: Vec<PacketTrace>,
    records: Vec<TraceRecord>,
    /// Remaining packets to trace, per input node index.
    budget: Vec<u32>,
    /// 5-tuple filter per input node index (`trace add NODE N filter ...`).
    tuple_filters: Vec<Option<TupleFilter>>,
    /// `trace filter` (one per thread, as VPP).
    pub node_filter: Option<NodeFilter>,
    /// Packets before this index already passed the node filter.
    filtered: usize,
}

impl TraceMain {
    /// Add `count` packets to trace at input node `node` (`trace add NODE COUNT`).
    pub fn add_budget(&mut self, node: u32, count: u32) {
        let i = node as usize;
        if self.budget.len() <= i {
            self.budget.resize(i + 1, 0);
        }
        self.budget[i] = self.budget[i].saturating_add(count);
        self.active = true;
        // Reserve room so that the fast path does not allocate while tracing (about 24 records
        // per packet covers the longest documented walks).
        let want = (count as usize).min(10_000);
        self.packets.reserve(want);
        self.records.reserve(want * 24);
    }

    /// Trace at input node `node` only the packets `f` matches (`None`: all).
    pub fn set_tuple_filter(&mut self, node: u32, f: Option<TupleFilter>) {
        let i = node as usize;
        if self.tuple_filters.len() <= i {
            self.tuple_filters.resize(i + 1, None);
        }
        self.tuple_filters[i] = f;
    }

    /// The 5-tuple filter of an input node.
    #[inline]
    pub fn tuple_filter(&self, node: u32) -> Option<&TupleFilter> {
        self.tuple_filters.get(node as usize)?.as_ref()
    }

    /// Apply the node filter to the traces completed since the last call (VPP's
    /// `trace_apply_filter`, run after every dispatch). Only the new packets are looked at, and
    /// their records are the tail of the record list, so the work is bounded by what was added.
    pub fn apply_filter(&mut self) {
        let Some(f) = self.node_filter else {
            return;
        };
        if self.filtered >= self.packets.len() {
            return;
        }
        let first_new = self.filtered;
        // Records of the new packets start at the first new packet's first record.
        let rec_start = self.packets[first_new..]
            .iter()
            .filter(|p| p.head != INVALID_INDEX)
            .map(|p| p.head as usize)
            .min()
            .unwrap_or(self.records.len());
        // A kept packet still getting records (in flight across dispatches) has records among
        // the new ones: filter later, once it is done.
        if self.packets[..first_new]
            .iter()
            .any(|p| p.tail != INVALID_INDEX && p.tail as usize >= rec_start)
        {
            return;
        }
        let old_records: Vec<TraceRecord> = self.records.drain(rec_start..).collect();
        let new_packets: Vec<PacketTrace> = self.packets.drain(first_new..).collect();
        for p in new_packets {
            let mut chain = Vec::new();
            let mut r = p.head;
            while r != INVALID_INDEX {
                let Some(rec) = (r as usize)
                    .checked_sub(rec_start)
                    .and_then(|i| old_records.get(i))
                else {
                    break;
                };
                chain.push(*rec);
                r = rec.next;
            }
            let visits = chain.iter().any(|r| r.node == f.node);
            if visits != f.include || self.packets.len() >= f.count as usize {
                continue;
            }
            let head = self.records.len() as u32;
            let n = chain.len() as u32;
            for (k, mut rec) in chain.into_iter().enumerate() {
                rec.next = if (k as u32) + 1 < n {
                    head + k as u32 + 1
                } else {
                    INVALID_INDEX
                };
                self.records.push(rec);
            }
            self.packets.push(PacketTrace {
                head: if n == 0 { INVALID_INDEX } else { head },
                tail: if n == 0 { INVALID_INDEX } else { head + n - 1 },
                first_time: p.first_time,
            });
        }
        self.filtered = self.packets.len();
        if f.stop_when_full && self.packets.len() >= f.count as usize {
            self.budget.iter_mut().for_each(|b| *b = 0);
        }
    }

    /// Trace every packet at input node `node` until the node filter is full (`trace add ...
    /// filter drops`); call after [`TraceMain::add_budget`] with the count to keep, which
    /// sizes the record store.
    pub fn set_unbounded(&mut self, node: u32) {
        if let Some(b) = self.budget.get_mut(node as usize) {
            *b = u32::MAX;
        }
    }

    /// Remaining budget of an input node.
    pub fn budget(&self, node: u32) -> u32 {
        self.budget.get(node as usize).copied().unwrap_or(0)
    }

    /// Start tracing a packet at input node `node` if it has budget left; returns the handle.
    #[inline]
    pub fn start(&mut self, node: u32, now_ns: u64) -> Option<u32> {
        let b = self.budget.get_mut(node as usize)?;
        if *b == 0 {
            return None;
        }
        if *b != u32::MAX {
            // u32::MAX: unbounded (`filter drops`), the node filter decides what is kept.
            *b -= 1;
        }
        let h = self.packets.len() as u32;
        self.packets.push(PacketTrace {
            head: INVALID_INDEX,
            tail: INVALID_INDEX,
            first_time: now_ns,
        });
        Some(h)
    }

    /// Append a record for node `node` to trace `handle` and return it for filling.
    #[inline]
    pub fn add(&mut self, handle: u32, node: u32, now_ns: u64) -> &mut TraceRecord {
        let ri = self.records.len() as u32;
        let mut r = TraceRecord::EMPTY;
        r.node = node;
        r.time_ns = now_ns;
        self.records.push(r);
        if let Some(p) = self.packets.get_mut(handle as usize) {
            if p.tail == INVALID_INDEX {
                p.head = ri;
            } else {
                self.records[p.tail as usize].next = ri;
            }
            p.tail = ri;
        }
        &mut self.records[ri as usize]
    }

    /// Forget all traces and budgets (`clear trace`).
    pub fn clear(&mut self) {
        self.packets.clear();
        self.records.clear();
        self.budget.clear();
        self.tuple_filters.clear();
        self.filtered = 0;
        self.active = false;
        // `trace filter` stays until `trace filter none`, as VPP's; the one `filter drops` set
        // belongs to its `trace add`.
        if self.node_filter.is_some_and(|f| f.stop_when_full) {
            self.node_filter = None;
        }
    }

    /// Number of traced packets held.
    pub fn n_packets(&self) -> usize {
        self.packets.len()
    }

    /// Traced packets in display order (by first record time, then capture order), each as its
    /// list of records.
    pub fn packets_sorted(&self) -> Vec<Vec<&TraceRecord>> {
        let mut order: Vec<usize> = (0..self.packets.len()).collect();
        order.sort_by_key(|&i| (self.packets[i].first_time, i));
        order
            .into_iter()
            .map(|i| {
                let mut v = Vec::new();
                let mut r = self.packets[i].head;
                while r != INVALID_INDEX {
                    let rec = &self.records[r as usize];
                    v.push(rec);
                    r = rec.next;
                }
                v
            })
            .collect()
    }
}

/// Format nanoseconds as VPP's `h:m:s:u` interval: `%02d:%02d:%02d:%06d`, days dropped.
pub fn format_time_hmsu(ns: u64) -> String {
    let us_total = ns / 1_000;
    let us = us_total % 1_000_000;
    let s_total = us_total / 1_000_000;
    let (h, m, s) = ((s_total / 3600) % 24, (s_total / 60) % 60, s_total % 60);
    format!("{h:02}:{m:02}:{s:02}:{us:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_drops_days() {
        let ns = ((26 * 3600 + 54 * 60 + 30) * 1_000_000 + 91_783) * 1_000;
        assert_eq!(format_time_hmsu(ns), "02:54:30:091783");
        assert_eq!(format_time_hmsu(0), "00:00:00:000000");
    }

    fn eth_ip(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = proto;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f
    }

    #[test]
    fn tuple_filter_fields_and_bad_frames() {
        let f = TupleFilter {
            src: Some((u32::from_be_bytes([10, 1, 0, 0]), 16)),
            proto: Some(6),
            dport: Some(80),
            ..Default::default()
        };
        assert!(f.matches(&eth_ip([10, 1, 2, 3], [1, 1, 1, 1], 6, 999, 80)));
        assert!(!f.matches(&eth_ip([10, 2, 2, 3], [1, 1, 1, 1], 6, 999, 80)));
        assert!(!f.matches(&eth_ip([10, 1, 2, 3], [1, 1, 1, 1], 17, 999, 80)));
        assert!(!f.matches(&eth_ip([10, 1, 2, 3], [1, 1, 1, 1], 6, 999, 81)));
        // A VLAN tag is looked through; short or non-IP frames never match.
        let mut tagged = eth_ip([10, 1, 2, 3], [1, 1, 1, 1], 6, 999, 80);
        tagged.splice(12..12, [0x81, 0x00, 0x00, 0x05]);
        assert!(f.matches(&tagged));
        for n in 0..tagged.len() {
            let _ = f.matches(&tagged[..n]);
        }
        assert!(!f.matches(&tagged[..40]));
        let mut arp = eth_ip([10, 1, 2, 3], [1, 1, 1, 1], 6, 999, 80);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!f.matches(&arp));
        let zero = TupleFilter {
            dst: Some((0, 0)),
            ..Default::default()
        };
        assert!(zero.matches(&eth_ip([9, 9, 9, 9], [8, 8, 8, 8], 1, 0, 0)));
    }

    #[test]
    fn node_filter_keeps_count_of_the_included() {
        let mut t = TraceMain::default();
        t.add_budget(1, 10);
        t.node_filter = Some(NodeFilter {
            node: 0,
            include: true,
            count: 2,
            stop_when_full: true,
        });
        for k in 0..6u64 {
            let Some(h) = t.start(1, k) else {
                assert_eq!(k, 4, "full after the second kept trace");
                break;
            };
            t.add(h, 1, k).u[0] = k;
            if k % 2 == 1 {
                t.add(h, 0, k).u[0] = k;
            }
            t.apply_filter();
        }
        let p = t.packets_sorted();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].iter().map(|r| r.u[0]).collect::<Vec<_>>(), vec![1, 1]);
        assert_eq!(p[1].iter().map(|r| r.u[0]).collect::<Vec<_>>(), vec![3, 3]);
        assert_eq!(t.budget(1), 0, "full: tracing stops");
        t.clear();
        assert!(
            t.node_filter.is_none(),
            "`filter drops` ends with clear trace"
        );
    }

    #[test]
    fn budget_and_records() {
        let mut t = TraceMain::default();
        assert!(t.start(3, 0).is_none());
        t.add_budget(3, 2);
        let h0 = t.start(3, 20).unwrap();
        let h1 = t.start(3, 10).unwrap();
        assert!(t.start(3, 30).is_none());
        t.add(h0, 3, 20).u[0] = 7;
        t.add(h0, 4, 21).u[0] = 8;
        t.add(h1, 3, 10);
        let p = t.packets_sorted();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].len(), 1, "earliest packet first");
        assert_eq!(p[1].iter().map(|r| r.u[0]).collect::<Vec<_>>(), vec![7, 8]);
    }
}
