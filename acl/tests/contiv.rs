//! The acl-plugin records of contiv's HOST_TO_POD packet flow (VPP 18.01), reproduced: same
//! interfaces (tap0 = sw_if_index 2, tap5 = sw_if_index 9), ACL indices (reflective ACL 3 on
//! input, ACL 4 on output whose rule 3 permits the SYN) and session number (22). The output
//! ACL's `next index 1` is the shared `interface-output` node that ends the `ip4-output` arc.

mod common;

use common::*;
use dataplane::engine::Mode;
use dataplane::pcapgen::TcpFrame;
use dataplane::App;

const SETUP: &str = "
create tap id 100 hw-addr 02:00:00:00:00:64
create tap id 0 hw-addr 01:23:45:67:89:42
create tap id 101
create tap id 102
create tap id 103
create tap id 104
create tap id 105
create tap id 106
create tap id 5 hw-addr 02:fe:04:07:d1:e2
set interface state tap0 up
set interface state tap5 up
set interface ip address tap0 172.30.1.1/24
set interface unnumbered tap5 use tap0
set ip neighbor tap0 172.30.1.2 3e:1b:70:2d:4d:51 static
set ip neighbor tap5 10.1.1.6 00:00:00:00:00:02 static
ip route add 10.1.1.6/32 via 10.1.1.6 tap5
set acl-plugin acl deny
set acl-plugin acl deny
set acl-plugin acl deny
set acl-plugin acl permit+reflect
set acl-plugin acl permit dst 10.1.1.1/32, permit dst 10.1.1.2/32, permit dst 10.1.1.3/32, permit src 172.30.1.0/24 dst 10.1.1.6/32 proto 6 dport 8080
set acl-plugin interface tap0 input acl 3
set acl-plugin interface tap5 input acl 3
set acl-plugin interface tap5 output acl 4
set acl-plugin interface tap0 output acl 4
set acl-plugin session table first-index 22
trace add virtio-input 10
";

/// The four acl-plugin records of HOST_TO_POD.md, in packet order.
const DOC: [[&str; 3]; 4] = [
    [
        "  acl-plugin: sw_if_index 2, next index 1, action: 2, match: acl 3 rule 0 trace_bits 00000000",
        "  pkt info 0000000000000000 02011eac00000000 0000000000000000 0601010a00000000 000200061f9080c6 0702ffff00000002",
        "   input sw_if_index 2 (lsb16 2) l3 ip4 172.30.1.2 -> 10.1.1.6 l4 proto 6 l4_valid 1 port 32966 -> 8080 tcp flags (valid) 02 rsvd 0",
    ],
    [
        "  acl-plugin: sw_if_index 9, next index 1, action: 1, match: acl 4 rule 3 trace_bits 00000000",
        "  pkt info 0000000000000000 02011eac00000000 0000000000000000 0601010a00000000 000900061f9080c6 0502ffff00000009",
        "   output sw_if_index 9 (lsb16 9) l3 ip4 172.30.1.2 -> 10.1.1.6 l4 proto 6 l4_valid 1 port 32966 -> 8080 tcp flags (valid) 02 rsvd 0",
    ],
    [
        "  acl-plugin: sw_if_index 9, next index 1, action: 2, match: acl 3 rule 0 trace_bits 00000000",
        "  pkt info 0000000000000000 0601010a00000000 0000000000000000 02011eac00000000 0009000680c61f90 0712ffff00000009",
        "   input sw_if_index 9 (lsb16 9) l3 ip4 10.1.1.6 -> 172.30.1.2 l4 proto 6 l4_valid 1 port 8080 -> 32966 tcp flags (valid) 12 rsvd 0",
    ],
    [
        "  acl-plugin: sw_if_index 2, next index 1, action: 3, match: acl -1 rule 22 trace_bits 80000000",
        "  pkt info 0000000000000000 0601010a00000000 0000000000000000 02011eac00000000 0002000680c61f90 0512ffff00000002",
        "   output sw_if_index 2 (lsb16 2) l3 ip4 10.1.1.6 -> 172.30.1.2 l4 proto 6 l4_valid 1 port 8080 -> 32966 tcp flags (valid) 12 rsvd 0",
    ],
];

fn syn() -> Vec<u8> {
    TcpFrame {
        src_mac: [0x3e, 0x1b, 0x70, 0x2d, 0x4d, 0x51],
        dst_mac: [0x01, 0x23, 0x45, 0x67, 0x89, 0x42],
        src: "172.30.1.2".parse().unwrap(),
        dst: "10.1.1.6".parse().unwrap(),
        id: 0x9e51,
        df: true,
        ttl: 64,
        sport: 32966,
        dport: 8080,
        seq: 0xe269_7e8e,
        ack: 0,
        flags: 0x02,
        window: 29200,
        options: dataplane::pcapgen::syn_options(),
        payload: Vec::new(),
    }
    .build()
}

fn syn_ack() -> Vec<u8> {
    TcpFrame {
        src_mac: [0, 0, 0, 0, 0, 2],
        dst_mac: [0x02, 0xfe, 0x04, 0x07, 0xd1, 0xe2],
        src: "10.1.1.6".parse().unwrap(),
        dst: "172.30.1.2".parse().unwrap(),
        id: 0,
        df: true,
        ttl: 64,
        sport: 8080,
        dport: 32966,
        seq: 0xf14b_9572,
        ack: 0xe269_7e8f,
        flags: 0x12,
        window: 28960,
        options: dataplane::pcapgen::syn_options(),
        payload: Vec::new(),
    }
    .build()
}

#[test]
fn host_to_pod_acl_records_equal_the_document() {
    let mut a = App::new(Mode::Replay);
    run(&mut a, SETUP);
    assert_eq!(a.dp.sw_if_index("tap0").unwrap(), 2);
    assert_eq!(a.dp.sw_if_index("tap5").unwrap(), 9);
    // 01:36:39:413621 and 01:36:39:413685, the documented virtio-input times.
    let t0 = ((3600 + 36 * 60 + 39) * 1_000_000 + 413_621) * 1000;
    send(&mut a, "tap0", t0, syn());
    send(&mut a, "tap5", t0 + 64_000, syn_ack());
    assert_eq!(sent(&a, "tap5").len(), 1);
    assert_eq!(sent(&a, "tap0").len(), 1);
    let t = a.exec("show trace").unwrap();
    let ins = acl_records(&t, "acl-plugin-in-ip4-fa");
    let outs = acl_records(&t, "acl-plugin-out-ip4-fa");
    let got = [&ins[0], &outs[0], &ins[1], &outs[1]];
    for (k, (g, want)) in got.iter().zip(DOC.iter()).enumerate() {
        assert_eq!(g[0], want[0], "record {k}");
        assert_eq!(g[1], want[1], "record {k}");
        assert_eq!(g[2], want[2], "record {k}");
    }
    // The node names head their records, at the dispatch time.
    assert!(
        t.contains("01:36:39:413621: acl-plugin-in-ip4-fa\n  acl-plugin: sw_if_index 2,"),
        "{t}"
    );
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
}
