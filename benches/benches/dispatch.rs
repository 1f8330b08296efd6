//! Dispatch overhead: frames of 256 packets through a chain of K pass-through nodes.
//!
//! The per-packet time divided by K is the cost of one node hop (enqueue + call + stats), which
//! issue 2 wants at no more than 3 clocks. Compare with `dataplane bench` on ci/bench/l2patch.cli,
//! which reports the same in TSC clocks from `show runtime`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::buffer::BufferIndex;
use engine::graph::{Graph, Node, NodeCx, NodeKind, NodeRegistration, FRAME_SIZE};

/// Produces one frame of 256 buffers per poll, recycling the same buffers.
struct Source {
    bufs: Vec<BufferIndex>,
}
impl Node for Source {
    fn poll(&mut self, cx: &mut NodeCx<'_>) -> usize {
        if self.bufs.is_empty() {
            self.bufs = vec![0; FRAME_SIZE];
        }
        let n = cx.vm.buffers.alloc(&mut self.bufs);
        cx.enqueue_slot(0, &self.bufs[..n]);
        n
    }
}

/// Sends everything to slot 0 with a per-packet next array, as a real node does.
struct Pass;
impl Node for Pass {
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        let nexts = [0u16; FRAME_SIZE];
        cx.enqueue(frame, &nexts[..frame.len()]);
    }
}

struct Sink;
impl Node for Sink {
    fn process(&mut self, cx: &mut NodeCx<'_>, frame: &[BufferIndex]) {
        cx.vm.buffers.free(frame);
    }
}

fn chain(k: usize) -> Graph {
    let mut g = Graph::new(4096);
    g.register(
        NodeRegistration::new("src", NodeKind::Input).nexts(&["pass0"]),
        Box::new(Source { bufs: Vec::new() }),
    );
    for i in 0..k {
        let next = if i + 1 < k {
            format!("pass{}", i + 1)
        } else {
            "sink".into()
        };
        g.register(
            NodeRegistration::new(format!("pass{i}"), NodeKind::Internal).nexts(&[&next]),
            Box::new(Pass),
        );
    }
    g.register(
        NodeRegistration::new("sink", NodeKind::Internal),
        Box::new(Sink),
    );
    g
}

fn dispatch(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(FRAME_SIZE as u64));
    for k in [1usize, 4, 16] {
        let mut g = chain(k);
        group.bench_with_input(BenchmarkId::new("pass-through-nodes", k), &k, |b, _| {
            b.iter(|| g.run_once())
        });
        assert_eq!(g.vm.buffers.in_use(), 0);
    }
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
