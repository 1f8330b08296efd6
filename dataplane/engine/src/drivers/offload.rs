//! Finishing what a local peer left undone. A frame that comes from a veth peer (kind clusters,
//! test beds, container hosts) was never on a wire: the sender's kernel left its TCP/UDP
//! checksum to "the NIC" (`CHECKSUM_PARTIAL`: the checksum field holds only the pseudo-header
//! sum), and a VLAN tag may travel beside the frame instead of in it. A forwarder must finish
//! both before the frame goes on, or the receiver drops it.
//!
//! Everything here reads frames with bounds checks and never panics, whatever the bytes.

use crate::checksum::{fold, sum16};

/// Where the L4 segment of an IPv4 TCP or UDP frame lies: (L4 start, L4 end, protocol,
/// IPv4 header start). None for anything else (other ethertypes, fragments, short frames).
fn ip4_l4(frame: &[u8]) -> Option<(usize, usize, u8, usize)> {
    let mut l3 = 14;
    let mut ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    // One or two VLAN tags (802.1Q, 802.1ad).
    for _ in 0..2 {
        if ethertype == 0x8100 || ethertype == 0x88a8 {
            ethertype = u16::from_be_bytes([*frame.get(l3 + 2)?, *frame.get(l3 + 3)?]);
            l3 += 4;
        }
    }
    if ethertype != 0x0800 {
        return None;
    }
    let ip = frame.get(l3..l3 + 20)?;
    if ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0xf) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
    let proto = ip[9];
    if ihl < 20 || total < ihl || frag != 0 || (proto != 6 && proto != 17) {
        return None;
    }
    let end = l3 + total;
    let l4 = l3 + ihl;
    let min = if proto == 6 { 20 } else { 8 };
    if end > frame.len() || end - l4 < min {
        return None;
    }
    Some((l4, end, proto, l3))
}

/// Offset of the checksum field in a TCP (6) or UDP (17) header.
fn csum_offset(proto: u8) -> usize {
    if proto == 6 {
        16
    } else {
        6
    }
}

/// The folded pseudo-header sum (what `CHECKSUM_PARTIAL` leaves in the field).
fn pseudo_sum(frame: &[u8], l3: usize, proto: u8, l4_len: usize) -> u16 {
    let mut acc = sum16(0, &frame[l3 + 12..l3 + 20]);
    acc += u64::from(proto) + l4_len as u64;
    fold(acc)
}

