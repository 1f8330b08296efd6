//! Per-packet cost on worker threads (issue #14): natacl's work (ACL in, NAT44 static mapping
//! DNAT, ACL out, routing) for 10k TCP flows, on one worker alone and on two workers at once,
//! each worker receiving its own 5k flows on its own interface. The ratio of the two is what
//! the shared state costs a second worker (the NAT44 and ACL session tables, the FIB and the
//! output device are shared, each under a lock taken once per frame).
//!
//! Each iteration fills the receive queues while the workers are held between two iterations
//! (untimed), then times how long the workers take to empty them. Reported per packet of one
//! worker; also printed in clocks with the TSC at the end.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use dataplane::engine::interface::MemoryDevice;
use dataplane::engine::Mode;
use dataplane::App;
use etherparse::PacketBuilder;

const FLOWS_PER_WORKER: u32 = 5_000;

const CONFIG: &str = "
create tap id 1 hw-addr 02:fe:16:3f:5f:0f
create tap id 3 hw-addr 02:fe:16:3f:5f:1f
create tap id 2 hw-addr 02:fe:25:4f:0e:4e
set interface ip address tap1 10.1.1.1/24
set interface ip address tap3 10.1.3.1/24
set interface ip address tap2 10.20.0.1/24
set interface state tap1 up
set interface state tap3 up
set interface state tap2 up
set ip neighbor tap2 10.20.0.2 02:00:00:00:00:20 static
ip route add 10.20.0.2/32 via 10.20.0.2 tap2
nat44 plugin enable sessions 65536
set interface nat44 in tap2 out tap1 out tap3
nat44 add static mapping tcp local 10.20.0.2 8080 external 10.104.221.85 80
set acl-plugin acl permit src 10.1.0.0/16 dst 10.104.221.85/32 proto 6 dport 80
set acl-plugin acl permit src 0.0.0.0/0 dst 10.20.0.2/32 proto 6 dport 8080
set acl-plugin interface tap1 input acl 0
set acl-plugin interface tap3 input acl 0
set acl-plugin interface tap2 output acl 1
";

/// Worker `w`'s flows: TCP SYNs from its own subnet to the service.
fn frames(w: u8) -> Vec<Vec<u8>> {
    let side = if w == 0 { 1 } else { 3 };
    let dmac = [2, 0xfe, 0x16, 0x3f, 0x5f, if w == 0 { 0x0f } else { 0x1f }];
    (0..FLOWS_PER_WORKER)
        .map(|i| {
            let b = PacketBuilder::ethernet2([0, 0, 0, 0, side, 2], dmac)
                .ipv4([10, 1, side, 2 + (i % 250) as u8], [10, 104, 221, 85], 64)
                .tcp(1024 + (i / 250) as u16, 80, 1, 64240)
                .syn();
            let mut v = Vec::with_capacity(b.size(0));
            b.write(&mut v, &[]).unwrap();
            v
        })
        .collect()
}

fn memory_device(a: &App, ifname: &str, f: impl FnOnce(&mut MemoryDevice)) {
    let sw = a.dp.sw_if_index(ifname).unwrap();
    let mut d = a.dp.devices[sw as usize].as_ref().unwrap().lock();
    let any: &mut dyn std::any::Any = d.as_mut();
    f(any.downcast_mut::<MemoryDevice>().unwrap());
}

fn node(workers: usize) -> App {
    let mut a = App::new(Mode::Replay);
    a.dp.start_workers(&vec![None; workers], 16384).unwrap();
    a.exec_script(CONFIG).unwrap();
    a.exec("set interface rx-placement tap1 worker 0").unwrap();
    a.exec(&format!(
        "set interface rx-placement tap3 worker {}",
        workers - 1
    ))
    .unwrap();
    memory_device(&a, "tap2", |d| d.capture_tx = false);
    a
}

/// One round: every active worker's queue filled while the workers are held, then timed until
/// all are empty and idle. Returns the time and the TSC clocks.
fn round(a: &App, inputs: &[(&str, &Vec<Vec<u8>>)]) -> (Duration, u64) {
    let ws = &a.dp.workers.as_ref().unwrap().workers;
    let held: Vec<_> = ws.iter().map(|w| w.graph.lock()).collect();
    for (ifname, fr) in inputs {
        memory_device(a, ifname, |d| {
            d.rx.extend(fr.iter().map(|f| (0, f.clone())))
        });
    }
    let t0 = Instant::now();
    let c0 = dataplane::engine::clock::cpu_clocks();
    drop(held);
    loop {
        std::thread::sleep(Duration::from_micros(20));
        let mut left = 0;
        for (ifname, _) in inputs {
            memory_device(a, ifname, |d| left += d.rx.len());
        }
        if left == 0 && ws.iter().all(|w| !w.graph.lock().has_pending()) {
            break;
        }
    }
    (t0.elapsed(), dataplane::engine::clock::cpu_clocks() - c0)
}

fn bench(c: &mut Criterion) {
    let (f0, f1) = (frames(0), frames(1));
    let mut g = c.benchmark_group("workers natacl 10k flows");
    g.sample_size(20);
    let mut summary = Vec::new();
    for (name, workers, inputs) in [
        ("1 worker, 5k flows", 1usize, vec![("tap1", &f0)]),
        (
            "2 workers, 5k flows each",
            2,
            vec![("tap1", &f0), ("tap3", &f1)],
        ),
    ] {
        let a = node(workers);
        // Sessions made once: the rounds measure the steady state, as natacl's 10k bench.
        round(&a, &inputs);
        let (mut time, mut clocks, mut rounds) = (Duration::ZERO, 0u64, 0u64);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (t, c) = round(&a, &inputs);
                    total += t;
                    time += t;
                    clocks += c;
                    rounds += 1;
                }
                // Per packet of one worker.
                total / FLOWS_PER_WORKER
            })
        });
        let per_pkt = clocks as f64 / (rounds as f64 * FLOWS_PER_WORKER as f64);
        summary.push((name, per_pkt, time / (rounds as u32).max(1)));
    }
    g.finish();
    for (name, clocks, t) in &summary {
        eprintln!("{name}: {clocks:.0} clocks per packet per worker (round of {FLOWS_PER_WORKER} packets per worker: {t:?})");
    }
    if let [(_, one, _), (_, two, _)] = summary[..] {
        eprintln!("2 workers / 1 worker, per packet: {:.2}", two / one);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
