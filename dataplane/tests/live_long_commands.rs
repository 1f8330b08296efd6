//! Long commands do not stop the forwarder: while `ip route add count 2000000` runs through the
//! CLI socket, a pod in a namespace keeps getting answers to its pings, and SIGTERM in the middle
//! of such a command stops the daemon promptly. Runs the `dataplane` binary; skipped (with a
//! message) when not running as root.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{is_root, start_daemon, Netns};

/// python3 in the pod: ping `dst` every 20 ms for `secs` seconds with a raw socket; prints the
/// number of replies.
const PINGER: &str = r#"
import socket, struct, sys, time
dst, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.02)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return (~t) & 0xffff
ok, seq, end = 0, 0, time.time() + secs
while time.time() < end:
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4243, seq & 0xffff) + b"long-command-ping"[:16]
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (dst, 0))
    seq += 1
    t0 = time.time()
    while time.time() - t0 < 0.02:
        try:
            pkt, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        if pkt[ihl] == 0 and addr[0] == dst:
            ok += 1
            break
print(ok, seq)
"#;

struct Daemon {
    child: std::process::Child,
    sock: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Daemon {
    fn start(tag: &str, ns: &Netns) -> Daemon {
        let dir = std::env::temp_dir().join(format!("dp-long-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("cli.sock");
        let host = format!("dpl{}{tag}", std::process::id() % 10_000);
        std::fs::write(
            dir.join("setup.cli"),
            format!(
                "create tap id 1 hw-addr 02:fe:00:00:aa:01 host-if-name {host} host-ns {} host-ip4-addr 10.78.0.2/24\n\
                 set interface state tap1 up\nset interface ip address tap1 10.78.0.1/24\n",
                ns.0
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("startup.conf"),
            format!(
                "unix {{ nodaemon cli-listen {} exec {} }}\n",
                sock.display(),
                dir.join("setup.cli").display()
            ),
        )
        .unwrap();
        let child = start_daemon(&dir.join("startup.conf"), &sock, None);
        Daemon { child, sock, dir }
    }

    fn exec(&self, line: &str) -> Result<String, String> {
        let mut c = cli::client::Client::connect(&self.sock).map_err(|e| e.to_string())?;
        c.exec(line).map_err(|e| e.to_string())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn pods_keep_forwarding_during_a_long_command_and_sigterm_is_heard() {
    if !is_root() || !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
        return;
    }
    let ns = Netns::new("long");
    let d = Daemon::start("a", &ns);
    // The pod answers before anything else happens.
    let pinger = |secs: &str| {
        ns.exec(&["python3", "-c", PINGER, "10.78.0.1", secs])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let warm = pinger("1").wait_with_output().unwrap();
    let warm = String::from_utf8_lossy(&warm.stdout).to_string();
    assert!(
        warm.split_whitespace().next().unwrap_or("0") != "0",
        "no answer at all: {warm}"
    );

    // Pings while two million routes go in.
    let p = pinger("3");
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    d.exec("ip route add count 2000000 20.0.0.0/32 via 10.78.0.2 tap1")
        .expect("the routes go in");
    let took = t0.elapsed();
    let out = p.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    let mut it = out
        .split_whitespace()
        .map(|x| x.parse::<u32>().unwrap_or(0));
    let (ok, sent) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    eprintln!(
        "2M routes in {:.2} s; {ok} of {sent} pings answered meanwhile",
        took.as_secs_f64()
    );
    assert!(
        ok * 2 > sent,
        "forwarding stalled during the command: {ok} of {sent} pings answered"
    );
    assert!(d
        .exec("show ip fib 20.30.132.127/32")
        .unwrap()
        .contains("20.30.132.127/32"));

    // SIGTERM in the middle of another long command: the daemon stops promptly.
    let sock = d.sock.clone();
    let cmd = std::thread::spawn(move || {
        let mut c = cli::client::Client::connect(&sock).unwrap();
        c.exec("ip route del count 2000000 20.0.0.0/32 via 10.78.0.2 tap1")
    });
    std::thread::sleep(Duration::from_millis(150));
    let pid = d.child.id() as i32;
    let t1 = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut d = d;
    let st = loop {
        if let Some(st) = d.child.try_wait().unwrap() {
            break st;
        }
        assert!(t1.elapsed() < Duration::from_secs(10), "SIGTERM ignored");
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!(
        "stopped {:.0} ms after SIGTERM",
        t1.elapsed().as_secs_f64() * 1000.0
    );
    assert!(st.success(), "clean exit: {st:?}");
    let _ = cmd.join();
}
