//! Interfaces: software and hardware interface tables, per-interface counters, the device trait,
//! and the `<ifname>-output` / `<ifname>-tx` nodes every interface gets.

use std::any::Any;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::buffer::{BufferIndex, BufferPool, INVALID_INDEX};
use crate::graph::{FormatEnv, Node, NodeCx, NodeIndex};
use crate::trace::TraceRecord;
use crate::HeaderFormatter;

/// Per-interface counters (one set per thread), as VPP's combined and simple counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Packets dropped that arrived on this interface.
    pub drops: u64,
    /// Packets punted.
    pub punts: u64,
    /// IPv4 packets received.
    pub ip4: u64,
    /// IPv6 packets received.
    pub ip6: u64,
    /// Receive attempts without a free buffer.
    pub rx_no_buf: u64,
    /// Packets the device missed.
    pub rx_miss: u64,
    /// Receive errors.
    pub rx_error: u64,
    /// Transmit errors (device refused or queue full).
    pub tx_error: u64,
}

impl IfCounters {
    /// Add another thread's counters.
    pub fn add(&mut self, o: &IfCounters) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.drops += o.drops;
        self.punts += o.punts;
        self.ip4 += o.ip4;
        self.ip6 += o.ip6;
        self.rx_no_buf += o.rx_no_buf;
        self.rx_miss += o.rx_miss;
        self.rx_error += o.rx_error;
        self.tx_error += o.tx_error;
    }
}

/// What backs an interface: selects its input node and the driver-specific trace text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// `local0`, the internal interface 0.
    Local,
    /// Packet generator interface (`pgN`), input node `pg-input`.
    Pg,
    /// TAP v2 with virtio-net header (`tapN`), input node `virtio-input`.
    Tap,
    /// AF_PACKET host interface (`host-IF`), input node `af-packet-input`.
    AfPacket,
    /// AF_XDP interface, input node `af_xdp-input`.
    AfXdp,
    /// DPDK port (`GigabitEthernetX/Y/Z`), input node `dpdk-input`.
    Dpdk,
    /// Loopback (`loopN`), no input node: what it sends comes back in through `ethernet-input`
    /// (or `l2-input` when it is a bridge domain's BVI).
    Loopback,
    /// VXLAN tunnel (`vxlan_tunnelN`): no device, its output node is `vxlan4-encap`.
    Vxlan,
    /// Geneve tunnel (`geneve_tunnelN`): no device, its output node is `geneve4-encap`.
    Geneve,
}

impl DeviceClass {
    /// Name of the driver's input node.
    pub fn input_node(self) -> Option<&'static str> {
        match self {
            DeviceClass::Local
            | DeviceClass::Loopback
            | DeviceClass::Vxlan
            | DeviceClass::Geneve => None,
            DeviceClass::Pg => Some("pg-input"),
            DeviceClass::Tap => Some("virtio-input"),
            DeviceClass::AfPacket => Some("af-packet-input"),
            DeviceClass::AfXdp => Some("af_xdp-input"),
            DeviceClass::Dpdk => Some("dpdk-input"),
        }
    }
}

/// A software interface (`show interface`).
#[derive(Clone, Debug)]
pub struct SwInterface {
    /// Index (0 is `local0`).
    pub sw_if_index: u32,
    /// Hardware interface behind it.
    pub hw_if_index: u32,
    /// Name (`tap0`, `pg1`, `GigabitEthernet0/8/0`).
    pub name: String,
    /// Administrative state.
    pub admin_up: bool,
    /// L3 MTU (bytes of IP packet).
    pub mtu: u32,
    /// IPv4 FIB index used for packets received here.
    pub fib_index: u32,
    /// The interface was deleted (its index waits for the next interface, as in VPP).
    pub deleted: bool,
    /// The interface is in L2 mode (bridged or cross-connected): its frames go to `l2-input`
    /// instead of the IPv4 path (drivers that classify by ethertype themselves look at this).
    pub l2_mode: bool,
}

