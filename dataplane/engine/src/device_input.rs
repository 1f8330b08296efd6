//! Driver input nodes (`virtio-input`, `af-packet-input`, `af_xdp-input`, `dpdk-input`): one node
//! per driver polls every interface of that driver in bursts, counts, traces in the driver's VPP
//! format, and hands frames to `ethernet-input` (or the device-input feature arc). `dpdk-input`
//! sends IPv4 straight to `ip4-input`, as VPP's DPDK driver does.

use crate::buffer::{flags, BufferIndex, INVALID_INDEX};
use crate::feature::SharedFeatures;
use crate::graph::{FormatEnv, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};
use crate::interface::{DeviceClass, DeviceHandle, SharedInterfaces};
use crate::trace::TraceRecord;
use crate::HeaderFormatter;

/// Next slots of every device input node (VPP's `VNET_DEVICE_INPUT_NEXT_*`).
pub mod next {
    /// ip4-input-no-checksum
    pub const IP4_NCS_INPUT: u16 = 0;
    /// ip4-input
    pub const IP4_INPUT: u16 = 1;
    /// ip6-input
    pub const IP6_INPUT: u16 = 2;
    /// mpls-input
    pub const MPLS_INPUT: u16 = 3;
    /// ethernet-input
    pub const ETHERNET_INPUT: u16 = 4;
    /// error-drop
    pub const DROP: u16 = 5;
    /// Names in slot order.
    pub const NAMES: &[&str] = &[
        "ip4-input-no-checksum",
        "ip4-input",
        "ip6-input",
        "mpls-input",
        "ethernet-input",
        "error-drop",
    ];
}

/// Errors of device input nodes.
pub mod errors {
    /// The interface is administratively down.
    pub const INTERFACE_DOWN: u32 = 0;
    /// No buffer for a received frame.
    pub const NO_BUFFERS: u32 = 1;
    /// The device reported a bad frame.
    pub const RX_ERROR: u32 = 2;
    /// Strings in code order.
    pub const STRINGS: &[&str] = &[
        "interface is down",
        "rx buffer allocation failure",
        "rx error",
    ];
}

/// Registration of the input node of a device class.
pub fn registration(class: DeviceClass) -> Option<NodeRegistration> {
    let name = class.input_node()?;
    if class == DeviceClass::Pg {
        return None;
    }
    Some(
        NodeRegistration::new(name, NodeKind::Input)
            .nexts(next::NAMES)
            .errors(errors::STRINGS),
    )
}

/// One interface polled by an input node.
#[derive(Clone)]
pub struct RxInterface {
    /// Hardware interface index (printed in traces).
    pub hw_if_index: u32,
    /// Software interface index given to the packets.
    pub sw_if_index: u32,
    /// The device.
    pub device: DeviceHandle,
    /// Interface name (dpdk-input prints it).
    pub name: String,
}

/// A driver's input node.
#[derive(Clone)]
pub struct DeviceInput {
    /// Driver.
    pub class: DeviceClass,
    /// Interfaces polled, in creation order.
    pub interfaces: Vec<RxInterface>,
    /// Interface tables.
    pub tables: SharedInterfaces,
    /// Feature arcs.
    pub features: SharedFeatures,
    /// device-input arc index.
    pub device_input_arc: u8,
    /// Ethernet header formatter (dpdk-input decodes the frame in its trace).
    pub header_format: Option<HeaderFormatter>,
}

