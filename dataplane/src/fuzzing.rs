//! The entry points of the fuzz targets (`fuzz/`, `cargo fuzz run -s none TARGET`), kept here so
//! that the regression tests (`dataplane/tests/fuzz_regressions.rs`) replay every saved crash
//! and corpus input through exactly the same code. Each entry point panics when an invariant
//! breaks: a buffer not back in the pool after the input, or a panic anywhere below.
//!
//! - [`service_frames`]: frames into the interfaces of a fully configured node (pods, uplink,
//!   NAT44 service mappings, ACLs, MACIP, a bridge domain with a BVI, VXLAN, Geneve).
//! - [`node_frames`]: frames straight into any node, as a pg stream `node NAME` may send them.
//! - [`cli_commands`]: command lines against that node.
//! - [`startup_conf`]: startup.conf text.
//! - [`cli_socket`]: bytes from a client of the CLI socket.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::time::Duration;

use engine::buffer::INVALID_INDEX;
use engine::clock::Clock;
use engine::graph::NodeKind;
use engine::replay::inject_frame;
use engine::Mode;

use crate::App;

/// A node with everything configured: pg0, an uplink (tap0), pods (tap1, tap2), NAT44 (pool,
/// static, load-balanced and identity mappings, forwarding), ACLs both ways, MACIP, a bridge
/// domain with a BVI and a VXLAN tunnel, an L3-mode Geneve tunnel.
pub const NODE_CONFIG: &str = "create packet-generator interface pg0
create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state pg0 up
set interface state tap0 up
set interface state tap1 up
set interface state tap2 up
set interface ip address pg0 172.16.9.1/24
set interface ip address tap0 192.168.16.1/24
set interface ip address tap1 10.1.1.1/24
set ip neighbor tap0 192.168.16.2 02:00:00:00:00:fe static
set ip neighbor tap1 10.1.1.2 02:00:00:00:01:02 static
ip route add 0.0.0.0/0 via 192.168.16.2 tap0
nat44 add address 192.168.16.1
nat44 forwarding enable
set interface nat44 in tap1 out tap1
set interface nat44 out tap0
set interface nat44 out pg0
nat44 add static mapping tcp local 10.1.1.2 8080 external 192.168.16.1 80
nat44 add load-balancing static mapping protocol tcp external 10.96.0.10:80 local 10.1.1.2:8080 probability 1
nat44 add identity mapping 192.168.16.1 udp 4789
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0
set acl-plugin acl index 1 permit+reflect src 0.0.0.0/0 dst 10.1.1.2/32 proto 6 dport 8080, deny
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap1 output acl 1
set acl-plugin interface pg0 input acl 0
set acl-plugin macip acl index 0 permit ip 10.1.1.2/32 mac 02:00:00:00:01:02
set acl-plugin macip interface tap1 acl 0
create loopback interface mac 1a:2b:3c:4d:5e:01
set interface state loop0 up
set interface ip address loop0 192.168.30.1/24
create bridge-domain 1 learn 1 arp-term 1
set interface l2 bridge loop0 1 bvi
set interface l2 bridge tap2 1
create vxlan tunnel src 192.168.16.1 dst 192.168.16.2 vni 10
set interface l2 bridge vxlan_tunnel0 1 1
set acl-plugin interface loop0 input acl 0
create geneve tunnel local 192.168.16.1 remote 192.168.16.3 vni 0 l3-mode
set interface state geneve_tunnel0 up
set ip neighbor geneve_tunnel0 10.1.2.1 aa:bb:cc:dd:ee:ff static
ip route add 10.1.2.0/24 via 10.1.2.1 geneve_tunnel0
";

/// The interfaces [`service_frames`] feeds (chosen by each frame's first byte).
const INPUTS: &[&str] = &["tap0", "tap1", "tap2"];

