//! DPDK driver (feature `dpdk`), live: EAL without hugepages, ports from virtual devices.
//!
//! - Two `net_af_packet` vdevs on veth pairs whose inner ends live in namespaces this test creates
//!   and deletes (also on failure); the dataplane routes between them: ping of the dataplane,
//!   ping across, and a TCP exchange across.
//! - `net_pcap` vdevs as a second replay path: the same configuration and input pcap through the
//!   engine's replay driver and through DPDK's pcap PMD give the same output frames.
//! - The startup section's vdevs become interfaces at start ([`init_from_startup`]).
//!
//! EAL runs once per process, so every test here shares it. Skipped (with a message) when not
//! root.
#![cfg(feature = "dpdk")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{is_root, run_until_exit, tcp_exchange, Netns, Veth, PING_RETRY as PING};

use dataplane::App;
use engine::drivers::dpdk::{self, EalConfig, PortSource};
use engine::Mode;
use etherparse::PacketBuilder;

fn skip() -> bool {
    if !is_root() {
        eprintln!("skipped: needs root");
        return true;
    }
    false
}

fn live_app() -> App {
    let mut app = App::new(Mode::Live);
    engine::drivers::install(&mut app.dp);
    app
}

/// A DPDK interface on a vdev with arguments; returns its name.
fn vdev_interface(app: &mut App, vdev: &str, mac: Option<[u8; 6]>) -> String {
    let src = PortSource::Vdev(vdev.to_string());
    let sw = dpdk::create_interface(&mut app.dp, &src, None, mac, (None, None))
        .unwrap_or_else(|e| panic!("{vdev}: {e}"));
    app.dp.interface_main().name(sw)
}

fn delete_all(app: &mut App, names: &[&str]) {
    for n in names {
        let sw = app.dp.sw_if_index(n).unwrap();
        app.dp.delete_interface(sw).unwrap();
    }
}

#[test]
fn eal_arguments_without_hugepages() {
    let cfg = EalConfig {
        vdevs: vec!["net_af_packet0,iface=veth0".into()],
        ..EalConfig::live_default()
    };
    let a = cfg.eal_args().join(" ");
    assert!(
        a.contains("--no-huge -m 512 --no-shconf") && a.contains("--no-pci"),
        "{a}"
    );
    assert!(a.contains("--vdev net_af_packet0,iface=veth0"), "{a}");
    assert!(
        dpdk::version().starts_with("DPDK 22.11"),
        "{}",
        dpdk::version()
    );
}

