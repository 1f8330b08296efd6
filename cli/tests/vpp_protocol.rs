//! The CLI socket spoken as VPP's: VPP's own `vppctl` bytes (telnet terminal type `vppctl`, the
//! command ended by a NUL, a NUL after the answer), a telnet terminal (echo, prompt), and real
//! `socat` with plain text. dpctl's frames keep working on the same socket.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{tempdir, Daemon};

const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
const TTYPE: u8 = 24;

/// Read until `pred` holds for what came, EOF, or 5 s.
fn read_until(s: &mut UnixStream, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while t.elapsed() < Duration::from_secs(5) && !pred(&got) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    got
}

fn ttype(name: &str) -> Vec<u8> {
    let mut v = vec![IAC, SB, TTYPE, 0];
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(&[IAC, SE]);
    v
}

#[test]
fn vppctl_one_shot_bytes() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");
    let d = Daemon::start(&sock);
    let mut s = UnixStream::connect(&sock).unwrap();
    // The server speaks first, as VPP: telnet options ending with "send your terminal type"
    // and "send your window size".
    let hello = read_until(&mut s, |g| {
        g.windows(6).any(|w| w == [IAC, SB, TTYPE, 1, IAC, SE])
    });
    assert_eq!(hello, cli::telnet::GREETING);
    // What vppctl sends then: its terminal type, and `show counter ` with a NUL.
    let mut msg = ttype("vppctl");
    msg.extend_from_slice(b"set counter 9 \0");
    s.write_all(&msg).unwrap();
    let r = read_until(&mut s, |_| false);
    assert_eq!(r, b"\0", "no output, one NUL, then the server closes");
    let mut s = UnixStream::connect(&sock).unwrap();
    read_until(&mut s, |g| g.len() >= cli::telnet::GREETING.len());
    let mut msg = ttype("vppctl");
    msg.extend_from_slice(b"show counter \0");
    s.write_all(&msg).unwrap();
    assert_eq!(read_until(&mut s, |_| false), b"counter 9\n\0");
    // An unknown command: its one-line error, the NUL, closed.
    let mut s = UnixStream::connect(&sock).unwrap();
    read_until(&mut s, |g| g.len() >= cli::telnet::GREETING.len());
    let mut msg = ttype("vppctl");
    msg.extend_from_slice(b"show nothing \0");
    s.write_all(&msg).unwrap();
    let r = String::from_utf8(read_until(&mut s, |_| false)).unwrap();
    assert!(
        r.starts_with("unknown command `show nothing`") && r.ends_with("\n\0"),
        "{r:?}"
    );
    assert_eq!(d.stop().value, 9);
}

#[test]
fn a_telnet_terminal_gets_echo_and_prompts() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");
    let d = Daemon::start(&sock);
    let mut s = UnixStream::connect(&sock).unwrap();
    read_until(&mut s, |g| g.len() >= cli::telnet::GREETING.len());
    s.write_all(&ttype("xterm-256color")).unwrap();
    assert_eq!(read_until(&mut s, |g| g.ends_with(b"dpctl# ")), b"dpctl# ");
    s.write_all(b"set counter 3\r\n").unwrap();
    let r = read_until(&mut s, |g| g.ends_with(b"dpctl# "));
    assert_eq!(r, b"set counter 3\r\ndpctl# ");
    s.write_all(b"show countx\x7fer\r\0").unwrap();
    let r = read_until(&mut s, |g| g.ends_with(b"dpctl# "));
    assert_eq!(r, b"show countx\x08 \x08er\r\ncounter 3\r\ndpctl# ");
    s.write_all(b"quit\r\n").unwrap();
    let r = read_until(&mut s, |_| false);
    assert_eq!(r, b"quit\r\n", "closed after quit");
    assert_eq!(d.stop().value, 3);
}

#[test]
fn socat_and_nc_with_plain_text() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");
    let d = Daemon::start(&sock);
    for tool in ["socat", "nc"] {
        let mut cmd = Command::new(tool);
        if tool == "socat" {
            cmd.arg("-").arg(format!("UNIX-CONNECT:{}", sock.display()));
        } else {
            cmd.args(["-U", "-N"]).arg(&sock);
        }
        let mut c = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{tool} is needed (apt-get install socat netcat-openbsd): {e}")
            });
        c.stdin
            .take()
            .unwrap()
            .write_all(b"set counter 5\nshow counter\nshow nothing\n")
            .unwrap();
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("counter 5\nunknown command `show nothing`"),
            "{tool}: {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // dpctl's framed protocol on the same socket.
    let mut c = cli::client::Client::connect(&sock).unwrap();
    assert_eq!(c.exec("show counter").unwrap(), "counter 5");
    assert_eq!(d.stop().value, 5);
}

/// `cli-listen HOST:PORT` as VPP: a TCP listener on that address only; dpctl's client and a
/// plain-text `nc` both talk to it.
#[test]
fn cli_listen_host_port_is_tcp() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = format!("127.0.0.1:{port}");
    let d = Daemon::start(std::path::Path::new(&ep));
    assert!(!std::path::Path::new(&ep).exists(), "no file named {ep}");
    let mut c = cli::client::Client::connect(std::path::Path::new(&ep)).unwrap();
    c.exec("set counter 7").unwrap();
    assert_eq!(c.exec("show counter").unwrap(), "counter 7");
    drop(c);
    let mut nc = Command::new("nc")
        .args(["-N", "127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("nc (netcat-openbsd)");
    nc.stdin
        .take()
        .unwrap()
        .write_all(b"show counter\n")
        .unwrap();
    let out = nc.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("counter 7"),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(d.stop().value, 7);
    // Bad HOST:PORT values are refused by name.
    for (bad, says) in [
        (
            "localhost:70000",
            "port 70000 in `localhost:70000` is not a TCP port (1-65535)",
        ),
        (
            "no-such-host.invalid:5002",
            "cannot resolve `no-such-host.invalid`",
        ),
    ] {
        let e = cli::server::CliServer::bind(std::path::Path::new(bad)).unwrap_err();
        assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
    }
}
