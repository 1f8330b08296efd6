//! One million sessions created, looked up both ways and expired, twice, with the memory held by
//! the session database unchanged throughout (everything is sized for the limit up front).

use nat44::session::{proto, Endpoints, Key, NewSession, SessionDb};

const SEC: u64 = 1_000_000_000;

fn session(i: u32) -> NewSession {
    let inside = 0x0a00_0000 | (i / 50_000);
    let port = (i % 50_000) as u16 + 1024;
    NewSession {
        i2o: Endpoints {
            l_addr: inside,
            r_addr: 0x0808_0808,
            l_port: port,
            r_port: 53,
        },
        o2i: Endpoints {
            l_addr: 0xc0a8_1000 | (i / 50_000),
            r_addr: 0x0808_0808,
            l_port: port,
            r_port: 53,
        },
        proto: proto::UDP,
        flags: 0,
        in_fib: 0,
        out_fib: 0,
    }
}

#[test]
fn million_sessions_created_and_expired_with_bounded_memory() {
    const N: u32 = 1_000_000;
    let mut db = SessionDb::new(N, 1);
    let mem = db.memory_bytes();
    for round in 0..2u64 {
        let t0 = round * 1000 * SEC;
        for i in 0..N {
            db.create(t0 + (i as u64) * 100, &session(i)).unwrap();
        }
        assert_eq!(db.len(), N);
        assert_eq!(db.memory_bytes(), mem, "no growth while filling");
        for i in (0..N).step_by(997) {
            let n = session(i);
            let ki = Key {
                l_addr: n.i2o.l_addr,
                r_addr: n.i2o.r_addr,
                l_port: n.i2o.l_port,
                r_port: n.i2o.r_port,
                proto: n.proto,
                fib: 0,
            };
            let x = db.find_i2o(&ki).expect("inside lookup");
            assert_eq!(db.get(x).o2i, n.o2i);
            assert_eq!(db.find_o2i(&SessionDb::o2i_key(db.get(x))), Some(x));
        }
        // Nothing expires before the UDP timeout...
        assert_eq!(db.expire_all(t0 + 299 * SEC), 0);
        // ...everything after it.
        assert_eq!(db.expire_all(t0 + 400 * SEC), N as usize);
        assert!(db.is_empty());
        assert_eq!(db.memory_bytes(), mem, "no growth after expiry");
    }
    let per = db.bytes_per_session();
    eprintln!(
        "1M sessions: {} bytes held, {:.1} bytes per session",
        db.memory_bytes(),
        per
    );
    assert!(per < 128.0, "{per} bytes per session");
}

/// The same through the graph: one million UDP flows from pods SNATed on the uplink (21 pool
/// addresses), all sessions alive at once, then all expired by `nat44-session-expire` after the
/// UDP timeout, with the session memory unchanged.
#[test]
fn million_flows_through_the_graph() {
    use dataplane::App;
    use engine::clock::Clock;
    use engine::interface::MemoryDevice;
    const N: u32 = 1_000_000;
    let mut a = App::new(engine::Mode::Replay);
    a.exec_script(
        "
create interface dpdk dev 0000:00:08.0 hw-addr 08:00:27:44:9f:d8
create tap id 0 hw-addr 02:fe:00:00:00:01
set interface state GigabitEthernet0/8/0 up
set interface state tap0 up
set interface ip address GigabitEthernet0/8/0 192.168.16.1/24
set interface ip address tap0 10.0.0.1/8
set ip neighbor GigabitEthernet0/8/0 192.168.16.100 08:00:27:02:a5:36 static
ip route add 0.0.0.0/0 via 192.168.16.100 GigabitEthernet0/8/0
nat44 plugin enable sessions 1000000
nat44 add address 192.168.16.10 - 192.168.16.30
set interface nat44 in tap0 out tap0
set interface nat44 out GigabitEthernet0/8/0
",
    )
    .unwrap();
    let device = |a: &App, name: &str| {
        let sw = a.dp.sw_if_index(name).unwrap();
        a.dp.devices[sw as usize].clone().unwrap()
    };
    let (tap, gbe) = (device(&a, "tap0"), device(&a, "GigabitEthernet0/8/0"));
    {
        let mut g = gbe.lock();
        let any: &mut dyn std::any::Any = g.as_mut();
        any.downcast_mut::<MemoryDevice>().unwrap().capture_tx = false;
    }
    let mem = nat44::nat(&a.dp).sh.db.lock().memory_bytes();
    // A 60-byte UDP frame from 10.x.y.z:port to 8.8.8.8:53 (UDP checksum 0).
    let mut tpl = vec![
        0x02, 0xfe, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17,
        0, 0, 10, 0, 0, 0, 8, 8, 8, 8, 0, 0, 0, 53, 0, 26, 0, 0,
    ];
    tpl.resize(60, 0x55);
    let t0 = 100 * SEC;
    a.dp.graph.vm.clock = Clock::manual(t0);
    let mut sent = 0u32;
    while sent < N {
        {
            let mut g = tap.lock();
            let any: &mut dyn std::any::Any = g.as_mut();
            let d = any.downcast_mut::<MemoryDevice>().unwrap();
            for i in sent..(sent + 20_000).min(N) {
                let mut f = tpl.clone();
                let host = 1 + i / 50_000; // 20 hosts x 50,000 ports
                f[27..30].copy_from_slice(&host.to_be_bytes()[1..]);
                f[34..36].copy_from_slice(&(1024 + (i % 50_000) as u16).to_be_bytes());
                let c = graph_nodes::wire::checksum::ipv4_header_checksum(&{
                    let mut h = f[14..34].to_vec();
                    h[10] = 0;
                    h[11] = 0;
                    h
                });
                f[24..26].copy_from_slice(&c.to_be_bytes());
                d.rx.push_back((t0, f));
            }
        }
        sent = (sent + 20_000).min(N);
        a.dp.run_until_idle();
    }
    {
        let h = nat44::nat(&a.dp).clone();
        let db = h.sh.db.lock();
        assert_eq!(db.len(), N, "one session per flow");
        assert_eq!(db.memory_bytes(), mem, "no growth");
    }
    let n_tx = {
        let mut g = gbe.lock();
        let any: &mut dyn std::any::Any = g.as_mut();
        any.downcast_mut::<MemoryDevice>().unwrap().n_tx
    };
    assert_eq!(n_tx, N as u64, "every flow left translated");
    assert_eq!(
        a.dp.graph
            .error_count("nat44-in2out-slowpath", "Out of ports"),
        0
    );
    // 301 s later, with no traffic: the expiry node frees them all.
    a.dp.graph.vm.clock = Clock::manual(t0 + 301 * SEC);
    let mut loops = 0;
    while !nat44::nat(&a.dp).sh.db.lock().is_empty() {
        a.dp.graph.run_once();
        loops += 1;
        assert!(loops < 10_000, "expiry makes progress");
    }
    let h = nat44::nat(&a.dp).clone();
    let db = h.sh.db.lock();
    assert_eq!(db.counters.expired, N as u64);
    assert_eq!(db.memory_bytes(), mem, "no growth after expiry");
    assert_eq!(a.dp.graph.vm.buffers.in_use(), 0);
    eprintln!(
        "1M flows through the graph: {} bytes of session state, {:.1} bytes per session",
        db.memory_bytes(),
        db.bytes_per_session()
    );
}