/// Finish a partial TCP/UDP checksum as the NIC would have: sum the segment from the L4 header
/// to the end of the datagram (the field holds the pseudo-header sum already) and store the
/// complement. For frames the device marked as such (AF_PACKET's `TP_STATUS_CSUMNOTREADY`, a
/// virtio-net header's `NEEDS_CSUM`). True if the frame was IPv4 TCP/UDP and is now complete.
pub fn complete_partial_checksum(frame: &mut [u8]) -> bool {
    let Some((l4, end, proto, _)) = ip4_l4(frame) else {
        return false;
    };
    let c = l4 + csum_offset(proto);
    let mut sum = !fold(sum16(0, &frame[l4..end]));
    if proto == 17 && sum == 0 {
        // UDP sends a zero checksum as all ones (RFC 768).
        sum = 0xffff;
    }
    frame[c..c + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

/// For devices that cannot say whether a frame's checksum is partial (AF_XDP, whose frames from
/// a veth peer carry the sender's unfinished checksum with no mark): a TCP/UDP checksum field
/// that holds exactly the pseudo-header sum and does not verify is a partial one, and is
/// completed. A checksum that verifies is never touched. Costs one 12-byte sum per TCP/UDP frame
/// (the whole segment only for the suspects). True if the frame was completed.
pub fn repair_partial_checksum(frame: &mut [u8]) -> bool {
    let Some((l4, end, proto, l3)) = ip4_l4(frame) else {
        return false;
    };
    let c = l4 + csum_offset(proto);
    let field = u16::from_be_bytes([frame[c], frame[c + 1]]);
    if field != pseudo_sum(frame, l3, proto, end - l4) {
        return false;
    }
    // A complete checksum sums (with the pseudo-header) to 0xffff.
    let full = fold(sum16(
        u64::from(pseudo_sum(frame, l3, proto, end - l4)),
        &frame[l4..end],
    ));
    if full == 0xffff {
        return false;
    }
    complete_partial_checksum(frame)
}

/// Put back a VLAN tag the kernel took out of a frame (AF_PACKET's `TP_STATUS_VLAN_VALID`).
/// The frame's `n` bytes were written at `area[4..]` when `tag` (TPID, TCI) is set: the MAC
/// addresses move forward and the tag goes after them. Returns the frame's length (`n` without a
/// tag; 0 if the frame has no MAC header or `area` is too short).
pub fn put_vlan_tag(area: &mut [u8], n: usize, tag: Option<(u16, u16)>) -> usize {
    let Some((tpid, tci)) = tag else { return n };
    if n < 12 || area.len() < n + 4 {
        return 0;
    }
    area.copy_within(4..16, 0);
    area[12..14].copy_from_slice(&tpid.to_be_bytes());
    area[14..16].copy_from_slice(&tci.to_be_bytes());
    n + 4
}

/// What a virtio-net header (`struct virtio_net_hdr`, little-endian, as AF_PACKET's
/// `PACKET_VNET_HDR` and a tap's `IFF_VNET_HDR` give it) says about the frame behind it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `VIRTIO_NET_HDR_F_*`.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*` (ECN bit included).
    pub gso_type: u8,
    /// Segment payload size of a super-frame.
    pub gso_size: u16,
    /// Where the checksummed region starts, from the frame's start.
    pub csum_start: u16,
    /// Where the checksum field is, from `csum_start`.
    pub csum_offset: u16,
}

/// The frame's checksum is partial (`VIRTIO_NET_HDR_F_NEEDS_CSUM`).
pub const VNET_F_NEEDS_CSUM: u8 = 1;
/// The frame's checksum was verified (`VIRTIO_NET_HDR_F_DATA_VALID`).
pub const VNET_F_DATA_VALID: u8 = 2;
/// No segmentation.
pub const VNET_GSO_NONE: u8 = 0;
/// A TCP/IPv4 super-frame.
pub const VNET_GSO_TCPV4: u8 = 1;
/// A UDP super-frame split into datagrams (USO, `VIRTIO_NET_HDR_GSO_UDP_L4`).
pub const VNET_GSO_UDP_L4: u8 = 5;
/// The sender set ECN on the super-frame (CWR goes on the first segment only).
pub const VNET_GSO_ECN: u8 = 0x80;
/// Bytes of a `struct virtio_net_hdr`.
pub const VNET_HDR_LEN: usize = 10;

impl VnetHdr {
    /// Read a header from its 10 bytes.
    pub fn parse(b: &[u8; VNET_HDR_LEN]) -> Self {
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            gso_size: u16::from_le_bytes([b[4], b[5]]),
            csum_start: u16::from_le_bytes([b[6], b[7]]),
            csum_offset: u16::from_le_bytes([b[8], b[9]]),
        }
    }
}

