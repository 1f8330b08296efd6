//! `ping`, as VPP's ping plugin: ICMP echo requests sent from the forwarder itself into
//! `ip4-lookup`, and the `ip4-icmp-echo-reply` node that hands the replies to the waiting
//! command (VPP signals its CLI process with the reply buffers; here the node records them in a
//! table the command reads between dispatches).
//!
//! `ping <address> [ipv4] [source <interface>] [table-id <id>] [size <bytes>] [interval <s>]
//! [repeat <n>] [ttl <n>] [burst <n>] [verbose]` prints, as VPP:
//!
//! ```text
//! 116 bytes from 10.1.1.2: icmp_seq=1 ttl=64 time=.1136 ms
//!
//! Statistics: 5 sent, 5 received, 0% packet loss
//! ```
//!
//! The echo payload is VPP's: identifier, sequence, the time the request was sent (8 bytes)
//! and `size` bytes of data (default 60), so the default reply is 116 bytes counted as VPP
//! counts them (IP total length plus the IP header length).

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;

use cli::{Args, CliError, Registry};
use engine::buffer::{BufferIndex, BUFFER_DATA_SIZE, INVALID_INDEX, RX, TX};
use engine::graph::{Node, NodeCx, NodeKind, NodeRegistration};
use engine::{Dataplane, Mode};
use parking_lot::Mutex;

use crate::wire::checksum;

/// VPP's default data length.
pub const DEFAULT_DATA_LEN: usize = 60;
/// Largest data length (what fits one buffer with the headers).
pub const MAX_DATA_LEN: usize = BUFFER_DATA_SIZE - 20 - 16;

/// One reply as the node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Sender.
    pub from: Ipv4Addr,
    /// ICMP sequence number.
    pub seq: u16,
    /// TTL of the reply.
    pub ttl: u8,
    /// VPP's byte count (IP total length plus IP header length).
    pub bytes: u16,
    /// Round trip on the forwarder's clock.
    pub rtt_ns: u64,
}

/// Pings in progress: replies by ICMP identifier.
#[derive(Debug, Default)]
pub struct PingTable {
    active: Vec<(u16, Vec<Reply>)>,
    next_id: u16,
}

impl PingTable {
    /// A free identifier, registered. Identifiers are handed out in order from 0xd000, so a
    /// replay sends the same bytes every time.
    fn open(&mut self) -> u16 {
        loop {
            let id = 0xd000u16.wrapping_add(self.next_id);
            self.next_id = self.next_id.wrapping_add(1);
            if !self.active.iter().any(|a| a.0 == id) {
                self.active.push((id, Vec::new()));
                return id;
            }
        }
    }

    fn close(&mut self, id: u16) {
        self.active.retain(|a| a.0 != id);
    }

    fn take(&mut self, id: u16) -> Vec<Reply> {
        self.active
            .iter_mut()
            .find(|a| a.0 == id)
            .map(|a| std::mem::take(&mut a.1))
            .unwrap_or_default()
    }

    /// Record a reply; false if no ping is waiting for this identifier.
    fn record(&mut self, id: u16, r: Reply) -> bool {
        match self.active.iter_mut().find(|a| a.0 == id) {
            // A flood of replies cannot grow the list without bound.
            Some(a) if a.1.len() < 65_536 => {
                a.1.push(r);
                true
            }
            Some(_) => true,
            None => false,
        }
    }
}

/// The table shared by the node and the command.
pub type SharedPing = Arc<Mutex<PingTable>>;

/// Errors of `ip4-icmp-echo-reply`.
pub mod errors {
    /// A reply for a ping in progress.
    pub const RECEIVED: u32 = 0;
    /// A reply nobody waits for.
    pub const UNKNOWN: u32 = 1;
    /// Shorter than an echo header with its timestamp.
    pub const TOO_SHORT: u32 = 2;
    /// Strings in code order.
    pub const STRINGS: &[&str] = &[
        "echo replies received",
        "echo replies for no ping in progress",
        "echo reply too short",
    ];
}

