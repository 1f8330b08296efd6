//! Builds the benchmark streams of `../shared/bench/make_pcaps.py` without scapy: `syn.pcap` (one
//! 74-byte TCP SYN 10.1.1.3:46310 -> 10.104.221.85:80, the seed 003 packet) and `flows10k.pcap`
//! (10,000 such SYNs with source ports 10000..19999). The bytes are what scapy writes: same
//! headers, options (MSS 1460, SACK permitted, timestamps 2208112640/0, NOP, window scale 7) and
//! checksums.

use std::net::Ipv4Addr;
use std::path::Path;

use graph_nodes::wire::checksum;

/// Parameters of a TCP/IPv4 frame.
#[derive(Clone, Debug)]
pub struct TcpFrame {
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// IPv4 source.
    pub src: Ipv4Addr,
    /// IPv4 destination.
    pub dst: Ipv4Addr,
    /// IP identification.
    pub id: u16,
    /// Don't-fragment flag.
    pub df: bool,
    /// TTL.
    pub ttl: u8,
    /// TCP source port.
    pub sport: u16,
    /// TCP destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// TCP flags byte.
    pub flags: u8,
    /// Window.
    pub window: u16,
    /// TCP options (padded to 4 bytes by the caller).
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// The options scapy writes for make_pcaps.py's SYN.
pub fn syn_options() -> Vec<u8> {
    let mut o = vec![0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a];
    o.extend_from_slice(&2_208_112_640u32.to_be_bytes());
    o.extend_from_slice(&0u32.to_be_bytes());
    o.extend_from_slice(&[0x01, 0x03, 0x03, 0x07]);
    o
}

impl TcpFrame {
    /// make_pcaps.py's SYN with source port `sport`.
    pub fn bench_syn(sport: u16) -> Self {
        TcpFrame {
            src_mac: [0, 0, 0, 0, 0, 2],
            dst_mac: [0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f],
            src: Ipv4Addr::new(10, 1, 1, 3),
            dst: Ipv4Addr::new(10, 104, 221, 85),
            id: 0x5eb4,
            df: true,
            ttl: 64,
            sport,
            dport: 80,
            seq: 0xba5b_f36d,
            ack: 0,
            flags: 0x02,
            window: 29200,
            options: syn_options(),
            payload: Vec::new(),
        }
    }

    /// The frame's bytes, with valid IP and TCP checksums.
    pub fn build(&self) -> Vec<u8> {
        let tcp_len = 20 + self.options.len() + self.payload.len();
        let ip_len = 20 + tcp_len;
        let mut f = Vec::with_capacity(14 + ip_len);
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0x00]);
        f.extend_from_slice(&(ip_len as u16).to_be_bytes());
        f.extend_from_slice(&self.id.to_be_bytes());
        f.extend_from_slice(&[if self.df { 0x40 } else { 0 }, 0]);
        f.extend_from_slice(&[self.ttl, 6, 0, 0]);
        f.extend_from_slice(&self.src.octets());
        f.extend_from_slice(&self.dst.octets());
        let c = checksum::ipv4_header_checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        let t = f.len();
        f.extend_from_slice(&self.sport.to_be_bytes());
        f.extend_from_slice(&self.dport.to_be_bytes());
        f.extend_from_slice(&self.seq.to_be_bytes());
        f.extend_from_slice(&self.ack.to_be_bytes());
        f.push((((20 + self.options.len()) / 4) as u8) << 4);
        f.push(self.flags);
        f.extend_from_slice(&self.window.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&self.options);
        f.extend_from_slice(&self.payload);
        let c = checksum::ipv4_l4_checksum(self.src, self.dst, 6, &f[t..]);
        f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
        f
    }
}