/// Finish a partial checksum where the header says it is (`csum_start`, `csum_offset`), as a NIC
/// does, whatever the protocol. False (frame untouched) if those offsets do not fit the frame.
pub fn complete_checksum_at(frame: &mut [u8], csum_start: usize, csum_offset: usize) -> bool {
    let c = csum_start + csum_offset;
    if csum_start >= frame.len() || c + 2 > frame.len() {
        return false;
    }
    // The checksummed region ends with the IPv4 datagram (not with Ethernet padding).
    let end = match ip4_l4(frame) {
        Some((l4, end, _, _)) if l4 == csum_start => end,
        _ => frame.len(),
    };
    let mut sum = !fold(sum16(0, &frame[csum_start..end]));
    if sum == 0 && matches!(ip4_l4(frame), Some((_, _, 17, _))) {
        sum = 0xffff;
    }
    frame[c..c + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

/// How a super-frame splits: headers length and payload range, protocol, and segment count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segmentation {
    l3: usize,
    l4: usize,
    hdr: usize,
    end: usize,
    proto: u8,
    mss: usize,
    /// Segments the super-frame makes.
    pub count: usize,
}

impl Segmentation {
    /// Plan the segmentation of an IPv4 TCP (`VNET_GSO_TCPV4`) or UDP (`VNET_GSO_UDP_L4`)
    /// super-frame into segments of `gso_size` payload bytes each (the last one shorter). None
    /// for anything else or an inconsistent frame; the caller counts it as a drop.
    pub fn plan(frame: &[u8], gso_type: u8, gso_size: u16) -> Option<Self> {
        let (l4, end, proto, l3) = ip4_l4(frame)?;
        let want = match gso_type & !VNET_GSO_ECN {
            VNET_GSO_TCPV4 => 6,
            VNET_GSO_UDP_L4 => 17,
            _ => return None,
        };
        if proto != want || gso_size == 0 {
            return None;
        }
        let hdr = if proto == 6 {
            l4 + usize::from(frame[l4 + 12] >> 4) * 4
        } else {
            l4 + 8
        };
        if hdr > end || (proto == 6 && hdr < l4 + 20) {
            return None;
        }
        let mss = usize::from(gso_size);
        let count = (end - hdr).div_ceil(mss).max(1);
        Some(Segmentation {
            l3,
            l4,
            hdr,
            end,
            proto,
            mss,
            count,
        })
    }

    /// Bytes of segment `i` (headers included).
    pub fn len(&self, i: usize) -> usize {
        let start = self.hdr + i * self.mss;
        self.hdr + (self.end.min(start + self.mss) - start)
    }

    /// Write segment `i` of `frame` into `out` (which must hold [`Segmentation::len`] bytes) with
    /// the headers a NIC's TSO/USO would give it: IPv4 total length, id (+i) and header checksum;
    /// TCP sequence number (+i × size), FIN and PSH on the last segment only, CWR on the first
    /// only; UDP length; a complete TCP/UDP checksum. Returns the length written.
    pub fn write(&self, frame: &[u8], i: usize, out: &mut [u8]) -> Option<usize> {
        let n = self.len(i);
        if i >= self.count || out.len() < n {
            return None;
        }
        let start = self.hdr + i * self.mss;
        let pay = self.end.min(start + self.mss) - start;
        out[..self.hdr].copy_from_slice(&frame[..self.hdr]);
        out[self.hdr..n].copy_from_slice(&frame[start..start + pay]);
        let (l3, l4) = (self.l3, self.l4);
        // IPv4: total length, id, header checksum.
        let total = (n - l3) as u16;
        out[l3 + 2..l3 + 4].copy_from_slice(&total.to_be_bytes());
        let id = u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]).wrapping_add(i as u16);
        out[l3 + 4..l3 + 6].copy_from_slice(&id.to_be_bytes());
        out[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
        let ip_sum = !fold(sum16(0, &out[l3..l4]));
        out[l3 + 10..l3 + 12].copy_from_slice(&ip_sum.to_be_bytes());
        let l4_len = n - l4;
        let c = l4 + csum_offset(self.proto);
        if self.proto == 6 {
            let seq =
                u32::from_be_bytes([frame[l4 + 4], frame[l4 + 5], frame[l4 + 6], frame[l4 + 7]])
                    .wrapping_add((i * self.mss) as u32);
            out[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
            let mut tcp_flags = frame[l4 + 13];
            if i + 1 < self.count {
                tcp_flags &= !(0x01 | 0x08); // FIN, PSH
            }
            if i > 0 {
                tcp_flags &= !0x80; // CWR
            }
            out[l4 + 13] = tcp_flags;
        } else {
            out[l4 + 4..l4 + 6].copy_from_slice(&(l4_len as u16).to_be_bytes());
        }
        out[c..c + 2].copy_from_slice(&[0, 0]);
        let pseudo = pseudo_sum(out, l3, self.proto, l4_len);
        let mut sum = !fold(sum16(u64::from(pseudo), &out[l4..n]));
        if self.proto == 17 && sum == 0 {
            sum = 0xffff;
        }
        out[c..c + 2].copy_from_slice(&sum.to_be_bytes());
        Some(n)
    }
}

/// TCP segments of one flow that follow each other in a burst, merged back into one super-frame
/// for a device that takes GSO writes (a tap with `gro-coalesce`, as VPP's packet coalescing):
/// one write and one trip through the receiver's stack instead of one per segment. Only plain
/// IPv4/TCP (no VLAN, no fragments) with ACK or ACK+PSH, the same headers but for sequence
/// number, IP id, lengths and checksums, consecutive sequence numbers, and every segment but
/// the last full-sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coalesce {
    l4: usize,
    hdr: usize,
    mss: usize,
    /// Segments in the run.
    pub count: usize,
    payload: usize,
    last_payload: usize,
    last_flags: u8,
    next_seq: u32,
}