/// Node name.
pub const NODE: &str = "ip4-icmp-echo-reply";

/// Registration of `ip4-icmp-echo-reply`.
pub fn registration() -> NodeRegistration {
    NodeRegistration::new(NODE, NodeKind::Internal)
        .nexts(&["error-drop"])
        .errors(errors::STRINGS)
}

/// `ip4-icmp-echo-reply`: replies for our pings are recorded and freed; the others dropped
/// with a named error. Reached from ip4-icmp-input (type 0), at the IP header.
#[derive(Clone)]
pub struct Ip4IcmpEchoReply {
    /// Pings in progress.
    pub table: SharedPing,
}

impl Node for Ip4IcmpEchoReply {
    engine::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let now = cx.now_ns();
        let ebase = cx.error_index(0);
        let mut consumed = [0u32; engine::graph::FRAME_SIZE];
        let mut n_consumed = 0;
        let mut dropped = [0u32; engine::graph::FRAME_SIZE];
        let mut n_dropped = 0;
        let mut table = self.table.lock();
        for &bi in frame {
            let d = cx.vm.buffers.data(bi);
            let ihl = d.first().map_or(0, |b| (b & 15) as usize * 4);
            let code = if ihl < 20 || d.len() < ihl + 16 {
                errors::TOO_SHORT
            } else {
                let total = u16::from_be_bytes([d[2], d[3]]);
                let id = u16::from_be_bytes([d[ihl + 4], d[ihl + 5]]);
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&d[ihl + 8..ihl + 16]);
                let r = Reply {
                    from: Ipv4Addr::new(d[12], d[13], d[14], d[15]),
                    seq: u16::from_be_bytes([d[ihl + 6], d[ihl + 7]]),
                    ttl: d[8],
                    bytes: total.saturating_add(ihl as u16),
                    rtt_ns: now.saturating_sub(u64::from_le_bytes(ts)),
                };
                if table.record(id, r) {
                    errors::RECEIVED
                } else {
                    errors::UNKNOWN
                }
            };
            if code == errors::RECEIVED {
                consumed[n_consumed] = bi;
                n_consumed += 1;
            } else {
                cx.vm.buffers.meta_mut(bi).error = ebase + code;
                dropped[n_dropped] = bi;
                n_dropped += 1;
            }
        }
        drop(table);
        cx.count_error(errors::RECEIVED, n_consumed as u64);
        // A reply is the command's, not a drop: freed here, as VPP's process frees it.
        cx.vm.buffers.free(&consumed[..n_consumed]);
        cx.enqueue_slot(0, &dropped[..n_dropped]);
    }
}

/// Register the command.
pub fn register(reg: &mut Registry<Dataplane>) {
    reg.register(
        "ping",
        "ping <ip4-addr> [ipv4] [source <interface>] [table-id <id>] [size <bytes>] [interval <seconds>] [repeat <count>] [ttl <n>] [burst <n>] [verbose]",
        ping,
    )
    .expect("unique command path");
}

fn err(m: impl Into<String>) -> CliError {
    CliError::new(m)
}

struct Options {
    dst: Ipv4Addr,
    source: Option<u32>,
    table_id: Option<u32>,
    size: usize,
    interval_s: f64,
    repeat: u32,
    ttl: u8,
    burst: u32,
    verbose: bool,
}

