//! Live drivers in network namespaces this test creates and deletes: a TAP interface whose host
//! side sits in a namespace, and an AF_PACKET interface on a veth pair. The namespace pings the
//! dataplane's address (ARP, then ICMP echo) with a raw socket from python3. Skipped (with a
//! message) when not running as root.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{is_root, run_until_exit, Netns};

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
    if !is_root() || !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
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
