//! Seed 001 (Antrea packet walk, part C): the Kubernetes NetworkPolicies `frontendpolicy` and
//! `backendpolicy` and the pod spoofguard (OVS tables 10, 50, 60, 90, 100), rendered as VPP ACLs
//! on the pod interfaces of worker 1, and replayed from pcaps.
//!
//! Rendering (what Antrea's tables do, in ACL form):
//! - traffic *from* a pod enters the dataplane on its tap: the pod's egress rules are its tap's
//!   input ACL (table 50), and no match is denied (table 60);
//! - traffic *to* a pod leaves on its tap: the pod's ingress rules are its tap's output ACL
//!   (table 90), no match denied (table 100);
//! - every allowing rule is `permit+reflect`, so replies of allowed connections pass both ways
//!   (tables 50/90 `ct_state=-new+est`): a session made on input admits the reverse direction on
//!   output of the same tap, and one made on output admits the reverse direction on input;
//! - table 10: a MACIP ACL per pod tap (pod MAC + pod IP, for IPv4 and ARP).
//!
//! The policies (`kubectl describe netpol`):
//! - frontendpolicy (pod 10.222.1.48): egress TCP 80 to `role=backend` pods (10.222.1.47 on
//!   this node, 10.222.2.34 on worker 2) and UDP 53 anywhere; ingress TCP 80 from anyone.
//! - backendpolicy (pods 10.222.1.47, 10.222.2.34): ingress TCP 80 from `role=frontend` only
//!   (10.222.1.48); no egress.
//!
//! The output pcaps must hold exactly the permitted packets and their replies; every other packet
//! is dropped and counted.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use dataplane::engine::pcap::{read_pcap, write_pcap};
use dataplane::engine::replay::{run_replay, ReplayConfig};
use dataplane::engine::Mode;
use dataplane::App;

const FRONTEND: &str = "10.222.1.48";
const BACKEND1: &str = "10.222.1.47";
const BACKEND2: &str = "10.222.2.34";
const COREDNS: &str = "10.222.1.2";
const FRONTEND_MAC: [u8; 6] = [0xbe, 0x2c, 0xbf, 0xe4, 0xec, 0xc5];
const BACKEND1_MAC: [u8; 6] = [0xf2, 0x32, 0xd8, 0x07, 0xe2, 0xa6];
const COREDNS_MAC: [u8; 6] = [0xf2, 0x82, 0xcc, 0x96, 0xda, 0xbd];
const WORKER2_MAC: [u8; 6] = [0x00, 0x50, 0x56, 0x8f, 0x1c, 0xf6];
/// The dataplane's side of each tap (Antrea's antrea-gw0 MAC on tap1).
const TAP1: [u8; 6] = [0x4e, 0x99, 0x08, 0xc1, 0x53, 0xbe];
const TAP2: [u8; 6] = [0x02, 0xfe, 0x00, 0x00, 0x00, 0x47];
const TAP3: [u8; 6] = [0x02, 0xfe, 0x00, 0x00, 0x00, 0x02];
const TAP4: [u8; 6] = [0x00, 0x50, 0x56, 0x8f, 0x4e, 0x82];

const CONFIG: &str = "
comment { worker 1: frontend (tap1), backend1 (tap2), coredns (tap3), uplink to worker 2 and the Internet (tap4) }
create tap id 1 hw-addr 4e:99:08:c1:53:be
create tap id 2 hw-addr 02:fe:00:00:00:47
create tap id 3 hw-addr 02:fe:00:00:00:02
create tap id 4 hw-addr 00:50:56:8f:4e:82
set interface state tap1 up
set interface state tap2 up
set interface state tap3 up
set interface state tap4 up
set interface ip address tap4 10.79.1.201/24
set interface unnumbered tap1 use tap4
set interface unnumbered tap2 use tap4
set interface unnumbered tap3 use tap4
set ip neighbor tap1 10.222.1.48 be:2c:bf:e4:ec:c5 static
set ip neighbor tap2 10.222.1.47 f2:32:d8:07:e2:a6 static
set ip neighbor tap3 10.222.1.2 f2:82:cc:96:da:bd static
set ip neighbor tap4 10.79.1.202 00:50:56:8f:1c:f6 static
ip route add 10.222.1.48/32 via 10.222.1.48 tap1
ip route add 10.222.1.47/32 via 10.222.1.47 tap2
ip route add 10.222.1.2/32 via 10.222.1.2 tap3
ip route add 10.222.2.0/24 via 10.79.1.202 tap4
ip route add 0.0.0.0/0 via 10.79.1.202 tap4

