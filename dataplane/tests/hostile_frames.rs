//! Hostile input into every node: a packet-generator stream may enter any node of the graph
//! (`packet-generator new { ... node NAME }`), so every node must take any bytes with the
//! metadata pg gives them: truncated and malformed Ethernet, VLAN, ARP, IPv4 (every header
//! length, lengths that lie), TCP/UDP/ICMP, VXLAN and Geneve headers, random bytes of every
//! length. Nothing may panic, and every buffer must come back to the pool.

use dataplane::App;
use engine::buffer::INVALID_INDEX;
use engine::graph::NodeKind;

fn app() -> App {
    dataplane::fuzzing::node_app()
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn eth(dst: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0x01, 0x02]);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// An IPv4 header: `ihl` words, total length `len`, protocol `proto`, flags/fragment `frag`.
fn ip4(ihl: u8, len: u16, proto: u8, frag: u16, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut h = vec![0x40 | (ihl & 15), 0];
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 1]);
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let words = (ihl as usize).max(5);
    h.resize(words * 4, 1);
    let c = graph_nodes::wire::checksum::ipv4_header_checksum(&h[..20.min(h.len())]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// The frames: every prefix of a set of well-formed frames (all truncations), header fields
/// that lie, and random bytes.
fn frames() -> Vec<Vec<u8>> {
    let tap1 = [0x02, 0xfe, 0, 0, 0, 1];
    let tap0 = [0x02, 0xfe, 0, 0, 0, 0];
    let bvi = [0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x01];
    let pod = [10, 1, 1, 2];
    let mut whole = Vec::new();
    let l4 = |proto: u8, dport: u16| -> Vec<u8> {
        let mut t = vec![0x9c, 0x40];
        t.extend_from_slice(&dport.to_be_bytes());
        match proto {
            6 => t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0]),
            17 => t.extend_from_slice(&[0, 16, 0, 0]),
            _ => {}
        }
        t
    };
    for (proto, dport) in [
        (6u8, 80u16),
        (6, 8080),
        (17, 53),
        (17, 4789),
        (17, 6081),
        (1, 0),
    ] {
        for (dst_mac, src, dst) in [
            (tap1, pod, [8, 8, 8, 8]),
            (tap1, pod, [10, 96, 0, 10]),
            (tap0, [192, 168, 16, 2], [192, 168, 16, 1]),
            (bvi, [192, 168, 30, 2], [192, 168, 30, 1]),
        ] {
            let mut payload = if proto == 1 {
                vec![8, 0, 0, 0, 0, 1, 0, 1]
            } else {
                l4(proto, dport)
            };
            if dport == 4789 {
                payload.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 10, 0]);
                payload.extend_from_slice(&eth(bvi, 0x0800));
                payload.extend_from_slice(&ip4(5, 40, 6, 0, [10, 1, 9, 9], pod));
                payload.extend_from_slice(&l4(6, 80));
            }
            if dport == 6081 {
                payload
                    .extend_from_slice(&[0x02, 0, 0x65, 0x58, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
                payload.extend_from_slice(&eth([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff], 0x0800));
                payload.extend_from_slice(&ip4(5, 40, 6, 0, [10, 1, 9, 9], pod));
            }
            let len = 20 + payload.len() as u16;
            let mut f = eth(dst_mac, 0x0800);
            f.extend_from_slice(&ip4(5, len, proto, 0x4000, src, dst));
            f.extend_from_slice(&payload);
            whole.push(f);
        }
    }
    // ARP request and reply, VLAN tags, IPv6.
    let mut arp = eth([0xff; 6], 0x0806);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 1, 2, 10, 1, 1, 2]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&[10, 1, 1, 1]);
    whole.push(arp);
    let mut tagged = eth(tap1, 0x8100);
    tagged.extend_from_slice(&[0, 5, 0x88, 0xa8, 0, 6, 0x08, 0x00]);
    tagged.extend_from_slice(&ip4(5, 28, 17, 0, pod, [8, 8, 8, 8]));
    tagged.extend_from_slice(&l4(17, 53));
    whole.push(tagged);
    let mut v6 = eth(tap1, 0x86dd);
    v6.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 58, 255]);
    v6.extend_from_slice(&[0; 32]);
    v6.extend_from_slice(&[135, 0, 0, 0, 0, 0, 0, 0]);
    whole.push(v6);

    let mut out = Vec::new();
    for f in &whole {
        for n in 0..=f.len() {
            out.push(f[..n].to_vec());
        }
    }
    // Header fields that lie: every IHL, total lengths short and long, fragments.
    for ihl in 0..16u8 {
        for len in [0u16, 19, 20, 27, 28, 60, 1500, 65535] {
            for frag in [0u16, 0x2000, 0x0001, 0x2001, 0x4000] {
                let mut f = eth(tap1, 0x0800);
                f.extend_from_slice(&ip4(ihl, len, 17, frag, pod, [8, 8, 8, 8]));
                f.extend_from_slice(&l4(17, 53));
                out.push(f);
            }
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in (0..128).chain([200, 600, 1514, 2000]) {
        out.push(rng.bytes(n));
        // Random bytes behind a plausible Ethernet + IPv4 start.
        let mut f = eth(tap1, 0x0800);
        f.push(0x45);
        f.extend(rng.bytes(n));
        out.push(f);
    }
    out
}

/// Inject `frames` into node `node` as a pg stream on pg0 would (sw_if_index[RX] = pg0, nothing
/// else set), 256 at a time, and run the graph to idle.
fn inject(app: &mut App, node: u32, frames: &[Vec<u8>]) {
    let pg0 = app.dp.sw_if_index("pg0").unwrap();
    for chunk in frames.chunks(256) {
        let mut bufs = Vec::new();
        for f in chunk {
            let pool = &mut app.dp.graph.vm.buffers;
            let bi = pool.alloc_one().expect("buffers");
            assert!(pool.fill(bi, f));
            let m = pool.meta_mut(bi);
            m.sw_if_index = [pg0, INVALID_INDEX];
            bufs.push(bi);
        }
        app.dp.graph.inject(node, &bufs);
        app.dp.run_until_idle();
    }
}

#[test]
fn every_node_takes_any_frame_without_panic_or_leak() {
    let frames = frames();
    let probe = app();
    let nodes: Vec<(u32, String)> = probe
        .dp
        .graph
        .node_indices()
        .filter(|&i| {
            !probe.dp.graph.is_placeholder(i) && probe.dp.graph.node_kind(i) != NodeKind::Input
        })
        .map(|i| (i, probe.dp.graph.node_name(i).to_string()))
        .collect();
    drop(probe);
    let mut failures = Vec::new();
    for (index, name) in &nodes {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut app = app();
            app.exec("trace add pg-input 50").unwrap();
            inject(&mut app, *index, &frames);
            // Traces of all that must format too.
            let _ = app.exec("show trace max 50").unwrap();
            let _ = app.exec("show errors").unwrap();
            // Fragments held for a first fragment that never came go after the timeout.
            let now = app.dp.graph.vm.clock.now_ns();
            app.dp.graph.vm.clock.set_ns(now + 1_000_000_000);
            app.dp.run_until_idle();
            app.dp.graph.vm.buffers.in_use()
        }));
        match r {
            Ok(0) => {}
            Ok(n) => failures.push(format!("{name}: {n} buffers leaked")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} nodes: {failures:#?}",
        failures.len(),
        nodes.len()
    );
}
