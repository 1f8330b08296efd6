//! The packet generator end to end: a `data { ... }` stream in VPP's syntax routed from pg0 out
//! of pg1, captured with `packet-generator capture`, read back (and opened by tshark when it is
//! installed); `enable-stream` reruns a finished stream; bad commands fail with one line and
//! create nothing.

use std::path::{Path, PathBuf};

use dataplane::App;
use engine::Mode;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};

const CONFIG: &str = "create packet-generator interface pg0
create packet-generator interface pg1
set interface state pg0 up
set interface state pg1 up
set interface ip address pg0 10.0.0.1/24
set interface ip address pg1 10.0.1.1/24
set ip neighbor pg1 10.0.1.2 00:00:00:00:00:0b static
trace add pg-input 10
packet-generator new {
  name s0
  limit 10
  size 64-64
  interface pg0
  node ethernet-input
  data {
    IP4: 00:00:00:00:00:0a -> 02:fe:00:00:00:00
    UDP: 10.0.0.2 -> 10.0.1.2 ttl 9
    UDP: 1234 -> 5678 - 5687
    incrementing 100
  }
}";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dp-pg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn app() -> App {
    let mut app = App::new(Mode::Replay);
    app.exec_script(CONFIG).unwrap();
    app
}

fn frames(p: &Path) -> Vec<Vec<u8>> {
    engine::pcap::read_pcap(p)
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect()
}

