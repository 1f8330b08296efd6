//! Everyday VPP commands a user types first, in VPP's layout: `show version [verbose]
//! [cmdline]`, `show plugins`, `show ip fib summary`, `clear hardware-interfaces`.

use dataplane::App;
use engine::Mode;

#[test]
fn show_version_one_line_and_verbose() {
    let mut app = App::new(Mode::Replay);
    let v = app.exec("show version").unwrap();
    assert!(!v.contains('\n'), "{v}");
    assert!(
        v.starts_with(&format!("dataplane v{}", env!("CARGO_PKG_VERSION")))
            && v.contains(" built by ")
            && v.contains(" on ")
            && v.contains(" at "),
        "{v}"
    );
    let verbose = app.exec("show version verbose").unwrap();
    let labels: Vec<&str> = verbose.lines().map(|l| l[..26].trim_end()).collect();
    assert_eq!(
        labels,
        [
            "Version:",
            "Compiled by:",
            "Compile host:",
            "Compile date:",
            "Compile location:",
            "Compiler:",
            "Build profile:",
            "Drivers:",
            "Node variants:",
            "Current PID:",
        ],
        "{verbose}"
    );
    // Values start in column 27, as VPP's `%-25s `.
    for l in verbose.lines() {
        assert!(
            l.as_bytes()[25] == b' ' && l.as_bytes()[26] != b' ',
            "{l:?}"
        );
    }
    assert!(verbose.contains(&format!("Current PID:              {}", std::process::id())));
    let best = engine::march::March::best().name();
    assert!(
        verbose.contains("Node variants:            default ")
            && verbose.contains(&format!(", running {best}\n")),
        "{verbose}"
    );
    assert!(
        verbose.contains("Compiler:                 rustc "),
        "{verbose}"
    );
    let cmdline = app.exec("show version cmdline").unwrap();
    assert!(cmdline.starts_with("Command line arguments:"), "{cmdline}");
    assert!(
        cmdline.lines().nth(1).unwrap().starts_with("  "),
        "{cmdline}"
    );
    let e = app.exec("show version sideways").unwrap_err().to_string();
    assert!(e.contains("sideways"), "{e}");
}

#[test]
fn show_plugins_lists_what_is_built_in() {
    let mut app = App::new(Mode::Replay);
    let p = app.exec("show plugins").unwrap();
    let lines: Vec<&str> = p.lines().collect();
    assert_eq!(
        lines[0],
        " Plugin path is: (built in), plugins shown in load order"
    );
    assert_eq!(lines[1], "");
    assert!(lines[2].starts_with("     Plugin") && lines[2].ends_with("Description"));
    assert_eq!(&lines[2][46..53], "Version");
    assert_eq!(&lines[2][79..], "Description");
    assert!(lines[3].starts_with("  1. acl_plugin "), "{p}");
    assert_eq!(&lines[3][79..], "Access Control Lists (ACL)");
    assert!(lines[4].starts_with("  2. nat_plugin "), "{p}");
    assert!(
        p.contains("geneve_plugin") && p.contains("vxlan_plugin"),
        "{p}"
    );
}

#[test]
fn show_ip_fib_summary_counts_entries_per_prefix_length() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create loopback interface
set interface state loop0 up
set interface ip address loop0 10.1.1.1/24
ip route add 10.2.0.0/16 via 10.1.1.2 loop0
ip route add 10.3.0.0/16 via 10.1.1.2 loop0
ip route add 192.168.5.5/32 via 10.1.1.2 loop0",
    )
    .unwrap();
    let s = app.exec("show ip fib summary").unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert!(
        lines[0].starts_with("ipv4-VRF:0, fib_index:0, flow hash:[src dst sport dport proto ]"),
        "{s}"
    );
    assert_eq!(lines[1].trim_end(), "    Prefix length         Count");
    let counts: Vec<(u32, u32)> = lines[2..]
        .iter()
        .map(|l| {
            assert_eq!(l.len(), 36, "{l:?}");
            (
                l[..20].trim().parse().unwrap(),
                l[20..].trim().parse().unwrap(),
            )
        })
        .collect();
    // What `show ip fib` lists, per length.
    let fib = app.exec("show ip fib").unwrap();
    let mut want = std::collections::BTreeMap::new();
    for l in fib
        .lines()
        .filter(|l| !l.starts_with(' ') && l.contains('/'))
    {
        if let Some(len) = l.split('/').nth(1).and_then(|x| x.parse::<u32>().ok()) {
            *want.entry(len).or_insert(0u32) += 1;
        }
    }
    assert_eq!(counts, want.into_iter().collect::<Vec<_>>(), "{s}\n{fib}");
    assert!(
        counts.contains(&(16, 2)) && counts.contains(&(24, 1)),
        "{s}"
    );
    assert!(app.exec("show ip fib summary x").is_err());
}

