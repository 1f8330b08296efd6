//! `unix { metrics-listen }`: the daemon serves Prometheus metrics that curl scrapes, the
//! counters move with traffic from a pg stream, and a client that connects and says nothing
//! neither blocks the CLI nor other scrapes.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::start_daemon;

/// The daemon under test; killed on drop if the test fails before stopping it.
struct Daemon {
    child: Child,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `curl ARGS URL`: (HTTP status, output).
fn curl(args: &[&str], url: &str) -> (u32, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (ci/test.sh installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The value of the sample `series` (name and labels exactly as printed).
fn value(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn cli(sock: &Path, line: &str) -> String {
    let mut c = cli::client::Client::connect(sock).unwrap();
    c.exec(line).unwrap_or_else(|e| panic!("{line}: {e:?}"))
}

#[test]
fn curl_scrapes_the_daemon() {
    let dir = std::env::temp_dir().join(format!("dp-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sock, log, pcap) = (
        dir.join("cli.sock"),
        dir.join("dp.log"),
        dir.join("syn.pcap"),
    );
    let frames: Vec<Vec<u8>> = (0..5)
        .map(|i| dataplane::pcapgen::TcpFrame::bench_syn(40000 + i).build())
        .collect();
    let bytes: usize = frames.iter().map(|f| f.len()).sum();
    dataplane::engine::pcap::write_pcap(&pcap, frames.iter().map(|f| (0, &f[..]))).unwrap();
    std::fs::write(
        dir.join("setup.cli"),
        format!(
            "create loopback interface
set interface state loop0 up
set interface ip address loop0 10.9.0.1/24
create packet-generator interface pg0
set interface state pg0 up
packet-generator new {{ name s0 limit 5 interface pg0 pcap {} }}
",
            pcap.display()
        ),
    )
    .unwrap();
    let port = free_port();
    std::fs::write(
        dir.join("startup.conf"),
        format!(
            "unix {{
  nodaemon
  cli-listen {}
  log {}
  exec {}
  metrics-listen 127.0.0.1:{port}
}}
",
            sock.display(),
            log.display(),
            dir.join("setup.cli").display()
        ),
    )
    .unwrap();
    let child = start_daemon(&dir.join("startup.conf"), &sock, Some(&log));
    let mut d = Daemon {
        child,
        dir: dir.clone(),
    };
    let url = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "daemon did not start: {:?}",
            std::fs::read_to_string(&log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Headers and the families of every kind.
    let (code, text) = curl(&["-i"], &format!("{url}/metrics"));
    assert_eq!(code, 200, "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: close"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}", body.len())),
        "{head}"
    );
    for line in [
        "# TYPE dataplane_interface_rx_packets_total counter",
        "dataplane_interface_rx_packets_total{interface=\"pg0\",thread=\"0\"} 0",
        "dataplane_interface_admin_up{interface=\"loop0\"} 1",
        "# TYPE dataplane_node_calls_total counter",
        "# TYPE dataplane_errors_total counter",
        "dataplane_buffers_in_use{pool=\"default-numa-0\"} 0",
        "dataplane_nat44_sessions{thread=\"0\"} 0",
        "dataplane_acl_sessions{thread=\"0\"} 0",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} missing:\n{body}");
    }
    assert!(value(body, "dataplane_buffers{pool=\"default-numa-0\"}").unwrap() > 0);
    assert_eq!(curl(&[], &format!("{url}/")).0, 200);
    assert_eq!(curl(&["--http1.0"], &format!("{url}/metrics")).0, 200);
    let (code, head) = curl(&["-I"], &format!("{url}/metrics"));
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("Content-Length: "), "{head}");
    let (code, text) = curl(&[], &format!("{url}/nope"));
    assert_eq!(code, 404, "{text}");
    assert_eq!(
        curl(&["-X", "POST", "-d", "x=1"], &format!("{url}/metrics")).0,
        405
    );

    // A client that connects and sends nothing: the CLI and other scrapes carry on.
    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let t = Instant::now();
    assert!(cli(&sock, "show version").starts_with("dataplane v"));
    assert_eq!(curl(&[], &format!("{url}/metrics")).0, 200);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "slow with a silent client: {:?}",
        t.elapsed()
    );

    // Traffic: five frames from pg0 (no route to 10.104.221.85: dropped), counted.
    cli(&sock, "packet-generator enable-stream s0");
    let t0 = Instant::now();
    while !cli(&sock, "show packet-generator").contains("done") {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "pg stream did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, body) = curl(&[], &format!("{url}/metrics"));
    assert_eq!(code, 200);
    let pg0 = "{interface=\"pg0\",thread=\"0\"}";
    assert_eq!(
        value(&body, &format!("dataplane_interface_rx_packets_total{pg0}")),
        Some(5),
        "{body}"
    );
    assert_eq!(
        value(&body, &format!("dataplane_interface_rx_bytes_total{pg0}")),
        Some(bytes as u64)
    );
    assert_eq!(
        value(
            &body,
            "dataplane_node_vectors_total{node=\"pg-input\",type=\"input\",thread=\"0\"}"
        ),
        Some(5),
        "{body}"
    );
    let dropped: u64 = body
        .lines()
        .filter(|l| l.starts_with("dataplane_errors_total{node=\""))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    assert!(dropped >= 5, "{body}");

    drop(silent);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(d.child.id() as i32, libc::SIGTERM) };
    assert!(d.child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!(
            "metrics for Prometheus at http://127.0.0.1:{port}/metrics"
        )),
        "{text}"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
