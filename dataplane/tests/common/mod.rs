//! Helpers of the live driver tests: network namespaces and veth pairs this process creates and
//! deletes (also when a test fails), the python3 ping and TCP scripts run inside them, and the
//! dataplane loop that runs until those exit.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dataplane::App;

/// True when running as root (the live tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A network namespace named after this process and `tag`; deleted on drop.
pub struct Netns(pub String);

impl Netns {
    /// A fresh namespace (a leftover of the same name is deleted first).
    pub fn new(tag: &str) -> Netns {
        let name = format!("dpt-{}-{tag}", std::process::id());
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

    /// A command run inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }

    /// Run a command inside the namespace; it must succeed.
    pub fn run(&self, args: &[&str]) {
        let st = self.exec(args).status().unwrap();
        assert!(st.success(), "{}: {args:?}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A veth pair: outer end here, inner end (`<outer>i`) in a namespace; deleted on drop.
pub struct Veth {
    /// The outer end's name.
    pub outer: String,
}

impl Veth {
    /// `outer` here, `<outer>i` in `ns` with `addr` (CIDR) and a default route via `gw`, each end
    /// with `queues` rx and tx queues, offloads as the kernel sets them (on): the namespace sends
    /// partial checksums, as every veth peer does, and the driver under test must finish them.
    pub fn new(outer: &str, ns: &Netns, addr: &str, gw: &str, queues: u32) -> Veth {
        Self::create(outer, ns, addr, gw, queues, false)
    }

    /// As [`Veth::new`] with the offloads of both ends off. Only for DPDK's own `net_af_packet`
    /// PMD, the stand-in for a NIC in the DPDK tests: that PMD (not our code) neither reports
    /// a partial checksum nor takes a TSO super-frame, which no real NIC hands over.
    pub fn new_offloads_off(outer: &str, ns: &Netns, addr: &str, gw: &str, queues: u32) -> Veth {
        Self::create(outer, ns, addr, gw, queues, true)
    }

    fn create(outer: &str, ns: &Netns, addr: &str, gw: &str, queues: u32, off: bool) -> Veth {
        let inner = &format!("{outer}i");
        let _ = Command::new("ip")
            .args(["link", "del", outer])
            .stderr(Stdio::null())
            .status();
        let q = queues.to_string();
        let qs = ["numrxqueues", &q, "numtxqueues", &q];
        let ok = Command::new("ip")
            .args(["link", "add", outer])
            .args(qs)
            .args(["type", "veth", "peer", "name", inner])
            .args(qs)
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
        if !off {
            return v;
        }
        let off = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"];
        let _ = ns
            .exec(&[&["ethtool", "-K", inner][..], &off[..]].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ethtool")
            .args(["-K", outer])
            .args(off)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        v
    }

    /// True if an XDP program is attached to the outer end.
    pub fn has_xdp(&self) -> bool {
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

/// python3 pinging `dst` `count` times with a raw ICMP socket, each echo tried up to 3 times
/// (the first may be dropped while the dataplane resolves the neighbour); exits 0 if all answered.
pub const PING_RETRY: &str = r#"
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

/// TCP: `server PORT` accepts one connection, reads to EOF and answers "<bytes> <sha256>" of what
/// it read; `client ADDR PORT BYTES` sends BYTES pseudo-random bytes and checks the answer.
pub const TCP: &str = r#"
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

/// Run the dataplane until every child exits (or a timeout, which panics); returns whether each
/// succeeded.
pub fn run_until_exit(app: &mut App, mut children: Vec<Child>, timeout: Duration) -> Vec<bool> {
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
            // Let the last frames out.
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

/// TCP: `bytes` bytes from namespace `a` to `dst:port` in namespace `b` (the server sends the
/// digest of what it got back, the client checks it), while `app` forwards. Whether each of
/// server and client exited successfully within 60 s.
pub fn tcp_exchange(
    app: &mut App,
    a: &Netns,
    b: &Netns,
    dst: &str,
    port: u16,
    bytes: usize,
) -> Vec<bool> {
    let port = port.to_string();
    let server = b
        .exec(&["python3", "-c", TCP, "server", &port])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let client = a
        .exec(&[
            "python3",
            "-c",
            TCP,
            "client",
            dst,
            &port,
            &bytes.to_string(),
        ])
        .spawn()
        .unwrap();
    run_until_exit(app, vec![server, client], Duration::from_secs(60))
}

/// Start the daemon binary with the startup.conf `conf` and wait (20 s at most) until its CLI
/// socket `sock` answers; on a timeout it is killed and the test fails, with its log if given.
pub fn start_daemon(conf: &Path, sock: &Path, log: Option<&Path>) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataplane"))
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while cli::client::Client::connect(sock).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "daemon did not start: {:?}",
                log.map(std::fs::read_to_string)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// True (with a message) when taps cannot be made here: not root, or no /dev/net/tun.
pub fn no_tap() -> bool {
    let no = !is_root() || !std::path::Path::new("/dev/net/tun").exists();
    if no {
        eprintln!("skipped: needs root and /dev/net/tun");
    }
    no
}

/// A pod: namespace `{tag}{k}` behind tap `k` (`create tap ... {options}`) at 10.{net}.{k+1}.2,
/// its gateway the tap's address .1.
pub fn tap_pod(app: &mut App, tag: &str, net: u8, k: usize, options: &str) -> Netns {
    let ns = Netns::new(&format!("{tag}{k}"));
    let id = std::process::id() % 10_000;
    let s = k + 1;
    app.exec(&format!(
        "create tap id {k} host-if-name dp{tag}{id}{k} host-ns {} host-ip4-addr 10.{net}.{s}.2/24 host-ip4-gw 10.{net}.{s}.1 {options}",
        ns.0
    ))
    .unwrap();
    app.exec_script(&format!(
        "set interface state tap{k} up\nset interface ip address tap{k} 10.{net}.{s}.1/24"
    ))
    .unwrap();
    ns
}