impl DeviceInput {
    fn dispatch_burst(
        &self,
        cx: &mut NodeCx<'_>,
        ifc: &RxInterface,
        bufs: &[BufferIndex],
        up: bool,
        l2_mode: bool,
    ) {
        let n = bufs.len();
        let mut nexts = [next::ETHERNET_INPUT; FRAME_SIZE];
        let mut bytes = 0u64;
        if let Some(cap) = cx.vm.capture.as_mut() {
            for &bi in bufs {
                cap.offer(true, ifc.sw_if_index, cx.vm.now_ns, cx.vm.buffers.data(bi));
            }
        }
        let features = cx.config().get(self.features);
        let node = cx.node_index();
        // Device-input features (MACIP source guard) see every frame: no shortcut past them.
        let direct_ip4 = self.class == DeviceClass::Dpdk
            && !l2_mode
            && !features.has_features(self.device_input_arc, ifc.sw_if_index);
        for (k, &bi) in bufs.iter().enumerate() {
            let len = cx.vm.buffers.meta(bi).current_length() as usize;
            bytes += len as u64;
            {
                let m = cx.vm.buffers.meta_mut(bi);
                m.sw_if_index = [ifc.sw_if_index, INVALID_INDEX];
                m.flags |= flags::L2_HDR_OFFSET_VALID;
                m.l2_hdr_offset = 0;
            }
            if !up {
                cx.set_error(bi, errors::INTERFACE_DOWN);
                nexts[k] = next::DROP;
            } else if direct_ip4 {
                // VPP's DPDK driver classifies by ethertype itself and skips ethernet-input
                // (not for bridged ports, whose frames go to l2-input through ethernet-input,
                // nor when device-input features must see the frame first).
                let data = cx.vm.buffers.data(bi);
                let is_ip4 = data.len() >= 14 && data[12] == 0x08 && data[13] == 0x00;
                if is_ip4 {
                    let m = cx.vm.buffers.meta_mut(bi);
                    m.flags |= flags::L3_HDR_OFFSET_VALID
                        | flags::L4_CHECKSUM_COMPUTED
                        | flags::L4_CHECKSUM_CORRECT;
                    m.l3_hdr_offset = 14;
                    cx.vm.buffers.advance(bi, 14);
                    nexts[k] = next::IP4_INPUT;
                }
            }
            if up && nexts[k] == next::ETHERNET_INPUT {
                let m = cx.vm.buffers.meta_mut(bi);
                if let Some(slot) = features.start(self.device_input_arc, node, ifc.sw_if_index, m)
                {
                    nexts[k] = slot;
                }
            }
            if cx.tracing() && cx.maybe_start_trace(bi) {
                let m = *cx.vm.buffers.meta(bi);
                // Capture the frame from its Ethernet header even if the driver advanced past it.
                let raw = cx.vm.buffers.raw_from(bi, 0);
                let mut tmp = [0u8; 128];
                let c = (len).min(128).min(raw.len());
                tmp[..c].copy_from_slice(&raw[..c]);
                let (hw, next_index) = (ifc.hw_if_index, nexts[k]);
                if let Some(r) = cx.trace(bi) {
                    r.u[0] = hw as u64;
                    r.u[1] = next_index as u64;
                    r.u[2] = len as u64;
                    r.u[3] = bi as u64;
                    r.u[4] = m.current_data() as i64 as u64;
                    r.u[5] = m.current_length() as u64;
                    r.u[6] = m.flags as u64;
                    r.u[7] = m.trace_handle as u64;
                    r.set_data(&tmp[..c], 128);
                }
            }
        }
        let c = cx.vm.if_counters_mut(ifc.sw_if_index);
        c.rx_packets += n as u64;
        c.rx_bytes += bytes;
        cx.enqueue(bufs, &nexts[..n]);
    }
}

impl Node for DeviceInput {
    crate::fork_by_clone!();
    fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
        let mut total = 0;
        let thread = cx.vm.thread_index;
        for ifc in &self.interfaces {
            let (up, l2_mode) = {
                let im = cx.config().get(self.tables);
                // Another thread polls it (`show interface rx-placement`).
                if im.hw_of(ifc.sw_if_index).map_or(0, |h| h.rx_thread) != thread {
                    continue;
                }
                (
                    im.is_up(ifc.sw_if_index),
                    im.sw(ifc.sw_if_index).is_some_and(|s| s.l2_mode),
                )
            };
            let mut bufs = [0 as BufferIndex; FRAME_SIZE];
            let now = cx.now_ns();
            let burst = ifc
                .device
                .lock()
                .rx_burst(&mut cx.vm.buffers, &mut bufs, now);
            if burst.no_buf > 0 {
                cx.count_error(errors::NO_BUFFERS, burst.no_buf);
                cx.vm.if_counters_mut(ifc.sw_if_index).rx_no_buf += burst.no_buf;
            }
            if burst.errors > 0 {
                cx.count_error(errors::RX_ERROR, burst.errors);
                cx.vm.if_counters_mut(ifc.sw_if_index).rx_error += burst.errors;
            }
            if burst.n == 0 {
                continue;
            }
            self.dispatch_burst(cx, ifc, &bufs[..burst.n], up, l2_mode);
            total += burst.n;
        }
        total
    }

    fn format_trace(&self, rec: &TraceRecord, _env: &FormatEnv<'_>, s: &mut String) {
        let indent = crate::column(s);
        let (hw, next_index, len) = (rec.u[0], rec.u[1], rec.u[2]);
        match self.class {
            DeviceClass::Tap => {
                s.push_str(&format!(
                    "virtio: hw_if_index {hw} next-index {next_index} vring 0 len {len}\n"
                ));
                crate::push_spaces(s, indent + 2);
                s.push_str("hdr: flags 0x00 gso_type 0x00 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0 num_buffers 1");
            }
            DeviceClass::AfPacket => {
                s.push_str(&format!(
                    "af_packet: hw_if_index {hw} next-index {next_index}\n"
                ));
                crate::push_spaces(s, indent + 2);
                s.push_str("tpacket2_hdr:\n");
                crate::push_spaces(s, indent + 4);
                s.push_str(&format!(
                    "status 0x1 len {len} snaplen {len} mac 66 net 80\n"
                ));
                crate::push_spaces(s, indent + 4);
                let secs = rec.time_ns / 1_000_000_000;
                let nsec = rec.time_ns % 1_000_000_000;
                s.push_str(&format!("sec 0x{secs:x} nsec 0x{nsec:x} vlan 0"));
            }
            DeviceClass::AfXdp => {
                s.push_str(&format!("af_xdp: hw_if_index {hw} next-index {next_index}"));
            }
            DeviceClass::Dpdk => {
                let name = self
                    .interfaces
                    .iter()
                    .find(|i| i.hw_if_index as u64 == hw)
                    .map(|i| i.name.clone())
                    .unwrap_or_else(|| format!("hw_if_index {hw}"));
                format_dpdk_buffer_trace(s, indent, &name, "rx", rec, self.header_format);
            }
            _ => s.push_str(&format!("hw_if_index {hw} next-index {next_index}")),
        }
    }
}