/// Largest IPv4 datagram a coalesced super-frame may make.
const MAX_SUPER: usize = 65_535;

/// TCP flags: ACK, PSH.
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

impl Coalesce {
    /// Where `seg`'s headers end and its payload lies, if it can be part of a run:
    /// (l4, header end, datagram end).
    fn layout(seg: &[u8]) -> Option<(usize, usize, usize)> {
        let (l4, end, proto, l3) = ip4_l4(seg)?;
        if l3 != 14 || proto != 6 {
            return None;
        }
        let hdr = l4 + usize::from(seg[l4 + 12] >> 4) * 4;
        let flags = seg[l4 + 13];
        if hdr < l4 + 20 || hdr >= end || flags & !PSH != ACK || seg[l4 + 18..l4 + 20] != [0, 0] {
            return None;
        }
        Some((l4, hdr, end))
    }

    /// A run that starts with `seg`; None if `seg` cannot start one.
    pub fn start(seg: &[u8]) -> Option<Self> {
        let (l4, hdr, end) = Self::layout(seg)?;
        let payload = end - hdr;
        let seq = u32::from_be_bytes([seg[l4 + 4], seg[l4 + 5], seg[l4 + 6], seg[l4 + 7]]);
        Some(Coalesce {
            l4,
            hdr,
            mss: payload,
            count: 1,
            payload,
            last_payload: payload,
            last_flags: seg[l4 + 13],
            next_seq: seq.wrapping_add(payload as u32),
        })
    }

    /// Append `seg` (the run's first segment is `first`) if it continues the run.
    pub fn push(&mut self, first: &[u8], seg: &[u8]) -> bool {
        let Some((l4, hdr, end)) = Self::layout(seg) else {
            return false;
        };
        let payload = end - hdr;
        let l3 = 14;
        let same = |a: usize, b: usize| first.get(a..b) == seg.get(a..b);
        let seq = u32::from_be_bytes([seg[l4 + 4], seg[l4 + 5], seg[l4 + 6], seg[l4 + 7]]);
        let ok = l4 == self.l4
            && hdr == self.hdr
            && self.last_payload == self.mss
            && self.last_flags & PSH == 0
            && payload <= self.mss
            && seq == self.next_seq
            && (hdr - l3) + self.payload + payload <= MAX_SUPER
            // Ethernet; IPv4 version/IHL and TOS; flags (DF), TTL, protocol, addresses.
            && same(0, l3 + 2)
            && same(l3 + 6, l3 + 10)
            && same(l3 + 12, l4)
            // Ports, acknowledgment, data offset, window, urgent pointer, options.
            && same(l4, l4 + 4)
            && same(l4 + 8, l4 + 13)
            && same(l4 + 14, l4 + 16)
            && same(l4 + 18, hdr);
        if ok {
            self.count += 1;
            self.payload += payload;
            self.last_payload = payload;
            self.last_flags = seg[l4 + 13];
            self.next_seq = seq.wrapping_add(payload as u32);
        }
        ok
    }

    /// Bytes of the super-frame.
    pub fn frame_len(&self) -> usize {
        self.hdr + self.payload
    }

