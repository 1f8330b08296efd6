//! Pod churn on real taps: 10,000 taps created, configured as a CNI agent would (address,
//! neighbour, route, NAT44 role, ACLs both ways, MACIP), used and deleted. Afterwards the
//! process holds the same descriptors, the daemon's poll set holds only live devices, and the
//! graph and the tables are the size they were after the first pod. Skipped (with a message)
//! when not running as root. `DP_CHURN=N` changes the count.

mod common;

use common::is_root;
use dataplane::App;
use engine::Mode;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

fn pod(id: u32) -> String {
    format!(
        "create tap id {id} hw-addr 02:fe:00:00:01:{b:02x} host-if-name dpchurn{id}
set interface state tap{id} up
set interface ip address tap{id} 10.1.{b}.1/24
set ip neighbor tap{id} 10.1.{b}.2 02:00:00:00:02:{b:02x} static
ip route add 10.9.{b}.0/24 via 10.1.{b}.2 tap{id}
set interface nat44 in tap{id}
set acl-plugin acl index {id} permit+reflect src 10.1.{b}.0/24
set acl-plugin interface tap{id} input acl {id}
set acl-plugin interface tap{id} output acl {id}
set acl-plugin macip acl index {id} permit ip 10.1.{b}.2/32 mac 02:00:00:00:02:{b:02x}
set acl-plugin macip interface tap{id} acl {id}
",
        b = id % 250
    )
}

/// Sizes that grow when a deleted interface leaves something behind.
fn sizes(app: &App) -> (usize, usize, usize, usize, usize) {
    let fib = graph_nodes::ip4(&app.dp).fib.read();
    (
        app.dp.graph.n_nodes(),
        app.dp.graph.vm.errors.len(),
        app.dp.interface_main().sw.len(),
        fib.lbs_in_use(),
        fib.n_entries(0),
    )
}

#[test]
fn ten_thousand_taps_leave_descriptors_poll_set_and_graph_as_they_were() {
    if !is_root() || !std::path::Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: needs root and /dev/net/tun");
        return;
    }
    let n: u32 = std::env::var("DP_CHURN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:00 host-if-name dpchurn0
set interface state tap0 up
set interface ip address tap0 192.168.1.1/24
nat44 add address 192.168.1.1
set interface nat44 out tap0",
    )
    .unwrap();
    let cycle = |app: &mut App, i: u32| {
        let id = 1 + i % 100;
        app.exec_script(&pod(id)).unwrap();
        assert_eq!(
            dataplane::daemon::device_fds(app).len(),
            2,
            "tap0 and the pod"
        );
        app.dp.graph.run_once();
        app.exec(&format!("delete tap tap{id}")).unwrap();
        app.exec(&format!("delete acl-plugin acl index {id}"))
            .unwrap();
        app.exec(&format!("delete acl-plugin macip acl index {id}"))
            .unwrap();
    };
    cycle(&mut app, 0);
    // Deleted taps close on the reaper's threads.
    app.dp.reaper.wait_all();
    let (fds, first, rss0) = (open_fds(), sizes(&app), rss_kib());
    let t0 = std::time::Instant::now();
    for i in 1..n {
        cycle(&mut app, i);
    }
    let elapsed = t0.elapsed();
    app.dp.reaper.wait_all();
    assert_eq!(app.dp.reaper.n_pending(), 0);
    let poll = dataplane::daemon::device_fds(&app);
    assert_eq!(poll.len(), 1, "only tap0 is polled: {poll:?}");
    for fd in poll {
        // SAFETY: fcntl(F_GETFD) only queries the descriptor.
        assert!(
            unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0,
            "fd {fd} is open"
        );
    }
    assert_eq!(open_fds(), fds, "descriptors");
    assert_eq!(
        sizes(&app),
        first,
        "graph nodes, error counters, interfaces, LBs, routes"
    );
    assert!(
        !std::path::Path::new("/sys/class/net/dpchurn1").exists(),
        "the host tap is gone"
    );
    eprintln!(
        "{n} taps in {:.1} s ({:.1} s with the last closes); RSS {rss0} KiB after the first, {} KiB after the last",
        elapsed.as_secs_f64(),
        t0.elapsed().as_secs_f64(),
        rss_kib()
    );
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
}