#[test]
fn clear_hardware_interfaces_zeroes_the_counters() {
    let mut app = App::new(Mode::Replay);
    app.exec("create loopback interface").unwrap();
    app.dp.graph.vm.if_counters_mut(1).rx_packets = 7;
    assert!(app
        .exec("show interface loop0")
        .unwrap()
        .contains("rx packets"));
    app.exec("clear hardware-interfaces").unwrap();
    assert!(!app
        .exec("show interface loop0")
        .unwrap()
        .contains("rx packets"));
}

#[test]
fn show_tap_maps_each_tap_to_its_pod() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 1 hw-addr 02:fe:00:00:00:01 host-if-name vethpod1 host-ns pod1 host-mac-addr 02:00:00:00:00:11 host-ip4-addr 10.1.1.2/24 host-ip4-gw 10.1.1.1
create tap id 2
set interface state tap1 up
create loopback interface",
    )
    .unwrap();
    let s = app.exec("show tap tap1").unwrap();
    assert_eq!(
        s,
        "Interface: tap1 (ifindex 1)
  name \"vethpod1\"
  host-ns \"pod1\"
  host-mac-addr: 02:00:00:00:00:11
  host-ip4-addr: 10.1.1.2/24
  host-ip4-gw: 10.1.1.1
  host-carrier-up: 1
  tap-fds (replay: pcap-backed)
  gso-enabled 0
  csum-enabled 0
  packet-coalesce 0
  io-uring 0
  mac Address: 02:fe:00:00:00:01
  device instance: 1
  admin state: up"
    );
    let all = app.exec("show tap").unwrap();
    assert!(
        all.contains("Interface: tap1") && all.contains("Interface: tap2"),
        "{all}"
    );
    assert!(all.contains("  name \"tap2\""), "{all}");
    assert!(!all.contains("loop0"));
    let e = app.exec("show tap loop0").unwrap_err().to_string();
    assert_eq!(e, "`loop0` is not a tap interface");
    assert!(app.exec("show tap tap9").is_err());
    // A deleted tap is gone from the list.
    app.exec("delete tap tap2").unwrap();
    assert!(!app.exec("show tap").unwrap().contains("tap2"));
}

#[test]
fn show_node_counters_is_show_errors() {
    let mut app = App::new(Mode::Replay);
    app.exec("create loopback interface").unwrap();
    assert_eq!(
        app.exec("show node counters").unwrap(),
        app.exec("show errors").unwrap()
    );
    assert!(app.exec("clear node counters").is_ok());
}

#[test]
fn pcap_trace_drop_writes_dropped_frames_as_received() {
    use engine::replay::inject_frame;
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:01
set interface state tap0 up
set interface ip address tap0 10.1.1.1/24",
    )
    .unwrap();
    let file = std::env::temp_dir().join(format!("dp-drop-{}.pcap", std::process::id()));
    app.exec(&format!("pcap trace drop max 10 file {}", file.display()))
        .unwrap();
    assert!(app.exec("pcap trace status").unwrap().contains(" drop "));
    // To an address no route covers: ip4-lookup drops it.
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 0x0a], [0x02, 0xfe, 0, 0, 0, 1])
        .ipv4([10, 1, 1, 2], [192, 0, 2, 1], 64)
        .udp(1000, 2000)
        .write(&mut f, b"dropped")
        .unwrap();
    let now = app.dp.graph.vm.clock.now_ns();
    inject_frame(&app.dp, "tap0", now, f.clone()).unwrap();
    app.dp.run_until_idle();
    let out = app.exec("pcap trace off").unwrap();
    assert!(out.starts_with("Write 1 packets to "), "{out}");
    let frames = engine::pcap::read_pcap(&file).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].data, f, "the frame as it was received");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn pcap_trace_reports_a_bad_file_at_start_and_live_times_are_wall_clock() {
    let mut app = App::new(Mode::Replay);
    let e = app
        .exec("pcap trace rx tx file /nonexistent-dir/x.pcap")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot write the capture file /nonexistent-dir/x.pcap: "),
        "{e}"
    );
    assert_eq!(
        app.exec("pcap trace status").unwrap(),
        "pcap capture is off"
    );
    let mut live = App::new(Mode::Live);
    let file = std::env::temp_dir().join(format!("dp-live-{}.pcap", std::process::id()));
    live.exec(&format!("pcap trace rx file {}", file.display()))
        .unwrap();
    let off = live.dp.graph.vm.capture.as_ref().unwrap().ts_offset_ns;
    // 2023-01-01 or later: real time, not 1970.
    assert!(off > 1_672_531_200_000_000_000, "{off}");
    live.exec("pcap trace off").unwrap();
    let _ = std::fs::remove_file(&file);
}

