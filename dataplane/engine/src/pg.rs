//! Packet generator, as VPP's `pg`: `create packet-generator interface pgN`,
//! `packet-generator new { ... }`, `enable-stream` / `disable-stream` / `delete`,
//! `packet-generator capture`, `show packet-generator`, and the `pg-input` node.
//!
//! A stream sends either the frames of a pcap file, looped (`pcap FILE`), or packets generated
//! from a description in VPP's syntax (`data { IP4: ... UDP: ... }`, see [`syntax`] and
//! [`edit`]), until `limit` packets were sent (0: no limit), at most 256 per dispatch, entering
//! the graph at its `node` with the RX interface set to the stream's `interface`. Enabling a
//! stream that is not running starts it again from its first packet (VPP resets the count).
//!
//! Replays feed pg interfaces too (`dataplane replay --input pg0=FILE`): frames queued on a pg
//! interface's memory device enter through `pg-input` at their time, traced as a stream named
//! `replay-pgN`, then go to `ethernet-input` (or the interface's device-input features).
//!
//! `packet-generator capture pgN pcap FILE [count N]` writes what pgN transmits to FILE.

pub mod edit;
pub mod syntax;

use std::fmt::Write;
use std::path::PathBuf;

use cli::{Args, CliError, Registry};

use crate::buffer::{BufferIndex, INVALID_INDEX};
use crate::commands::{center, default_mac, left};
use crate::feature::{FeatureMain, SharedFeatures};
use crate::graph::{FormatEnv, Node, NodeCx, NodeIndex, NodeState, FRAME_SIZE};
use crate::interface::{device_handle, DeviceClass, DeviceHandle, MemoryDevice, SharedInterfaces};
use crate::trace::TraceRecord;
use crate::{Dataplane, HeaderFormatter};

pub use edit::{PgRng, Template, Value};

/// Added to the seed of every stream's generator of random values (`seed N` in
/// `packet-generator new` sets a stream's own).
pub const DEFAULT_SEED: u64 = 0x7067_2d69_6e70_7574;

/// What a stream sends.
#[derive(Clone, Debug)]
pub enum PgSource {
    /// The frames of a pcap file, looped.
    Pcap(Vec<Vec<u8>>),
    /// Packets generated from a `data { ... }` description.
    Data(Template),
}

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
    /// TX sw_if_index given to the packets (`tx-interface`, or `node IF`; `INVALID_INDEX`: none).
    pub tx_sw_if_index: u32,
    /// What it sends.
    pub source: PgSource,
    /// Next slot in pg-input for the stream's first node.
    pub next_slot: u16,
    /// Name of the first node.
    pub node_name: String,
    /// Whether the stream is running.
    pub enabled: bool,
    /// Largest number of packets per dispatch (`maxframe`, at most 256).
    pub max_frame: usize,
    /// Generator of the random fields and sizes.
    rng: PgRng,
    /// Index of the next pcap frame to send.
    cursor: usize,
}

impl PgStream {
    /// A disabled stream; `seed` seeds its random fields.
    pub fn new(
        name: String,
        limit: u64,
        sw_if_index: u32,
        source: PgSource,
        next_slot: u16,
        node_name: String,
        seed: u64,
    ) -> Self {
        PgStream {
            name,
            limit,
            sent: 0,
            sw_if_index,
            tx_sw_if_index: INVALID_INDEX,
            source,
            next_slot,
            node_name,
            enabled: false,
            max_frame: FRAME_SIZE,
            rng: PgRng::new(seed),
            cursor: 0,
        }
    }

    /// True once the limit was reached.
    pub fn is_done(&self) -> bool {
        self.limit != 0 && self.sent >= self.limit
    }

    /// Back to the first packet: nothing sent, pcap at its first frame, increments at their low
    /// values, random values from the start of their sequence (a rerun sends the same packets).
    pub fn restart(&mut self) {
        self.sent = 0;
        self.cursor = 0;
        self.rng.reset();
        if let PgSource::Data(t) = &mut self.source {
            t.reset();
        }
    }