#[test]
fn dpdk_af_packet_routes_ping_and_tcp_between_namespaces() {
    if skip() {
        return;
    }
    let id = std::process::id() % 100_000;
    let a = Netns::new("a");
    let b = Netns::new("b");
    let va = Veth::new_offloads_off(&format!("d{id}a"), &a, "10.95.1.2/24", "10.95.1.1", 1);
    let vb = Veth::new_offloads_off(&format!("d{id}b"), &b, "10.95.2.2/24", "10.95.2.1", 1);
    let mut app = live_app();
    // (`create interface dpdk vdev` takes no vdev arguments yet: the CLI splits words at commas.)
    let ia = vdev_interface(
        &mut app,
        &format!("net_af_packet10,iface={}", va.outer),
        None,
    );
    let ib = vdev_interface(
        &mut app,
        &format!("net_af_packet11,iface={}", vb.outer),
        Some([0x02, 0xfe, 0xaa, 0, 0, 0x0b]),
    );
    assert_eq!(
        (ia.as_str(), ib.as_str()),
        ("net_af_packet10", "net_af_packet11")
    );
    // Without hw-addr the interface takes the port's MAC (the veth's, for af_packet).
    let show = app.exec("show hardware-interfaces").unwrap_or_default();
    let veth_mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", va.outer))
        .unwrap()
        .trim()
        .to_string();
    let mac_a = engine::interface::format_mac(&app.dp.interface_main().mac(1));
    assert_eq!(mac_a, veth_mac, "{show}");
    let mac_b = engine::interface::format_mac(&app.dp.interface_main().mac(2));
    assert_eq!(mac_b, "02:fe:aa:00:00:0b");
    app.exec_script(
        "set interface state net_af_packet10 up
set interface ip address net_af_packet10 10.95.1.1/24
set interface state net_af_packet11 up
set interface ip address net_af_packet11 10.95.2.1/24
trace add dpdk-input 50",
    )
    .unwrap();
    let c = a
        .exec(&["python3", "-c", PING, "10.95.1.1", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![c], Duration::from_secs(30));
    let trace = app.exec("show trace").unwrap();
    assert!(st[0], "ping of the dataplane failed; trace:\n{trace}");
    assert!(
        trace.contains("net_af_packet10 rx queue 0") && trace.contains("PKT MBUF: port 0"),
        "{trace}"
    );
    assert!(trace.contains("ICMP echo_request"), "{trace}");
    // dpdk-input hands IPv4 straight to ip4-input; ARP goes through ethernet-input.
    assert!(trace.contains("ip4-input"), "{trace}");
    // The <if>-tx trace of DPDK interfaces.
    assert!(trace.contains("net_af_packet10-tx"), "{trace}");
    assert!(trace.contains("net_af_packet10 tx queue 0"), "{trace}");
    let c = a
        .exec(&["python3", "-c", PING, "10.95.2.2", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![c], Duration::from_secs(30));
    assert!(
        st[0],
        "ping across failed; trace:\n{}",
        app.exec("show trace").unwrap()
    );
    let st = tcp_exchange(&mut app, &a, &b, "10.95.2.2", 5202, 300_000);
    assert!(
        st.iter().all(|&s| s),
        "TCP exchange failed: {st:?}\n{}",
        app.exec("show errors").unwrap()
    );
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    delete_all(&mut app, &["net_af_packet10", "net_af_packet11"]);
    // The vdev is gone: the same name can be created again.
    let sw = dpdk::create_interface(
        &mut app.dp,
        &PortSource::Vdev(format!("net_af_packet10,iface={}", va.outer)),
        Some("again10"),
        None,
        (None, None),
    )
    .unwrap();
    assert_eq!(app.dp.interface_main().name(sw), "again10");
    delete_all(&mut app, &["again10"]);
}

const PA_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0x0a, 0x01];
const PB_MAC: [u8; 6] = [0x02, 0xfe, 0, 0, 0x0b, 0x01];
const HA_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x02];

/// Input on the first interface: echo requests to the dataplane, UDP and ICMP routed to the
/// second, TTL-1 packets (time exceeded back), ARP requests for the dataplane's address.
fn replay_input() -> Vec<Vec<u8>> {
    let (ha, pa, hb) = ([10, 96, 1, 2], [10, 96, 1, 1], [10, 96, 2, 2]);
    let mut out = Vec::new();
    for i in 0..60u16 {
        let mut v = Vec::new();
        match i % 5 {
            0 => PacketBuilder::ethernet2(HA_MAC, PA_MAC)
                .ipv4(ha, pa, 64)
                .icmpv4_echo_request(0x77, i)
                .write(&mut v, &[i as u8; 40])
                .unwrap(),
            1 => PacketBuilder::ethernet2(HA_MAC, PA_MAC)
                .ipv4(ha, hb, 64)
                .udp(4000 + i, 53)
                .write(&mut v, &vec![0x5a; 20 + 20 * i as usize])
                .unwrap(),
            2 => PacketBuilder::ethernet2(HA_MAC, PA_MAC)
                .ipv4(ha, hb, 64)
                .icmpv4_echo_request(0x78, i)
                .write(&mut v, &[1, 2, 3])
                .unwrap(),
            3 => PacketBuilder::ethernet2(HA_MAC, PA_MAC)
                .ipv4(ha, hb, 1)
                .udp(5000 + i, 33434)
                .write(&mut v, b"traceroute")
                .unwrap(),
            _ => {
                // ARP request who-has 10.96.1.1 tell 10.96.1.2.
                v.extend_from_slice(&[0xff; 6]);
                v.extend_from_slice(&HA_MAC);
                v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
                v.extend_from_slice(&HA_MAC);
                v.extend_from_slice(&ha);
                v.extend_from_slice(&[0; 6]);
                v.extend_from_slice(&pa);
            }
        }
        out.push(v);
    }
    out
}