fn parse(dp: &Dataplane, a: &mut Args) -> Result<Options, CliError> {
    a.keyword("ipv4");
    let w = a.peek().unwrap_or_default().to_string();
    let dst = a
        .ip4()
        .map_err(|_| err(format!("expected an IPv4 address to ping, got `{w}`")))?;
    let mut o = Options {
        dst,
        source: None,
        table_id: None,
        size: DEFAULT_DATA_LEN,
        interval_s: 1.0,
        repeat: 5,
        ttl: crate::nodes::ip4_local::HOST_TTL,
        burst: 1,
        verbose: false,
    };
    while !a.is_empty() {
        if a.keyword("source") {
            o.source = Some(engine::commands::interface_arg(dp, a)?);
        } else if a.keyword("table-id") {
            o.table_id = Some(a.u32()?);
        } else if a.keyword("size") {
            let n = a.u32()? as usize;
            if n > MAX_DATA_LEN {
                return Err(err(format!(
                    "size {n} is too large: at most {MAX_DATA_LEN} bytes fit one buffer"
                )));
            }
            o.size = n;
        } else if a.keyword("interval") {
            let w = a.next_word().unwrap_or_default();
            o.interval_s = w
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
                .ok_or_else(|| {
                    err(format!(
                        "`interval`: expected seconds between 0 and 3600 (e.g. 0.2), got `{w}`"
                    ))
                })?;
        } else if a.keyword("repeat") {
            o.repeat = a.u32()?;
            if o.repeat == 0 {
                return Err(err("`repeat` must be at least 1"));
            }
        } else if a.keyword("ttl") {
            o.ttl = a.u8()?;
        } else if a.keyword("burst") {
            o.burst = a.u32()?;
            if !(1..=64).contains(&o.burst) {
                return Err(err(format!(
                    "burst size must be between 1 and 64, got {}",
                    o.burst
                )));
            }
        } else if a.keyword("verbose") {
            o.verbose = true;
        } else {
            return Err(a.unknown());
        }
    }
    Ok(o)
}

