//! Engine behaviour through its public API and CLI: dispatch from an input node to an interface,
//! buffer accounting, pool exhaustion, trace layout, runtime counters, CLI errors, replay
//! determinism.

use std::path::PathBuf;

use cli::Registry;
use engine::clock::Clock;
use engine::replay::{inject_frame, run_replay, transmitted, ReplayConfig};
use engine::{Dataplane, Mode};

fn app(buffers: u32) -> (Registry<Dataplane>, Dataplane) {
    let mut reg = Registry::new();
    engine::commands::register(&mut reg);
    (reg, Dataplane::new(buffers, Mode::Replay))
}

fn run(reg: &Registry<Dataplane>, dp: &mut Dataplane, script: &str) -> String {
    reg.exec_script(dp, script)
        .unwrap_or_else(|e| panic!("script failed: {e}"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dp-engine-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn frame(i: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f]);
    f[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = i;
    f
}

fn write_pcap(path: &std::path::Path, frames: &[(u64, Vec<u8>)]) {
    engine::pcap::write_pcap(path, frames.iter().map(|(t, d)| (*t, d.as_slice()))).unwrap();
}

const PATCH: &str = "
create packet-generator interface pg0
create packet-generator interface pg1
set interface state pg0 up
set interface state pg1 up
test l2patch rx pg0 tx pg1
";

#[test]
fn pg_stream_through_l2patch_to_interface_output() {
    let dir = tmpdir("pg");
    let pcap = dir.join("in.pcap");
    write_pcap(&pcap, &[(1_000, frame(1, 60)), (2_000, frame(2, 74))]);
    let (reg, mut dp) = app(1024);
    run(&reg, &mut dp, PATCH);
    run(
        &reg,
        &mut dp,
        &format!(
            "packet-generator new {{ name s0 limit 1000 interface pg0 pcap {} }}\npacket-generator enable",
            pcap.display()
        ),
    );
    dp.run_until_idle();
    assert_eq!(dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
    let c = dp.graph.vm.if_counters[2];
    assert_eq!(c.tx_packets, 1000);
    assert_eq!(c.tx_bytes, 500 * 60 + 500 * 74);
    assert_eq!(dp.graph.vm.if_counters[1].rx_packets, 1000);
    let patch = dp.graph.node_index("l2-patch").unwrap();
    let st = dp.graph.node_stats(patch);
    assert_eq!(st.vectors, 1000);
    assert_eq!(st.calls, 4, "256 + 256 + 256 + 232");
    let rt = run(&reg, &mut dp, "show runtime");
    assert!(rt.contains("l2-patch"), "{rt}");
    assert!(
        rt.lines()
            .any(|l| l.starts_with("pg1-tx") && l.contains("1000")),
        "{rt}"
    );
    run(&reg, &mut dp, "clear runtime");
    assert_eq!(dp.graph.node_stats(patch).vectors, 0);
    let out = run(&reg, &mut dp, "show packet-generator");
    assert!(out.contains("s0") && out.contains("1000"), "{out}");
}

#[test]
fn pool_exhaustion_is_counted_never_fatal() {
    let dir = tmpdir("exhaust");
    let pcap = dir.join("in.pcap");
    write_pcap(&pcap, &[(1_000, frame(1, 60))]);
    let (reg, mut dp) = app(64);
    run(&reg, &mut dp, PATCH);
    run(
        &reg,
        &mut dp,
        &format!(
            "packet-generator new {{ name s0 limit 100 interface pg0 pcap {} }}\npacket-generator enable",
            pcap.display()
        ),
    );
    // Hold 60 of the 64 buffers: pg-input wants 100, gets 4 and counts the 96 it could not send.
    let mut held = [0u32; 60];
    assert_eq!(dp.graph.vm.buffers.alloc(&mut held), 60);
    dp.graph.run_once();
    assert_eq!(
        dp.graph
            .error_count("pg-input", "buffer allocation failure"),
        96
    );
    assert_eq!(dp.graph.vm.if_counters[2].tx_packets, 4);
    dp.graph.vm.buffers.free(&held);
    dp.run_until_idle();
    assert_eq!(dp.graph.vm.buffers.in_use(), 0);
    assert_eq!(dp.graph.vm.if_counters[2].tx_packets, 100);
    let n = dp
        .graph
        .error_count("pg-input", "buffer allocation failure");
    let errs = run(&reg, &mut dp, "show errors");
    assert!(
        errs.lines().any(|l| l.contains("pg-input")
            && l.contains("buffer allocation failure")
            && l.trim_start().starts_with(&n.to_string())),
        "{errs}"
    );
    let bufs = run(&reg, &mut dp, "show buffers");
    assert!(
        bufs.contains("64") && bufs.contains("allocation failures"),
        "{bufs}"
    );
}

#[test]
fn trace_text_has_vpp_layout() {
    let dir = tmpdir("trace");
    let (reg, mut dp) = app(256);
    run(
        &reg,
        &mut dp,
        "create tap id 0 hw-addr 01:23:45:67:89:42\ncreate tap id 1\nset interface state tap0 up\nset interface state tap1 up\ntest l2patch rx tap0 tx tap1",
    );
    let input = dir.join("tap0.pcap");
    // 02:54:30.091783 after midnight.
    let ts = ((2 * 3600 + 54 * 60 + 30) * 1_000_000 + 91_783) * 1_000;
    write_pcap(&input, &[(ts, frame(9, 74))]);
    run_replay(
        &mut dp,
        &ReplayConfig {
            inputs: vec![("tap0".into(), input)],
            output_dir: None,
            trace: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let t = run(&reg, &mut dp, "show trace");
    let hex: String = frame(9, 74).iter().map(|b| format!("{b:02x}")).collect();
    // next-index 6: the device-input arc's slot to l2-patch, added after the 6 standard slots.
    let want = format!(
        "------------------- Start of thread 0 vpp_main -------------------
Packet 1

02:54:30:091783: virtio-input
  virtio: hw_if_index 1 next-index 6 vring 0 len 74
    hdr: flags 0x00 gso_type 0x00 hdr_len 0 gso_size 0 csum_start 0 csum_offset 0 num_buffers 1
02:54:30:091783: l2-patch
  L2_PATCH: rx 1 tx 2
02:54:30:091783: tap1-output
  tap1
  {hex}"
    );
    assert_eq!(t, want);
    run(&reg, &mut dp, "clear trace");
    assert!(run(&reg, &mut dp, "show trace").contains("No packets in trace buffer"));
}

#[test]
fn cli_errors_are_one_line_and_change_nothing() {
    let (reg, mut dp) = app(64);
    run(&reg, &mut dp, PATCH);
    let bad = [
        "set interface state pg0 sideways",
        "set interface state pg9 up",
        "set interface mac address pg0 zz:00:00:00:00:01",
        "create packet-generator interface pgX",
        "create packet-generator interface pg0",
        "trace add ethernet-input 5",
        "trace add no-such-node 5",
        "show trace max lots",
        "packet-generator new { name s limit 10 interface pg0 }",
        "packet-generator new { name s limit 10 interface pg0 pcap /nonexistent.pcap }",
        "create tap",
        "create tap id 1 rx-ring-size 1000",
        "create interface dpdk dev 12345",
        "test l2patch rx pg0",
        "frobnicate",
        "show interface pg7",
    ];
    let before = run(&reg, &mut dp, "show interface");
    for b in bad {
        let e = reg.execute(&mut dp, b).expect_err(b).to_string();
        assert!(!e.contains('\n'), "multi-line error for `{b}`: {e}");
        assert!(!e.is_empty());
    }
    assert_eq!(run(&reg, &mut dp, "show interface"), before);
    assert_eq!(dp.interface_main().sw.len(), 3);
}

#[test]
fn interfaces_of_every_driver_are_pcap_backed_in_replay() {
    let (reg, mut dp) = app(64);
    let out = run(
        &reg,
        &mut dp,
        "create tap id 5 hw-addr 02:fe:04:07:d1:e2 host-if-name vpp1 host-ns pod1 host-ip4-addr 10.1.1.6/32
create host-interface name veth0
create interface af_xdp host-if veth1 name xdp0 num-rx-queues 1 no-zero-copy
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:44:9f:d8
create loopback interface
create packet-generator interface pg3",
    );
    assert_eq!(
        out,
        "tap5\nhost-veth0\nxdp0\nGigabitEthernet0/8/0\nloop0\npg3"
    );
    let hw = run(
        &reg,
        &mut dp,
        "show hardware-interfaces GigabitEthernet0/8/0",
    );
    assert!(
        hw.contains("08:00:27:44:9f:d8") && hw.contains("dpdk"),
        "{hw}"
    );
    run(&reg, &mut dp, "delete tap sw_if_index 1");
    assert!(dp.sw_if_index("tap5").is_err());
    assert!(
        reg.execute(&mut dp, "delete tap sw_if_index 2").is_err(),
        "not a tap"
    );
}

#[test]
fn two_replays_give_identical_bytes_and_traces() {
    let dir = tmpdir("determinism");
    let input = dir.join("tap0.pcap");
    let frames: Vec<(u64, Vec<u8>)> = (0..300u32)
        .map(|i| {
            (
                1_700_000_000_000_000_000 + i as u64 * 1000,
                frame(i as u8, 60 + (i as usize % 40)),
            )
        })
        .collect();
    write_pcap(&input, &frames);
    let mut outputs = Vec::new();
    for k in 0..2 {
        let (reg, mut dp) = app(512);
        run(
            &reg,
            &mut dp,
            "create tap id 0\ncreate tap id 1\nset interface state tap0 up\nset interface state tap1 up\ntest l2patch rx tap0 tx tap1",
        );
        let out_dir = dir.join(format!("out{k}"));
        let r = run_replay(
            &mut dp,
            &ReplayConfig {
                inputs: vec![("tap0".into(), input.clone())],
                output_dir: Some(out_dir.clone()),
                trace: 5,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.frames_in, 300);
        assert_eq!(r.buffers_in_use, 0);
        assert_eq!(r.outputs.len(), 1);
        assert_eq!(transmitted(&dp, "tap1").unwrap().len(), 300);
        let bytes = std::fs::read(out_dir.join("tap1.pcap")).unwrap();
        let trace = run(&reg, &mut dp, "show trace");
        outputs.push((bytes, trace));
    }
    assert_eq!(outputs[0], outputs[1]);
    let back = engine::pcap::read_pcap(&dir.join("out0/tap1.pcap")).unwrap();
    assert_eq!(back.len(), 300);
    assert_eq!(back[7].data, frames[7].1, "frames forwarded unchanged");
    assert_eq!(
        back[7].ts_ns, frames[7].0,
        "output stamped with the replay clock"
    );
}

#[test]
fn admin_down_interface_drops_with_a_named_error() {
    let (reg, mut dp) = app(64);
    run(
        &reg,
        &mut dp,
        "create tap id 0\ncreate tap id 1\nset interface state tap1 up\ntest l2patch rx tap0 tx tap1",
    );
    dp.graph.vm.clock = Clock::manual(0);
    inject_frame(&dp, "tap0", 0, frame(1, 60)).unwrap();
    dp.run_until_idle();
    assert_eq!(dp.graph.error_count("virtio-input", "interface is down"), 1);
    run(
        &reg,
        &mut dp,
        "set interface state tap0 up\nset interface state tap1 down",
    );
    inject_frame(&dp, "tap0", 0, frame(1, 60)).unwrap();
    dp.run_until_idle();
    assert_eq!(dp.graph.error_count("tap1-output", "interface is down"), 1);
    assert_eq!(dp.graph.vm.buffers.in_use(), 0);
    let c = dp.graph.vm.if_counters[1];
    assert_eq!(c.drops, 2);
}

#[test]
fn pcap_trace_captures_rx_and_tx() {
    let dir = tmpdir("capture");
    let (reg, mut dp) = app(64);
    run(
        &reg,
        &mut dp,
        "create tap id 0\ncreate tap id 1\nset interface state tap0 up\nset interface state tap1 up\ntest l2patch rx tap0 tx tap1",
    );
    let file = dir.join("cap.pcap");
    run(
        &reg,
        &mut dp,
        &format!("pcap trace rx tx max 3 intfc any file {}", file.display()),
    );
    assert!(
        reg.execute(&mut dp, "pcap trace rx").is_err(),
        "already running"
    );
    dp.graph.vm.clock = Clock::manual(5_000);
    for i in 0..2 {
        inject_frame(&dp, "tap0", 0, frame(i, 60)).unwrap();
        dp.run_until_idle();
    }
    let st = run(&reg, &mut dp, "pcap trace status");
    assert!(st.contains("3 of 3"), "{st}");
    let out = run(&reg, &mut dp, "pcap trace off");
    assert!(out.starts_with("Write 3 packets to"), "{out}");
    let frames = engine::pcap::read_pcap(&file).unwrap();
    assert_eq!(frames.len(), 3, "rx, tx, rx (max 3)");
    assert_eq!(frames[0].data, frame(0, 60));
    assert!(reg.execute(&mut dp, "pcap trace off").is_err());
    assert!(
        reg.execute(&mut dp, "pcap trace max 5").is_err(),
        "needs rx or tx"
    );
}
