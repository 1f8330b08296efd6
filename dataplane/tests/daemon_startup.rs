//! The daemon started from a stock VPP startup.conf: what means nothing here is accepted and
//! named once in the log, `pidfile` holds the PID while it runs, and the CLI answers.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_stock_vpp_startup_conf_runs_the_daemon() {
    let dir = std::env::temp_dir().join(format!("dp-startup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sock, pid, log) = (
        dir.join("cli.sock"),
        dir.join("vpp.pid"),
        dir.join("vpp.log"),
    );
    std::fs::write(
        dir.join("startup.conf"),
        format!(
            "unix {{
  nodaemon
  log {}
  full-coredump
  cli-listen {}
  gid vpp
  cli-no-pager
  poll-sleep-usec 1000
  pidfile {}
}}
api-trace {{
  on
}}
api-segment {{
  gid vpp
}}
socksvr {{
  default
}}
cpu {{
  relative
}}
plugins {{
  plugin default {{ disable }}
  plugin acl_plugin.so {{ enable }}
}}
statseg {{ size 32m }}
",
            log.display(),
            sock.display(),
            pid.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dataplane"))
        .arg("-c")
        .arg(dir.join("startup.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while cli::client::Client::connect(&sock).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("daemon did not start: {:?}", std::fs::read_to_string(&log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&pid).unwrap(),
        format!("{}\n", child.id())
    );
    let mut c = cli::client::Client::connect(&sock).unwrap();
    assert!(c.exec("show version").unwrap().starts_with("dataplane v"));
    drop(c);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    assert!(!pid.exists(), "pidfile left behind");
    let text = std::fs::read_to_string(&log).unwrap();
    for what in [
        "startup.conf: line 6: `unix { gid vpp }` ignored",
        "startup.conf: line 11: section `api-trace` ignored",
        "section `api-segment` ignored",
        "section `socksvr` ignored",
        "`cpu { relative }` ignored",
        "section `plugins` ignored",
        "section `statseg` ignored",
    ] {
        assert_eq!(text.matches(what).count(), 1, "{what}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