/// A hardware interface.
#[derive(Clone, Debug)]
pub struct HwInterface {
    /// Index.
    pub hw_if_index: u32,
    /// The software interface it carries.
    pub sw_if_index: u32,
    /// Device class.
    pub class: DeviceClass,
    /// Ethernet address.
    pub mac: [u8; 6],
    /// Link state.
    pub link_up: bool,
    /// Driver instance number (the N of `tapN`, pgN).
    pub dev_instance: u32,
    /// Input node index (`INVALID_INDEX` if none).
    pub input_node: NodeIndex,
    /// `<name>-output` node.
    pub output_node: NodeIndex,
    /// `<name>-tx` node.
    pub tx_node: NodeIndex,
    /// Slot of ethernet-input (or the device-input arc start) in the input node (informational).
    pub rx_queue: u32,
    /// The driver options it was created with (`host-if-name`, `host-ns`, ...: `show tap`).
    pub options: Vec<(String, String)>,
    /// Thread that polls its receive queues (0: main; `show interface rx-placement`).
    pub rx_thread: u32,
}

/// The interface tables (shared; read per frame by nodes, written by the CLI).
#[derive(Clone, Debug, Default)]
pub struct InterfaceMain {
    /// Software interfaces by sw_if_index.
    pub sw: Vec<SwInterface>,
    /// Hardware interfaces by hw_if_index.
    pub hw: Vec<HwInterface>,
}

impl InterfaceMain {
    /// Find a (not deleted) interface by name.
    pub fn by_name(&self, name: &str) -> Option<&SwInterface> {
        self.sw.iter().find(|s| s.name == name && !s.deleted)
    }

    /// Software interface by index.
    #[inline]
    pub fn sw(&self, sw_if_index: u32) -> Option<&SwInterface> {
        self.sw.get(sw_if_index as usize)
    }

    /// Hardware interface of a software interface.
    #[inline]
    pub fn hw_of(&self, sw_if_index: u32) -> Option<&HwInterface> {
        let s = self.sw.get(sw_if_index as usize)?;
        self.hw.get(s.hw_if_index as usize)
    }

    /// Name of an interface, or `sw_if_index: N` for unknown/deleted ones (VPP's fallback).
    pub fn name(&self, sw_if_index: u32) -> String {
        match self.sw.get(sw_if_index as usize) {
            Some(s) if !s.deleted => s.name.clone(),
            _ => format!("sw_if_index: {sw_if_index}"),
        }
    }

    /// MAC address of an interface (zero if unknown).
    #[inline]
    pub fn mac(&self, sw_if_index: u32) -> [u8; 6] {
        self.hw_of(sw_if_index).map(|h| h.mac).unwrap_or([0; 6])
    }

    /// True if admin and link are up.
    #[inline]
    pub fn is_up(&self, sw_if_index: u32) -> bool {
        match self.sw.get(sw_if_index as usize) {
            Some(s) if !s.deleted && s.admin_up => self
                .hw
                .get(s.hw_if_index as usize)
                .is_some_and(|h| h.link_up),
            _ => false,
        }
    }
}

/// Key of the interface tables in the configuration snapshot ([`crate::config`]).
pub type SharedInterfaces = crate::config::Table<InterfaceMain>;

/// Result of one receive burst.
#[derive(Clone, Copy, Debug, Default)]
pub struct RxBurst {
    /// Buffers filled (at the front of the output slice).
    pub n: usize,
    /// Packets that could not be received for lack of buffers.
    pub no_buf: u64,
    /// Packets dropped by the device (too long, malformed ring entries...).
    pub errors: u64,
}