/// The body shared by `dpdk-input` and `<if>-tx` traces of DPDK interfaces (VPP 18.01
/// `format_dpdk_rx_dma_trace` / `format_dpdk_tx_dma_trace`).
///
/// Record layout: u[2] len, u[3] buffer index, u[4] current_data, u[5] current_length, u[6] flags,
/// u[7] trace handle; data = frame from its Ethernet header.
pub fn format_dpdk_buffer_trace(
    s: &mut String,
    indent: usize,
    ifname: &str,
    dir: &str,
    rec: &TraceRecord,
    header: Option<HeaderFormatter>,
) {
    let bi = rec.u[3];
    let cur = rec.u[4] as i64;
    let len = rec.u[5];
    let fl = rec.u[6] as u32;
    s.push_str(&format!("{ifname} {dir} queue 0\n"));
    crate::push_spaces(s, indent);
    let head = format!("buffer 0x{bi:x}: ");
    let col = crate::column(s) + head.len();
    s.push_str(&head);
    s.push_str(&format!(
        "current data {cur}, length {len}, free-list 0, clone-count 0, totlen-nifb 0, trace 0x{:x}\n",
        rec.u[7]
    ));
    crate::push_spaces(s, col);
    if fl & flags::L4_CHECKSUM_COMPUTED != 0 {
        s.push_str("l4-cksum-computed ");
    }
    if fl & flags::L4_CHECKSUM_CORRECT != 0 {
        s.push_str("l4-cksum-correct ");
    }
    if fl & flags::NATED != 0 {
        s.push_str("nated ");
    }
    if fl & flags::L2_HDR_OFFSET_VALID != 0 {
        s.push_str("l2-hdr-offset 0 ");
    }
    if fl & flags::L3_HDR_OFFSET_VALID != 0 {
        s.push_str("l3-hdr-offset 14 ");
    }
    let pkt_len = (len as i64 + cur.max(0)) as u64;
    let data_off = 128 + cur.min(0);
    s.push('\n');
    crate::push_spaces(s, indent);
    // rx: the port is the device's (0 here); tx: what the interface-tx node recorded.
    let port = if dir == "tx" { rec.u[2] } else { 0 };
    s.push_str(&format!(
        "PKT MBUF: port {port}, nb_segs 1, pkt_len {pkt_len}\n"
    ));
    crate::push_spaces(s, indent + 2);
    s.push_str(&format!(
        "buf_len 2176, data_len {pkt_len}, ol_flags 0x0, data_off {data_off}, phys_addr 0x{:x}\n",
        0x7000_0000u64 + bi * 2176
    ));
    crate::push_spaces(s, indent + 2);
    s.push_str("packet_type 0x0 l2_len 0 l3_len 0 outer_l2_len 0 outer_l3_len 0\n");
    crate::push_spaces(s, indent);
    match header {
        Some(f) => f(s, rec.data(), 128),
        None => crate::format_hex(s, rec.data()),
    }
}
