//! The daemon started from a stock VPP startup.conf: what means nothing here is accepted and
//! named once in the log, `pidfile` holds the PID while it runs, and the CLI answers.

mod common;

use common::start_daemon;

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
    let mut child = start_daemon(&dir.join("startup.conf"), &sock, Some(&log));
    assert_eq!(
        std::fs::read_to_string(&pid).unwrap(),
        format!("{}\n", child.id())
    );
    let mut c = cli::client::Client::connect(&sock).unwrap();
    assert!(c.exec("show version").unwrap().starts_with("dataplane v"));
    // `plugin default { disable }` with the ACL plugin enabled: no NAT44 here.
    let plugins = c.exec("show plugins").unwrap();
    assert!(
        plugins.contains("acl_plugin") && !plugins.contains("nat_plugin"),
        "{plugins}"
    );
    assert!(c.exec("show acl-plugin acl").is_ok());
    assert!(c.exec("nat44 add address 10.0.0.1").is_err());
    // Configuration changes are logged with who made them; `show` commands are not.
    c.exec("create loopback interface").unwrap();
    assert!(c.exec("set interface state nosuch up").is_err());
    let logging = c.exec("show logging").unwrap();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let me = format!("uid {uid} pid {}", std::process::id());
    let lines: Vec<&str> = logging.lines().collect();
    assert!(
        lines.iter().any(|l| l.ends_with(&format!(
            " notice     cli            {me}: create loopback interface"
        ))),
        "{logging}"
    );
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            " warn       cli            {me}: set interface state nosuch up (refused: "
        ))),
        "{logging}"
    );
    assert!(!logging.contains("show version"), "{logging}");
    assert!(
        lines.iter().any(|l| l.contains(
            "notice     dataplane      startup.conf: line 11: section `api-trace` ignored"
        )),
        "{logging}"
    );
    // Each line starts with VPP's time stamp: 2026/12/03 15:57:30:123.
    for l in &lines {
        let b = l.as_bytes();
        assert!(
            b.len() > 24 && b[4] == b'/' && b[7] == b'/' && b[13] == b':' && b[19] == b':',
            "{l}"
        );
    }
    drop(c);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    assert!(!pid.exists(), "pidfile left behind");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(": create loopback interface"), "{text}");
    for what in [
        "startup.conf: line 6: `unix { gid vpp }` ignored",
        "startup.conf: line 11: section `api-trace` ignored",
        "section `api-segment` ignored",
        "section `socksvr` ignored",
        "`cpu { relative }` ignored",
        "section `statseg` ignored",
    ] {
        assert_eq!(text.matches(what).count(), 1, "{what}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cpu { main-core 0 corelist-workers 1 }`: a worker thread pinned to core 1, named and placed
/// as VPP's (`show threads`); a core this machine does not have stops the start with one line.
#[test]
fn cpu_corelist_workers_start_pinned_worker_threads() {
    let dir = std::env::temp_dir().join(format!("dp-workers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (sock, log) = (dir.join("cli.sock"), dir.join("vpp.log"));
    let conf = dir.join("startup.conf");
    std::fs::write(
        &conf,
        format!(
            "unix {{ nodaemon cli-listen {} log {} }}\ncpu {{ main-core 0 corelist-workers 1 }}\n",
            sock.display(),
            log.display()
        ),
    )
    .unwrap();
    let mut child = start_daemon(&conf, &sock, Some(&log));
    let mut c = cli::client::Client::connect(&sock).unwrap();
    let threads = c.exec("show threads").unwrap();
    let rows: Vec<Vec<&str>> = threads
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(&rows[0][..2], &["0", "vpp_main"], "{threads}");
    assert_eq!(&rows[1][..3], &["1", "vpp_wk_0", "workers"], "{threads}");
    // ID Name [Type] LWP policy (prio) lcore: the worker runs on core 1, main on core 0.
    assert_eq!(rows[1][6], "1", "{threads}");
    assert_eq!(rows[0][5], "0", "{threads}");
    assert!(threads.contains("Worker graph updates:"), "{threads}");
    assert!(c
        .exec("show runtime")
        .unwrap()
        .contains("Thread 1 vpp_wk_0 (lcore 1)"));
    drop(c);
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("1 worker threads: vpp_wk_0 on core 1"),
        "{text}"
    );

    std::fs::write(
        &conf,
        format!(
            "unix {{ nodaemon cli-listen {} }}\ncpu {{ corelist-workers 1000 }}\n",
            sock.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dataplane"))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cpu { corelist-workers }: core 1000 does not exist"),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