    /// Enable or disable; enabling a stream that is not running restarts it (VPP's
    /// `pg_stream_enable_disable` resets the packet count).
    pub fn set_enabled(&mut self, on: bool) {
        if on && !self.enabled {
            self.restart();
        }
        self.enabled = on;
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

/// Slot of `ethernet-input` in pg-input (its registered next).
const ETHERNET_INPUT_SLOT: u16 = 0;

/// Set in a trace record's stream field for a frame a replay fed (the low bits are the
/// sw_if_index of the pg interface).
const REPLAY_TAG: u64 = 1 << 32;

/// A pg interface whose memory device a replay feeds.
pub struct PgRxInterface {
    /// The interface.
    pub sw_if_index: u32,
    /// Its device (frames queued on its `rx`).
    pub device: DeviceHandle,
}

/// The `pg-input` node and the streams it runs.
pub struct PgInput {
    /// Streams (index = stream index in traces).
    pub streams: Vec<PgStream>,
    /// pg interfaces, polled for frames a replay queued.
    pub rx: Vec<PgRxInterface>,
    /// Interface tables (names in traces).
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

    /// True if a replay queued frames on a pg interface.
    pub fn rx_pending(&self) -> bool {
        self.rx.iter().any(|r| r.device.lock().rx_pending())
    }
}

/// What every packet pg-input sends gets: its interfaces, the device-input features of its RX
/// interface, a trace record. Returns the slot to send it to.
#[inline]
#[allow(clippy::too_many_arguments)]
fn start_packet(
    cx: &mut NodeCx<'_>,
    features: &FeatureMain,
    arc: u8,
    bi: BufferIndex,
    (rx, tx): (u32, u32),
    slot: u16,
    tag: u64,
) -> u16 {
    let node = cx.node_index();
    let m = cx.vm.buffers.meta_mut(bi);
    m.sw_if_index = [rx, tx];
    let next = features.start(arc, node, rx, m).unwrap_or(slot);
    if cx.tracing() && cx.maybe_start_trace(bi) {
        let data = cx.vm.buffers.data(bi);
        let len = data.len();
        let mut tmp = [0u8; 128];
        let c = len.min(128);
        tmp[..c].copy_from_slice(&data[..c]);
        if let Some(r) = cx.trace(bi) {
            r.u[0] = tag;
            r.u[1] = len as u64;
            r.u[2] = rx as u64;
            r.u[3] = bi as u64;
            r.set_data(&tmp[..c], 128);
        }
    }
    next
}

/// Hand `bufs` to their slots (`u16::MAX`: error-drop as too long), in runs of the same slot.
fn dispatch(cx: &mut NodeCx<'_>, bufs: &[BufferIndex], nexts: &[u16]) {
    let n = bufs.len();
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
}

impl Node for PgInput {
    fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
        let mut total = 0;
        let features = cx.config().get(self.features);
        let arc = self.device_input_arc;
        for (si, s) in self.streams.iter_mut().enumerate() {
            if !s.enabled || matches!(&s.source, PgSource::Pcap(f) if f.is_empty()) {
                continue;
            }
            if s.is_done() {
                s.enabled = false;
                continue;
            }
            let mut want = s.max_frame.clamp(1, FRAME_SIZE);
            if s.limit != 0 {
                want = want.min((s.limit - s.sent) as usize);
            }
            let mut bufs = [0 as BufferIndex; FRAME_SIZE];
            let n = cx.vm.buffers.alloc(&mut bufs[..want]);
            if n < want {
                cx.count_error(errors::NO_BUFFERS, (want - n) as u64);
            }
            let mut nexts = [s.next_slot; FRAME_SIZE];
            let mut bytes = 0u64;
            for (k, &bi) in bufs[..n].iter().enumerate() {
                let ok = match &mut s.source {
                    PgSource::Pcap(frames) => {
                        let pkt = &frames[s.cursor % frames.len()];
                        s.cursor = (s.cursor + 1) % frames.len();
                        cx.vm.buffers.fill(bi, pkt)
                    }
                    PgSource::Data(t) => {
                        // Generated in place: a copy of the base, then the changing fields.
                        let len = t.next_len(&mut s.rng);
                        let ok = cx.vm.buffers.fill(bi, &t.base()[..len]);
                        if ok {
                            t.apply(cx.vm.buffers.data_mut(bi), &mut s.rng);
                        }
                        ok
                    }
                };
                if !ok {
                    cx.set_error(bi, errors::TOO_LONG);
                    nexts[k] = u16::MAX;
                    continue;
                }
                bytes += cx.vm.buffers.meta(bi).current_length() as u64;
                let ifs = (s.sw_if_index, s.tx_sw_if_index);
                nexts[k] = start_packet(cx, features, arc, bi, ifs, s.next_slot, si as u64);
            }
            s.sent += n as u64;
            {
                let c = cx.vm.if_counters_mut(s.sw_if_index);
                c.rx_packets += n as u64;
                c.rx_bytes += bytes;
            }
            dispatch(cx, &bufs[..n], &nexts[..n]);
            total += n;
            if s.is_done() {
                s.enabled = false;
            }
        }
        // Frames a replay queued on pg interfaces: as a stream would send them.
        for r in &self.rx {
            let mut bufs = [0 as BufferIndex; FRAME_SIZE];
            let now = cx.now_ns();
            let burst = r.device.lock().rx_burst(&mut cx.vm.buffers, &mut bufs, now);
            if burst.no_buf > 0 {
                cx.count_error(errors::NO_BUFFERS, burst.no_buf);
                cx.vm.if_counters_mut(r.sw_if_index).rx_no_buf += burst.no_buf;
            }
            if burst.errors > 0 {
                cx.count_error(errors::TOO_LONG, burst.errors);
            }
            let n = burst.n;
            if n == 0 {
                continue;
            }
            let mut nexts = [ETHERNET_INPUT_SLOT; FRAME_SIZE];
            let mut bytes = 0u64;
            let tag = REPLAY_TAG | r.sw_if_index as u64;
            for (k, &bi) in bufs[..n].iter().enumerate() {
                bytes += cx.vm.buffers.meta(bi).current_length() as u64;
                let ifs = (r.sw_if_index, INVALID_INDEX);
                nexts[k] = start_packet(cx, features, arc, bi, ifs, ETHERNET_INPUT_SLOT, tag);
            }
            let c = cx.vm.if_counters_mut(r.sw_if_index);
            c.rx_packets += n as u64;
            c.rx_bytes += bytes;
            dispatch(cx, &bufs[..n], &nexts[..n]);
            total += n;
        }
        if !self.any_active() && !self.rx_pending() {
            cx.set_polling(false);
        }
        total
    }

    fn format_trace(&self, rec: &TraceRecord, env: &FormatEnv<'_>, s: &mut String) {
        let indent = crate::column(s);
        let tag = rec.u[0];
        if tag & REPLAY_TAG != 0 {
            let name = env.table(self.interfaces).name(tag as u32);
            let _ = write!(s, "stream replay-{name}");
        } else {
            match self.streams.get(tag as usize) {
                Some(st) => {
                    let _ = write!(s, "stream {}", st.name);
                }
                None => {
                    let _ = write!(s, "stream {tag}");
                }
            }
        }
        let _ = write!(
            s,
            ", {} bytes, {} sw_if_index",
            rec.u[1], rec.u[2] as u32 as i32
        );
        s.push('\n');
        crate::push_spaces(s, indent);
        let _ = write!(
            s,
            "current data 0, length {}, free-list 0, clone-count 0, trace 0x{:x}",
            rec.u[1], 0
        );
        s.push('\n');
        crate::push_spaces(s, indent);
        match self.header_format {
            Some(f) => f(s, rec.data(), 128),
            None => crate::format_hex(s, rec.data()),
        }
    }
}

/// Make `pg-input` poll (a replay queued frames on a pg interface).
pub fn wake(dp: &mut Dataplane) {
    if let Some(pgi) = dp.graph.node_index("pg-input") {
        dp.graph.set_node_state(pgi, NodeState::Polling);
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
            "packet-generator new { name <s> [limit <n>] [interface <if>] [tx-interface <if>] [node <node>|<if>] [size <min>-<max>|<min>+<max>] [maxframe <n>] [seed <n>] pcap <file> | data { ... } }",
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
        (
            "packet-generator capture",
            "packet-generator capture <interface> pcap <filename> [count <n>] | <interface> disable",
            pg_capture,
        ),
        ("show packet-generator", "show packet-generator", show_pg),
    ];
    for (path, help, h) in cmds {
        reg.register(path, help, *h)
            .expect("pg command paths are unique");
    }
}

fn pg_input(dp: &mut Dataplane) -> Result<(NodeIndex, &mut PgInput), CliError> {
    let pgi = dp
        .graph
        .node_index("pg-input")
        .ok_or_else(|| err("pg-input is not registered"))?;
    let pg = dp
        .graph
        .node_mut::<PgInput>(pgi)
        .ok_or_else(|| err("pg-input has an unexpected type"))?;
    Ok((pgi, pg))
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
    Ok(dp.interface_main().name(sw))
}

/// Parse a count written as an integer or in VPP's float form (`5e7`).
fn parse_count(w: &str) -> Option<u64> {
    if let Ok(n) = w.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = w.parse().ok()?;
    (f >= 0.0 && f.is_finite() && f.fract() == 0.0).then_some(f as u64)
}

/// `size A-B` (increment), `A+B` (random) or `A`.
fn parse_size(w: &str) -> Option<Value> {
    let num = |s: &str| s.parse::<u64>().ok().filter(|&n| n <= 65535);
    let v = if let Some((lo, hi)) = w.split_once('-') {
        Value::Increment(num(lo)?, num(hi)?)
    } else if let Some((lo, hi)) = w.split_once('+') {
        Value::Random(num(lo)?, num(hi)?)
    } else {
        Value::Fixed(num(w)?)
    };
    Some(match v {
        Value::Increment(lo, hi) | Value::Random(lo, hi) if lo == hi => Value::Fixed(lo),
        v => v,
    })
}

/// A seed from a stream's name (FNV-1a), so streams without `seed` still differ.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    }) ^ DEFAULT_SEED
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
    let (mut data, mut size, mut seed, mut tx_if, mut source) = (None, None, None, None, None);
    let mut max_frame = FRAME_SIZE;
    let value = |args: &mut Args, key: &str| {
        args.next_word()
            .ok_or_else(|| err(format!("expected a value after `{key}`")))
    };
    while !args.is_empty() {
        if args.keyword("name") {
            name = Some(value(args, "name")?);
        } else if args.keyword("limit") {
            let w = args.next_word().unwrap_or_default();
            limit = parse_count(&w)
                .ok_or_else(|| err(format!("expected a packet count after `limit`, got `{w}`")))?;
        } else if args.keyword("interface") {
            ifname = Some(value(args, "interface")?);
        } else if args.keyword("tx-interface") {
            tx_if = Some(value(args, "tx-interface")?);
        } else if args.keyword("source") {
            source = Some(value(args, "source")?);
        } else if args.keyword("pcap") {
            pcap = Some(value(args, "pcap")?);
        } else if args.keyword("node") {
            node = Some(value(args, "node")?);
        } else if args.keyword("size") {
            let w = args.next_word().unwrap_or_default();
            size = Some(parse_size(&w).ok_or_else(|| {
                err(format!(
                    "expected `size MIN-MAX` (increasing) or `size MIN+MAX` (random), bytes up to 65535, got `size {w}`"
                ))
            })?);
        } else if args.keyword("data") {
            let mut blk = args.block().map_err(|_| {
                err(format!(
                    "expected `data {{ ... }}` (the packet description in braces), got `data {}`",
                    args.remaining()
                ))
            })?;
            data = Some(blk.take_rest());
        } else if args.keyword("maxframe") {
            let n = args.u32()?;
            max_frame = (n as usize).clamp(1, FRAME_SIZE);
        } else if args.keyword("seed") {
            seed = Some(args.u64()?);
        } else if args.keyword("rate") || args.keyword("worker") || args.keyword("buffer-size") {
            args.next_word();
        } else {
            return Err(args.unknown());
        }
    }
    let name = name.ok_or_else(|| err("expected `name <stream name>`"))?;
    let rx_name = ifname.or(source).unwrap_or_else(|| "pg0".to_string());
    let sw = dp.sw_if_index(&rx_name).map_err(|e| {
        err(format!(
            "{e}: the stream needs `interface <if>` (its packets' RX interface; pg0 by default)"
        ))
    })?;
    let mut tx = match &tx_if {
        Some(i) => dp.sw_if_index(i).map_err(err)?,
        None => INVALID_INDEX,
    };
    // `node IF` is the interface's output node, packets sent on IF (as VPP).
    let node_name = match node {
        Some(n) if dp.interface_main().by_name(&n).is_some() => {
            tx = dp.sw_if_index(&n).map_err(err)?;
            format!("{n}-output")
        }
        Some(n) => n,
        None if data.is_some() => {
            return Err(err(
                "a `data` stream needs `node <node>` (e.g. `node ethernet-input`): output interface or node not given",
            ))
        }
        None => "ethernet-input".to_string(),
    };
    if dp.graph.node_index(&node_name).is_none() {
        return Err(err(format!("unknown node `{node_name}`")));
    }
    let src = match (pcap, data) {
        (Some(_), Some(_)) => {
            return Err(err("give either `pcap <file>` or `data { ... }`, not both"))
        }
        (Some(pcap), None) => {
            let frames = crate::pcap::read_pcap(std::path::Path::new(&pcap)).map_err(err)?;
            if frames.is_empty() {
                return Err(err(format!("pcap `{pcap}` has no packets")));
            }
            PgSource::Pcap(frames.into_iter().map(|f| f.data).collect())
        }
        (None, Some(text)) => {
            if text.trim().is_empty() {
                return Err(err(
                    "`data { }` is empty: expected headers (e.g. `IP4: A -> B UDP: C -> D UDP: 1 -> 2`) and/or a payload (`incrementing N`, `hex 0x...`)",
                ));
            }
            let layer = syntax::Layer::of_node(&node_name);
            let size = size.unwrap_or(Value::Fixed(64));
            let t = syntax::parse(&text, layer, size, crate::buffer::BUFFER_DATA_SIZE)
                .map_err(|e| err(format!("data {{ ... }}: {e}")))?;
            PgSource::Data(t)
        }
        (None, None) => {
            return Err(err(
                "no packet data given: expected `pcap <file>` or `data { ... }`",
            ))
        }
    };
    let (pgi, pg) = pg_input(dp)?;
    if pg.stream_index(&name).is_some() {
        return Err(err(format!("stream `{name}` already exists")));
    }
    let seed = seed.map_or_else(|| name_seed(&name), |s| s ^ DEFAULT_SEED);
    let slot = dp.graph.add_next_by_name(pgi, &node_name);
    let mut st = PgStream::new(name, limit, sw, src, slot, node_name, seed);
    st.tx_sw_if_index = tx;
    st.max_frame = max_frame;
    let (_, pg) = pg_input(dp)?;
    pg.streams.push(st);
    Ok(String::new())
}