/// A device backend: moves buffer indices in and out. One instance per hardware interface.
pub trait Device: Any + Send {
    /// Receive up to `out.len()` packets into freshly allocated buffers whose indices are written to
    /// `out`. Buffers are allocated from `pool`; none may leak on any error path.
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], now_ns: u64) -> RxBurst;
    /// Transmit the packets. The caller frees every buffer afterwards; returns how many were sent.
    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], now_ns: u64) -> usize;
    /// Whether the device has more to receive right now (replay: queued packets).
    fn rx_pending(&self) -> bool {
        false
    }
    /// Called when the interface is deleted or the process stops.
    fn shutdown(&mut self) {}
    /// What the device holds in the host until it is dropped (a tap's host interface name),
    /// if dropping it is slow: the device is then dropped on a closer thread, and a new device
    /// with the same key waits for it (see `reaper`). None: dropped at once.
    fn retire_key(&self) -> Option<String> {
        None
    }
    /// A descriptor that becomes readable when frames arrive (live drivers), so an idle daemon
    /// can sleep instead of polling.
    fn fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
    /// Receive queues the device polls (`show interface rx-placement`).
    fn rx_queues(&self) -> u32 {
        1
    }
    /// (receive, transmit) ring sizes, for devices that have rings (`show hardware-interfaces`).
    fn ring_sizes(&self) -> Option<(u32, u32)> {
        None
    }
    /// Every descriptor the idle loop must wait on (a multi-queue device has one per queue);
    /// by default the one of [`Device::fd`].
    fn wait_fds(&self, out: &mut Vec<std::os::fd::RawFd>) {
        out.extend(self.fd());
    }
}

/// Shared handle to a device (held by the input node and the tx node).
pub type DeviceHandle = Arc<Mutex<Box<dyn Device>>>;

/// Wrap a device into a handle.
pub fn device_handle(d: impl Device) -> DeviceHandle {
    Arc::new(Mutex::new(Box::new(d)))
}

/// What a deleted interface's handle holds: receives nothing, sends nothing.
#[derive(Debug, Default)]
pub struct NullDevice;

impl Device for NullDevice {
    fn rx_burst(&mut self, _: &mut BufferPool, _: &mut [BufferIndex], _: u64) -> RxBurst {
        RxBurst::default()
    }
    fn tx_burst(&mut self, _: &BufferPool, _: &[BufferIndex], _: u64) -> usize {
        0
    }
}

/// A device that keeps packets in memory: the replay backend of every interface kind.
///
/// The replay driver queues received frames with their timestamps; transmitted frames are kept with
/// the time they were sent and written to pcap files at the end.
#[derive(Debug, Default)]
pub struct MemoryDevice {
    /// Frames waiting to be received: (time ns, bytes).
    pub rx: std::collections::VecDeque<(u64, Vec<u8>)>,
    /// Frames transmitted: (time ns, bytes).
    pub tx: Vec<(u64, Vec<u8>)>,
    /// Keep transmitted frames (false: count and discard, for benchmarks).
    pub capture_tx: bool,
    /// Frames received so far.
    pub n_rx: u64,
    /// Frames transmitted so far.
    pub n_tx: u64,
    /// `packet-generator capture`: transmitted frames also go to this pcap file, until its count.
    pub pcap: Option<crate::pcap::PcapSink>,
}

impl MemoryDevice {
    /// A memory device that keeps what it transmits.
    pub fn capturing() -> Self {
        MemoryDevice {
            capture_tx: true,
            ..Default::default()
        }
    }
}

impl Device for MemoryDevice {
    fn rx_burst(&mut self, pool: &mut BufferPool, out: &mut [BufferIndex], _now: u64) -> RxBurst {
        let mut r = RxBurst::default();
        while r.n < out.len() {
            let Some((_, bytes)) = self.rx.front() else {
                break;
            };
            if bytes.len() > crate::buffer::BUFFER_DATA_SIZE {
                self.rx.pop_front();
                r.errors += 1;
                continue;
            }
            let Some(bi) = pool.alloc_one() else {
                // Leave the frame queued: it is received once buffers are back.
                r.no_buf += 1;
                break;
            };
            let (_, bytes) = self.rx.pop_front().expect("front checked above");
            pool.fill(bi, &bytes);
            out[r.n] = bi;
            r.n += 1;
            self.n_rx += 1;
        }
        r
    }

