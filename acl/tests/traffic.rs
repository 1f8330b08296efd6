//! Packets through `acl-plugin-in-ip4-fa` / `acl-plugin-out-ip4-fa`: stateless rules, rule order,
//! deny by default, ICMP and TCP-flag rules, fragments, reflexive sessions, TCP state, timeouts on
//! the injectable clock, the session limit, MACIP source guard.

mod common;

use common::*;
use dataplane::engine::replay::inject_frame;
use dataplane::engine::Mode;
use dataplane::App;

const IN: &str = "acl-plugin-in-ip4-fa";
const OUT: &str = "acl-plugin-out-ip4-fa";

fn app(extra: &str) -> App {
    let mut a = App::new(Mode::Replay);
    run(&mut a, TWO_TAPS);
    run(&mut a, extra);
    a
}

fn done(a: &App) {
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

#[test]
fn stateless_permit_deny_counters_and_trace() {
    let mut a = app(
        "set acl-plugin acl permit src 10.1.1.0/24 dst 10.20.0.2/32 proto 6 dport 80
set acl-plugin interface tap1 input acl 0
trace add virtio-input 10",
    );
    send(&mut a, "tap1", SEC, c2s(40000, 80, 0x02));
    send(&mut a, "tap1", 2 * SEC, c2s(40000, 22, 0x02));
    let out = sent(&a, "tap2");
    assert_eq!(out.len(), 1);
    assert_eq!(five_tuple(&out[0]).3, 80);
    assert_eq!(err_count(&a, IN, "ACL deny packets"), 1);
    assert_eq!(err_count(&a, IN, "ACL permit packets"), 1);
    assert_eq!(err_count(&a, IN, "checked packets"), 2);
    let t = a.exec("show trace").unwrap();
    let r = acl_records(&t, IN);
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0][0],
        "  acl-plugin: sw_if_index 1, next index 1, action: 1, match: acl 0 rule 0 trace_bits 00000000"
    );
    assert_eq!(
        r[0][1],
        "  pkt info 0000000000000000 0301010a00000000 0000000000000000 0200140a00000000 0001000600509c40 0702ffff00000001"
    );
    assert_eq!(
        r[1][0],
        "  acl-plugin: sw_if_index 1, next index 0, action: 0, match: acl -1 rule -1 trace_bits 00000000"
    );
    assert_eq!(
        r[1][2],
        "   input sw_if_index 1 (lsb16 1) l3 ip4 10.1.1.3 -> 10.20.0.2 l4 proto 6 l4_valid 1 port 40000 -> 22 tcp flags (valid) 02 rsvd 0"
    );
    assert!(
        t.contains("error-drop\n  acl-plugin-in-ip4-fa: ACL deny packets"),
        "{t}"
    );
    done(&a);
}

#[test]
fn first_match_of_first_acl_wins_and_no_match_denies() {
    let mut a = app(
        "set acl-plugin acl deny proto 6 dport 22, permit proto 17 dport 53
set acl-plugin acl permit proto 6 dport 20-30, permit proto 6 tcpflags 2 mask 18, deny proto 1 sport 8 dport 0, permit proto 1
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap1 input acl 1
trace add virtio-input 20",
    );
    let t0 = SEC;
    send(&mut a, "tap1", t0, c2s(1000, 22, 0x02)); // acl 0 rule 0: deny
    send(&mut a, "tap1", t0, c2s(1000, 23, 0x10)); // acl 1 rule 0: permit
    send(&mut a, "tap1", t0, c2s(1000, 80, 0x02)); // acl 1 rule 1 (SYN only): permit
    send(&mut a, "tap1", t0, c2s(1000, 80, 0x12)); // SYN-ACK: no rule: deny
    let echo = |ty: u8| {
        Pkt::icmp("10.1.1.3", "10.20.0.2", ty, 0)
            .macs(CLIENT_MAC, TAP1_MAC)
            .build()
    };
    send(&mut a, "tap1", t0, echo(8)); // acl 1 rule 2: deny
    send(&mut a, "tap1", t0, echo(0)); // acl 1 rule 3: permit
    let udp = Pkt::udp("10.1.1.3", 5000, "10.20.0.2", 53)
        .macs(CLIENT_MAC, TAP1_MAC)
        .build();
    send(&mut a, "tap1", t0, udp); // acl 0 rule 1
    let t = a.exec("show trace").unwrap();
    let got: Vec<String> = acl_records(&t, IN)
        .iter()
        .map(|r| {
            let w: Vec<&str> = r[0].split_whitespace().collect();
            format!("{} {} {}", w[7], w[10], w[12])
        })
        .collect();
    assert_eq!(
        got,
        vec!["0, 0 0", "1, 1 0", "1, 1 1", "0, -1 -1", "0, 1 2", "1, 1 3", "1, 0 1"]
    );
    assert_eq!(sent(&a, "tap2").len(), 4);
    assert_eq!(err_count(&a, IN, "ACL deny packets"), 3);
    done(&a);
}

