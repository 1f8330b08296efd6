//! Packet generator, as VPP's `pg`: `create packet-generator interface pgN`,
//! `packet-generator new { name S limit N interface pgN pcap FILE [node NODE] }`,
//! `packet-generator enable-stream [S]`, `show packet-generator`, and the `pg-input` node.
//!
//! A stream loops over the frames of its pcap file until `limit` packets were sent (0: no limit),
//! 256 per dispatch, entering the graph at `ethernet-input` (or the node given) with the RX
//! interface set to the stream's pg interface.
//!
//! [`edit`] and [`syntax`] compile VPP's packet descriptions (`data { ... }`) into templates.

pub mod edit;
pub mod syntax;

use std::fmt::Write;

use cli::{Args, CliError, Registry};

use crate::buffer::{BufferIndex, BufferMeta, INVALID_INDEX};
use crate::commands::{center, default_mac, left};
use crate::feature::SharedFeatures;
use crate::graph::{FormatEnv, Node, NodeCx, NodeState, FRAME_SIZE};
use crate::interface::{device_handle, DeviceClass, MemoryDevice, SharedInterfaces};
use crate::trace::TraceRecord;
use crate::{Dataplane, HeaderFormatter};

/// One stream.
#[derive(Debug, Clone)]
pub struct PgStream {
    /// Stream name.
    pub name: String,
    /// Packets to send (0 = unlimited).
    pub limit: u64,
    /// Packets sent so far.
    pub sent: u64,
    /// RX sw_if_index given to the packets.
    pub sw_if_index: u32,
    /// Frames to send, looped.
    pub packets: Vec<Vec<u8>>,
    /// Next slot in pg-input for the stream's first node.
    pub next_slot: u16,
    /// Name of the first node.
    pub node_name: String,
    /// Whether the stream is running.
    pub enabled: bool,
    /// Index into `packets` of the next frame to send.
    cursor: usize,
}

impl PgStream {
    /// A disabled stream.
    pub fn new(
        name: String,
        limit: u64,
        sw_if_index: u32,
        packets: Vec<Vec<u8>>,
        next_slot: u16,
        node_name: String,
    ) -> Self {
        PgStream {
            name,
            limit,
            sent: 0,
            sw_if_index,
            packets,
            next_slot,
            node_name,
            enabled: false,
            cursor: 0,
        }
    }

    /// True once the limit was reached.
    pub fn is_done(&self) -> bool {
        self.limit != 0 && self.sent >= self.limit
    }
}

/// Errors of pg-input.
pub mod errors {
    /// No buffers left in the pool.
    pub const NO_BUFFERS: u32 = 0;
    /// A pcap frame longer than a buffer.
    pub const TOO_LONG: u32 = 1;
    /// Strings in code order.
    pub const STRINGS: &[&str] = &["buffer allocation failure", "packet longer than a buffer"];
}

/// The `pg-input` node and the streams it runs.
pub struct PgInput {
    /// Streams (index = stream index in traces).
    pub streams: Vec<PgStream>,
    /// Interface tables (rx counters, device-input features).
    pub interfaces: SharedInterfaces,
    /// Feature arcs (device-input).
    pub features: SharedFeatures,
    /// Arc index of device-input.
    pub device_input_arc: u8,
    /// Formatter for the first node's buffer (ethernet header with length).
    pub header_format: Option<HeaderFormatter>,
}

impl PgInput {
    /// Index of a stream by name.
    pub fn stream_index(&self, name: &str) -> Option<usize> {
        self.streams.iter().position(|s| s.name == name)
    }

    /// True if any stream is enabled and not done.
    pub fn any_active(&self) -> bool {
        self.streams.iter().any(|s| s.enabled && !s.is_done())
    }
}

