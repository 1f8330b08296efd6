//! Live drivers in network namespaces this test creates and deletes: a TAP interface whose host
//! side sits in a namespace, and an AF_PACKET interface on a veth pair. The namespace pings the
//! dataplane's address (ARP, then ICMP echo) with a raw socket from python3. Skipped (with a
//! message) when not running as root.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{is_root, no_tap, run_until_exit, tap_pod, tcp_exchange, Netns, Veth};

use dataplane::App;
use engine::Mode;

/// python3 pinging `dst` `count` times with a raw ICMP socket; exits 0 if every echo is answered.
const PING: &str = r#"
import socket, struct, sys, time
dst, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2.0)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
ok = 0
for seq in range(count):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + b"dataplane-ping!!"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (dst, 0))
    end = time.time() + 2
    while time.time() < end:
        try:
            pkt, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        t, _, _, ident, sq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
        if t == 0 and ident == 0x4242 and sq == seq and addr[0] == dst:
            ok += 1
            break
print("replies", ok)
sys.exit(0 if ok == count else 1)
"#;

#[test]
fn tap_in_a_namespace_answers_ping() {
    if no_tap() {
        return;
    }
    let ns = Netns::new("tap");
    let host = format!("dpt{}t", std::process::id() % 100_000);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    app.exec(&format!(
        "create tap id 0 hw-addr 02:fe:00:00:aa:01 host-if-name {host} host-ns {} host-ip4-addr 10.77.0.2/24 host-mac-addr 02:00:00:00:aa:02",
        ns.0
    ))
    .unwrap();
    app.exec_script(
        "set interface state tap0 up
set interface ip address tap0 10.77.0.1/24
trace add virtio-input 10",
    )
    .unwrap();
    let child = ns
        .exec(&["python3", "-c", PING, "10.77.0.1", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![child], Duration::from_secs(20));
    let t = app.exec("show trace").unwrap();
    assert!(st[0], "ping failed; trace:\n{t}");
    assert!(
        t.contains("virtio-input") && t.contains("ICMP echo_request"),
        "{t}"
    );
    assert!(app
        .exec("show ip neighbors")
        .unwrap()
        .contains("02:00:00:00:aa:02"));
    let tap = app.exec("show tap tap0").unwrap();
    assert!(
        tap.contains(&format!("  name \"{host}\"\n  host-ns \"{}\"", ns.0))
            && tap.contains("  tap-fds ")
            && !tap.contains("replay"),
        "{tap}"
    );
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    app.exec("delete tap sw_if_index 1").unwrap();
}

#[test]
fn af_packet_on_a_veth_answers_ping() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = Netns::new("afp");
    let (outer, inner) = (
        format!("dpv{}o", std::process::id() % 100_000),
        format!("dpv{}i", std::process::id() % 100_000),
    );
    let ok = Command::new("ip")
        .args([
            "link", "add", &outer, "type", "veth", "peer", "name", &inner,
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let run = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
    run(Command::new("ip").args(["link", "set", &inner, "netns", &ns.0]));
    run(Command::new("ip").args(["link", "set", &outer, "up"]));
    run(&mut ns.exec(&["ip", "link", "set", &inner, "up"]));
    run(&mut ns.exec(&["ip", "addr", "add", "10.78.0.2/24", "dev", &inner]));
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let name = app
        .exec(&format!(
            "create host-interface name {outer} hw-addr 02:fe:00:00:bb:01"
        ))
        .unwrap();
    assert_eq!(name, format!("host-{outer}"));
    app.exec_script(&format!(
        "set interface state {name} up
set interface ip address {name} 10.78.0.1/24
trace add af-packet-input 10"
    ))
    .unwrap();
    let child = ns
        .exec(&["python3", "-c", PING, "10.78.0.1", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![child], Duration::from_secs(20));
    let t = app.exec("show trace").unwrap();
    let _ = Command::new("ip").args(["link", "del", &outer]).status();
    assert!(st[0], "ping failed; trace:\n{t}");
    assert!(
        t.contains("af-packet-input") && t.contains("af_packet: hw_if_index"),
        "{t}"
    );
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
}

/// python3: send one 802.1Q-tagged frame (VLAN 100, priority 5, ethertype 0x88b5) out of `IF`.
const TAGGED: &str = r#"
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
s.send(b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x07" + b"\x81\x00\xa0\x64" + b"\x88\xb5" + b"tagged!" * 8)
"#;

/// python3: `send ADDR PORT N` sends N UDP datagrams of 1000..1000+N bytes; `recv PORT N` receives
/// N datagrams and checks each one's bytes (the kernel drops any whose checksum is wrong).
/// UDP: 20 datagrams of 1000-1019 bytes from namespace `a` to `dst:port` in `b`, each checked
/// by the receiving kernel's checksum, while `app` forwards: whether the receiver got them all
/// within 30 s.
fn udp_exchange(app: &mut App, a: &Netns, b: &Netns, dst: &str, port: u16) -> Vec<bool> {
    let port = port.to_string();
    let recv = b
        .exec(&["python3", "-c", UDP, "recv", &port, "20"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut send = a
        .exec(&["python3", "-c", UDP, "send", dst, &port, "20"])
        .spawn()
        .unwrap();
    let st = run_until_exit(app, vec![recv], Duration::from_secs(30));
    let _ = send.kill();
    let _ = send.wait();
    st
}

const UDP: &str = r#"
import socket, sys
def body(i): return bytes((i + k * 31) & 255 for k in range(1000 + i))
if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2])))
    s.settimeout(20); n = int(sys.argv[3]); seen = set()
    while len(seen) < n:
        d, _ = s.recvfrom(65536); i = len(d) - 1000
        if d != body(i): sys.exit(1)
        seen.add(i)
    print("received", len(seen))
else:
    import time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for r in range(40):
        for i in range(int(sys.argv[4])): s.sendto(body(i), (sys.argv[2], int(sys.argv[3])))
        time.sleep(0.25)
"#;

/// Two pods on taps created with `options` (tap0 in namespace a, tap1 in b): pod k at
/// 10.NET.(k+1).2/24 behind the forwarder's 10.NET.(k+1).1, host sides named dp<tag><pid><k>.
fn two_pods(tag: &str, net: u8, options: &str) -> (Netns, Netns, App) {
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let a = tap_pod(&mut app, tag, net, 0, options);
    let b = tap_pod(&mut app, tag, net, 1, options);
    (a, b, app)
}

/// Two pods' veths with the kernel's default offloads (checksum offload and TSO on): the sender
/// hands over partial TCP/UDP checksums (`TP_STATUS_CSUMNOTREADY`), which af-packet-input must
/// finish, or the receiving kernel drops every segment.
#[test]
fn af_packet_finishes_partial_checksums_from_veth_peers_with_offloads_on() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let id = std::process::id() % 100_000;
    let a = Netns::new("pca");
    let b = Netns::new("pcb");
    let va = Veth::new(&format!("dpc{id}a"), &a, "10.79.1.2/24", "10.79.1.1", 1);
    let vb = Veth::new(&format!("dpc{id}b"), &b, "10.79.2.2/24", "10.79.2.1", 1);
    let offloads = String::from_utf8_lossy(
        &a.exec(&["ethtool", "-k", &format!("{}i", va.outer)])
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .to_string();
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let mut names = Vec::new();
    for (k, v) in [&va, &vb].into_iter().enumerate() {
        let n = app
            .exec(&format!("create host-interface name {}", v.outer))
            .unwrap();
        app.exec_script(&format!(
            "set interface state {n} up\nset interface ip address {n} 10.79.{}.1/24",
            k + 1
        ))
        .unwrap();
        names.push(n);
    }
    // TCP, 300 kB from a to b and the digest back.
    let st = tcp_exchange(&mut app, &a, &b, "10.79.2.2", 5301, 300_000);
    let errors = app.exec("show errors").unwrap();
    assert!(
        st.iter().all(|&s| s),
        "TCP through partial checksums failed: {st:?}\n{errors}\noffloads of the sender:\n{offloads}"
    );
    // UDP datagrams of 1000-1019 bytes, each checked by the receiving kernel's checksum.
    let st = udp_exchange(&mut app, &a, &b, "10.79.2.2", 5302);
    assert!(
        st[0],
        "UDP through partial checksums failed\n{}",
        app.exec("show errors").unwrap()
    );
    let errors = app.exec("show errors").unwrap();
    assert!(
        !errors.contains("rx error"),
        "super-frames of the sender's TSO must be segmented, not dropped:\n{errors}"
    );
    // A VLAN-tagged frame: the kernel's receive path takes the tag out of every tagged frame
    // before AF_PACKET sees it (it travels beside the frame); af-packet-input puts it back.
    app.exec("trace add af-packet-input 20").unwrap();
    let send = a
        .exec(&["python3", "-c", TAGGED, &format!("{}i", va.outer)])
        .spawn()
        .unwrap();
    let _ = run_until_exit(&mut app, vec![send], Duration::from_secs(10));
    let trace = app.exec("show trace").unwrap();
    assert!(
        trace.contains("0x88b5: 02:00:00:00:00:07 -> ff:ff:ff:ff:ff:ff 802.1q vlan 100 priority 5"),
        "{trace}"
    );
    for n in names {
        let sw = app.dp.sw_if_index(&n).unwrap();
        app.dp.delete_interface(sw).unwrap();
    }
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn ping_from_the_forwarder_to_a_pod_namespace() {
    if no_tap() {
        return;
    }
    let ns = Netns::new("ping");
    let host = format!("dpp{}t", std::process::id() % 100_000);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    app.exec(&format!(
        "create tap id 0 hw-addr 02:fe:00:00:ab:01 host-if-name {host} host-ns {} host-ip4-addr 10.78.0.2/24 host-mac-addr 02:00:00:00:ab:02",
        ns.0
    ))
    .unwrap();
    app.exec_script(
        "set interface state tap0 up
set interface ip address tap0 10.78.0.1/24",
    )
    .unwrap();
    // The first request waits for ARP (VPP drops it the same way); the others are answered
    // by the namespace's kernel.
    let s = app.exec("ping 10.78.0.2 repeat 4 interval 0.2").unwrap();
    let replies: Vec<&str> = s.lines().filter(|l| l.contains(" bytes from ")).collect();
    assert!(replies.len() >= 3, "{s}");
    for r in &replies {
        assert!(
            r.starts_with("116 bytes from 10.78.0.2: icmp_seq=") && r.contains(" ttl=64 time="),
            "{s}"
        );
    }
    assert!(s.ends_with("packet loss"), "{s}");
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    app.exec("delete tap sw_if_index 1").unwrap();
}

/// Two pods on taps with `gso`: the sending pod's TCP writes 64 KB super-frames with partial
/// checksums to its tap; tap input segments them; with `gro-coalesce` the receiving tap merges
/// them again into super-frames; the receiving pod's kernel checks every checksum, and the
/// digest of what arrived comes back. Then each flag alone, and no offloads.
#[test]
fn taps_with_gso_carry_pod_tcp_and_udp() {
    if no_tap() {
        return;
    }
    for flags in [
        "gso gro-coalesce",
        "gso",
        "csum-offload",
        "no-io-uring",
        "csum-offload no-io-uring",
        "",
        "csum-offload io-uring",
    ] {
        let (a, b, mut app) = two_pods("gs", 80, flags);
        let tap = app.exec("show tap tap0").unwrap();
        let gso = u8::from(flags.contains("gso"));
        let csum = u8::from(flags.contains("gso") || flags.contains("csum-offload"));
        let coalesce = u8::from(flags.contains("gro-coalesce"));
        // io_uring is the default without gso.
        let uring = u8::from(!flags.contains("gso") && !flags.contains("no-io-uring"));
        assert!(
            tap.contains(&format!(
                "  gso-enabled {gso}\n  csum-enabled {csum}\n  packet-coalesce {coalesce}\n  io-uring {uring}\n"
            )),
            "{tap}"
        );
        let st = tcp_exchange(&mut app, &a, &b, "10.80.2.2", 5311, 2_000_000);
        let errors = app.exec("show errors").unwrap();
        assert!(
            st.iter().all(|&s| s),
            "{flags}: TCP failed {st:?}\n{errors}"
        );
        let st = udp_exchange(&mut app, &a, &b, "10.80.2.2", 5312);
        assert!(
            st[0],
            "{flags}: UDP failed\n{}",
            app.exec("show errors").unwrap()
        );
        let ifs = app.exec("show interface").unwrap();
        assert!(!ifs.contains("rx-error"), "{flags}: {ifs}");
        for k in [2u32, 1] {
            app.dp.delete_interface(k).unwrap();
        }
        assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    }
}

/// python3: `recv PORT N` waits for a datagram from each of N source ports; `send ADDR PORT N`
/// sends one datagram from each of N sockets per round (the kernel hashes each flow to one of
/// the tap's queues).
const UDP_FLOWS: &str = r#"
import socket, sys, time
if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2])))
    s.settimeout(20); n = int(sys.argv[3]); seen = set()
    while len(seen) < n:
        d, a = s.recvfrom(2048)
        if d == b"flow" * 100: seen.add(a[1])
    print("flows", len(seen))
else:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(sys.argv[4]))]
    for r in range(100):
        for s in socks: s.sendto(b"flow" * 100, (sys.argv[2], int(sys.argv[3])))
        time.sleep(0.2)
"#;

/// A tap with two kernel queues (`num-rx-queues 2`, IFF_MULTI_QUEUE): the pod's flows are spread
/// over both, every queue is received from, and `show tap`, `show interface rx-placement` and
/// `show hardware-interfaces` list the queues.
#[test]
fn multi_queue_tap_receives_on_every_queue() {
    if no_tap() {
        return;
    }
    for flags in ["no-io-uring", ""] {
        multi_queue_case(flags);
    }
}

fn multi_queue_case(flags: &str) {
    let (a, b, mut app) = two_pods(
        "mq",
        81,
        &format!("num-rx-queues 2 host-mtu-size 1400 rx-ring-size 128 tx-ring-size 32 {flags}"),
    );
    let id = std::process::id() % 10_000;
    let sys = |ns: &Netns, what: &str| {
        let out = ns
            .exec(&["cat", &format!("/sys/class/net/dpmq{id}0/{what}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(sys(&a, "mtu"), "1400");
    let recv = b
        .exec(&["python3", "-c", UDP_FLOWS, "recv", "5400", "32"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut send = a
        .exec(&[
            "python3",
            "-c",
            UDP_FLOWS,
            "send",
            "10.81.2.2",
            "5400",
            "32",
        ])
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![recv], Duration::from_secs(30));
    let _ = send.kill();
    let _ = send.wait();
    assert!(
        st[0],
        "UDP flows failed\n{}",
        app.exec("show errors").unwrap()
    );
    let tap = app.exec("show tap tap0").unwrap();
    assert!(tap.contains("  Number of RX Virtqueue  2\n"), "{tap}");
    let uring = flags != "no-io-uring";
    assert!(
        tap.contains(&format!("  io-uring {}\n", u8::from(uring))),
        "{tap}"
    );
    // The ring sizes are io_uring's reads and writes in flight.
    assert_eq!(tap.contains("    qsz 128, tap-fd "), uring, "{tap}");
    assert_eq!(
        tap.contains("  Virtqueue (TX) 0\n    qsz 32, tap-fd "),
        uring,
        "{tap}"
    );
    let per_queue: Vec<u64> = tap
        .lines()
        .filter_map(|l| l.split("frames received ").nth(1))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(per_queue.len(), 2, "{tap}");
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "{flags}: both queues: {tap}"
    );
    let fds = tap.lines().find(|l| l.starts_with("  tap-fds ")).unwrap();
    assert_eq!(fds.split_whitespace().count(), 3, "{fds}");
    assert_eq!(
        app.exec("show interface rx-placement").unwrap(),
        "Thread 0 (vpp_main):
  node virtio-input:
    tap0 queue 0 (adaptive)
    tap0 queue 1 (adaptive)
    tap1 queue 0 (adaptive)
    tap1 queue 1 (adaptive)"
    );
    let hw = app.exec("show hardware-interfaces tap0").unwrap();
    assert!(
        hw.contains(
            "\n  RX Queues:\n    queue thread         mode\n    0     main (0)       adaptive\n    1     main (0)       adaptive\n  TX Queues:\n"
        ),
        "{hw}"
    );
    for k in [2u32, 1] {
        app.dp.delete_interface(k).unwrap();
    }
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    // The host side goes with the tap (every queue's descriptor closed, off this thread).
    let t0 = std::time::Instant::now();
    while !sys(&a, "mtu").is_empty() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{flags}: host side gone after {:?}", t0.elapsed());
    assert!(sys(&a, "mtu").is_empty(), "{flags}: the host side is left");
}

/// A pod whose interface is down: every frame written to its tap fails (EIO), with readv/writev
/// and with io_uring alike, and the failures are the interface's tx-error, not lost silently.
#[test]
fn writes_to_a_downed_pod_interface_are_counted_as_tx_errors() {
    if no_tap() {
        return;
    }
    for flags in ["no-io-uring", ""] {
        let ns = Netns::new("dwn");
        let host = format!("dpd{}t", std::process::id() % 100_000);
        let mut app = App::new(Mode::Live);
        engine::drivers::install(&mut app.dp);
        app.exec(&format!(
            "create tap id 0 host-if-name {host} host-ns {} host-ip4-addr 10.79.0.2/24 {flags}",
            ns.0
        ))
        .unwrap();
        app.exec_script(
            "set interface state tap0 up
set interface ip address tap0 10.79.0.1/24
set ip neighbor tap0 10.79.0.2 02:00:00:00:cd:02 static",
        )
        .unwrap();
        ns.run(&["ip", "link", "set", "dev", &host, "down"]);
        let s = app.exec("ping 10.79.0.2 repeat 3 interval 0.05").unwrap();
        assert!(!s.contains(" bytes from "), "{flags}: {s}");
        for _ in 0..20 {
            app.dp.run_until_idle();
            std::thread::sleep(Duration::from_millis(10));
        }
        let ifs = app.exec("show interface tap0").unwrap();
        let errors: u64 = ifs
            .lines()
            .find(|l| l.contains("tx-error"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert_eq!(errors, 3, "{flags}: {ifs}");
        assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
        app.exec("delete tap tap0").unwrap();
    }
}
