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

/// Per-thread trace buffer.
#[derive(Debug, Default)]
pub struct TraceMain {
    /// Fast check for nodes: any tracing configured or in progress.
    pub active: bool,
    packets: Vec<PacketTrace>,
    records: Vec<TraceRecord>,
    /// Remaining packets to trace, per input node index.
    budget: Vec<u32>,
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
        *b -= 1;
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
        self.active = false;
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
