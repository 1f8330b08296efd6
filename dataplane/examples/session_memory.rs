//! Memory at a million sessions: 1,000,000 distinct UDP flows from a pod through NAT44 (dynamic
//! SNAT) and a reflexive ACL, so that the NAT44 and ACL session tables each hold 1M sessions;
//! prints the process RSS before, after the tables are sized, and when full.
//!
//!     cargo run --release -p dataplane --example session_memory [FLOWS]

use dataplane::App;
use engine::clock::Clock;
use engine::replay::inject_frame;
use engine::Mode;
use etherparse::PacketBuilder;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0.0, |pages| pages as f64 * 4096.0 / (1 << 20) as f64)
}

fn main() {
    let flows: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let r0 = rss_mib();
    let mut app = App::with_buffers(Mode::Replay, 16384);
    app.exec_script(&format!(
        "create tap id 0 hw-addr 02:fe:00:00:00:00
create tap id 1 hw-addr 02:fe:00:00:00:01
set interface state tap0 up
set interface state tap1 up
set interface ip address tap0 192.168.16.1/24
set interface ip address tap1 10.1.0.1/16
set ip neighbor tap0 192.168.16.2 02:00:00:00:00:fe static
ip route add 0.0.0.0/0 via 192.168.16.2 tap0
nat44 plugin enable sessions {flows}
nat44 add address 192.168.16.1 - 192.168.16.40
set interface nat44 in tap1
set interface nat44 out tap0
set acl-plugin session table max-entries {flows}
set acl-plugin acl index 0 permit+reflect src 0.0.0.0/0
set acl-plugin interface tap1 input acl 0"
    ))
    .expect("configuration");
    app.dp.graph.vm.clock = Clock::manual(1_000_000_000);
    let r1 = rss_mib();
    let mut frame = Vec::new();
    for i in 0..flows {
        frame.clear();
        let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
        PacketBuilder::ethernet2([2, 0, 0, 0, 1, 2], [0x02, 0xfe, 0, 0, 0, 1])
            .ipv4(src, [8, 8, 8, 8], 64)
            .udp(1024 + (i & 0xff) as u16 * 200 + (i >> 24) as u16, 53)
            .write(&mut frame, b"q")
            .unwrap();
        inject_frame(&app.dp, "tap1", 1_000_000_000, frame.clone()).unwrap();
        if i % 256 == 255 {
            app.dp.run_until_idle();
            clear_tx(&app);
        }
    }
    app.dp.run_until_idle();
    clear_tx(&app);
    let r2 = rss_mib();
    let nat = app.exec("show nat44 summary").unwrap();
    let acl = app.exec("show acl-plugin sessions").unwrap();
    let line = |s: &str, k: &str| s.lines().find(|l| l.contains(k)).unwrap_or("").to_string();
    println!("flows: {flows}");
    println!("NAT44: {}", line(&nat, "total sessions"));
    println!("ACL:   {}", line(&acl, "Session table in use"));
    println!(
        "RSS: {r0:.1} MiB at start, {r1:.1} MiB configured, {r2:.1} MiB full: {:.0} bytes per flow (NAT44 + ACL)",
        (r2 - r1) * (1 << 20) as f64 / flows as f64
    );
}

fn clear_tx(app: &App) {
    for d in app.dp.devices.iter().flatten() {
        let mut d = d.lock();
        let any: &mut dyn std::any::Any = d.as_mut();
        if let Some(m) = any.downcast_mut::<engine::interface::MemoryDevice>() {
            m.tx.clear();
        }
    }
}