/// The same configuration for the replay driver and for DPDK: two pcap-backed interfaces.
fn pcap_config(app: &mut App, n0: u32, n1: u32, dir: &Path) {
    let p = |s: &str| dir.join(s).display().to_string();
    let a = format!(
        "net_pcap{n0},rx_pcap={},tx_pcap={}",
        p("in0.pcap"),
        p("out0.pcap")
    );
    let b = format!(
        "net_pcap{n1},rx_pcap={},tx_pcap={}",
        p("in1.pcap"),
        p("out1.pcap")
    );
    vdev_interface(app, &a, Some(PA_MAC));
    vdev_interface(app, &b, Some(PB_MAC));
    app.exec_script(&pcap_script(n0, n1)).unwrap();
}

fn pcap_script(n0: u32, n1: u32) -> String {
    format!(
        "set interface state net_pcap{n0} up
set interface ip address net_pcap{n0} 10.96.1.1/24
set interface state net_pcap{n1} up
set interface ip address net_pcap{n1} 10.96.2.1/24
set ip neighbor net_pcap{n0} 10.96.1.2 02:00:00:00:0a:02
set ip neighbor net_pcap{n1} 10.96.2.2 02:00:00:00:0b:02"
    )
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

#[test]
fn dpdk_pcap_vdev_is_a_second_replay_path() {
    if skip() {
        return;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("dp-dpdk-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let input = replay_input();
    let t0 = 1_700_000_000_000_000_000u64;
    engine::pcap::write_pcap(
        &dir.join("in0.pcap"),
        input
            .iter()
            .enumerate()
            .map(|(k, f)| (t0 + k as u64 * 1000, f.as_slice())),
    )
    .unwrap();
    engine::pcap::write_pcap(&dir.join("in1.pcap"), std::iter::empty()).unwrap();
    let (n0, n1) = (20, 21);

    // The engine's replay driver: the same script makes memory-backed interfaces of those names.
    let mut replay = App::new(Mode::Replay);
    pcap_config(&mut replay, n0, n1, &dir);
    for f in &input {
        engine::replay::inject_frame(&replay.dp, &format!("net_pcap{n0}"), t0, f.clone()).unwrap();
    }
    replay.dp.run_until_idle();
    let want0 = engine::replay::transmitted(&replay.dp, &format!("net_pcap{n0}")).unwrap();
    let want1 = engine::replay::transmitted(&replay.dp, &format!("net_pcap{n1}")).unwrap();
    assert_eq!(want0.len(), 36, "echo replies, time exceeded, ARP replies");
    assert_eq!(want1.len(), 24, "routed UDP and ICMP");

    // DPDK's pcap PMD reads in0.pcap and writes out0/out1.pcap.
    let mut app = live_app();
    pcap_config(&mut app, n0, n1, &dir);
    let sw0 = app.dp.sw_if_index(&format!("net_pcap{n0}")).unwrap();
    let start = Instant::now();
    while app.dp.graph.vm.if_counters_mut(sw0).rx_packets < input.len() as u64
        && start.elapsed() < Duration::from_secs(10)
    {
        app.dp.run_until_idle();
        std::thread::sleep(Duration::from_millis(1));
    }
    for _ in 0..100 {
        app.dp.run_until_idle();
    }
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    // Closing the ports flushes and closes the output files.
    delete_all(
        &mut app,
        &[&format!("net_pcap{n0}"), &format!("net_pcap{n1}")],
    );
    let got0: Vec<Vec<u8>> = engine::pcap::read_pcap(&dir.join("out0.pcap"))
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect();
    let got1: Vec<Vec<u8>> = engine::pcap::read_pcap(&dir.join("out1.pcap"))
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect();
    // Bursts reach the outputs grouped by graph path rather than in input order, so compare as
    // sets of frames (each frame is distinct: ids and sequence numbers differ).
    assert_eq!(sorted(got0), sorted(want0), "frames out of net_pcap{n0}");
    assert_eq!(sorted(got1), sorted(want1), "frames out of net_pcap{n1}");
}

#[test]
fn dpdk_startup_section_creates_its_interfaces() {
    if skip() {
        return;
    }
    let id = std::process::id() % 100_000;
    let a = Netns::new("s");
    let va = Veth::new_offloads_off(&format!("d{id}s"), &a, "10.97.1.2/24", "10.97.1.1", 1);
    let cfg = EalConfig {
        vdevs: vec![format!("net_af_packet30,iface={}", va.outer)],
        ..EalConfig::live_default()
    };
    let mut app = live_app();
    let created = dpdk::init_from_startup(&mut app.dp, &cfg).unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(app.dp.interface_main().name(created[0]), "net_af_packet30");
    app.exec_script(
        "set interface state net_af_packet30 up
set interface ip address net_af_packet30 10.97.1.1/24",
    )
    .unwrap();
    let c = a
        .exec(&["python3", "-c", PING, "10.97.1.1", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let st = run_until_exit(&mut app, vec![c], Duration::from_secs(30));
    assert!(st[0], "ping failed");
    delete_all(&mut app, &["net_af_packet30"]);

    // Replay mode: the same section gives memory-backed interfaces and starts no EAL.
    let mut replay = App::new(Mode::Replay);
    let created = dpdk::init_from_startup(
        &mut replay.dp,
        &EalConfig {
            devs: vec![dpdk::DpdkDevConfig {
                pci: "0000:00:08.0".into(),
                ..Default::default()
            }],
            ..cfg
        },
    )
    .unwrap();
    let names: Vec<String> = created
        .iter()
        .map(|&s| replay.dp.interface_main().name(s))
        .collect();
    assert_eq!(names, ["GigabitEthernet0/8/0", "net_af_packet30"]);
}

#[test]
fn dpdk_bad_devices_are_one_line_errors() {
    if skip() {
        return;
    }
    let mut app = live_app();
    let e = app
        .exec("create interface dpdk vdev net_nosuchpmd0")
        .unwrap_err()
        .to_string();
    assert!(e.contains("net_nosuchpmd0") && !e.contains('\n'), "{e}");
    let e = app
        .exec("create interface dpdk dev 0000:00:1f.7")
        .unwrap_err()
        .to_string();
    assert!(e.contains("0000:00:1f.7") && !e.contains('\n'), "{e}");
    assert!(app
        .dp
        .interface_main()
        .by_name("GigabitEthernet0/1f/7")
        .is_none());
}

#[test]
fn dpdk_cli_creates_a_vdev_interface() {
    if skip() {
        return;
    }
    let mut app = live_app();
    let name = app
        .exec("create interface dpdk vdev net_null40 name null40 hw-addr 02:fe:00:00:40:40")
        .unwrap();
    assert_eq!(name, "null40");
    let name = app.exec("create interface dpdk vdev net_null41").unwrap();
    assert_eq!(name, "net_null41");
    assert!(dpdk::eal_running());
    delete_all(&mut app, &["null40", "net_null41"]);
    assert!(dpdk::mbufs_available().unwrap() > 0);
}

/// What copying costs, for the zero-copy decision in the driver's notes: ns per frame to copy a
/// frame into a pool buffer (the receive side's extra work over wrapping an mbuf).
#[test]
fn copy_cost_per_frame() {
    let mut pool = engine::buffer::BufferPool::new(1024);
    for size in [64usize, 512, 1500] {
        let frame = vec![0xa5u8; size];
        let mut bufs = vec![0u32; 256];
        let rounds = 2000;
        let t = Instant::now();
        for _ in 0..rounds {
            let n = pool.alloc(&mut bufs);
            for &b in &bufs[..n] {
                pool.fill(b, std::hint::black_box(&frame));
            }
            pool.free(&bufs[..n]);
        }
        let ns = t.elapsed().as_nanos() as f64 / (rounds * 256) as f64;
        eprintln!("alloc + copy {size} B + free: {ns:.1} ns per frame");
    }
}