comment { frontendpolicy egress (tables 50, 60): ACL 0, input of the frontend tap }
set acl-plugin acl permit+reflect src 10.222.1.48/32 dst 10.222.1.47/32 proto 6 dport 80, permit+reflect src 10.222.1.48/32 dst 10.222.2.34/32 proto 6 dport 80, permit+reflect src 10.222.1.48/32 proto 17 dport 53 tag frontendpolicy-egress
comment { frontendpolicy ingress (tables 90, 100): ACL 1, output of the frontend tap }
set acl-plugin acl permit+reflect dst 10.222.1.48/32 proto 6 dport 80 tag frontendpolicy-ingress
comment { backendpolicy ingress: ACL 2, output of the backend tap }
set acl-plugin acl permit+reflect src 10.222.1.48/32 dst 10.222.1.47/32 proto 6 dport 80 tag backendpolicy-ingress
comment { backendpolicy egress: none allowed: ACL 3, input of the backend tap }
set acl-plugin acl deny tag backendpolicy-egress
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap1 output acl 1
set acl-plugin interface tap2 input acl 3
set acl-plugin interface tap2 output acl 2

comment { spoofguard (table 10) }
set acl-plugin macip acl permit ip 10.222.1.48/32 mac be:2c:bf:e4:ec:c5 tag frontend
set acl-plugin macip acl permit ip 10.222.1.47/32 mac f2:32:d8:07:e2:a6 tag backend1
set acl-plugin macip acl permit ip 10.222.1.2/32 mac f2:82:cc:96:da:bd tag coredns
set acl-plugin macip interface tap1 acl 0
set acl-plugin macip interface tap2 acl 1
set acl-plugin macip interface tap3 acl 2
";

/// What should happen to a test packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Transmitted on this tap.
    Out(&'static str),
    /// Dropped by the input ACL.
    InDeny,
    /// Dropped by the output ACL.
    OutDeny,
    /// Dropped by MACIP (IPv4).
    Spoof,
    /// Dropped by MACIP (ARP).
    SpoofArp,
}

struct Case {
    what: &'static str,
    on: &'static str,
    frame: Vec<u8>,
    fate: Fate,
}

fn from_pod(mac: [u8; 6], tap: [u8; 6], p: Pkt) -> Vec<u8> {
    p.macs(mac, tap).build()
}