    /// Write the super-frame of the run's segments `segs` (as pushed) into `out`, with a partial
    /// TCP checksum, and return its length and the virtio-net header that asks for TSO
    /// (`gso_size` = the first segment's payload).
    pub fn write<'a>(
        &self,
        segs: impl Iterator<Item = &'a [u8]>,
        out: &mut [u8],
    ) -> Option<(usize, [u8; VNET_HDR_LEN])> {
        let n = self.frame_len();
        if out.len() < n {
            return None;
        }
        let (l3, l4, hdr) = (14, self.l4, self.hdr);
        let mut at = hdr;
        for (k, seg) in segs.enumerate() {
            let end = l3 + usize::from(u16::from_be_bytes([*seg.get(l3 + 2)?, *seg.get(l3 + 3)?]));
            let p = seg.get(hdr..end)?;
            if k == 0 {
                out[..hdr].copy_from_slice(seg.get(..hdr)?);
            }
            out.get_mut(at..at + p.len())?.copy_from_slice(p);
            at += p.len();
        }
        if at != n {
            return None;
        }
        out[l3 + 2..l3 + 4].copy_from_slice(&((n - l3) as u16).to_be_bytes());
        out[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
        let ip_sum = !fold(sum16(0, &out[l3..l4]));
        out[l3 + 10..l3 + 12].copy_from_slice(&ip_sum.to_be_bytes());
        out[l4 + 13] = self.last_flags;
        // The field holds the pseudo-header sum; the receiver's stack takes the rest as done.
        let pseudo = pseudo_sum(out, l3, 6, n - l4);
        out[l4 + 16..l4 + 18].copy_from_slice(&pseudo.to_be_bytes());
        let mut h = [0u8; VNET_HDR_LEN];
        h[0] = VNET_F_NEEDS_CSUM;
        h[1] = VNET_GSO_TCPV4;
        h[2..4].copy_from_slice(&(hdr as u16).to_le_bytes());
        h[4..6].copy_from_slice(&(self.mss as u16).to_le_bytes());
        h[6..8].copy_from_slice(&(l4 as u16).to_le_bytes());
        h[8..10].copy_from_slice(&16u16.to_le_bytes());
        Some((n, h))
    }
}

/// True if an IPv4 TCP/UDP frame's L4 checksum verifies (frames a run may take without a
/// checksum-correct flag: a coalesced super-frame is trusted by its receiver).
pub fn l4_checksum_ok(frame: &[u8]) -> bool {
    let Some((l4, end, proto, l3)) = ip4_l4(frame) else {
        return false;
    };
    let pseudo = pseudo_sum(frame, l3, proto, end - l4);
    fold(sum16(u64::from(pseudo), &frame[l4..end])) == 0xffff
}