/// The request's IPv4 packet.
fn request(src: Ipv4Addr, o: &Options, id: u16, seq: u16, now_ns: u64) -> Vec<u8> {
    let icmp_len = 16 + o.size;
    let total = 20 + icmp_len;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = o.ttl;
    p[9] = 1;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&o.dst.octets());
    let c = checksum::ipv4_header_checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let icmp = &mut p[20..];
    icmp[0] = 8;
    icmp[4..6].copy_from_slice(&id.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    icmp[8..16].copy_from_slice(&now_ns.to_le_bytes());
    for (k, b) in icmp[16..].iter_mut().enumerate() {
        *b = k as u8;
    }
    let c = checksum::checksum(icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// VPP prints milliseconds with `%.4f` through its own formatter, which drops the leading zero.
fn format_ms(ns: u64) -> String {
    let s = format!("{:.4}", ns as f64 / 1e6);
    match s.strip_prefix('0') {
        Some(rest) if rest.starts_with('.') => rest.to_string(),
        _ => s,
    }
}

fn ping(dp: &mut Dataplane, a: &mut Args) -> Result<String, CliError> {
    let o = parse(dp, a)?;
    let h = crate::ip4(dp).clone();
    let table = dp
        .ext::<SharedPing>()
        .cloned()
        .ok_or_else(|| err("ping is not available: the IPv4 nodes are not registered"))?;
    // The table to look the destination up in, and the source address: the source
    // interface's, or that of the interface the route leaves by (the destination itself when
    // it is one of ours), as VPP picks it.
    let (fib_index, src) = {
        let fib = h.fib.read();
        let fib_index = match (o.table_id, o.source) {
            (Some(id), _) => fib
                .fib_index(id)
                .ok_or_else(|| err(format!("table-id {id} does not exist")))?,
            (None, Some(sw)) => fib.interface_fib(sw),
            (None, None) => 0,
        };
        let src = match o.source {
            Some(sw) => fib.interface_address(sw).ok_or_else(|| {
                err("the source interface has no IPv4 address: set one with `set interface ip address`")
            })?,
            None => {
                let lb = fib.lookup(fib_index, u32::from(o.dst));
                match fib.lb_egress(lb).and_then(|sw| fib.interface_address(sw)) {
                    Some(a) => a,
                    None if fib.is_local_address(o.dst) => o.dst,
                    None => {
                        return Err(err(format!(
                            "no route to {} with an interface address to send from: give `source <interface>`",
                            o.dst
                        )))
                    }
                }
            }
        };
        (fib_index, src)
    };
    let lookup = dp
        .graph
        .node_index("ip4-lookup")
        .ok_or_else(|| err("ip4-lookup is not registered"))?;
    let id = table.lock().open();
    let mut out = String::new();
    let (mut sent, mut received) = (0u32, 0u32);
    let live = dp.mode == Mode::Live;
    let interval = std::time::Duration::from_secs_f64(o.interval_s);
    'outer: for seq in 1..=o.repeat {
        let started = std::time::Instant::now();
        for _ in 0..o.burst {
            let now = dp.graph.vm.clock.now_ns();
            let p = request(src, &o, id, seq as u16, now);
            let Some(bi) = dp.graph.vm.buffers.alloc_one() else {
                let _ = writeln!(out, "Failed: no buffers");
                continue;
            };
            dp.graph.vm.buffers.fill(bi, &p);
            let m = dp.graph.vm.buffers.meta_mut(bi);
            m.sw_if_index[RX] = o.source.unwrap_or(0);
            // Ours: ip4-rewrite leaves the TTL as given.
            m.flags |= engine::buffer::flags::LOCALLY_ORIGINATED;
            // ip4-lookup takes a set TX index as the table to use, as VPP's.
            m.sw_if_index[TX] = if o.table_id.is_some() || o.source.is_some() {
                fib_index
            } else {
                INVALID_INDEX
            };
            dp.graph.inject(lookup, &[bi]);
            sent += 1;
            if o.verbose {
                let _ = writeln!(out, "Sent {} bytes to {} (icmp_seq={seq})", p.len(), o.dst);
            }
        }
        // Replies until it is time for the next request. A replay runs the graph once and
        // does not wait: its clock is the pcap's and its output must not depend on timing.
        loop {
            let mut idle = true;
            if live {
                // The graph runs here while the command waits, without yield_now's 2 ms
                // throttle (that is for commands with work of their own): the round trip
                // measured is the forwarder's, not the poll period.
                if dp.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break 'outer;
                }
                idle = dp.graph.run_once() == 0 && !dp.graph.has_pending();
                dp.run_processes();
            } else {
                dp.run_until_idle();
            }
            for r in table.lock().take(id) {
                received += 1;
                let _ = writeln!(
                    out,
                    "{} bytes from {}: icmp_seq={} ttl={} time={} ms",
                    r.bytes,
                    r.from,
                    r.seq,
                    r.ttl,
                    format_ms(r.rtt_ns)
                );
            }
            if !live || started.elapsed() >= interval {
                break;
            }
            if idle {
                std::thread::sleep(std::time::Duration::from_micros(20));
            }
        }
    }
    table.lock().close(id);
    let loss = if sent == 0 {
        0.0
    } else {
        100.0 * (sent.saturating_sub(received)) as f64 / sent as f64
    };
    let _ = write!(
        out,
        "\nStatistics: {sent} sent, {received} received, {loss:.0}% packet loss"
    );
    Ok(out)
}

/// Register the node's state and command (called by [`crate::init`]).
pub fn init(dp: &mut Dataplane, reg: &mut Registry<Dataplane>, table: SharedPing) {
    dp.insert_ext(table);
    register(reg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_as_vpp_prints_them() {
        assert_eq!(format_ms(113_600), ".1136");
        assert_eq!(format_ms(2_500_000), "2.5000");
        assert_eq!(format_ms(0), ".0000");
    }

    #[test]
    fn identifiers_are_unique_while_open() {
        let mut t = PingTable::default();
        let a = t.open();
        let b = t.open();
        assert_ne!(a, b);
        let r = Reply {
            from: Ipv4Addr::LOCALHOST,
            seq: 1,
            ttl: 64,
            bytes: 116,
            rtt_ns: 0,
        };
        assert!(t.record(a, r));
        assert_eq!(t.take(a).len(), 1);
        t.close(a);
        assert!(!t.record(a, r));
    }
}