fn cases() -> Vec<Case> {
    use Fate::*;
    let f = |p| from_pod(FRONTEND_MAC, TAP1, p);
    let b1 = |p| from_pod(BACKEND1_MAC, TAP2, p);
    let dns = |p| from_pod(COREDNS_MAC, TAP3, p);
    let w2 = |p| from_pod(WORKER2_MAC, TAP4, p);
    let c = |what, on, frame, fate| Case {
        what,
        on,
        frame,
        fate,
    };
    vec![
        // Phase 2 of the document: frontend -> backend2 (worker 2) on TCP 80, and the reply.
        c(
            "frontend->backend2 SYN",
            "tap1",
            f(Pkt::tcp(FRONTEND, 56670, BACKEND2, 80, 0x02)),
            Out("tap4"),
        ),
        c(
            "backend2->frontend SYN-ACK",
            "tap4",
            w2(Pkt::tcp(BACKEND2, 80, FRONTEND, 56670, 0x12)),
            Out("tap1"),
        ),
        // frontend -> backend1 on this node: frontend egress and backend ingress both allow.
        c(
            "frontend->backend1 SYN",
            "tap1",
            f(Pkt::tcp(FRONTEND, 46490, BACKEND1, 80, 0x02)),
            Out("tap2"),
        ),
        c(
            "backend1->frontend SYN-ACK",
            "tap2",
            b1(Pkt::tcp(BACKEND1, 80, FRONTEND, 46490, 0x12)),
            Out("tap1"),
        ),
        c(
            "frontend->backend1 ACK",
            "tap1",
            f(Pkt::tcp(FRONTEND, 46490, BACKEND1, 80, 0x10)),
            Out("tap2"),
        ),
        // DNS anywhere.
        c(
            "frontend->coredns DNS",
            "tap1",
            f(Pkt::udp(FRONTEND, 40001, COREDNS, 53)),
            Out("tap3"),
        ),
        c(
            "coredns->frontend DNS reply",
            "tap3",
            dns(Pkt::udp(COREDNS, 53, FRONTEND, 40001)),
            Out("tap1"),
        ),
        c(
            "frontend->8.8.8.8 DNS",
            "tap1",
            f(Pkt::udp(FRONTEND, 40002, "8.8.8.8", 53)),
            Out("tap4"),
        ),
        c(
            "8.8.8.8->frontend DNS reply",
            "tap4",
            w2(Pkt::udp("8.8.8.8", 53, FRONTEND, 40002)),
            Out("tap1"),
        ),
        // Frontend egress: nothing else.
        c(
            "frontend->backend1 TCP 22",
            "tap1",
            f(Pkt::tcp(FRONTEND, 46491, BACKEND1, 22, 0x02)),
            InDeny,
        ),
        c(
            "frontend->Internet TCP 443",
            "tap1",
            f(Pkt::tcp(FRONTEND, 46492, "1.1.1.1", 443, 0x02)),
            InDeny,
        ),
        c(
            "frontend->coredns TCP 80",
            "tap1",
            f(Pkt::tcp(FRONTEND, 46493, COREDNS, 80, 0x02)),
            InDeny,
        ),
        // Backend egress: none.
        c(
            "backend1->frontend new TCP 80",
            "tap2",
            b1(Pkt::tcp(BACKEND1, 33000, FRONTEND, 80, 0x02)),
            InDeny,
        ),
        c(
            "backend1->8.8.8.8 DNS",
            "tap2",
            b1(Pkt::udp(BACKEND1, 33001, "8.8.8.8", 53)),
            InDeny,
        ),
        // Backend ingress: from the frontend only.
        c(
            "coredns->backend1 TCP 80",
            "tap3",
            dns(Pkt::tcp(COREDNS, 33002, BACKEND1, 80, 0x02)),
            OutDeny,
        ),
        c(
            "backend2->backend1 TCP 80",
            "tap4",
            w2(Pkt::tcp(BACKEND2, 33003, BACKEND1, 80, 0x02)),
            OutDeny,
        ),
        c(
            "frontend->backend1 UDP 80",
            "tap1",
            f(Pkt::udp(FRONTEND, 33004, BACKEND1, 80)),
            InDeny,
        ),
        // Frontend ingress: TCP 80 from anyone, and its replies.
        c(
            "coredns->frontend TCP 80 SYN",
            "tap3",
            dns(Pkt::tcp(COREDNS, 34000, FRONTEND, 80, 0x02)),
            Out("tap1"),
        ),
        c(
            "frontend->coredns SYN-ACK",
            "tap1",
            f(Pkt::tcp(FRONTEND, 80, COREDNS, 34000, 0x12)),
            Out("tap3"),
        ),
        c(
            "backend2->frontend TCP 80 SYN",
            "tap4",
            w2(Pkt::tcp(BACKEND2, 34001, FRONTEND, 80, 0x02)),
            Out("tap1"),
        ),
        c(
            "coredns->frontend TCP 22",
            "tap3",
            dns(Pkt::tcp(COREDNS, 34002, FRONTEND, 22, 0x02)),
            OutDeny,
        ),
        c(
            "backend1 reply to a closed-off port",
            "tap2",
            b1(Pkt::tcp(BACKEND1, 80, FRONTEND, 46499, 0x12)),
            InDeny,
        ),
        // Spoofguard.
        c(
            "frontend tap, backend1's address",
            "tap1",
            f(Pkt::tcp(BACKEND1, 46490, BACKEND2, 80, 0x02)),
            Spoof,
        ),
        c(
            "frontend tap, foreign MAC",
            "tap1",
            from_pod(
                [0x02, 0, 0, 0, 0, 0x66],
                TAP1,
                Pkt::tcp(FRONTEND, 46494, BACKEND2, 80, 0x02),
            ),
            Spoof,
        ),
        c(
            "frontend tap, ARP for backend1's address",
            "tap1",
            arp_request(FRONTEND_MAC, FRONTEND_MAC, BACKEND1, "10.222.1.1"),
            SpoofArp,
        ),
        c(
            "backend1 tap, frontend's address",
            "tap2",
            b1(Pkt::tcp(FRONTEND, 46490, BACKEND1, 80, 0x12)),
            Spoof,
        ),
    ]
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("acl-seed001-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write one input pcap per tap (1 ms apart, in case order), replay, return (app, output dir).
fn replay(dir: &Path) -> App {
    let cases = cases();
    type Frames = Vec<(u64, Vec<u8>)>;
    let mut per_if: Vec<(&str, Frames)> = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let ts = 1_000_000_000 + k as u64 * 1_000_000;
        match per_if.iter_mut().find(|(n, _)| *n == c.on) {
            Some((_, v)) => v.push((ts, c.frame.clone())),
            None => per_if.push((c.on, vec![(ts, c.frame.clone())])),
        }
    }
    let mut inputs = Vec::new();
    for (ifname, frames) in &per_if {
        let p = dir.join(format!("in-{ifname}.pcap"));
        write_pcap(&p, frames.iter().map(|(t, d)| (*t, d.as_slice()))).unwrap();
        inputs.push((ifname.to_string(), p));
    }
    let mut app = App::new(Mode::Replay);
    run(&mut app, CONFIG);
    let out = run_replay(
        &mut app.dp,
        &ReplayConfig {
            inputs,
            output_dir: Some(dir.join("output")),
            trace: 0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(out.frames_in, cases.len());
    assert_eq!(out.buffers_in_use, 0);
    app
}

#[test]
fn output_pcaps_hold_exactly_the_permitted_packets() {
    let dir = tmpdir("a");
    let app = replay(&dir);
    let cases = cases();
    for tap in ["tap1", "tap2", "tap3", "tap4"] {
        let want: Vec<_> = cases
            .iter()
            .filter(|c| c.fate == Fate::Out(tap))
            .map(|c| (c.what, five_tuple(&c.frame)))
            .collect();
        let path = dir.join("output").join(format!("{tap}.pcap"));
        let got: Vec<_> = if path.exists() {
            read_pcap(&path)
                .unwrap()
                .iter()
                .map(|f| five_tuple(&f.data))
                .collect()
        } else {
            Vec::new()
        };
        assert_eq!(
            got,
            want.iter().map(|w| w.1).collect::<Vec<_>>(),
            "{tap}: expected {:?}",
            want.iter().map(|w| w.0).collect::<Vec<_>>()
        );
    }
    let count = |f: Fate| cases.iter().filter(|c| c.fate == f).count() as u64;
    assert_eq!(
        err_count(&app, "acl-plugin-in-ip4-fa", "ACL deny packets"),
        count(Fate::InDeny)
    );
    assert_eq!(
        err_count(&app, "acl-plugin-out-ip4-fa", "ACL deny packets"),
        count(Fate::OutDeny)
    );
    assert_eq!(
        err_count(
            &app,
            "acl-plugin-macip-input",
            "MACIP deny: IPv4 source MAC/address not permitted"
        ),
        count(Fate::Spoof)
    );
    assert_eq!(
        err_count(
            &app,
            "acl-plugin-macip-input",
            "MACIP deny: ARP sender MAC/address not permitted"
        ),
        count(Fate::SpoofArp)
    );
    // The drops are what `show errors` reports.
    let mut app = app;
    let errors = app.exec("show errors").unwrap();
    assert!(
        errors.contains("acl-plugin-in-ip4-fa") && errors.contains("ACL deny packets"),
        "{errors}"
    );
    // Sessions: frontend egress (2 TCP connections, 2 DNS flows), frontend ingress (2), backend
    // ingress (1).
    let s = app.exec("show acl-plugin sessions").unwrap();
    assert!(s.starts_with("Sessions total: add 7 - del 0 = 7\n"), "{s}");
}

#[test]
fn the_replay_is_deterministic() {
    let (a, b) = (tmpdir("b"), tmpdir("c"));
    replay(&a);
    replay(&b);
    for tap in ["tap1", "tap2", "tap3", "tap4"] {
        let name = format!("{tap}.pcap");
        assert_eq!(
            std::fs::read(a.join("output").join(&name)).unwrap(),
            std::fs::read(b.join("output").join(&name)).unwrap(),
            "{tap}"
        );
    }
}