/// A received frame's checksum as its virtio-net header describes it: a partial checksum
/// (NEEDS_CSUM) is finished in buffer `bi`, and a frame whose checksum is known good (finished
/// here, or DATA_VALID) is marked so that nothing checks it again.
pub fn finish_rx_checksum(
    pool: &mut crate::buffer::BufferPool,
    bi: crate::buffer::BufferIndex,
    vnet: &VnetHdr,
) {
    let completed = vnet.flags & VNET_F_NEEDS_CSUM != 0
        && complete_checksum_at(
            pool.data_mut(bi),
            usize::from(vnet.csum_start),
            usize::from(vnet.csum_offset),
        );
    if completed || vnet.flags & VNET_F_DATA_VALID != 0 {
        pool.meta_mut(bi).flags |=
            crate::buffer::flags::L4_CHECKSUM_COMPUTED | crate::buffer::flags::L4_CHECKSUM_CORRECT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_frame(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 1, 1, 2], [10, 96, 0, 10], 64)
            .tcp(40000, 80, 12345, 64240)
            .psh()
            .ack(1);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 1, 1, 2], [10, 1, 2, 2], 64)
            .udp(5000, 53);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    /// What a sender's kernel leaves for the NIC: the pseudo-header sum in the field.
    fn make_partial(f: &mut [u8]) -> (usize, [u8; 2]) {
        let (l4, end, proto, l3) = ip4_l4(f).unwrap();
        let c = l4 + csum_offset(proto);
        let good = [f[c], f[c + 1]];
        let p = pseudo_sum(f, l3, proto, end - l4);
        f[c..c + 2].copy_from_slice(&p.to_be_bytes());
        (c, good)
    }

    /// A 10 kB TCP super-frame split by [`Segmentation`] and merged again by [`Coalesce`]:
    /// the same bytes but for the partial checksum, and a header that asks for the same split.
    #[test]
    fn segments_coalesce_back_into_their_super_frame() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut sup = tcp_frame(&payload);
        let (l4, end, _, l3) = ip4_l4(&sup).unwrap();
        sup[l4 + 13] = ACK; // a bulk transfer: ACK only until the last segment
        let p = pseudo_sum(&sup, l3, 6, end - l4);
        sup[l4 + 16..l4 + 18].copy_from_slice(&p.to_be_bytes());
        assert!(complete_checksum_at(&mut sup, l4, 16));
        let plan = Segmentation::plan(&sup, VNET_GSO_TCPV4, 1448).unwrap();
        assert_eq!(plan.count, 7);
        let segs: Vec<Vec<u8>> = (0..plan.count)
            .map(|i| {
                let mut o = vec![0u8; plan.len(i)];
                plan.write(&sup, i, &mut o).unwrap();
                o
            })
            .collect();
        assert!(segs.iter().all(|s| l4_checksum_ok(s)));
        let mut c = Coalesce::start(&segs[0]).unwrap();
        for s in &segs[1..] {
            assert!(c.push(&segs[0], s));
        }
        assert_eq!(c.count, 7);
        let mut out = vec![0u8; c.frame_len()];
        let (n, h) = c
            .write(segs.iter().map(|s| s.as_slice()), &mut out)
            .unwrap();
        assert_eq!(n, sup.len());
        let v = VnetHdr::parse(&h);
        assert_eq!(
            (
                v.flags,
                v.gso_type,
                v.gso_size,
                usize::from(v.csum_start),
                v.csum_offset
            ),
            (VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 1448, l4, 16)
        );
        // Finishing the partial checksum gives the super-frame back byte for byte.
        assert!(complete_checksum_at(&mut out, l4, 16));
        assert_eq!(&out[..l3 + 4], &sup[..l3 + 4]);
        assert_eq!(out[l3 + 10..], sup[l3 + 10..end]);
    }

    #[test]
    fn runs_stop_where_a_segment_does_not_follow() {
        let seg = |seq: u32, len: usize, flags: u8, port: u16| {
            let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4([10, 1, 1, 2], [10, 1, 2, 2], 64)
                .tcp(port, 80, seq, 500)
                .ack(9);
            let mut v = Vec::new();
            b.write(&mut v, &vec![1u8; len]).unwrap();
            let l4 = 34;
            v[l4 + 13] = flags;
            v
        };
        let first = seg(1000, 100, ACK, 40000);
        let mut c = Coalesce::start(&first).unwrap();
        assert!(!c.push(&first, &seg(1101, 100, ACK, 40000)), "sequence gap");
        assert!(!c.push(&first, &seg(1100, 100, ACK, 40001)), "another flow");
        assert!(
            !c.push(&first, &seg(1100, 101, ACK, 40000)),
            "longer than the first"
        );
        assert!(!c.push(&first, &seg(1100, 100, ACK | 0x01, 40000)), "FIN");
        assert!(
            c.push(&first, &seg(1100, 60, ACK | PSH, 40000)),
            "the short last one"
        );
        assert!(
            !c.push(&first, &seg(1160, 100, ACK, 40000)),
            "nothing after a short segment"
        );
        assert!(Coalesce::start(&seg(1, 10, 0x02, 1)).is_none(), "SYN");
        assert!(Coalesce::start(&seg(1, 0, ACK, 1)).is_none(), "no payload");
        let u = udp_frame(b"x");
        assert!(Coalesce::start(&u).is_none());
        for n in 0..first.len() {
            assert!(Coalesce::start(&first[..n]).is_none() || n >= 54);
            let _ = c.push(&first, &first[..n]);
        }
    }

    #[test]
    fn partial_tcp_and_udp_checksums_are_completed_to_the_real_ones() {
        for mut f in [
            tcp_frame(b"GET / HTTP/1.1\r\n\r\n"),
            tcp_frame(&[0xab; 1001]),
            udp_frame(b"odd"),
            udp_frame(&[0u8; 1400]),
        ] {
            let want = f.clone();
            let (c, good) = make_partial(&mut f);
            assert_ne!(f, want);
            assert!(complete_partial_checksum(&mut f));
            assert_eq!(f, want, "checksum at {c} should be {good:02x?}");
            // The heuristic also recognises it...
            let (_, _) = make_partial(&mut f);
            assert!(repair_partial_checksum(&mut f));
            assert_eq!(f, want);
            // ... and leaves a complete checksum alone.
            assert!(!repair_partial_checksum(&mut f));
            assert_eq!(f, want);
        }
    }

    #[test]
    fn a_wrong_checksum_that_is_not_partial_is_left_for_the_receiver() {
        let mut f = tcp_frame(b"x");
        let (l4, _, _, _) = ip4_l4(&f).unwrap();
        f[l4 + 16] ^= 0x5a;
        let before = f.clone();
        assert!(!repair_partial_checksum(&mut f));
        assert_eq!(f, before);
    }

    #[test]
    fn vlan_tagged_frames_and_padding_are_handled() {
        let plain = udp_frame(b"hello");
        let mut tagged = vec![0u8; plain.len() + 4];
        tagged[4..].copy_from_slice(&plain);
        let n = put_vlan_tag(&mut tagged, plain.len(), Some((0x8100, 100)));
        assert_eq!(n, plain.len() + 4);
        assert_eq!(&tagged[..12], &plain[..12]);
        assert_eq!(&tagged[12..16], &[0x81, 0x00, 0x00, 100]);
        assert_eq!(&tagged[16..], &plain[12..]);
        tagged.extend_from_slice(&[0; 10]); // Ethernet padding after the datagram
        let want = tagged.clone();
        make_partial(&mut tagged);
        assert!(complete_partial_checksum(&mut tagged));
        assert_eq!(tagged, want);
    }

    #[test]
    fn anything_else_is_untouched_and_nothing_panics() {
        let mut f = tcp_frame(b"data");
        f[23] = 1; // ICMP
        assert!(!complete_partial_checksum(&mut f));
        let mut frag = udp_frame(b"data");
        frag[20] = 0x20; // more fragments
        assert!(!complete_partial_checksum(&mut frag));
        let full = tcp_frame(&[7; 64]);
        for n in 0..full.len() {
            let mut t = full[..n].to_vec();
            complete_partial_checksum(&mut t);
            repair_partial_checksum(&mut t);
        }
        assert_eq!(put_vlan_tag(&mut [0u8; 8], 30, Some((0x8100, 1))), 0);
        assert_eq!(put_vlan_tag(&mut [0u8; 64], 5, Some((0x8100, 1))), 0);
        assert_eq!(put_vlan_tag(&mut [0u8; 64], 5, None), 5);
    }

    /// A super-frame as a sender's TCP stack hands it to a TSO device: one IPv4 header with the
    /// whole length, a partial checksum.
    fn tcp_super_frame(payload: &[u8], cwr_fin: bool) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 1, 1, 2], [10, 1, 2, 2], 64)
            .tcp(40000, 5201, 0xffff_f000, 64240)
            .psh()
            .ack(77);
        if cwr_fin {
            b = b.cwr().fin();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v[18..20].copy_from_slice(&0xfffeu16.to_be_bytes()); // IP id, to see it wrap
        v
    }

    fn check_segments(f: &[u8], gso_type: u8, mss: u16) -> Vec<Vec<u8>> {
        let plan = Segmentation::plan(f, gso_type, mss).unwrap();
        (0..plan.count)
            .map(|i| {
                let mut out = vec![0u8; 2048];
                let n = plan.write(f, i, &mut out).unwrap();
                assert_eq!(n, plan.len(i));
                out.truncate(n);
                out
            })
            .collect()
    }

    #[test]
    fn tcp_super_frames_split_as_a_nics_tso_would() {
        let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 + (i >> 8)) as u8).collect();
        for cwr_fin in [false, true] {
            let f = tcp_super_frame(&payload, cwr_fin);
            let segs = check_segments(&f, VNET_GSO_TCPV4 | VNET_GSO_ECN, 1448);
            assert_eq!(segs.len(), 4);
            let mut joined = Vec::new();
            for (i, seg) in segs.iter().enumerate() {
                let p = etherparse::SlicedPacket::from_ethernet(seg).unwrap();
                let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else {
                    panic!()
                };
                let h = ip.header().to_header();
                assert_eq!(h.header_checksum, h.calc_header_checksum(), "segment {i}");
                assert_eq!(h.identification, 0xfffeu16.wrapping_add(i as u16));
                assert_eq!(usize::from(h.total_len), seg.len() - 14);
                let Some(etherparse::TransportSlice::Tcp(t)) = &p.transport else {
                    panic!()
                };
                let th = t.to_header();
                assert_eq!(
                    th.checksum,
                    th.calc_checksum_ipv4(&h, t.payload()).unwrap(),
                    "segment {i}"
                );
                assert_eq!(
                    th.sequence_number,
                    0xffff_f000u32.wrapping_add(1448 * i as u32)
                );
                let last = i == segs.len() - 1;
                assert_eq!(th.psh, last);
                assert_eq!(th.fin, cwr_fin && last);
                assert_eq!(th.cwr, cwr_fin && i == 0);
                assert!(th.ack && th.acknowledgment_number == 77);
                assert_eq!(t.payload().len(), if last { 5000 - 3 * 1448 } else { 1448 });
                joined.extend_from_slice(t.payload());
            }
            assert_eq!(joined, payload);
        }
    }

    #[test]
    fn udp_super_frames_split_into_datagrams() {
        let payload = vec![0x5a; 3000];
        let f = udp_frame(&payload);
        let segs = check_segments(&f, VNET_GSO_UDP_L4, 1400);
        assert_eq!(segs.len(), 3);
        for seg in &segs {
            let p = etherparse::SlicedPacket::from_ethernet(seg).unwrap();
            let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else {
                panic!()
            };
            let h = ip.header().to_header();
            let Some(etherparse::TransportSlice::Udp(u)) = &p.transport else {
                panic!()
            };
            let uh = u.to_header();
            assert_eq!(usize::from(uh.length), 8 + u.payload().len());
            assert_eq!(uh.checksum, uh.calc_checksum_ipv4(&h, u.payload()).unwrap());
        }
    }

    #[test]
    fn bad_super_frames_are_refused() {
        let f = tcp_super_frame(&[1; 3000], false);
        assert!(Segmentation::plan(&f, VNET_GSO_TCPV4, 0).is_none());
        assert!(Segmentation::plan(&f, VNET_GSO_UDP_L4, 1448).is_none());
        assert!(Segmentation::plan(&f, 4 /* TCPV6 */, 1448).is_none());
        assert!(Segmentation::plan(&udp_frame(&[1; 3000]), VNET_GSO_TCPV4, 1448).is_none());
        for n in 0..f.len() {
            if let Some(p) = Segmentation::plan(&f[..n], VNET_GSO_TCPV4, 1448) {
                for i in 0..p.count + 1 {
                    let _ = p.write(&f[..n], i, &mut [0u8; 2048]);
                    let _ = p.write(&f[..n], i, &mut [0u8; 10]);
                }
            }
        }
    }

    #[test]
    fn checksum_at_the_headers_offsets() {
        let want = tcp_frame(b"GET / HTTP/1.1\r\n\r\n");
        let mut f = want.clone();
        make_partial(&mut f);
        assert!(complete_checksum_at(&mut f, 34, 16));
        assert_eq!(f, want);
        assert!(!complete_checksum_at(&mut f, 34, 60_000));
        assert!(!complete_checksum_at(&mut f, 60_000, 0));
    }
}