/// A frame pg1 sent: rewritten for the neighbour, TTL down by one, valid checksums.
fn check_routed(f: &[u8], dport: u16) {
    assert_eq!(&f[..6], &[0, 0, 0, 0, 0, 0x0b], "to the neighbour");
    assert_eq!(&f[6..12], &[0x02, 0xfe, 0, 0, 0, 1], "from pg1");
    let p = SlicedPacket::from_ethernet(f).expect("parses");
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        panic!("IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(h.time_to_live, 8);
    assert_eq!(h.header_checksum, h.calc_header_checksum());
    let Some(TransportSlice::Udp(u)) = &p.transport else {
        panic!("UDP")
    };
    assert_eq!((u.source_port(), u.destination_port()), (1234, dport));
    let uh = u.to_header();
    assert_eq!(
        uh.checksum,
        uh.calc_checksum_ipv4(&h, u.payload()).unwrap(),
        "UDP checksum"
    );
    assert_eq!(u.payload(), &(0u8..22).collect::<Vec<_>>()[..]);
}

#[test]
fn a_data_stream_is_routed_out_of_pg1_and_captured() {
    let dir = tmp("route");
    let cap = dir.join("pg1.pcap");
    let mut app = app();
    app.exec(&format!(
        "packet-generator capture pg1 pcap {}",
        cap.display()
    ))
    .unwrap();
    app.exec("packet-generator enable-stream s0").unwrap();
    app.dp.run_until_idle();
    let pg1 = app.dp.sw_if_index("pg1").unwrap() as usize;
    let c = app.dp.graph.vm.if_counters[pg1];
    assert_eq!((c.tx_packets, c.tx_bytes), (10, 640));
    let pg0 = app.dp.sw_if_index("pg0").unwrap() as usize;
    assert_eq!(app.dp.graph.vm.if_counters[pg0].rx_packets, 10);
    let got = frames(&cap);
    assert_eq!(got.len(), 10);
    for (i, f) in got.iter().enumerate() {
        check_routed(f, 5678 + i as u16);
    }
    let tr = app.exec("show trace").unwrap();
    assert!(
        tr.contains("pg-input\n  stream s0, 64 bytes, 1 sw_if_index\n"),
        "{tr}"
    );
    for node in [
        "ethernet-input",
        "ip4-input",
        "ip4-lookup",
        "ip4-rewrite",
        "pg1-output",
    ] {
        assert!(tr.contains(&format!(": {node}\n")), "{node}: {tr}");
    }
    let show = app.exec("show packet-generator").unwrap();
    assert!(
        show.contains("s0") && show.contains("limit 10, size 64-64, node ethernet-input, done"),
        "{show}"
    );
    // tshark (installed by ci/test.sh) opens the capture and sees the ten datagrams.
    if let Ok(out) = std::process::Command::new("tshark")
        .args(["-r"])
        .arg(&cap)
        .args(["-T", "fields", "-e", "udp.dstport"])
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ports: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let want: Vec<String> = (5678..5688).map(|p: u16| p.to_string()).collect();
        assert_eq!(ports, want);
    }
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn enable_stream_reruns_a_finished_stream_from_its_first_packet() {
    let dir = tmp("rerun");
    let cap = dir.join("pg1.pcap");
    let mut app = app();
    app.exec(&format!(
        "packet-generator capture pg1 pcap {}",
        cap.display()
    ))
    .unwrap();
    app.exec("packet-generator enable-stream").unwrap();
    app.dp.run_until_idle();
    let show = app.exec("show packet-generator").unwrap();
    assert!(show.contains(" No ") && show.contains("done"), "{show}");
    app.exec("packet-generator enable-stream s0").unwrap();
    let show = app.exec("show packet-generator").unwrap();
    assert!(show.contains(" Yes ") && !show.contains("done"), "{show}");
    app.dp.run_until_idle();
    let pg1 = app.dp.sw_if_index("pg1").unwrap() as usize;
    assert_eq!(app.dp.graph.vm.if_counters[pg1].tx_packets, 20);
    let got = frames(&cap);
    assert_eq!(got.len(), 20);
    assert_eq!(got[..10], got[10..], "the rerun sends the same packets");
    // Enabling a running stream does not restart it; disabling stops it.
    app.exec("packet-generator disable-stream s0").unwrap();
    app.dp.run_until_idle();
    assert_eq!(app.dp.graph.vm.if_counters[pg1].tx_packets, 20);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn capture_count_and_disable() {
    let dir = tmp("count");
    let mut app = app();
    let three = dir.join("three.pcap");
    app.exec(&format!(
        "packet-generator capture pg1 pcap {} count 3",
        three.display()
    ))
    .unwrap();
    app.exec("packet-generator enable-stream s0").unwrap();
    app.dp.run_until_idle();
    assert_eq!(frames(&three).len(), 3, "closed after count frames");
    let off = dir.join("off.pcap");
    app.exec(&format!(
        "packet-generator capture pg1 pcap {}",
        off.display()
    ))
    .unwrap();
    app.exec("packet-generator capture pg1 disable").unwrap();
    app.exec("packet-generator enable-stream s0").unwrap();
    app.dp.run_until_idle();
    assert!(frames(&off).is_empty(), "nothing after disable");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_commands_fail_with_one_line_and_create_nothing() {
    let dir = tmp("errors");
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create packet-generator interface pg0
create tap id 0",
    )
    .unwrap();
    let exists = dir.join("exists.pcap");
    std::fs::write(&exists, b"").unwrap();
    let stream = |data: &str| {
        format!("packet-generator new {{ name bad interface pg0 node ethernet-input data {{ {data} }} }}")
    };
    let cases = [
        (
            format!("packet-generator capture tap0 pcap {}/x.pcap", dir.display()),
            "`tap0` is not a packet-generator interface".to_string(),
        ),
        (
            format!("packet-generator capture pg0 pcap {}", exists.display()),
            "already exists".to_string(),
        ),
        (
            "packet-generator capture pg0 pcap /nonexistent-dir/x.pcap".to_string(),
            "cannot create pcap file `/nonexistent-dir/x.pcap`".to_string(),
        ),
        (
            "packet-generator capture pg9 pcap /tmp/x.pcap".to_string(),
            "unknown interface `pg9`".to_string(),
        ),
        (
            "packet-generator capture pg0".to_string(),
            "expected `pcap <filename>`".to_string(),
        ),
        (
            stream("IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06 UDP: 10.0.0.1 -> 10.0.0.300"),
            "data { ... }: expected the IPv4 address after `->`".to_string(),
        ),
        (
            stream("IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06 UDP 10.0.0.1 -> 10.0.0.3"),
            "expected an IPv4 header `PROTOCOL: SRC -> DST`".to_string(),
        ),
        (
            "packet-generator new { name bad interface pg0 data { incrementing 10 } }".to_string(),
            "a `data` stream needs `node <node>`".to_string(),
        ),
        (
            "packet-generator new { name bad interface pg0 node ethernet-input size 64-32 data { incrementing 10 } }"
                .to_string(),
            "the smallest size is above the largest".to_string(),
        ),
        (
            "packet-generator new { name bad interface pg0 node ethernet-input size 9000 data { incrementing 10 } }"
                .to_string(),
            "larger than a buffer".to_string(),
        ),
        (
            "packet-generator new { name bad interface pg0 node ethernet-input size big data { incrementing 10 } }"
                .to_string(),
            "expected `size MIN-MAX`".to_string(),
        ),
        (
            "packet-generator new { name bad interface pg0 node ethernet-input data { } }".to_string(),
            "`data { }` is empty".to_string(),
        ),
    ];
    for (cmd, want) in cases {
        let e = app.exec(&cmd).expect_err(&cmd).to_string();
        assert!(e.contains(&want), "`{cmd}`: got `{e}`, want `{want}`");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    assert_eq!(
        app.exec("show packet-generator").unwrap(),
        "no streams currently defined"
    );
    assert_eq!(
        std::fs::read(&exists).unwrap(),
        b"",
        "an existing file is left alone"
    );
    std::fs::remove_dir_all(&dir).ok();
}