#[test]
fn show_memory_reports_heap_buffers_and_process() {
    let mut app = App::with_buffers(Mode::Replay, 4096);
    let s = app.exec("show memory").unwrap();
    let l: Vec<&str> = s.lines().collect();
    assert_eq!(l[0], "Thread 0 vpp_main", "{s}");
    assert_eq!(
        l[1],
        "  main heap: the system allocator, shared by all threads"
    );
    assert!(
        l[2].starts_with("    used: ") && l[2].contains(" blocks, max used: "),
        "{s}"
    );
    assert!(
        l[3].starts_with("    buffers: 4096 of ") && l[3].ends_with(", 4096 free"),
        "{s}"
    );
    assert!(l[4].starts_with("  process: resident "), "{s}");
    assert_eq!(l.len(), 5, "{s}");
    let v = app.exec("show memory verbose").unwrap();
    assert!(v.contains("      allocations "), "{v}");
    assert!(v.contains("    VmRSS           "), "{v}");
    assert_eq!(
        app.exec("show memory everything").unwrap_err().to_string(),
        "expected `verbose` or nothing, got `everything`"
    );
}

#[test]
fn ping_from_the_forwarder() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create tap id 0 hw-addr 02:fe:00:00:00:01
set interface state tap0 up
set interface ip address tap0 10.1.1.1/24
set ip neighbor tap0 10.1.1.2 00:00:00:00:00:0b static",
    )
    .unwrap();
    app.dp.graph.vm.clock = engine::clock::Clock::manual(1_000_000_000);
    // Our own address: request and reply both cross the graph.
    let s = app.exec("ping 10.1.1.1 repeat 3").unwrap();
    let l: Vec<&str> = s.lines().collect();
    assert_eq!(
        l,
        [
            "116 bytes from 10.1.1.1: icmp_seq=1 ttl=64 time=.0000 ms",
            "116 bytes from 10.1.1.1: icmp_seq=2 ttl=64 time=.0000 ms",
            "116 bytes from 10.1.1.1: icmp_seq=3 ttl=64 time=.0000 ms",
            "",
            "Statistics: 3 sent, 3 received, 0% packet loss"
        ],
        "{s}"
    );
    assert_eq!(
        app.dp
            .graph
            .error_count("ip4-icmp-echo-reply", "echo replies received"),
        3
    );
    // A neighbour that does not answer: the requests leave tap0 from its address.
    let s = app.exec("ping 10.1.1.2 size 100 ttl 9 repeat 2").unwrap();
    assert_eq!(s, "\nStatistics: 2 sent, 0 received, 100% packet loss");
    let tx = engine::replay::transmitted(&app.dp, "tap0").unwrap();
    assert_eq!(tx.len(), 2);
    let p = etherparse::SlicedPacket::from_ethernet(&tx[1]).unwrap();
    let Some(etherparse::NetSlice::Ipv4(ip)) = &p.net else {
        panic!("not IPv4")
    };
    let h = ip.header();
    assert_eq!(h.source(), [10, 1, 1, 1]);
    assert_eq!(h.destination(), [10, 1, 1, 2]);
    assert_eq!(h.ttl(), 9);
    assert_eq!(h.total_len(), 20 + 16 + 100);
    assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
    let Some(etherparse::TransportSlice::Icmpv4(icmp)) = &p.transport else {
        panic!("not ICMP")
    };
    assert_eq!(icmp.type_u8(), 8);
    assert_eq!(
        icmp.icmp_type().calc_checksum(icmp.payload()),
        icmp.checksum(),
        "ICMP checksum"
    );
    assert_eq!(&tx[1][0..6], &[0, 0, 0, 0, 0, 0x0b]);
    // A reply nobody waits for is dropped by name.
    for (bad, says) in [
        ("ping", "expected an IPv4 address to ping"),
        ("ping 10.1.1.2 size 5000", "size 5000 is too large"),
        (
            "ping 10.1.1.2 interval soon",
            "`interval`: expected seconds",
        ),
        ("ping 10.1.1.2 repeat 0", "`repeat` must be at least 1"),
        (
            "ping 10.1.1.2 burst 100",
            "burst size must be between 1 and 64",
        ),
        ("ping 10.1.1.2 table-id 4", "table-id 4 does not exist"),
        ("ping 192.0.2.1", "no route to 192.0.2.1"),
        ("ping 10.1.1.2 source tap9", "unknown interface"),
    ] {
        let e = app.exec(bad).expect_err(bad).to_string();
        assert!(e.contains(says) && !e.contains('\n'), "{bad}: {e}");
    }
    assert_eq!(app.dp.graph.vm.buffers.in_use(), 0, "every buffer returned");
}