/// Fragments are judged by their datagram's ports: the shallow virtual reassembly gives every
/// fragment its first fragment's L4 fields (a fragment that arrives first waits for it), so the
/// whole datagram matches the rules its first fragment matches; a fragment whose first never
/// comes is dropped after the reassembly timeout.
#[test]
fn fragments_are_judged_by_their_datagrams_ports() {
    let mut a = app("set acl-plugin acl permit proto 17 dport 53, deny proto 6
set acl-plugin interface tap1 input acl 0");
    let frag = |udp: bool, id: u16, ff: u16| {
        let mut p = if udp {
            Pkt::udp("10.1.1.3", 5000, "10.20.0.2", 53)
        } else {
            Pkt::tcp("10.1.1.3", 5000, "10.20.0.2", 80, 0)
        }
        .macs(CLIENT_MAC, TAP1_MAC);
        p.df = false;
        p.id = id;
        p.frag = ff;
        p.build()
    };
    // UDP to port 53: the later fragment waits, then both go.
    send(&mut a, "tap1", SEC, frag(true, 7, 100));
    assert_eq!(sent(&a, "tap2").len(), 0, "held until the first fragment");
    send(&mut a, "tap1", SEC, frag(true, 7, 0x2000));
    assert_eq!(sent(&a, "tap2").len(), 2);
    // TCP is denied, first fragment and later ones alike.
    send(&mut a, "tap1", SEC, frag(false, 8, 0x2000));
    send(&mut a, "tap1", SEC, frag(false, 8, 100));
    assert_eq!(sent(&a, "tap2").len(), 2);
    assert_eq!(err_count(&a, IN, "ACL deny packets"), 2);
    // A lone later fragment: dropped when the reassembly times out.
    send(&mut a, "tap1", SEC, frag(true, 9, 100));
    send(&mut a, "tap1", SEC + 200_000_000, frag(true, 10, 0x2000));
    assert_eq!(
        err_count(
            &a,
            "ip4-sv-reassembly-feature",
            "fragments dropped due to reassembly timeout"
        ),
        1
    );
    send(&mut a, "tap1", 2 * SEC, frag(true, 11, 0x2000));
    done(&a);
}

/// Input permit+reflect on tap1 (the client side), deny everything else out of tap1.
const REFLECT: &str = "
set acl-plugin acl permit+reflect src 10.1.1.0/24 proto 6, permit+reflect src 10.1.1.0/24 proto 17
set acl-plugin acl deny
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap1 output acl 1
trace add virtio-input 50
";

#[test]
fn reflexive_session_admits_replies_and_tracks_tcp_state() {
    let mut a = app(REFLECT);
    send(&mut a, "tap1", SEC, c2s(40000, 80, 0x02));
    send(&mut a, "tap2", SEC + 1000, s2c(80, 40000, 0x12));
    send(&mut a, "tap1", SEC + 2000, c2s(40000, 80, 0x10));
    // A connection the server opens is denied by the output ACL.
    send(&mut a, "tap2", SEC + 3000, s2c(8080, 40001, 0x02));
    assert_eq!(sent(&a, "tap2").len(), 2);
    let back = sent(&a, "tap1");
    assert_eq!(back.len(), 1, "only the SYN-ACK comes back");
    assert_eq!(five_tuple(&back[0]).1, 80);
    assert_eq!(err_count(&a, IN, "new sessions added"), 1);
    assert_eq!(err_count(&a, IN, "existing session packets"), 1);
    assert_eq!(err_count(&a, OUT, "existing session packets"), 1);
    assert_eq!(err_count(&a, OUT, "ACL deny packets"), 1);
    assert_eq!(err_count(&a, IN, "restart session timer"), 1);
    let t = a.exec("show trace").unwrap();
    let ins = acl_records(&t, IN);
    let outs = acl_records(&t, OUT);
    assert_eq!(
        ins[0][0],
        "  acl-plugin: sw_if_index 1, next index 1, action: 2, match: acl 0 rule 0 trace_bits 00000000"
    );
    assert_eq!(
        outs[0][0],
        "  acl-plugin: sw_if_index 1, next index 1, action: 3, match: acl -1 rule 0 trace_bits 80000000"
    );
    assert_eq!(
        outs[0][2],
        "   output sw_if_index 1 (lsb16 1) l3 ip4 10.20.0.2 -> 10.1.1.3 l4 proto 6 l4_valid 1 port 80 -> 40000 tcp flags (valid) 12 rsvd 0"
    );
    // The ACK completes the handshake: transient (2) -> established (1).
    assert_eq!(
        ins[1][0],
        "  acl-plugin: sw_if_index 1, next index 1, action: 3, match: acl -1 rule 0 trace_bits 80010201"
    );
    assert_eq!(
        outs[1][0],
        "  acl-plugin: sw_if_index 1, next index 0, action: 0, match: acl 1 rule 0 trace_bits 00000000"
    );
    let s = a.exec("show acl-plugin sessions verbose").unwrap();
    assert!(s.starts_with("Sessions total: add 1 - del 0 = 1\n"), "{s}");
    assert!(s.contains("    session 0: sw_if_index 1 proto 6 10.1.1.3:40000 <-> 10.20.0.2:80 tcp flags seen in 12 out 12 timeout type 1"), "{s}");
    assert!(s.contains("    sw_if_index 1: add 1 - del 0 = 1\n"), "{s}");
    done(&a);
}

#[test]
fn sessions_belong_to_their_interface() {
    // The reply entering tap2 does not hit tap1's session (the key holds the interface): tap2's
    // own input ACL decides, as in the contiv traces (action 2 on the server side).
    let mut a = app(&format!(
        "{REFLECT}set acl-plugin acl deny\nset acl-plugin interface tap2 input acl 2"
    ));
    send(&mut a, "tap1", SEC, c2s(40000, 80, 0x02));
    send(&mut a, "tap2", SEC, s2c(80, 40000, 0x12));
    assert!(sent(&a, "tap1").is_empty());
    assert_eq!(err_count(&a, IN, "ACL deny packets"), 1);
    done(&a);
}

#[test]
fn trace_bits_accumulate_over_a_frame_as_in_vpp() {
    let mut a = app(REFLECT);
    send(&mut a, "tap1", SEC, c2s(40000, 80, 0x02));
    // Two packets in one frame: a session hit, then a new flow.
    inject_frame(&a.dp, "tap1", 2 * SEC, c2s(40000, 80, 0x10)).unwrap();
    inject_frame(&a.dp, "tap1", 2 * SEC, c2s(40001, 80, 0x02)).unwrap();
    a.dp.graph.vm.clock = dataplane::engine::clock::Clock::manual(2 * SEC);
    a.dp.run_until_idle();
    let t = a.exec("show trace").unwrap();
    let ins = acl_records(&t, IN);
    assert_eq!(ins.len(), 3);
    assert!(
        ins[1][0].ends_with("action: 3, match: acl -1 rule 0 trace_bits 80000000"),
        "{}",
        ins[1][0]
    );
    assert!(
        ins[2][0].ends_with("action: 2, match: acl 0 rule 0 trace_bits 80000000"),
        "{}",
        ins[2][0]
    );
    done(&a);
}

#[test]
fn tcp_transient_and_established_timeouts_on_the_clock() {
    let mut a = app(REFLECT);
    // Transient (120 s): the SYN-ACK 119 s after the SYN passes, 120 s after that it does not.
    send(&mut a, "tap1", SEC, c2s(1000, 80, 0x02));
    send(&mut a, "tap2", 120 * SEC, s2c(80, 1000, 0x12));
    assert_eq!(sent(&a, "tap1").len(), 1);
    send(&mut a, "tap2", 240 * SEC, s2c(80, 1000, 0x12));
    assert_eq!(sent(&a, "tap1").len(), 1, "expired after 120 s idle");
    let s = a.exec("show acl-plugin sessions").unwrap();
    assert!(s.starts_with("Sessions total: add 1 - del 1 = 0\n"), "{s}");
    // Established (24 h by default): a reply 23 h later passes.
    let t0 = 1000 * SEC;
    send(&mut a, "tap1", t0, c2s(2000, 80, 0x02));
    send(&mut a, "tap2", t0, s2c(80, 2000, 0x12));
    send(&mut a, "tap1", t0, c2s(2000, 80, 0x10));
    send(&mut a, "tap2", t0 + 23 * 3600 * SEC, s2c(80, 2000, 0x10));
    assert_eq!(sent(&a, "tap1").len(), 3);
    // A shorter established timeout applies at once.
    run(&mut a, "set acl-plugin session timeout tcp idle 100");
    send(
        &mut a,
        "tap2",
        t0 + 23 * 3600 * SEC + 100 * SEC,
        s2c(80, 2000, 0x10),
    );
    assert_eq!(sent(&a, "tap1").len(), 3);
    // FIN makes a session transient again.
    let t1 = 200_000 * SEC;
    send(&mut a, "tap1", t1, c2s(3000, 80, 0x02));
    send(&mut a, "tap2", t1, s2c(80, 3000, 0x12));
    send(&mut a, "tap1", t1, c2s(3000, 80, 0x10));
    send(&mut a, "tap1", t1, c2s(3000, 80, 0x11));
    let s = a.exec("show acl-plugin sessions verbose").unwrap();
    assert!(
        s.contains("10.1.1.3:3000 <-> 10.20.0.2:80 tcp flags seen in 13 out 12 timeout type 2"),
        "{s}"
    );
    done(&a);
}

#[test]
fn udp_idle_timeout_and_cleaner() {
    let mut a = app(REFLECT);
    let c = |sport| {
        Pkt::udp("10.1.1.3", sport, "10.20.0.2", 53)
            .macs(CLIENT_MAC, TAP1_MAC)
            .build()
    };
    let s = |dport| {
        Pkt::udp("10.20.0.2", 53, "10.1.1.3", dport)
            .macs(SERVER_MAC, TAP2_MAC)
            .build()
    };
    send(&mut a, "tap1", 0, c(7000));
    send(&mut a, "tap1", 0, c(7001));
    send(&mut a, "tap2", 599 * SEC, s(7000));
    assert_eq!(sent(&a, "tap1").len(), 1);
    // 7001 idle for 600 s: reclaimed by the cleaner when traffic next runs the node.
    send(&mut a, "tap2", 600 * SEC, s(7000));
    assert_eq!(sent(&a, "tap1").len(), 2);
    let sh = a.exec("show acl-plugin sessions").unwrap();
    assert!(
        sh.starts_with("Sessions total: add 2 - del 1 = 1\n"),
        "{sh}"
    );
    // 7000's last packet was at 600 s.
    send(&mut a, "tap2", 1199 * SEC, s(7000));
    send(&mut a, "tap2", 1799 * SEC + SEC, s(7000));
    assert_eq!(sent(&a, "tap1").len(), 3);
    let sh = a.exec("show acl-plugin sessions").unwrap();
    assert!(
        sh.starts_with("Sessions total: add 2 - del 2 = 0\n"),
        "{sh}"
    );
    done(&a);
}

#[test]
fn session_limit_refuses_and_counts_udp_recycles_tcp() {
    let mut a = app(REFLECT);
    run(&mut a, "set acl-plugin session table max-entries 2");
    for p in [7000u16, 7001, 7002] {
        send(
            &mut a,
            "tap1",
            SEC,
            Pkt::udp("10.1.1.3", p, "10.20.0.2", 53)
                .macs(CLIENT_MAC, TAP1_MAC)
                .build(),
        );
    }
    assert_eq!(sent(&a, "tap2").len(), 2);
    assert_eq!(err_count(&a, IN, "too many sessions to add new"), 1);
    let s = a.exec("show acl-plugin sessions").unwrap();
    assert!(s.contains("  Sessions refused (table full): 1\n"), "{s}");
    assert!(s.contains("Session table in use: 2 of 2 (100.0%)"), "{s}");
    // What has a session still passes both ways while new flows are refused.
    send(
        &mut a,
        "tap1",
        SEC,
        Pkt::udp("10.1.1.3", 7000, "10.20.0.2", 53)
            .macs(CLIENT_MAC, TAP1_MAC)
            .build(),
    );
    assert_eq!(sent(&a, "tap2").len(), 3);
    // TCP: VPP 18.01 recycles the oldest transient TCP session to make room.
    run(&mut a, "clear acl-plugin sessions");
    for p in [1u16, 2, 3] {
        send(&mut a, "tap1", 2 * SEC, c2s(p, 80, 0x02));
    }
    assert_eq!(sent(&a, "tap2").len(), 6);
    send(&mut a, "tap2", 2 * SEC, s2c(80, 1, 0x12));
    send(&mut a, "tap2", 2 * SEC, s2c(80, 3, 0x12));
    let back = sent(&a, "tap1");
    assert_eq!(back.len(), 1, "flow 1 was recycled");
    assert_eq!(five_tuple(&back[0]).3, 3);
    done(&a);
}

#[test]
fn replacing_an_applied_acl_takes_effect() {
    let mut a = app("set acl-plugin acl deny
set acl-plugin interface tap1 input acl 0");
    send(&mut a, "tap1", SEC, c2s(1, 80, 2));
    run(&mut a, "set acl-plugin acl index 0 permit proto 6 dport 80");
    send(&mut a, "tap1", SEC, c2s(1, 80, 2));
    send(&mut a, "tap1", SEC, c2s(1, 81, 2));
    assert_eq!(sent(&a, "tap2").len(), 1);
    // Removing the last ACL disables the feature: everything passes again.
    run(&mut a, "set acl-plugin interface tap1 input acl 0 del");
    send(&mut a, "tap1", SEC, c2s(1, 81, 2));
    assert_eq!(sent(&a, "tap2").len(), 2);
    done(&a);
}

#[test]
fn many_flows_in_full_frames() {
    let mut a = app(REFLECT);
    a.dp.graph.vm.clock = dataplane::engine::clock::Clock::manual(SEC);
    for p in 0..1000u16 {
        inject_frame(&a.dp, "tap1", SEC, c2s(10_000 + p, 80, 0x02)).unwrap();
    }
    a.dp.run_until_idle();
    for p in 0..1000u16 {
        inject_frame(&a.dp, "tap2", SEC, s2c(80, 10_000 + p, 0x12)).unwrap();
    }
    a.dp.run_until_idle();
    assert_eq!(sent(&a, "tap2").len(), 1000);
    assert_eq!(sent(&a, "tap1").len(), 1000);
    assert_eq!(err_count(&a, IN, "new sessions added"), 1000);
    assert_eq!(err_count(&a, OUT, "existing session packets"), 1000);
    done(&a);
}

#[test]
fn macip_source_guard_drops_spoofed_ipv4_and_arp() {
    let mut a = app(
        "set acl-plugin macip acl permit ip 10.1.1.3/32 mac 00:00:00:00:00:03
set acl-plugin macip interface tap1 acl 0
trace add virtio-input 10",
    );
    send(&mut a, "tap1", SEC, c2s(1, 80, 2));
    // Spoofed source address, then spoofed source MAC.
    send(
        &mut a,
        "tap1",
        SEC,
        Pkt::tcp("10.1.1.4", 1, "10.20.0.2", 80, 2)
            .macs(CLIENT_MAC, TAP1_MAC)
            .build(),
    );
    send(
        &mut a,
        "tap1",
        SEC,
        Pkt::tcp("10.1.1.3", 1, "10.20.0.2", 80, 2)
            .macs([0, 0, 0, 0, 0, 4], TAP1_MAC)
            .build(),
    );
    // ARP: genuine, then claiming another address.
    send(
        &mut a,
        "tap1",
        SEC,
        arp_request(CLIENT_MAC, CLIENT_MAC, "10.1.1.3", "10.1.1.1"),
    );
    send(
        &mut a,
        "tap1",
        SEC,
        arp_request(CLIENT_MAC, CLIENT_MAC, "10.1.1.9", "10.1.1.1"),
    );
    assert_eq!(sent(&a, "tap2").len(), 1);
    let m = "acl-plugin-macip-input";
    assert_eq!(
        err_count(&a, m, "MACIP deny: IPv4 source MAC/address not permitted"),
        2
    );
    assert_eq!(
        err_count(&a, m, "MACIP deny: ARP sender MAC/address not permitted"),
        1
    );
    assert_eq!(err_count(&a, m, "MACIP permit packets"), 2);
    let t = a.exec("show trace").unwrap();
    assert!(t.contains("  acl-plugin-macip: sw_if_index 1, next index 1, action: 1, match: macip acl 0 rule 0\n  ip4 src mac 00:00:00:00:00:03 ip 10.1.1.3"), "{t}");
    assert!(
        t.contains(
            "action: 0, match: macip acl 0 rule -1\n  ip4 src mac 00:00:00:00:00:03 ip 10.1.1.4"
        ),
        "{t}"
    );
    // The genuine ARP request is answered.
    assert_eq!(sent(&a, "tap1").len(), 1);
    done(&a);
}

/// MACIP guards a DPDK port too: dpdk-input sends IPv4 straight to ip4-input only when no
/// device-input feature is enabled on the port.
#[test]
fn macip_guards_a_dpdk_port_too() {
    let mut a = App::new(Mode::Replay);
    run(
        &mut a,
        "create interface dpdk dev 0000:00:08.0 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state GigabitEthernet0/8/0 up
set interface state tap2 up
set interface ip address GigabitEthernet0/8/0 10.1.1.1/24
set interface ip address tap2 10.20.0.1/24
set ip neighbor tap2 10.20.0.2 00:00:00:00:00:20 static
trace add dpdk-input 10",
    );
    let gbe = "GigabitEthernet0/8/0";
    let spoofed = Pkt::tcp("10.1.1.4", 1, "10.20.0.2", 80, 2)
        .macs(CLIENT_MAC, TAP1_MAC)
        .build();
    send(&mut a, gbe, SEC, c2s(1, 80, 2));
    send(&mut a, gbe, SEC, spoofed.clone());
    assert_eq!(sent(&a, "tap2").len(), 2, "no guard yet: both forwarded");
    run(
        &mut a,
        "set acl-plugin macip acl permit ip 10.1.1.3/32 mac 00:00:00:00:00:03
set acl-plugin macip interface GigabitEthernet0/8/0 acl 0",
    );
    send(&mut a, gbe, SEC, c2s(2, 80, 2));
    send(&mut a, gbe, SEC, spoofed);
    assert_eq!(sent(&a, "tap2").len(), 3, "the spoofed packet is dropped");
    assert_eq!(
        err_count(
            &a,
            "acl-plugin-macip-input",
            "MACIP deny: IPv4 source MAC/address not permitted"
        ),
        1
    );
    let t = a.exec("show trace").unwrap();
    assert!(
        t.contains("dpdk-input") && t.contains("acl-plugin-macip-input"),
        "{t}"
    );
    done(&a);
}

#[test]
fn rule_counters_count_matches_and_clear() {
    let mut a = app(
        "set acl-plugin acl permit src 10.1.1.0/24 dst 10.20.0.2/32 proto 6 dport 80, deny proto 6 dport 22
set acl-plugin interface tap1 input acl 0",
    );
    let syn80 = c2s(40000, 80, 0x02);
    let len80 = (syn80.len() - 14) as u64;
    send(&mut a, "tap1", SEC, syn80);
    send(&mut a, "tap1", SEC, c2s(40001, 80, 0x02));
    send(&mut a, "tap1", SEC, c2s(40002, 22, 0x02));
    // No rule matches port 443: the default deny is nobody's match.
    send(&mut a, "tap1", SEC, c2s(40003, 443, 0x02));
    let plain = a.exec("show acl-plugin acl").unwrap();
    assert!(
        !plain.contains("matches"),
        "VPP's layout by default: {plain}"
    );
    let s = a.exec("show acl-plugin acl index 0 counters").unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "acl-index 0 count 2 tag {cli}");
    assert_eq!(
        lines[2],
        format!("        matches 2 packets {} bytes", 2 * len80)
    );
    assert_eq!(lines[4], format!("        matches 1 packets {len80} bytes"));
    assert_eq!(a.exec("clear acl-plugin counters").unwrap(), "");
    let s = a.exec("show acl-plugin acl counters").unwrap();
    assert_eq!(s.matches("matches 0 packets 0 bytes").count(), 2, "{s}");
    // Replacing an ACL starts its counters again.
    send(&mut a, "tap1", SEC, c2s(40004, 80, 0x02));
    run(
        &mut a,
        "set acl-plugin acl index 0 permit src 10.1.1.0/24 dst 10.20.0.2/32 proto 6 dport 80",
    );
    let s = a.exec("show acl-plugin acl counters").unwrap();
    assert!(s.contains("matches 0 packets 0 bytes"), "{s}");
    assert_eq!(
        a.exec("clear acl-plugin counters index 7")
            .unwrap_err()
            .to_string(),
        "no ACL with index 7"
    );
    assert!(a
        .exec("show acl-plugin acl bogus")
        .unwrap_err()
        .to_string()
        .contains("expected `index N` or `counters`"));
    done(&a);
}

#[test]
fn trace_only_dropped_packets_or_one_flow() {
    let mut a = app("set acl-plugin acl permit proto 6 dport 80
set acl-plugin interface tap1 input acl 0
trace add virtio-input 3 filter drops");
    for p in 0..10u16 {
        let dport = if p % 3 == 2 { 22 } else { 80 };
        send(&mut a, "tap1", SEC, c2s(40000 + p, dport, 0x02));
    }
    let t = a.exec("show trace").unwrap();
    let drops = acl_records(&t, IN);
    assert_eq!(drops.len(), 3, "only the three dropped packets: {t}");
    assert!(drops.iter().all(|r| r[0].contains("action: 0")), "{t}");
    assert_eq!(t.matches("error-drop").count(), 3, "{t}");
    assert_eq!(t.matches("ACL deny packets").count(), 3, "{t}");
    // Full: nothing more is traced.
    send(&mut a, "tap1", 2 * SEC, c2s(41000, 22, 0x02));
    assert_eq!(acl_records(&a.exec("show trace").unwrap(), IN).len(), 3);

    // A 5-tuple filter: only the flow to port 22 from 40005.
    run(
        &mut a,
        "clear trace
trace filter none
trace add virtio-input 5 filter src 10.1.1.0/24 proto tcp sport 40005 dport 22",
    );
    for p in 0..10u16 {
        send(
            &mut a,
            "tap1",
            3 * SEC,
            c2s(40000 + p, if p == 5 { 22 } else { 80 }, 0x02),
        );
    }
    let t = a.exec("show trace").unwrap();
    let r = acl_records(&t, IN);
    assert_eq!(r.len(), 1, "{t}");
    assert!(r[0][2].contains("port 40005 -> 22"), "{t}");

    // VPP's `trace filter exclude`: keep what did not reach error-drop.
    run(
        &mut a,
        "clear trace
trace filter exclude error-drop 2
trace add virtio-input 10",
    );
    for p in 0..6u16 {
        send(
            &mut a,
            "tap1",
            4 * SEC,
            c2s(42000 + p, if p < 3 { 22 } else { 80 }, 0x02),
        );
    }
    let t = a.exec("show trace").unwrap();
    let r = acl_records(&t, IN);
    assert_eq!(r.len(), 2, "{t}");
    assert!(r.iter().all(|r| r[0].contains("action: 1")), "{t}");

    for (cmd, want) in [
        (
            "trace add virtio-input 5 filter",
            "`filter`: expected `drops` or at least one of",
        ),
        (
            "trace add virtio-input 5 filter src 10.1.1",
            "`src`: expected an IPv4 address or prefix",
        ),
        (
            "trace add virtio-input 5 filter proto 300",
            "`proto`: expected tcp, udp, icmp",
        ),
        ("trace add virtio-input 5 filter dport 70000", "65535"),
        ("trace filter include nosuch 3", "unknown node `nosuch`"),
        (
            "trace filter maybe",
            "expected `none`, `include NODE COUNT`",
        ),
    ] {
        let e = a.exec(cmd).unwrap_err().to_string();
        assert!(e.contains(want), "{cmd}: {e}");
    }
    done(&a);
}

/// Frames of one flow take the node's run-cache loop (the classification of a packet is reused
/// for the next packet of the same 5-tuple, TCP flags and interface): runs of permitted and
/// denied packets that differ only in port or TCP flags must still be judged one by one.
#[test]
fn runs_of_one_flow_are_classified_packet_by_packet() {
    let mut a = app(
        "set acl-plugin acl permit proto 6 dport 80, permit proto 6 dport 443 tcpflags 2 mask 18
set acl-plugin interface tap1 input acl 0",
    );
    a.dp.graph.vm.clock = dataplane::engine::clock::Clock::manual(SEC);
    // One frame of one flow: the next frame runs the cached loop.
    for _ in 0..256 {
        inject_frame(&a.dp, "tap1", SEC, c2s(1000, 80, 0x02)).unwrap();
    }
    a.dp.run_until_idle();
    assert_eq!(sent(&a, "tap2").len(), 256);
    // Runs of three: dport 80 (permit), 22 (deny), 443 SYN (permit), 443 SYN-ACK (deny).
    let mut permitted = 0;
    for i in 0..256 {
        let (dport, flags, ok) = [
            (80, 0x02, true),
            (22, 0x02, false),
            (443, 0x02, true),
            (443, 0x12, false),
        ][(i / 3) % 4];
        permitted += ok as usize;
        inject_frame(&a.dp, "tap1", SEC, c2s(1000, dport, flags)).unwrap();
    }
    a.dp.run_until_idle();
    let out = sent(&a, "tap2");
    assert_eq!(out.len(), 256 + permitted);
    assert!(out[256..]
        .iter()
        .all(|p| matches!(five_tuple(p).3, 80 | 443)));
    assert_eq!(
        err_count(&a, IN, "ACL permit packets"),
        (256 + permitted) as u64
    );
    assert_eq!(
        err_count(&a, IN, "ACL deny packets"),
        (256 - permitted) as u64
    );
    // And distinct flows after that (the plain loop again).
    for p in 0..256u16 {
        inject_frame(
            &a.dp,
            "tap1",
            SEC,
            c2s(2000 + p, if p % 2 == 0 { 80 } else { 22 }, 0x02),
        )
        .unwrap();
    }
    a.dp.run_until_idle();
    assert_eq!(sent(&a, "tap2").len(), 256 + permitted + 128);
    assert_eq!(err_count(&a, IN, "checked packets"), 768);
    done(&a);
}
