//! AF_XDP driver, live, in network namespaces this test creates and deletes (also when it fails):
//! two namespaces each behind a veth pair whose outer end is an `af_xdp` interface of the
//! dataplane, which routes between them. A namespace pings the dataplane (ARP, then ICMP echo),
//! pings the other namespace through it, and a TCP client sends data to a server in the other
//! namespace, which echoes a digest. Also: `zero-copy` on veth is a one-line error, a bad host
//! interface is an error, several queues, and deleting the interface detaches the XDP program.
//! Skipped (with a message) when not root or built without libxdp.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dataplane::App;
use engine::Mode;

struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("dpx-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add")
            .success();
        assert!(ok, "ip netns add {name}");
        Netns(name)
    }
    fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
    fn run(&self, args: &[&str]) {
        let st = self.exec(args).status().unwrap();
        assert!(st.success(), "{}: {args:?}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A veth pair whose outer end stays here and inner end lives in a namespace; deleted on drop.
struct Veth {
    outer: String,
}

impl Veth {
    /// `outer` here, `inner` in `ns` with `addr` (CIDR) and a default route via `gw`; offloads off
    /// so the namespace sends complete frames with computed checksums.
    fn new(outer: &str, ns: &Netns, addr: &str, gw: &str, queues: u32) -> Veth {
        let inner = &format!("{outer}i");
        let _ = Command::new("ip")
            .args(["link", "del", outer])
            .stderr(Stdio::null())
            .status();
        let q = queues.to_string();
        let ok = Command::new("ip")
            .args([
                "link",
                "add",
                outer,
                "numrxqueues",
                &q,
                "numtxqueues",
                &q,
                "type",
                "veth",
                "peer",
                "name",
                inner,
                "numrxqueues",
                &q,
                "numtxqueues",
                &q,
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip link add {outer}");
        let v = Veth {
            outer: outer.to_string(),
        };
        let run = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        run(Command::new("ip").args(["link", "set", inner, "netns", &ns.0]));
        run(Command::new("ip").args(["link", "set", outer, "up"]));
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns.run(&["ip", "link", "set", inner, "up"]);
        ns.run(&["ip", "addr", "add", addr, "dev", inner]);
        ns.run(&["ip", "route", "add", "default", "via", gw]);
        for dev in [None, Some(ns)] {
            let args = [
                "ethtool", "-K", "IF", "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ];
            let mut a: Vec<&str> = args.to_vec();
            a[2] = if dev.is_some() { inner } else { outer };
            let mut c = match dev {
                Some(ns) => ns.exec(&a),
                None => {
                    let mut c = Command::new(a[0]);
                    c.args(&a[1..]);
                    c
                }
            };
            let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        v
    }

    fn has_xdp(&self) -> bool {
        let out = Command::new("ip")
            .args(["link", "show", "dev", &self.outer])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("xdp")
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.outer])
            .stderr(Stdio::null())
            .status();
    }
}

fn skip() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return true;
    }
    if !engine::drivers::af_xdp::available() {
        eprintln!("skipped: built without libxdp (install libxdp-dev libbpf-dev)");
        return true;
    }
    false
}

/// python3 pinging `dst` `count` times with a raw ICMP socket, each echo tried up to 3 times
/// (the first may be dropped while the dataplane resolves the neighbour); exits 0 if all answered.
const PING: &str = r#"
import socket, struct, sys, time
dst, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1.0)
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
ok = 0
for seq in range(count):
    for attempt in range(3):
        body = struct.pack("!BBHHH", 8, 0, 0, 0x4243, seq) + b"dataplane-ping!!"
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        s.sendto(body, (dst, 0))
        end = time.time() + 1
        got = False
        while time.time() < end and not got:
            try:
                pkt, addr = s.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (pkt[0] & 15) * 4
            t, _, _, ident, sq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
            got = t == 0 and ident == 0x4243 and sq == seq and addr[0] == dst
        if got:
            ok += 1
            break
print("replies", ok)
sys.exit(0 if ok == count else 1)
"#;

/// TCP: `server PORT` accepts one connection, reads to EOF and answers the SHA-256 of what it
/// read; `client ADDR PORT BYTES` sends BYTES pseudo-random bytes and checks the digest.
const TCP: &str = r#"
import hashlib, socket, sys
if sys.argv[1] == "server":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", int(sys.argv[2]))); l.listen(1); l.settimeout(30)
    c, _ = l.accept(); c.settimeout(30)
    h = hashlib.sha256(); n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        h.update(b); n += len(b)
    c.sendall(("%d %s" % (n, h.hexdigest())).encode()); c.close()
else:
    addr, port, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = bytes((i * 7919 + (i >> 8)) & 255 for i in range(size))
    c = socket.create_connection((addr, port), timeout=30)
    c.sendall(data); c.shutdown(socket.SHUT_WR)
    r = b""
    while True:
        b = c.recv(4096)
        if not b: break
        r += b
    want = "%d %s" % (size, hashlib.sha256(data).hexdigest())
    print(r.decode()); sys.exit(0 if r.decode() == want else 1)
"#;

/// Run the dataplane until every child exits (or a timeout); returns their statuses.
fn run_until_exit(app: &mut App, mut children: Vec<Child>, timeout: Duration) -> Vec<bool> {
    let start = Instant::now();
    let mut done: Vec<Option<bool>> = vec![None; children.len()];
    loop {
        app.dp.run_until_idle();
        for (c, d) in children.iter_mut().zip(done.iter_mut()) {
            if d.is_none() {
                if let Some(st) = c.try_wait().unwrap() {
                    *d = Some(st.success());
                }
            }
        }
        if done.iter().all(Option::is_some) {
            for _ in 0..100 {
                app.dp.run_until_idle();
            }
            return done.into_iter().map(Option::unwrap).collect();
        }
        if start.elapsed() > timeout {
            for c in &mut children {
                let _ = c.kill();
            }
            panic!("timed out");
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The routed topology: namespaces `a` (10.91.1.2) and `b` (10.91.2.2) behind `af_xdp`
/// interfaces 10.91.1.1 and 10.91.2.1 of the dataplane.
struct Topo {
    app: App,
    a: Netns,
    b: Netns,
    va: Veth,
    vb: Veth,
    ifs: [String; 2],
}

fn topology(tag: &str, queues: u32, options: &str) -> Topo {
    let id = std::process::id() % 100_000;
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    let va = Veth::new(
        &format!("x{id}{tag}a"),
        &a,
        "10.91.1.2/24",
        "10.91.1.1",
        queues,
    );
    let vb = Veth::new(
        &format!("x{id}{tag}b"),
        &b,
        "10.91.2.2/24",
        "10.91.2.1",
        queues,
    );
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let mut ifs = [String::new(), String::new()];
    for (k, v) in [&va, &vb].into_iter().enumerate() {
        ifs[k] = app
            .exec(&format!(
                "create interface af_xdp host-if {} num-rx-queues {queues} {}",
                v.outer,
                options.replace("{k}", &k.to_string())
            ))
            .unwrap_or_else(|e| panic!("create af_xdp on {}: {e}", v.outer));
    }
    app.exec_script(&format!(
        "set interface state {0} up
set interface ip address {0} 10.91.1.1/24
set interface state {1} up
set interface ip address {1} 10.91.2.1/24
trace add af_xdp-input 50",
        ifs[0], ifs[1]
    ))
    .unwrap();
    Topo {
        app,
        a,
        b,
        va,
        vb,
        ifs,
    }
}

#[test]
fn af_xdp_routes_ping_and_tcp_between_namespaces() {
    if skip() {
        return;
    }
    let mut t = topology("r", 1, "");
    assert_eq!(t.ifs[0], format!("{}/0", t.va.outer), "VPP's default name");
    assert!(
        t.va.has_xdp() && t.vb.has_xdp(),
        "XDP program attached: {}",
        String::from_utf8_lossy(
            &Command::new("ip")
                .args(["link", "show", "dev", &t.va.outer])
                .output()
                .unwrap()
                .stdout
        )
    );
    // The dataplane's own address (ARP from the namespace, then ICMP echo).
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.1.1", "3"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    let trace = t.app.exec("show trace").unwrap();
    assert!(st[0], "ping of the dataplane failed; trace:\n{trace}");
    assert!(trace.contains("af_xdp: hw_if_index"), "{trace}");
    assert!(trace.contains("ICMP echo_request"), "{trace}");
    // Through the dataplane (it resolves 10.91.2.2 with ARP on the second interface).
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.2.2", "5"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    assert!(
        st[0],
        "ping across failed; trace:\n{}",
        t.app.exec("show trace").unwrap()
    );
    // TCP: 300 kB from a to b, digest back.
    let server =
        t.b.exec(&["python3", "-c", TCP, "server", "5201"])
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let client =
        t.a.exec(&[
            "python3",
            "-c",
            TCP,
            "client",
            "10.91.2.2",
            "5201",
            "300000",
        ])
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut t.app, vec![server, client], Duration::from_secs(60));
    let errors = t.app.exec("show errors").unwrap();
    assert!(
        st.iter().all(|&s| s),
        "TCP exchange failed: {st:?}\n{errors}"
    );
    let ifc = t.app.exec("show interface").unwrap();
    assert!(ifc.contains(&t.ifs[1]), "{ifc}");
    assert_eq!(t.app.dp.graph.vm.buffers.in_use(), 0);
    // Deleting the interfaces detaches the program.
    for name in t.ifs.clone() {
        let sw = t.app.dp.sw_if_index(&name).unwrap();
        t.app.dp.delete_interface(sw).unwrap();
    }
    assert!(!t.va.has_xdp() && !t.vb.has_xdp(), "program left attached");
}

#[test]
fn af_xdp_with_two_queues_and_copy_mode() {
    if skip() {
        return;
    }
    let mut t = topology("q", 2, "no-zero-copy name xq{k}");
    let c =
        t.a.exec(&["python3", "-c", PING, "10.91.2.2", "4"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    let st = run_until_exit(&mut t.app, vec![c], Duration::from_secs(30));
    assert!(
        st[0],
        "ping across failed; trace:\n{}",
        t.app.exec("show trace").unwrap()
    );
    assert_eq!(t.app.dp.graph.vm.buffers.in_use(), 0);
}

#[test]
fn af_xdp_zero_copy_on_veth_is_a_clear_error() {
    if skip() {
        return;
    }
    let ns = Netns::new("zc");
    let id = std::process::id() % 100_000;
    let v = Veth::new(&format!("x{id}zc"), &ns, "10.92.0.2/24", "10.92.0.1", 1);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let e = app
        .exec(&format!(
            "create interface af_xdp host-if {} zero-copy",
            v.outer
        ))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zero-copy") && e.contains("veth") && !e.contains('\n'),
        "{e}"
    );
    assert!(!v.has_xdp(), "program left attached after the failure");
    assert!(app
        .dp
        .interfaces
        .read()
        .by_name(&format!("{}/0", v.outer))
        .is_none());
    // The same interface works in copy mode afterwards.
    app.exec(&format!(
        "create interface af_xdp host-if {} no-zero-copy",
        v.outer
    ))
    .unwrap();
}

#[test]
fn af_xdp_bad_host_interface_and_program_are_errors() {
    if skip() {
        return;
    }
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let e = app
        .exec("create interface af_xdp host-if nosuchif0")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nosuchif0") && e.contains("does not exist"),
        "{e}"
    );
    let e = app
        .exec("create interface af_xdp host-if lo prog /nonexistent/prog.o")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/prog.o"), "{e}");
}