impl Node for PgInput {
    fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
        let mut total = 0;
        let features = self.features.read();
        let node = cx.node_index();
        for (si, s) in self.streams.iter_mut().enumerate() {
            if !s.enabled || s.packets.is_empty() {
                continue;
            }
            if s.is_done() {
                s.enabled = false;
                continue;
            }
            let want = if s.limit == 0 {
                FRAME_SIZE
            } else {
                ((s.limit - s.sent) as usize).min(FRAME_SIZE)
            };
            let mut bufs = [0 as BufferIndex; FRAME_SIZE];
            let n = cx.vm.buffers.alloc(&mut bufs[..want]);
            if n < want {
                cx.count_error(errors::NO_BUFFERS, (want - n) as u64);
            }
            let mut nexts = [s.next_slot; FRAME_SIZE];
            let mut bytes = 0u64;
            for (k, &bi) in bufs[..n].iter().enumerate() {
                let pkt = &s.packets[s.cursor];
                s.cursor += 1;
                if s.cursor == s.packets.len() {
                    s.cursor = 0;
                }
                if !cx.vm.buffers.fill(bi, pkt) {
                    cx.set_error(bi, errors::TOO_LONG);
                    nexts[k] = u16::MAX; // error-drop below
                    continue;
                }
                bytes += pkt.len() as u64;
                let m: &mut BufferMeta = cx.vm.buffers.meta_mut(bi);
                m.sw_if_index = [s.sw_if_index, INVALID_INDEX];
                if let Some(slot) = features.start(self.device_input_arc, node, s.sw_if_index, m) {
                    nexts[k] = slot;
                }
                if cx.tracing() && cx.maybe_start_trace(bi) {
                    let data_len = pkt.len();
                    let mut tmp = [0u8; 128];
                    let c = data_len.min(128);
                    tmp[..c].copy_from_slice(&pkt[..c]);
                    let sw = s.sw_if_index;
                    if let Some(r) = cx.trace(bi) {
                        r.u[0] = si as u64;
                        r.u[1] = data_len as u64;
                        r.u[2] = sw as u64;
                        r.u[3] = bi as u64;
                        r.set_data(&tmp[..c], 128);
                    }
                }
            }
            s.sent += n as u64;
            {
                let c = cx.vm.if_counters_mut(s.sw_if_index);
                c.rx_packets += n as u64;
                c.rx_bytes += bytes;
            }
            // Frames too long for a buffer go to error-drop; everything else to its slot.
            let mut k = 0;
            while k < n {
                if nexts[k] == u16::MAX {
                    cx.drop_all(&bufs[k..k + 1], errors::TOO_LONG);
                    k += 1;
                    continue;
                }
                let mut j = k + 1;
                while j < n && nexts[j] == nexts[k] {
                    j += 1;
                }
                cx.enqueue_slot(nexts[k], &bufs[k..j]);
                k = j;
            }
            total += n;
            if s.is_done() {
                s.enabled = false;
            }
        }
        drop(features);
        if !self.any_active() {
            cx.set_polling(false);
        }
        total
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        let indent = crate::column(s);
        match self.streams.get(rec.u[0] as usize) {
            Some(st) => s.push_str(&format!("stream {}", st.name)),
            None => s.push_str(&format!("stream {}", rec.u[0])),
        }
        s.push_str(&format!(
            ", {} bytes, {} sw_if_index",
            rec.u[1], rec.u[2] as u32 as i32
        ));
        s.push('\n');
        crate::push_spaces(s, indent);
        s.push_str(&format!(
            "current data 0, length {}, free-list 0, clone-count 0, trace 0x{:x}",
            rec.u[1], 0
        ));
        s.push('\n');
        crate::push_spaces(s, indent);
        match self.header_format {
            Some(f) => f(s, rec.data(), 128),
            None => crate::format_hex(s, rec.data()),
        }
    }
}

type R = Result<String, CliError>;

fn err(msg: impl Into<String>) -> CliError {
    CliError::new(msg)
}

/// Register the packet generator's commands.
pub fn register(reg: &mut Registry<Dataplane>) {
    let cmds: &[(&str, &str, cli::Handler<Dataplane>)] = &[
        (
            "create packet-generator interface",
            "create packet-generator interface pg<N>",
            create_pg_interface,
        ),
        (
            "packet-generator new",
            "packet-generator new { name <s> limit <n> interface <if> pcap <file> [node <node>] [rate <pps>] }",
            pg_new,
        ),
        (
            "packet-generator enable-stream",
            "packet-generator enable-stream [<name>]",
            pg_enable,
        ),
        (
            "packet-generator disable-stream",
            "packet-generator disable-stream [<name>]",
            pg_disable,
        ),
        (
            "packet-generator delete",
            "packet-generator delete <name>",
            pg_delete,
        ),
        ("show packet-generator", "show packet-generator", show_pg),
    ];
    for (path, help, h) in cmds {
        reg.register(path, help, *h)
            .expect("pg command paths are unique");
    }
}

fn create_pg_interface(dp: &mut Dataplane, a: &mut Args) -> R {
    let w = a
        .next_word()
        .ok_or_else(|| err("expected pg<N>, e.g. pg0"))?;
    a.expect_end()?;
    let n: u32 = w
        .strip_prefix("pg")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| err(format!("expected pg<N>, got `{w}`")))?;
    let name = format!("pg{n}");
    let dev = device_handle(MemoryDevice::default());
    let sw = dp
        .create_interface(&name, DeviceClass::Pg, default_mac(0, n), n, dev)
        .map_err(err)?;
    Ok(dp.interfaces.read().name(sw))
}