    fn tx_burst(&mut self, pool: &BufferPool, bufs: &[BufferIndex], now_ns: u64) -> usize {
        self.n_tx += bufs.len() as u64;
        if let Some(sink) = self.pcap.as_mut() {
            let mut ok = true;
            for &bi in bufs {
                ok = ok && sink.write(now_ns, pool.data(bi));
            }
            // As VPP: the file is complete after every frame, closed once `count` were written.
            if !sink.flush() || !ok || sink.is_done() {
                self.pcap = None;
            }
        }
        if self.capture_tx {
            for &bi in bufs {
                self.tx.push((now_ns, pool.data(bi).to_vec()));
            }
        }
        bufs.len()
    }

    fn rx_pending(&self) -> bool {
        !self.rx.is_empty()
    }
}

/// Errors of `interface-output`.
pub mod interface_output_errors {
    /// The transmit interface is unknown.
    pub const NO_INTERFACE: u32 = 0;
    /// Strings in code order.
    pub const STRINGS: &[&str] = &["no output interface"];
}

/// `interface-output`: sends each buffer to the `<if>-output` node of its transmit interface
/// (`sw_if_index[TX]`). No trace, as in VPP. Ends the `ip4-output` feature arc.
#[derive(Clone)]
pub struct PerBufferInterfaceOutput {
    /// Slot of each interface's output node, by sw_if_index (0, error-drop, when unknown).
    pub next_by_sw: Vec<u16>,
}

impl Node for PerBufferInterfaceOutput {
    crate::fork_by_clone!();
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let mut nexts = [0u16; crate::graph::FRAME_SIZE];
        let err = cx.error_index(interface_output_errors::NO_INTERFACE);
        for (n, &bi) in nexts.iter_mut().zip(frame) {
            let m = cx.vm.buffers.meta_mut(bi);
            *n = self
                .next_by_sw
                .get(m.sw_if_index[1] as usize)
                .copied()
                .unwrap_or(0);
            if *n == 0 {
                m.error = err;
            }
        }
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

/// Errors of the `<if>-output` node.
pub mod output_errors {
    /// Interface is administratively down.
    pub const INTERFACE_DOWN: u32 = 0;
    /// Interface was deleted.
    pub const INTERFACE_DELETED: u32 = 1;
    /// The strings, in code order.
    pub const STRINGS: &[&str] = &["interface is down", "interface is deleted"];
}

/// The `<ifname>-output` node: counts and traces, then hands the frame to `<ifname>-tx`.
#[derive(Clone)]
pub struct InterfaceOutput {
    /// The interface.
    pub sw_if_index: u32,
    /// Interface tables.
    pub interfaces: SharedInterfaces,
    /// Frame formatter (graph-nodes installs the Ethernet decode; the default is hex).
    pub header_format: Option<HeaderFormatter>,
}

/// Slot of `<if>-tx` in `<if>-output`.
pub const OUTPUT_NEXT_TX: u16 = 0;
/// Slot of error-drop in `<if>-output`.
pub const OUTPUT_NEXT_DROP: u16 = 1;

impl crate::march::Kernel for InterfaceOutput {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let up = {
            let im = cx.config().get(self.interfaces);
            match im.sw(self.sw_if_index) {
                Some(s) if s.deleted => Err(output_errors::INTERFACE_DELETED),
                Some(s) if !s.admin_up => Err(output_errors::INTERFACE_DOWN),
                Some(_) => Ok(()),
                None => Err(output_errors::INTERFACE_DELETED),
            }
        };
        if cx.tracing() {
            for &bi in frame {
                if cx.vm.buffers.meta(bi).is_traced() {
                    let data = cx.vm.buffers.data(bi);
                    let mut tmp = [0u8; 128];
                    let n = data.len().min(124);
                    tmp[..n].copy_from_slice(&data[..n]);
                    let sw = self.sw_if_index;
                    if let Some(r) = cx.trace(bi) {
                        r.u[0] = sw as u64;
                        r.set_data(&tmp[..n], 124);
                    }
                }
            }
        }
        match up {
            Ok(()) => {
                let mut bytes = 0u64;
                for &bi in frame {
                    bytes += cx.vm.buffers.meta(bi).current_length() as u64;
                }
                let c = cx.vm.if_counters_mut(self.sw_if_index);
                c.tx_packets += frame.len() as u64;
                c.tx_bytes += bytes;
                cx.enqueue_slot(OUTPUT_NEXT_TX, frame);
            }
            Err(code) => {
                for &bi in frame {
                    cx.set_error(bi, code);
                }
                cx.enqueue_slot(OUTPUT_NEXT_DROP, frame);
            }
        }
    }
}

