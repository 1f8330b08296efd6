//! The hot nodes in each compiled variant (engine::march): frames of 256 packets from a
//! packet-generator stream through the plain IPv4 path (ethernet-input, ip4-input, ip4-lookup,
//! ip4-rewrite, interface output/tx) and through the service path (ACL in, NAT44 out2in, ACL
//! out), with one flow and with 10k flows. The scripts are `../shared/bench/plain.cli` and
//! `natacl.cli`'s configuration; the streams are `data { }` streams instead of their pcaps.
//!
//! `cargo bench -p benches --bench nodes`; per-node clocks come from `dataplane bench`
//! (`show runtime`), this gives the whole path's time per packet, variant against variant.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dataplane::App;
use engine::graph::FRAME_SIZE;
use engine::march::March;
use engine::Mode;

const INTERFACES: &str = "create packet-generator interface pg0
create packet-generator interface pg1
set interface mac address pg0 02:fe:16:3f:5f:0f
set interface mac address pg1 02:fe:25:4f:0e:4e
set interface ip address pg0 10.1.1.1/24
set interface ip address pg1 10.20.0.1/24
set interface state pg0 up
set interface state pg1 up
set ip neighbor pg1 10.20.0.2 02:00:00:00:00:20 static
ip route add 10.20.0.2/32 via 10.20.0.2 pg1";

const PLAIN: &str = "ip route add 10.104.221.85/32 via 10.20.0.2 pg1";

const NATACL: &str = "nat44 plugin enable sessions 65536
set interface nat44 in pg1 out pg0
nat44 add static mapping tcp local 10.20.0.2 8080 external 10.104.221.85 80
set acl-plugin acl permit src 10.1.1.0/24 dst 10.104.221.85/32 proto 6 dport 80
set acl-plugin acl permit src 0.0.0.0/0 dst 10.20.0.2/32 proto 6 dport 8080
set acl-plugin interface pg0 input acl 0
set acl-plugin interface pg1 output acl 1";

/// An endless stream of TCP SYNs to the service address from `flows` source ports.
fn stream(flows: u32) -> String {
    let ports = if flows == 1 {
        "1024".to_string()
    } else {
        format!("1024 - {}", 1024 + flows - 1)
    };
    format!(
        "packet-generator new {{ name s0 limit 0 interface pg0 node ethernet-input data {{
    IP4: 02:00:00:00:00:01 -> 02:fe:16:3f:5f:0f
    TCP: 10.1.1.2 -> 10.104.221.85
    TCP: {ports} -> 80 SYN
  }} }}"
    )
}

fn app(config: &str, flows: u32, m: March) -> App {
    let mut app = App::new(Mode::Replay);
    app.dp.graph.set_default_variant(m).unwrap();
    for line in INTERFACES.lines().chain(config.lines()) {
        app.exec(line).unwrap();
    }
    app.exec(&stream(flows)).unwrap();
    app.exec("packet-generator enable").unwrap();
    app
}

fn paths(c: &mut Criterion) {
    for (path, config) in [("plain", PLAIN), ("natacl", NATACL)] {
        let mut group = c.benchmark_group(format!("{path}-path"));
        group.throughput(Throughput::Elements(FRAME_SIZE as u64));
        for flows in [1u32, 10_000] {
            for m in March::ALL.into_iter().filter(|m| m.supported()) {
                let mut a = app(config, flows, m);
                // Warm the sessions and caches with a first pass over every flow.
                for _ in 0..(flows as usize).div_ceil(FRAME_SIZE) {
                    a.dp.graph.run_once();
                }
                let g = &a.dp.graph;
                let tx = g.node_stats(g.node_index("pg1-tx").unwrap()).vectors;
                assert!(
                    tx as usize >= FRAME_SIZE,
                    "{path}: the stream reaches pg1 ({tx})"
                );
                group.bench_with_input(
                    BenchmarkId::new(format!("{flows}-flows"), m.name()),
                    &m,
                    |b, _| b.iter(|| a.dp.graph.run_once()),
                );
                assert_eq!(a.dp.graph.vm.buffers.in_use(), 0, "no buffer kept");
            }
        }
        group.finish();
    }
}

criterion_group!(benches, paths);
criterion_main!(benches);