/// A replay-mode forwarder with [`NODE_CONFIG`], on a manual clock.
pub fn node_app() -> App {
    let mut app = App::new(Mode::Replay);
    app.exec_script(NODE_CONFIG)
        .expect("the fuzz configuration is valid");
    app.dp.graph.vm.clock = Clock::manual(10_000_000_000);
    app
}

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// Run `f` on this thread's [`node_app`] (built once: targets keep state across inputs, as a
/// node does across packets).
fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> R {
    APP.with(|a| {
        let mut a = a.borrow_mut();
        let app = a.get_or_insert_with(node_app);
        // Inputs move the clock forward (up to minutes each): after a simulated few years, start
        // a fresh node rather than run the clock towards the end of u64 (a real clock never
        // gets there; found after 127M runs of service_frames).
        if app.dp.graph.vm.clock.now_ns() > CLOCK_RESET_NS {
            *app = node_app();
        }
        f(app)
    })
}

/// Simulated time after which a target starts a fresh node (about three years).
const CLOCK_RESET_NS: u64 = 100_000_000_000_000_000;

/// Split fuzz input into (selector byte, frame) records: `[selector][len lo][len hi][bytes]`,
/// the last one taking what is left.
pub fn split_frames(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut d = data;
    while let [sel, lo, hi, rest @ ..] = d {
        let n = (u16::from_le_bytes([*lo, *hi]) as usize)
            .min(rest.len())
            .min(2000);
        out.push((*sel, &rest[..n]));
        d = &rest[n..];
        if out.len() >= 512 {
            break;
        }
    }
    out
}

/// Panic unless every buffer is back once the graph settled: fragments the reassembly holds
/// for a first fragment that never came are let go (a second later they are dropped).
fn check_buffers(app: &mut App, what: &str) {
    let now = app.dp.graph.vm.clock.now_ns();
    app.dp.graph.vm.clock.set_ns(now + 1_000_000_000);
    app.dp.run_until_idle();
    drain_tx(app);
    let n = app.dp.graph.vm.buffers.in_use();
    assert_eq!(n, 0, "{what}: {n} buffers not returned");
}

/// Forget what the interfaces sent (the memory devices keep it).
fn drain_tx(app: &App) {
    for d in app.dp.devices.iter().flatten() {
        let mut d = d.lock();
        let any: &mut dyn std::any::Any = d.as_mut();
        if let Some(m) = any.downcast_mut::<engine::interface::MemoryDevice>() {
            m.tx.clear();
        }
    }
}

/// Frames into the node's interfaces, through ethernet-input and the whole service path.
pub fn service_frames(data: &[u8]) {
    with_app(|app| {
        for (sel, frame) in split_frames(data) {
            let ifname = INPUTS[sel as usize % INPUTS.len()];
            let now = app.dp.graph.vm.clock.now_ns();
            inject_frame(&app.dp, ifname, now, frame.to_vec()).expect("replay interface");
            if sel & 0x80 != 0 {
                // Some time passes: sessions age, timers run.
                let later = now + (sel as u64 & 0x7f) * 1_000_000_000;
                app.dp.graph.vm.clock.set_ns(later);
            }
        }
        app.dp.run_until_idle();
        drain_tx(app);
        check_buffers(app, "service_frames");
    })
}

/// Frames straight into one node (the first byte picks it among the non-input nodes), with
/// the metadata a pg stream gives them (`sw_if_index[RX]` = pg0, nothing else set).
pub fn node_frames(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    with_app(|app| {
        let nodes: Vec<u32> = app
            .dp
            .graph
            .node_indices()
            .filter(|&i| {
                !app.dp.graph.is_placeholder(i) && app.dp.graph.node_kind(i) != NodeKind::Input
            })
            .collect();
        let node = nodes[pick as usize % nodes.len()];
        let pg0 = app.dp.sw_if_index("pg0").expect("pg0");
        let mut bufs = Vec::new();
        for (_, frame) in split_frames(rest).into_iter().take(256) {
            let pool = &mut app.dp.graph.vm.buffers;
            let Some(bi) = pool.alloc_one() else { break };
            if !pool.fill(bi, frame) {
                pool.free(&[bi]);
                continue;
            }
            pool.meta_mut(bi).sw_if_index = [pg0, INVALID_INDEX];
            bufs.push(bi);
        }
        app.dp.graph.inject(node, &bufs);
        app.dp.run_until_idle();
        drain_tx(app);
        let name = app.dp.graph.node_name(node).to_string();
        check_buffers(app, &name);
    })
}