#[test]
fn interface_macs_must_be_unicast_except_vpps_documented_multicast_hw_addr() {
    let mut app = App::new(Mode::Replay);
    for (bad, says) in [
        (
            "create loopback interface mac ff:ff:ff:ff:ff:ff",
            "mac ff:ff:ff:ff:ff:ff is the broadcast address: an interface needs a unicast MAC",
        ),
        (
            "create tap id 3 hw-addr 00:00:00:00:00:00",
            "hw-addr 00:00:00:00:00:00 is all zeros: an interface needs a unicast MAC",
        ),
        (
            "create tap id 3 host-mac-addr 01:00:5e:00:00:01",
            "host-mac-addr 01:00:5e:00:00:01 is a multicast address (the low bit of the first byte is set): the kernel gives a device only a unicast MAC",
        ),
    ] {
        let e = app.exec(bad).expect_err(bad).to_string();
        assert_eq!(e, says, "{bad}");
    }
    assert!(!app.exec("show interface").unwrap().contains("tap3"));
    // Contiv's host interconnect MAC is multicast; VPP takes it, so do we, with a warning.
    app.exec("create tap id 0 hw-addr 01:23:45:67:89:42")
        .unwrap();
    assert!(app
        .exec("show logging")
        .unwrap()
        .contains("hw-addr 01:23:45:67:89:42 is a multicast address"));
    let e = app
        .exec("set interface mac address tap0 01:00:5e:00:00:01")
        .unwrap_err()
        .to_string();
    assert!(e.contains("is a multicast address"), "{e}");
    app.exec("set interface mac address tap0 02:00:00:00:00:09")
        .unwrap();
}

#[test]
fn show_interface_rx_placement_lists_every_receive_queue() {
    let mut app = App::new(Mode::Replay);
    app.exec_script(
        "create packet-generator interface pg0
create tap id 1 num-rx-queues 2
create tap id 2
create loopback interface",
    )
    .unwrap();
    assert_eq!(
        app.exec("show interface rx-placement").unwrap(),
        "Thread 0 (vpp_main):
  node pg-input:
    pg0 queue 0 (polling)
  node virtio-input:
    tap1 queue 0 (polling)
    tap2 queue 0 (polling)"
    );
    // Bad values change nothing and say what is expected.
    for (cmd, want) in [
        (
            "create tap id 3 num-rx-queues 0",
            "num-rx-queues 0 out of range 1..64",
        ),
        (
            "create tap id 3 host-mtu-size 9000",
            "host-mtu-size 9000 out of range 68..2034 (a frame must fit one 2048-byte buffer; jumbo frames need buffer chains)",
        ),
        (
            "create tap id 3 rx-ring-size 100",
            "rx-ring-size 100 must be a power of two up to 32768",
        ),
        (
            "create tap id 3 num-rx-queues 2 rx-ring-size 16384 tx-ring-size 1024",
            "rx-ring-size 16384 x num-rx-queues 2 + tx-ring-size 1024 exceeds the 32768 requests of one io_uring",
        ),
        (
            "create interface af_xdp host-if eth9 rxq-size 100",
            "rxq-size 100: expected a power of two from 64 to 16384",
        ),
        (
            "create interface af_xdp host-if eth9 txq-size 32768",
            "txq-size 32768: expected a power of two from 64 to 16384",
        ),
        (
            "create tap id 3 io-uring no-io-uring",
            "io-uring and no-io-uring contradict each other",
        ),
        (
            "create tap id 3 gso io-uring",
            "io-uring works on taps without gso or gro-coalesce (a super-frame does not fit a ring slot)",
        ),
    ] {
        assert_eq!(app.exec(cmd).unwrap_err().to_string(), want);
    }
    assert!(app.exec("show interface tap3").is_err());
    app.exec("create tap id 3 host-mtu-size 2034").unwrap();
}
