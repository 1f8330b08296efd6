//! The ACL classifier's lookup cost against the number of rules: ACLs of the shapes that
//! `ci/bench/acl-rules.sh` writes (pod /32s, namespace /24s with port ranges, UDP/53, the
//! matching rule last), looked up for natacl.cli's two packets (ACL in before NAT, out after).
//! Tuple-space search: the cost follows the number of masks (here four), not of rules.

use std::hint::black_box;
use std::net::Ipv4Addr;

use acl::classify::Classifier;
use acl::rules::{Acl, Action, Rule};
use acl::tuple::{Tuple, F_L4_VALID, F_TCP_FLAGS_VALID};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn rule(
    src: [u8; 4],
    src_len: u8,
    dst: [u8; 4],
    dst_len: u8,
    proto: u8,
    dport: (u16, u16),
) -> Rule {
    Rule {
        src: Ipv4Addr::from(src),
        src_len,
        dst: Ipv4Addr::from(dst),
        dst_len,
        proto,
        dport,
        ..Rule::default()
    }
}

/// `n` rules: n - 1 that the packet misses, then `last`.
fn acl(n: u32, dst: [u8; 4], dport: u16, last: Rule) -> Acl {
    let mut rules: Vec<Rule> = (0..n - 1)
        .map(|i| {
            let (a, b) = ((i >> 8) as u8, i as u8);
            let mut r = match i % 4 {
                0 => rule([172, 16, a, b], 32, dst, 32, 6, (dport, dport)),
                1 => rule([192, 168, a, 0], 24, [10, 96, a, b], 32, 6, (1000, 2000)),
                2 => rule([10, 2, a, b], 32, [0, 0, 0, 0], 0, 17, (53, 53)),
                _ => rule([10, 3 + a, b, 0], 24, dst, 32, 6, (9000, 9100)),
            };
            r.action = if i % 2 == 0 {
                Action::Deny
            } else {
                Action::Permit
            };
            r
        })
        .collect();
    rules.push(last);
    Acl {
        rules,
        tag: String::new(),
    }
}

fn syn(dst: [u8; 4], dport: u16, sport: u16) -> Tuple {
    Tuple {
        src: [10, 1, 1, 3],
        dst,
        proto: 6,
        sport,
        dport,
        tcp_flags: 0x02,
        flags: F_L4_VALID | F_TCP_FLAGS_VALID,
    }
}

fn classify(c: &mut Criterion) {
    let mut group = c.benchmark_group("acl-classify");
    group.throughput(Throughput::Elements(1));
    let vip = [10, 104, 221, 85];
    let pod = [10, 20, 0, 2];
    for n in [10u32, 1000, 10_000] {
        let mut permit_in = rule([10, 1, 1, 0], 24, vip, 32, 6, (80, 80));
        permit_in.action = Action::Permit;
        let mut permit_out = rule([0, 0, 0, 0], 0, pod, 32, 6, (8080, 8080));
        permit_out.action = Action::Permit;
        let acl_in = acl(n, vip, 80, permit_in);
        let acl_out = acl(n, pod, 8080, permit_out);
        let cin = Classifier::build(&[(0, &acl_in)]);
        let cout = Classifier::build(&[(1, &acl_out)]);
        // Many flows, as flows10k.pcap: only the source port changes.
        let pkts_in: Vec<Tuple> = (0..1024).map(|i| syn(vip, 80, 10_000 + i)).collect();
        let pkts_out: Vec<Tuple> = (0..1024).map(|i| syn(pod, 8080, 10_000 + i)).collect();
        assert_eq!(cin.lookup(&pkts_in[0]).map(|m| m.rule), Some(n - 1));
        assert_eq!(cout.lookup(&pkts_out[0]).map(|m| m.rule), Some(n - 1));
        for (name, c, pkts) in [("in", &cin, &pkts_in), ("out", &cout, &pkts_out)] {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                let mut i = 0usize;
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(c.lookup(black_box(&pkts[i])))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