fn pg_enable_disable(dp: &mut Dataplane, a: &mut Args, on: bool) -> R {
    let want = a.next_word();
    a.expect_end()?;
    let (pgi, pg) = pg_input(dp)?;
    match &want {
        Some(n) => {
            let i = pg
                .stream_index(n)
                .ok_or_else(|| err(format!("unknown stream `{n}`")))?;
            pg.streams[i].set_enabled(on);
        }
        None => pg.streams.iter_mut().for_each(|s| s.set_enabled(on)),
    }
    let active = pg.any_active() || pg.rx_pending();
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
    let (_, pg) = pg_input(dp)?;
    let i = pg
        .stream_index(&n)
        .ok_or_else(|| err(format!("unknown stream `{n}`")))?;
    pg.streams.remove(i);
    Ok(String::new())
}

/// `packet-generator capture <interface> pcap <file> [count <n>]`: what the pg interface transmits
/// from now on goes to `file` (created now; an existing file is refused, as VPP does), the first
/// `n` frames only if given; `... <interface> disable` closes it.
fn pg_capture(dp: &mut Dataplane, a: &mut Args) -> R {
    const USAGE: &str =
        "packet-generator capture <interface> pcap <filename> [count <n>] | <interface> disable";
    let (mut sw, mut file, mut count, mut disable) = (None, None, None, false);
    while !a.is_empty() {
        if a.keyword("pcap") {
            file = Some(PathBuf::from(a.next_word().ok_or_else(|| {
                err(format!("expected a file name after `pcap`: {USAGE}"))
            })?));
        } else if a.keyword("count") {
            count = Some(a.u64()?);
        } else if a.keyword("disable") {
            disable = true;
        } else if sw.is_none() {
            let w = a.next_word().unwrap_or_default();
            sw = Some(
                dp.sw_if_index(&w)
                    .map_err(|e| err(format!("{e}: {USAGE}")))?,
            );
        } else {
            return Err(a.unknown());
        }
    }
    let sw = sw.ok_or_else(|| err(format!("expected an interface name: {USAGE}")))?;
    let class = dp.interface_main().hw_of(sw).map(|h| h.class);
    let ifname = dp.interface_main().name(sw);
    if class != Some(DeviceClass::Pg) {
        return Err(err(format!(
            "`{ifname}` is not a packet-generator interface (create packet-generator interface pg<N>)"
        )));
    }
    let handle = dp
        .devices
        .get(sw as usize)
        .and_then(|d| d.clone())
        .ok_or_else(|| err(format!("`{ifname}` has no device")))?;
    let sink = match (disable, file) {
        (true, _) => None,
        (false, None) => return Err(err(format!("expected `pcap <filename>`: {USAGE}"))),
        (false, Some(f)) => {
            let ts_offset_ns = dp.pcap_time_offset_ns();
            Some(crate::pcap::PcapSink::create(&f, count, ts_offset_ns).map_err(err)?)
        }
    };
    let mut g = handle.lock();
    let any: &mut dyn std::any::Any = g.as_mut();
    let d = any
        .downcast_mut::<MemoryDevice>()
        .ok_or_else(|| err(format!("`{ifname}` has no packet-generator device")))?;
    // The previous capture, if any, is closed (its file complete) by the replacement.
    d.pcap = sink;
    Ok(String::new())
}

fn show_pg(dp: &mut Dataplane, a: &mut Args) -> R {
    a.expect_end()?;
    let (_, pg) = pg_input(dp)?;
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
        let what = match &st.source {
            PgSource::Pcap(f) => format!("{} packets in pcap", f.len()),
            PgSource::Data(t) => {
                let (lo, hi, random) = t.sizes();
                format!("size {lo}{}{hi}", if random { '+' } else { '-' })
            }
        };
        let _ = write!(
            s,
            "\n{}{}{:>16}  limit {}, {what}, node {}{}",
            left(&st.name, 16),
            center(if on { "Yes" } else { "No" }, 12),
            st.sent,
            st.limit,
            st.node_name,
            if st.is_done() { ", done" } else { "" }
        );
    }
    Ok(s)
}