fn pg_new(dp: &mut Dataplane, a: &mut Args) -> R {
    let mut inner;
    let args: &mut Args = if a.peek().is_some_and(|t| t.starts_with('{')) {
        inner = a.block()?;
        a.expect_end()?;
        &mut inner
    } else {
        a
    };
    let (mut name, mut limit, mut ifname, mut pcap, mut node) = (None, 0u64, None, None, None);
    while !args.is_empty() {
        if args.keyword("name") {
            name = args.next_word();
        } else if args.keyword("limit") {
            let w = args.next_word().unwrap_or_default();
            limit = parse_count(&w)
                .ok_or_else(|| err(format!("expected a packet count after `limit`, got `{w}`")))?;
        } else if args.keyword("interface") {
            ifname = args.next_word();
        } else if args.keyword("pcap") {
            pcap = args.next_word();
        } else if args.keyword("node") {
            node = args.next_word();
        } else if args.keyword("rate") || args.keyword("worker") {
            args.next_word();
        } else if args.keyword("size") || args.keyword("data") {
            return Err(err(
                "only pcap streams are supported: give `pcap FILE` instead of size/data",
            ));
        } else {
            return Err(args.unknown());
        }
    }
    let name = name.ok_or_else(|| err("expected `name <stream name>`"))?;
    let pcap = pcap.ok_or_else(|| err("no packet data given: expected `pcap <file>`"))?;
    let sw = match ifname {
        Some(i) => dp.sw_if_index(&i).map_err(err)?,
        None => dp
            .sw_if_index("pg0")
            .map_err(|_| err("expected `interface pg<N>` (no pg0 exists to default to)"))?,
    };
    let frames = crate::pcap::read_pcap(std::path::Path::new(&pcap)).map_err(err)?;
    if frames.is_empty() {
        return Err(err(format!("pcap `{pcap}` has no packets")));
    }
    let node_name = node.unwrap_or_else(|| "ethernet-input".to_string());
    let pgi = dp
        .graph
        .node_index("pg-input")
        .ok_or_else(|| err("pg-input is not registered"))?;
    if dp.graph.node_index(&node_name).is_none() {
        return Err(err(format!("unknown node `{node_name}`")));
    }
    let slot = dp.graph.add_next_by_name(pgi, &node_name);
    let pg = dp
        .graph
        .node_mut::<PgInput>(pgi)
        .ok_or_else(|| err("pg-input has an unexpected type"))?;
    if pg.stream_index(&name).is_some() {
        return Err(err(format!("stream `{name}` already exists")));
    }
    pg.streams.push(PgStream::new(
        name,
        limit,
        sw,
        frames.into_iter().map(|f| f.data).collect(),
        slot,
        node_name,
    ));
    Ok(String::new())
}

/// Parse a count written as an integer or in VPP's float form (`5e7`).
fn parse_count(w: &str) -> Option<u64> {
    if let Ok(n) = w.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = w.parse().ok()?;
    (f >= 0.0 && f.is_finite() && f.fract() == 0.0).then_some(f as u64)
}

fn pg_enable_disable(dp: &mut Dataplane, a: &mut Args, on: bool) -> R {
    let want = a.next_word();
    a.expect_end()?;
    let pgi = dp
        .graph
        .node_index("pg-input")
        .expect("pg-input registered");
    let pg = dp.graph.node_mut::<PgInput>(pgi).expect("pg-input type");
    match &want {
        Some(n) => {
            let i = pg
                .stream_index(n)
                .ok_or_else(|| err(format!("unknown stream `{n}`")))?;
            pg.streams[i].enabled = on;
        }
        None => pg.streams.iter_mut().for_each(|s| s.enabled = on),
    }
    let active = pg.any_active();
    dp.graph.set_node_state(
        pgi,
        if active {
            NodeState::Polling
        } else {
            NodeState::Disabled
        },
    );
    Ok(String::new())
}

fn pg_enable(dp: &mut Dataplane, a: &mut Args) -> R {
    pg_enable_disable(dp, a, true)
}

fn pg_disable(dp: &mut Dataplane, a: &mut Args) -> R {
    pg_enable_disable(dp, a, false)
}

fn pg_delete(dp: &mut Dataplane, a: &mut Args) -> R {
    let n = a.next_word().ok_or_else(|| err("expected a stream name"))?;
    a.expect_end()?;
    let pg = dp
        .graph
        .node_by_name_mut::<PgInput>("pg-input")
        .expect("pg-input type");
    let i = pg
        .stream_index(&n)
        .ok_or_else(|| err(format!("unknown stream `{n}`")))?;
    pg.streams.remove(i);
    Ok(String::new())
}

fn show_pg(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let pg = dp
        .graph
        .node_by_name_mut::<PgInput>("pg-input")
        .expect("pg-input type");
    if pg.streams.is_empty() {
        return Ok("no streams currently defined".into());
    }
    let mut s = format!(
        "{}{}{}Parameters",
        center("Name", 16),
        center("Enabled", 12),
        center("Count", 16)
    );
    for st in &pg.streams {
        let on = st.enabled && !st.is_done();
        let _ = write!(
            s,
            "\n{}{}{:>16}  limit {}, {} packets in pcap, node {}{}",
            left(&st.name, 16),
            center(if on { "Yes" } else { "No" }, 12),
            st.sent,
            st.limit,
            st.packets.len(),
            st.node_name,
            if st.is_done() { ", done" } else { "" }
        );
    }
    Ok(s)
}
