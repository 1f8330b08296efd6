//! A kernel that refuses io_uring (`kernel.io_uring_disabled`, as hardened hosts and container
//! sandboxes set it): taps fall back to readv/writev with one log line, `io-uring` fails with a
//! one-line error, and the tap still carries traffic. Its own test binary, because it changes a
//! machine-wide sysctl for a moment (cargo runs test binaries one at a time).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{is_root, run_until_exit, Netns};
use dataplane::App;
use engine::Mode;

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// Puts the sysctl back however the test ends.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.0);
    }
}

#[test]
fn taps_fall_back_to_readv_without_io_uring() {
    if !is_root() || !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
        return;
    }
    let Ok(old) = std::fs::read_to_string(SYSCTL) else {
        eprintln!("skipped: this kernel has no {SYSCTL}");
        return;
    };
    let _restore = Restore(old.trim().to_string());
    std::fs::write(SYSCTL, "2").unwrap();
    let ns = Netns::new("nou");
    let host = format!("dpu{}t", std::process::id() % 100_000);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    let e = app
        .exec(&format!("create tap id 1 host-if-name {host}x io-uring"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("io_uring: cannot set up a ring: "), "{e}");
    assert!(app.exec("show interface tap1").is_err(), "nothing created");
    app.exec(&format!(
        "create tap id 0 host-if-name {host} host-ns {} host-ip4-addr 10.78.0.2/24",
        ns.0
    ))
    .unwrap();
    let log = app.exec("show logging").unwrap();
    assert!(
        log.contains("tap0: io_uring: cannot set up a ring: ")
            && log.contains("; reading and writing one frame per system call"),
        "{log}"
    );
    let tap = app.exec("show tap tap0").unwrap();
    assert!(tap.contains("  io-uring 0\n"), "{tap}");
    app.exec_script("set interface state tap0 up\nset interface ip address tap0 10.78.0.1/24")
        .unwrap();
    let child = ns
        .exec(&["ping", "-c", "2", "-W", "2", "10.78.0.1"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![child], Duration::from_secs(20));
    assert!(st[0], "ping through the readv tap failed");
    app.exec("delete tap tap0").unwrap();
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
}