/// True for command lines the CLI fuzzer leaves out: file and device access (`exec`, `pcap`,
/// `packet-generator new` read or write paths, `create interface` would open devices) and
/// numbers large enough to make one command run for long (bulk `count`, table sizes), which
/// are bounded elsewhere and only slow the fuzzer down.
fn skipped(line: &str) -> bool {
    let l = line.trim_start().to_ascii_lowercase();
    // `packet-generator new` with a `data { }` description (no file) is parsed, as any
    // command; enabling a stream is not (an unlimited one would never let the graph go idle).
    let pg_data = l.starts_with("packet-generator new") && !l.contains("pcap");
    !pg_data
        && ["exec", "pcap", "packet-generator", "pa", "ex", "pc"]
            .iter()
            .any(|p| l.starts_with(p))
        || l.split(|c: char| !c.is_ascii_digit())
            .any(|n| n.len() > 5 || n.parse::<u64>().is_ok_and(|v| v > 20_000))
}

/// Command lines (one per input line) against the configured node, then a few packets through
/// whatever they built. Errors are fine; panics and leaked buffers are not.
pub fn cli_commands(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    with_app(|app| {
        for line in text.lines().take(64) {
            if skipped(line) {
                continue;
            }
            let _ = app.exec(line);
        }
        for (i, ifname) in INPUTS.iter().enumerate() {
            let now = app.dp.graph.vm.clock.now_ns();
            let mut f = vec![0xff; 6];
            f.extend_from_slice(&[0x02, 0, 0, 0, 0x01, i as u8, 0x08, 0x00, 0x45, 0, 0, 28]);
            f.extend_from_slice(&[0, 1, 0, 0, 64, 17, 0, 0, 10, 1, 1, 2, 8, 8, 8, 8]);
            f.extend_from_slice(&[0x10, 0x00, 0, 53, 0, 8, 0, 0]);
            let _ = inject_frame(&app.dp, ifname, now, f);
        }
        app.dp.run_until_idle();
        drain_tx(app);
        check_buffers(app, "cli_commands");
    })
}

/// startup.conf text: parsed (accepted or refused with a message), never a panic.
pub fn startup_conf(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(cfg) = crate::startup::parse(&text) {
        // What was accepted must be usable as parsed.
        let _ = cfg.cpu.n_workers();
    }
}

thread_local! {
    static SERVER: RefCell<Option<(cli::server::CliServer, std::path::PathBuf)>> =
        const { RefCell::new(None) };
}

/// Bytes from one client of the CLI socket: connect, send them, close; the server handles
/// whatever it got (frames, garbage, a stall) and must stay up and serve the next client.
pub fn cli_socket(data: &[u8]) {
    SERVER.with(|s| {
        let mut s = s.borrow_mut();
        let (server, path) = s.get_or_insert_with(|| {
            let path =
                std::env::temp_dir().join(format!("dp-fuzz-cli-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let server = cli::server::CliServer::bind(&path).expect("bind the fuzz socket");
            (server, path)
        });
        // A signal (libFuzzer's timers) may interrupt connect: try again.
        let mut c = loop {
            match std::os::unix::net::UnixStream::connect(&*path) {
                Ok(c) => break c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("connect to the fuzz socket: {e}"),
            }
        };
        c.set_nonblocking(true).expect("non-blocking");
        let mut sent = 0;
        let mut reply = Vec::new();
        for _ in 0..64 {
            if sent < data.len() {
                match c.write(&data[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                }
                if sent == data.len() {
                    let _ = c.shutdown(std::net::Shutdown::Write);
                }
            }
            server.poll(|req| match req {
                cli::server::Request::Exec(line) => cli::server::Response::ok(line),
                cli::server::Request::Complete(_) => cli::server::Response::ok(String::new()),
            });
            let mut buf = [0u8; 4096];
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => reply.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
            if reply.len() > 1 << 22 {
                break;
            }
        }
        drop(c);
        server.poll(|_| cli::server::Response::ok(String::new()));
        let _ = server.wait_timeout(Duration::from_millis(0));
    })
}