impl Node for InterfaceOutput {
    crate::fork_by_clone!();
    crate::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, env: &FormatEnv<'_>, s: &mut String) {
        let indent = crate::column(s);
        s.push_str(&env.table(self.interfaces).name(rec.u[0] as u32));
        s.push('\n');
        crate::push_spaces(s, indent);
        match self.header_format {
            Some(f) => f(s, rec.data(), 124),
            None => crate::format_hex(s, rec.data()),
        }
    }
}

/// Formats a `<if>-tx` trace record (DPDK prints one; taps and pg print none).
pub type TxTraceFormatter = fn(&TraceRecord, &InterfaceMain, Option<HeaderFormatter>, &mut String);

/// The `<ifname>-tx` node: gives the frame to the device and frees the buffers.
#[derive(Clone)]
pub struct InterfaceTx {
    /// The interface.
    pub sw_if_index: u32,
    /// Its device.
    pub device: DeviceHandle,
    /// Trace formatter, for device classes that trace on tx.
    pub formatter: Option<TxTraceFormatter>,
    /// Frame formatter used by `formatter`.
    pub header_format: Option<HeaderFormatter>,
    /// Interface tables (names for traces).
    pub interfaces: SharedInterfaces,
    /// Queue number shown in traces.
    pub queue: u32,
}

impl crate::march::Kernel for InterfaceTx {
    #[inline(always)]
    fn kernel(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        if self.formatter.is_some() && cx.tracing() {
            for &bi in frame {
                let m = *cx.vm.buffers.meta(bi);
                if m.is_traced() {
                    let mut tmp = [0u8; 128];
                    let data = cx.vm.buffers.data(bi);
                    let n = data.len().min(128);
                    tmp[..n].copy_from_slice(&data[..n]);
                    let queue = self.queue;
                    // The mbuf's port: a buffer DPDK received keeps its port (0 here), one
                    // allocated elsewhere (tap, loopback) carries DPDK's "no port", 65535.
                    let port = match cx.config().get(self.interfaces).hw_of(m.sw_if_index[0]) {
                        Some(h) if h.class == DeviceClass::Dpdk => 0u64,
                        _ => 65535,
                    };
                    if let Some(r) = cx.trace(bi) {
                        r.u[0] = self.sw_if_index as u64;
                        r.u[1] = queue as u64;
                        r.u[2] = port;
                        r.u[3] = bi as u64;
                        r.u[4] = m.current_data() as i64 as u64;
                        r.u[5] = m.current_length() as u64;
                        r.u[6] = m.flags as u64;
                        r.u[7] = m.trace_handle as u64;
                        r.set_data(&tmp[..n], 128);
                    }
                }
            }
        }
        let now = cx.now_ns();
        if let Some(cap) = cx.vm.capture.as_mut() {
            for &bi in frame {
                cap.offer(false, self.sw_if_index, now, cx.vm.buffers.data(bi));
            }
        }
        let sent = self.device.lock().tx_burst(&cx.vm.buffers, frame, now);
        if sent < frame.len() {
            cx.vm.if_counters_mut(self.sw_if_index).tx_error += (frame.len() - sent) as u64;
        }
        cx.vm.buffers.free(frame);
    }
}

impl Node for InterfaceTx {
    crate::fork_by_clone!();
    crate::multiarch_node!();

    fn format_trace(&self, rec: &TraceRecord, env: &FormatEnv<'_>, s: &mut String) {
        if let Some(f) = self.formatter {
            f(rec, env.table(self.interfaces), self.header_format, s);
        }
    }
}

/// A parsed MAC address in VPP's text form.
pub fn format_mac(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// sw_if_index value meaning "none".
pub const NO_INTERFACE: u32 = INVALID_INDEX;
