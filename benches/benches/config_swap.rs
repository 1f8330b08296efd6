//! What publishing a configuration snapshot costs ([`engine::config`]) on a node with 100k NAT44
//! static mappings and an ACL of 10k rules applied to an interface: the main thread's first edit
//! after a publication copies the table it touches, then one pointer swap publishes every table.
//!
//! `swap only`: a commit that copies a one-byte table (the pointer swap and the snapshot's table
//! list);
//! `nat44 100k mappings`: copy the NAT44 table and publish; `acl 10k rules`: copy the ACL table
//! (its compiled classifiers are shared, not copied) and publish; `both`: a change that spans
//! the two tables and the feature arcs (an interface's NAT role and its ACL), published at once.

use std::hint::black_box;
use std::net::Ipv4Addr;

use acl::rules::{Acl, Action, Rule};
use criterion::{criterion_group, criterion_main, Criterion};
use dataplane::engine::Mode;
use dataplane::App;

const MAPPINGS: u32 = 100_000;
const RULES: u32 = 10_000;

fn node() -> App {
    let mut a = App::new(Mode::Replay);
    a.exec_script(
        "create tap id 1 hw-addr 02:fe:00:00:00:01\n\
         create tap id 2 hw-addr 02:fe:00:00:00:02\n\
         set interface state tap1 up\nset interface state tap2 up\n\
         set interface ip address tap1 10.1.1.1/24\nset interface ip address tap2 10.20.0.1/24\n\
         set interface nat44 in tap1 out tap2\n",
    )
    .expect("interfaces");
    let mut script = String::new();
    for i in 0..MAPPINGS {
        let (h, l) = (i >> 8, i & 0xff);
        script.push_str(&format!(
            "nat44 add static mapping tcp local 10.{}.{}.{} 80 external 20.0.{}.1 {}\n",
            1 + (h >> 8),
            h & 0xff,
            l,
            i / 60_000,
            1024 + i % 60_000
        ));
    }
    a.exec_script(&script).expect("static mappings");
    let rules = (0..RULES)
        .map(|i| Rule {
            src: Ipv4Addr::from([172, 16, (i >> 8) as u8, i as u8]),
            src_len: 32,
            dst: Ipv4Addr::from([10, 96, 0, 10]),
            dst_len: 32,
            proto: 6,
            dport: (80, 80),
            action: if i % 2 == 0 {
                Action::Deny
            } else {
                Action::Permit
            },
            ..Rule::default()
        })
        .collect();
    let t = acl::plugin(&a.dp).main;
    a.dp.config_mut()
        .edit(t)
        .add_replace(
            None,
            Acl {
                rules,
                tag: "bench".into(),
            },
        )
        .expect("acl");
    a.exec("set acl-plugin interface tap1 input acl 0")
        .expect("apply");
    a.dp.config_mut().commit();
    a
}

fn bench(c: &mut Criterion) {
    let mut a = node();
    let nat = nat44::nat(&a.dp).sh.cfg;
    let acl_t = acl::plugin(&a.dp).main;
    let feats = a.dp.features;
    let tiny = a.dp.config_mut().register("bench", 0u8);
    let mut g = c.benchmark_group("config swap");
    g.bench_function("swap only", |b| {
        b.iter(|| {
            // A one-byte table: its copy is nothing beside the swap.
            *a.dp.config_mut().edit(tiny) ^= 1;
            black_box(a.dp.config_mut().commit())
        })
    });
    g.bench_function("nat44 100k mappings", |b| {
        b.iter(|| {
            a.dp.config_mut().edit(nat).forwarding ^= false;
            black_box(a.dp.config_mut().commit())
        })
    });
    g.bench_function("acl 10k rules", |b| {
        b.iter(|| {
            black_box(a.dp.config_mut().edit(acl_t));
            black_box(a.dp.config_mut().commit())
        })
    });
    g.bench_function("both", |b| {
        b.iter(|| {
            a.dp.config_mut().edit(nat).forwarding ^= false;
            black_box(a.dp.config_mut().edit(acl_t));
            a.dp.config_mut().edit(feats);
            black_box(a.dp.config_mut().commit())
        })
    });
    g.finish();
    let s = a.dp.config().stats();
    eprintln!(
        "config swap: {} commits, {} table copies, longest {:?}, mean {:?}",
        s.commits,
        s.copies,
        s.max,
        s.total / s.commits.max(1) as u32
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