impl TcpFrame {
    /// The frame with its TCP checksum forced to `target` while staying valid: two option bytes
    /// (bytes 10..12 of the options: the low half of the timestamp value in the usual
    /// `MSS, SACK, TS, NOP, WS` layout) are chosen to make the sum come out right. The documented
    /// traces show the checksums but not all option bytes, so this rebuilds real packets that
    /// carry exactly the documented checksum.
    pub fn build_with_tcp_checksum(&self, target: u16) -> Vec<u8> {
        assert!(
            self.options.len() >= 12,
            "needs the timestamp option to adjust"
        );
        let mut f = self.clone();
        f.options[10] = 0;
        f.options[11] = 0;
        let mut bytes = f.build();
        let t = 14 + 20;
        bytes[t + 16..t + 18].copy_from_slice(&target.to_be_bytes());
        // Sum with the free word zero and the checksum field set to the target; the free word
        // must bring the one's-complement sum to 0xffff.
        let sum = checksum::accumulate(
            checksum::pseudo_header_ipv4(self.src, self.dst, 6, (bytes.len() - t) as u16),
            &bytes[t..],
        );
        let x = !checksum::fold(sum);
        bytes[t + 20 + 10..t + 20 + 12].copy_from_slice(&x.to_be_bytes());
        bytes
    }
}

/// `frame` (an Ethernet frame) inside VXLAN VNI `vni` from 192.168.16.1 to 192.168.16.2, as
/// `ci/bench/vxlan-encap.cli`'s node sends it to `ci/bench/vxlan-decap.cli`'s: VPP's outer
/// header (id 0, no DF, UDP checksum 0, TTL 253: the template's 254 less ip4-rewrite's hop),
/// the uplink MACs of the decap script, an ephemeral source port that varies with the flow.
pub fn vxlan_wrap(frame: &[u8], vni: u32, sport: u16) -> Vec<u8> {
    let ip_len = 20 + 8 + 8 + frame.len();
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&[0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f]);
    f.extend_from_slice(&[0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0x00]);
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 253, 17, 0, 0]);
    f.extend_from_slice(&[192, 168, 16, 1, 192, 168, 16, 2]);
    let c = checksum::ipv4_header_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&4789u16.to_be_bytes());
    f.extend_from_slice(&((ip_len - 20) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x08, 0, 0, 0]);
    f.extend_from_slice(&(vni << 8).to_be_bytes());
    f.extend_from_slice(frame);
    f
}

/// make_pcaps.py's SYN with source port `sport` as it leaves `ci/bench/vxlan-encap.cli`'s BVI:
/// TTL 63, from loop0's MAC to the remote BVI's, inside VXLAN VNI 10.
pub fn vxlan_bench_syn(sport: u16) -> Vec<u8> {
    let mut t = TcpFrame::bench_syn(sport);
    t.ttl = 63;
    t.src_mac = [0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x01];
    t.dst_mac = [0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x02];
    vxlan_wrap(
        &t.build(),
        10,
        0xc000 | (sport.wrapping_mul(40503) & 0x3fff),
    )
}

/// Flow `i` of the scale-curve pcaps: make_pcaps.py's SYN from 10.1.1.(3 + i / 50000), source
/// port 10000 + i % 50000.
pub fn scale_syn(i: u32) -> TcpFrame {
    let mut f = TcpFrame::bench_syn(10_000 + (i % 50_000) as u16);
    f.src = Ipv4Addr::new(10, 1, 1, 3 + (i / 50_000) as u8);
    f
}

