//! Replay in vectors (`dataplane replay --vector N`): bursts of frames that arrive together on
//! an interface are received in one dispatch, so the nodes' vector paths run (NAT44's
//! look-ahead, the ACL plugin's re-lookup after a frame changed its session table, sessions
//! created and hit in the same frame). The trace (but for the ACL `trace_bits`, which VPP keeps
//! per frame) and every output byte must be what frame-by-frame replay gives.

use std::path::{Path, PathBuf};

use dataplane::replay_cmd::{replay, ReplayRequest};
use dataplane::tracediff::{diff, frame_independent};
use engine::pcap::{read_pcap, write_pcap};
use etherparse::PacketBuilder;

const TAP0: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 0];
const TAP1: [u8; 6] = [0x02, 0xfe, 0, 0, 0, 1];
const POD_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
const GW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn tcp(
    macs: ([u8; 6], [u8; 6]),
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = PacketBuilder::ethernet2(macs.0, macs.1)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 29200);
    if flags.contains('S') {
        t = t.syn();
    }
    if flags.contains('A') {
        t = t.ack(1);
    }
    if flags.contains('F') {
        t = t.fin();
    }
    let mut v = Vec::new();
    t.write(&mut v, payload).unwrap();
    v
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(POD_MAC, TAP1)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut v, b"query")
        .unwrap();
    v
}

/// Bursts on the pod side and on the uplink: new flows to a remote host (SNAT) and to the
/// ClusterIP (load-balanced DNAT), a flow's SYN and its next segments in the same burst, a
/// repeated SYN, a non-SYN without session, UDP, ICMP to the node, and flows from outside to
/// the static mapping. Each burst's frames share one timestamp.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let pod = [10, 1, 1, 2];
    let pod_side = (POD_MAC, TAP1);
    let mut tap1: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut tap0: Vec<(u64, Vec<u8>)> = Vec::new();
    for burst in 0..6u64 {
        let t = 1_000_000_000 + burst * 50_000_000;
        for i in 0..40u16 {
            let sport = 20_000 + (burst as u16) * 100 + i;
            let dst = if i % 3 == 0 {
                [10, 96, 0, 10]
            } else {
                [8, 8, 8, 8]
            };
            let dport = if i % 3 == 0 { 80 } else { 443 };
            tap1.push((t, tcp(pod_side, pod, sport, dst, dport, "S", &[])));
            if i % 4 == 0 {
                // The handshake's ACK and a request right behind the SYN.
                tap1.push((t, tcp(pod_side, pod, sport, dst, dport, "A", &[])));
                tap1.push((
                    t,
                    tcp(
                        pod_side,
                        pod,
                        sport,
                        dst,
                        dport,
                        "A",
                        b"GET / HTTP/1.1\r\n\r\n",
                    ),
                ));
            }
            if i % 7 == 0 {
                tap1.push((t, tcp(pod_side, pod, sport, dst, dport, "S", &[])));
            }
            if i % 9 == 0 {
                tap1.push((t, tcp(pod_side, pod, 9_000 + i, dst, dport, "A", &[])));
            }
            if i % 5 == 0 {
                tap1.push((t, udp(pod, 5_000 + i, [8, 8, 4, 4], 53)));
            }
        }
        let mut echo = Vec::new();
        PacketBuilder::ethernet2(POD_MAC, TAP1)
            .ipv4(pod, [10, 1, 1, 1], 64)
            .icmpv4_echo_request(7, burst as u16)
            .write(&mut echo, b"ping")
            .unwrap();
        tap1.push((t, echo));
        let to = t + 20_000_000;
        for i in 0..30u16 {
            let remote = [172, 20, burst as u8, 1 + i as u8];
            let out = (GW_MAC, TAP0);
            tap0.push((
                to,
                tcp(out, remote, 33_000 + i, [192, 168, 16, 1], 80, "S", &[]),
            ));
            if i % 2 == 0 {
                tap0.push((
                    to,
                    tcp(out, remote, 33_000 + i, [192, 168, 16, 1], 80, "A", &[]),
                ));
            }
        }
    }
    let mut v = Vec::new();
    for (name, frames) in [("tap0", &tap0), ("tap1", &tap1)] {
        let p = dir.join(format!("{name}.pcap"));
        write_pcap(&p, frames.iter().map(|(t, f)| (*t, f.as_slice()))).unwrap();
        v.push((name.to_string(), p));
    }
    v
}

fn frames(dir: &Path) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let fr = read_pcap(&f).unwrap().into_iter().map(|p| p.data).collect();
            (f.file_name().unwrap().to_string_lossy().into_owned(), fr)
        })
        .collect()
}

#[test]
fn bursts_and_frame_by_frame_give_the_same_trace_and_bytes() {
    let work = std::env::temp_dir().join(format!("dp-vectors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let config = work.join("config.cli");
    std::fs::write(&config, dataplane::fuzzing::NODE_CONFIG).unwrap();
    let ins = inputs(&work);
    let run = |vector: usize| {
        let out = work.join(format!("out-{vector}"));
        std::fs::create_dir_all(&out).unwrap();
        let req = ReplayRequest {
            config: config.clone(),
            history: Vec::new(),
            inputs: ins.clone(),
            output_dir: Some(out.clone()),
            trace: 1000,
            vector,
            variant: None,
        };
        let mut r = replay(&req).unwrap();
        assert_eq!(
            r.outcome.buffers_in_use, 0,
            "vector {vector}: buffers leaked"
        );
        let runtime = r.app.exec("show runtime").unwrap();
        (r.trace, frames(&out), r.errors, runtime)
    };
    let (t1, f1, e1, _) = run(1);
    let (tv, fv, ev, rt) = run(256);
    // The bursts did reach the nodes as vectors.
    let line = rt
        .lines()
        .find(|l| l.starts_with("virtio-input"))
        .expect("virtio-input ran");
    let per_call: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(per_call > 10.0, "vectors per call {per_call}: {line}");
    assert!(!f1.is_empty() && f1.iter().map(|x| x.1.len()).sum::<usize>() > 300);
    assert_eq!(f1, fv, "the same frames on every interface");
    let d = diff(&frame_independent(&t1), &frame_independent(&tv));
    assert!(d.is_empty(), "traces differ:\n{}", d.join("\n"));
    assert_eq!(e1, ev, "the same counters");
    let _ = std::fs::remove_dir_all(&work);
}