/// Write `syn.pcap`, `flows10k.pcap` (make_pcaps.py's) and their VXLAN-encapsulated forms
/// `vxlan-syn.pcap`, `vxlan-flows10k.pcap` (the streams of `ci/bench/vxlan-decap.cli`) into `dir`;
/// for the scale curves `flows1k.pcap`, `flows100k.pcap`, `flows1m.pcap` (N flows) and
/// `syn-routes.pcap` (the SYN to 20.0.0.5, inside the blocks of `ip route add count N
/// 20.0.0.0/32`).
pub fn write_bench_pcaps(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let syn = TcpFrame::bench_syn(46310).build();
    engine::pcap::write_pcap(&dir.join("syn.pcap"), [(0u64, syn.as_slice())])?;
    let flows: Vec<Vec<u8>> = (10000..20000u16)
        .map(|p| TcpFrame::bench_syn(p).build())
        .collect();
    engine::pcap::write_pcap(
        &dir.join("flows10k.pcap"),
        flows.iter().map(|f| (0u64, f.as_slice())),
    )?;
    // Scale curves: N flows (sources 10.1.1.3 up, 50,000 ports each) and a SYN to an address
    // inside the blocks `ip route add count N 20.0.0.0/32` adds.
    for (name, n) in [
        ("flows1k.pcap", 1_000u32),
        ("flows100k.pcap", 100_000),
        ("flows1m.pcap", 1_000_000),
    ] {
        let frames: Vec<Vec<u8>> = (0..n).map(|i| scale_syn(i).build()).collect();
        engine::pcap::write_pcap(&dir.join(name), frames.iter().map(|f| (0u64, f.as_slice())))?;
    }
    let mut inside = TcpFrame::bench_syn(46310);
    inside.dst = Ipv4Addr::new(20, 0, 0, 5);
    let inside = inside.build();
    engine::pcap::write_pcap(&dir.join("syn-routes.pcap"), [(0u64, inside.as_slice())])?;
    let vsyn = vxlan_bench_syn(46310);
    engine::pcap::write_pcap(&dir.join("vxlan-syn.pcap"), [(0u64, vsyn.as_slice())])?;
    let vflows: Vec<Vec<u8>> = (10000..20000u16).map(vxlan_bench_syn).collect();
    engine::pcap::write_pcap(
        &dir.join("vxlan-flows10k.pcap"),
        vflows.iter().map(|f| (0u64, f.as_slice())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_checksum_is_valid() {
        for target in [0x0000u16, 0x3b85, 0xc3de, 0xffff, 0x1234] {
            let f = TcpFrame::bench_syn(39820).build_with_tcp_checksum(target);
            assert_eq!(u16::from_be_bytes([f[50], f[51]]), target);
            let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
            let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Tcp(tcp))) =
                (p.net, p.transport)
            else {
                panic!()
            };
            let want = tcp
                .to_header()
                .calc_checksum_ipv4(&ip.header().to_header(), &[])
                .unwrap();
            // 0x0000 and 0xffff are the same one's-complement value.
            assert!(
                want == target
                    || (want == 0xffff && target == 0)
                    || (want == 0 && target == 0xffff),
                "{target:#x} vs {want:#x}"
            );
        }
    }

    #[test]
    fn vxlan_bench_syn_is_a_valid_vxlan_packet() {
        let f = vxlan_bench_syn(46310);
        assert_eq!(f.len(), 74 + 50);
        let p = etherparse::SlicedPacket::from_ethernet(&f).expect("valid frame");
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            panic!("not IPv4")
        };
        let h = ip.header().to_header();
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        assert_eq!(
            (h.time_to_live, h.identification, h.dont_fragment),
            (253, 0, false)
        );
        let Some(etherparse::TransportSlice::Udp(udp)) = p.transport else {
            panic!("not UDP")
        };
        assert_eq!((udp.destination_port(), udp.checksum()), (4789, 0));
        assert!(udp.source_port() >= 0xc000);
        assert_eq!(&f[42..50], &[0x08, 0, 0, 0, 0, 0, 0x0a, 0]);
        let inner = etherparse::SlicedPacket::from_ethernet(&f[50..]).expect("valid inner frame");
        let Some(etherparse::NetSlice::Ipv4(ip)) = inner.net else {
            panic!("inner not IPv4")
        };
        assert_eq!(ip.header().ttl(), 63);
    }

    #[test]
    fn bench_syn_matches_the_documented_headers() {
        let f = TcpFrame::bench_syn(46310).build();
        assert_eq!(f.len(), 74);
        // POD_TO_SERVICE_HOST documents the same IP header: checksum 0xe946.
        assert_eq!(&f[24..26], &[0xe9, 0x46]);
        let p = etherparse::SlicedPacket::from_ethernet(&f).expect("valid frame");
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            panic!("not IPv4")
        };
        assert_eq!(ip.header().identification(), 0x5eb4);
        let Some(etherparse::TransportSlice::Tcp(tcp)) = p.transport else {
            panic!("not TCP")
        };
        assert_eq!(tcp.source_port(), 46310);
        assert_eq!(tcp.data_offset(), 10);
        let want = tcp
            .to_header()
            .calc_checksum_ipv4(&ip.header().to_header(), &[])
            .unwrap();
        assert_eq!(tcp.checksum(), want);
    }
}
