//! The packets of the Antrea packet walks (seeds 000 and 001 under `../shared/reference/seeds/`)
//! rebuilt as replayable scenarios under `traces/antrea/`.
//!
//! Unlike the Contiv documents, the seeds have no VPP trace: they show `tcpdump -en` lines (MACs,
//! addresses, ports, flags, sequence numbers, windows, TCP options, lengths), `kubectl` output and
//! OVS tables. Every value a seed prints is used as printed; what it does not show (IP ids, TTLs of
//! the senders, payload bytes beyond the first line tcpdump decodes, the addresses outside the
//! node) is chosen here and said so.
//!
//! - `nodeport` (seed 000): NodePort from outside. ExtIP:44860 -> NodeIP 10.176.25.244:30232 enters
//!   the uplink, is DNATed to the pod 172.16.0.32:8080 and SNATed to the gateway 172.16.0.1
//!   (twice-NAT, source port kept as OVS conntrack keeps it); the pod replies through the tap and
//!   the reply leaves the uplink as NodeIP:30232 -> ExtIP:44860. The ten packets are the seed's
//!   tcpdump on the endpoint (lines 103-112): requests as the pod received them (the uplink input
//!   is the same packet before NAT), replies as the pod sent them (the tap input).
//! - `policy` (seed 001): on worker 1, the frontend pod 10.222.1.48 connects to the Service
//!   backendsvc 10.104.65.133:80, load-balanced to the local endpoint backend1 10.222.1.47:80; the
//!   handshake, request, response and FINs, then two connections the NetworkPolicies deny. The SYN
//!   and SYN-ACK are the seed's tcpdump on the frontend pod (lines 1822-1823).
//!
//! `dataplane gen-scenario-inputs traces/antrea` writes `input/IF.pcap` of both scenarios from
//! here, and a test checks the committed files are what this module produces.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::contiv::DocPacket;
use crate::pcapgen::TcpFrame;

/// Nanoseconds of a tcpdump time `HH:MM:SS.uuuuuu` (on day 0).
pub fn tcpdump_time_ns(t: &str) -> u64 {
    let (hms, us) = t.split_once('.').unwrap_or((t, "0"));
    let p: Vec<u64> = hms.split(':').map(|x| x.parse().unwrap_or(0)).collect();
    let us: u64 = us.parse().unwrap_or(0);
    ((p[0] * 3600 + p[1] * 60 + p[2]) * 1_000_000 + us) * 1_000
}

/// TCP flag bits.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// The options Linux puts on a SYN / SYN-ACK, in tcpdump's order:
/// `mss M,sackOK,TS val V ecr E,nop,wscale W`.
pub fn syn_options(mss: u16, ts_val: u32, ts_ecr: u32, wscale: u8) -> Vec<u8> {
    let mut o = vec![0x02, 0x04];
    o.extend_from_slice(&mss.to_be_bytes());
    o.extend_from_slice(&[0x04, 0x02, 0x08, 0x0a]);
    o.extend_from_slice(&ts_val.to_be_bytes());
    o.extend_from_slice(&ts_ecr.to_be_bytes());
    o.extend_from_slice(&[0x01, 0x03, 0x03, wscale]);
    o
}

/// The options of an established segment: `nop,nop,TS val V ecr E`.
pub fn ts_options(ts_val: u32, ts_ecr: u32) -> Vec<u8> {
    let mut o = vec![0x01, 0x01, 0x08, 0x0a];
    o.extend_from_slice(&ts_val.to_be_bytes());
    o.extend_from_slice(&ts_ecr.to_be_bytes());
    o
}

/// One end of a TCP connection as it is on the wire where a packet enters the node.
#[derive(Clone, Copy, Debug)]
struct End {
    mac: [u8; 6],
    ip: Ipv4Addr,
    port: u16,
}

/// One segment of an exchange.
#[derive(Clone, Debug)]
struct Seg {
    /// Capture time (tcpdump), or the chosen arrival time.
    time: &'static str,
    /// From the connection's client.
    from_client: bool,
    /// IP identification (not in the seeds: chosen).
    id: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    /// `Some(mss)` on SYNs: MSS, SACK permitted, timestamps, NOP, window scale 7.
    mss: Option<u16>,
    ts_val: u32,
    ts_ecr: u32,
    payload: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
fn seg(
    time: &'static str,
    from_client: bool,
    id: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    win: u16,
    mss: Option<u16>,
    ts: (u32, u32),
    payload: &[u8],
) -> Seg {
    Seg {
        time,
        from_client,
        id,
        flags,
        seq,
        ack,
        win,
        mss,
        ts_val: ts.0,
        ts_ecr: ts.1,
        payload: payload.to_vec(),
    }
}

/// The frame of `s` sent from `src` (MAC of the sender, its address and port) to `dst` (MAC of the
/// interface it enters, the destination address and port).
fn frame(s: &Seg, src: End, dst: End) -> Vec<u8> {
    TcpFrame {
        src_mac: src.mac,
        dst_mac: dst.mac,
        src: src.ip,
        dst: dst.ip,
        id: s.id,
        df: true,
        ttl: 64,
        sport: src.port,
        dport: dst.port,
        seq: s.seq,
        ack: s.ack,
        flags: s.flags,
        window: s.win,
        options: match s.mss {
            Some(m) => syn_options(m, s.ts_val, s.ts_ecr, 7),
            None => ts_options(s.ts_val, s.ts_ecr),
        },
        payload: s.payload.clone(),
    }
    .build()
}

// ---------------------------------------------------------------------------------------------
// Seed 000: NodePort.

/// Seed 000 values (`000_0e9fae4c4ccd14fa.txt`).
pub mod nodeport {
    use std::net::Ipv4Addr;

    /// `$LocalNodeIP="10.176.25.244"` (line 12).
    pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 176, 25, 244);
    /// `$LocalNodePort="30232"` (line 13).
    pub const NODE_PORT: u16 = 30232;
    /// The gateway as the pod sees it: `172.16.0.1.44860` (tcpdump, lines 103-112).
    pub const GW_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
    /// The client port the pod sees (line 103); OVS's SNAT kept the client's port.
    pub const GW_PORT: u16 = 44860;
    /// The endpoint: `172.16.0.32.8080` (line 103).
    pub const POD_IP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 32);
    /// The endpoint's port (line 103).
    pub const POD_PORT: u16 = 8080;
    /// The gateway's MAC as the pod sees it (`0a:58:dd:bf:64:b9 > 4a:95:7b:d4:8d:5b`, line 103):
    /// the VPP side of tap1.
    pub const TAP_MAC: [u8; 6] = [0x0a, 0x58, 0xdd, 0xbf, 0x64, 0xb9];
    /// The pod's eth0 MAC (line 103).
    pub const POD_MAC: [u8; 6] = [0x4a, 0x95, 0x7b, 0xd4, 0x8d, 0x5b];
    /// The external client: not in the seed (chosen, as in nat44/tests/nodeport.rs).
    pub const EXT_IP: Ipv4Addr = Ipv4Addr::new(10, 193, 7, 21);
    /// The external client's port: the seed shows 44860 after OVS's SNAT, which keeps the port.
    pub const EXT_PORT: u16 = 44860;
    /// The uplink's MAC: not in the seed (chosen).
    pub const UPLINK_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x10, 0xb0, 0xf4];
    /// The next hop's MAC on the uplink: not in the seed (chosen).
    pub const ROUTER_MAC: [u8; 6] = [0x08, 0x00, 0x27, 0x00, 0x00, 0x01];
    /// Client initial sequence number (line 103).
    pub const CLIENT_ISN: u32 = 938_866_061;
    /// Server initial sequence number (line 104).
    pub const SERVER_ISN: u32 = 3_736_389_015;
}

/// The 77-byte request (`length 77: HTTP: GET / HTTP/1.1`, line 106). Only its first line is in
/// the seed; the headers are chosen to make 77 bytes.
pub fn nodeport_request() -> Vec<u8> {
    let r =
        b"GET / HTTP/1.1\r\nHost: 10.176.25.244:30232\r\nUser-Agent: httpc\r\nAccept: */*\r\n\r\n";
    r.to_vec()
}

/// The 131-byte response (`length 131: HTTP: HTTP/1.1 200 OK`, line 108). Only its first line is
/// in the seed; the rest follows the Windows endpoint's answer of lines 90-93, for this pod.
pub fn nodeport_response() -> Vec<u8> {
    let body = "Hello Antrea!\nLinux-4.9\nServerIP: 172.16.0.32\nClientIP: 172.16.0.1\n";
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/html\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Seed 000's tcpdump (lines 103-112), in order; IP ids are chosen (tcpdump -e does not show them):
/// the client's count up from 0x4a1c, the pod's SYN-ACK has 0 (Linux) and then counts from 0x9e07.
#[rustfmt::skip]
fn nodeport_exchange() -> Vec<Seg> {
    use flags::*;
    let (c, s) = (nodeport::CLIENT_ISN, nodeport::SERVER_ISN);
    let (req, resp) = (nodeport_request(), nodeport_response());
    vec![
        //   tcpdump time      client  IP id   flags      seq      ack      win    mss         TS val, ecr               payload
        seg("04:53:36.353399", true,  0x4a1c, SYN,       c,       0,       64240, Some(1460), (4158912320, 0),          &[]),
        seg("04:53:36.353444", false, 0,      SYN | ACK, s,       c + 1,   64308, Some(1410), (1857172179, 4158912320), &[]),
        seg("04:53:36.354098", true,  0x4a1d, ACK,       c + 1,   s + 1,   502,   None,       (4158912321, 1857172179), &[]),
        seg("04:53:36.354230", true,  0x4a1e, PSH | ACK, c + 1,   s + 1,   502,   None,       (4158912321, 1857172179), &req),
        seg("04:53:36.354255", false, 0x9e07, ACK,       s + 1,   c + 78,  502,   None,       (1857172180, 4158912321), &[]),
        seg("04:53:36.354606", false, 0x9e08, PSH | ACK, s + 1,   c + 78,  502,   None,       (1857172180, 4158912321), &resp),
        seg("04:53:36.354695", true,  0x4a1f, ACK,       c + 78,  s + 132, 501,   None,       (4158912321, 1857172180), &[]),
        seg("04:53:36.354852", true,  0x4a20, FIN | ACK, c + 78,  s + 132, 501,   None,       (4158912322, 1857172180), &[]),
        seg("04:53:36.355378", false, 0x9e09, FIN | ACK, s + 132, c + 79,  502,   None,       (1857172181, 4158912322), &[]),
        seg("04:53:36.355442", true,  0x4a21, ACK,       c + 79,  s + 133, 501,   None,       (4158912322, 1857172181), &[]),
    ]
}

fn nodeport_packets() -> Vec<DocPacket> {
    use nodeport::*;
    let client = End {
        mac: ROUTER_MAC,
        ip: EXT_IP,
        port: EXT_PORT,
    };
    let node = End {
        mac: UPLINK_MAC,
        ip: NODE_IP,
        port: NODE_PORT,
    };
    let pod = End {
        mac: POD_MAC,
        ip: POD_IP,
        port: POD_PORT,
    };
    let gw = End {
        mac: TAP_MAC,
        ip: GW_IP,
        port: GW_PORT,
    };
    nodeport_exchange()
        .iter()
        .map(|s| {
            let (iface, f) = if s.from_client {
                ("GigabitEthernet0/8/0", frame(s, client, node))
            } else {
                ("tap1", frame(s, pod, gw))
            };
            DocPacket {
                iface,
                ts_ns: tcpdump_time_ns(s.time),
                frame: f,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Seed 001: frontend -> backendsvc -> backend1 on worker 1, with the NetworkPolicies.

/// Seed 001 values (`001_3db9a3467ea66f99.txt`).
pub mod policy {
    use std::net::Ipv4Addr;

    /// Frontend pod IP (line 28; table 10, line 74).
    pub const FRONTEND_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 1, 48);
    /// Frontend pod MAC (line 30; table 10, line 74).
    pub const FRONTEND_MAC: [u8; 6] = [0xbe, 0x2c, 0xbf, 0xe4, 0xec, 0xc5];
    /// antrea-gw0 of worker 1 (line 31; table 10, line 66): the pods' gateway MAC, so the VPP side
    /// of every pod tap (table 70, lines 648-651, rewrite the source MAC to it).
    pub const GW_MAC: [u8; 6] = [0x4e, 0x99, 0x08, 0xc1, 0x53, 0xbe];
    /// antrea-gw0's IP on worker 1 (line 66).
    pub const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 1, 1);
    /// backend1, the local endpoint of backendsvc (iptables DNAT `tcp to:10.222.1.47:80`,
    /// line 267; table 10, line 73).
    pub const BACKEND1_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 1, 47);
    /// backend1's port (line 267).
    pub const BACKEND1_PORT: u16 = 80;
    /// backend1's MAC (table 10, line 73; table 70, line 650).
    pub const BACKEND1_MAC: [u8; 6] = [0xf2, 0x32, 0xd8, 0x07, 0xe2, 0xa6];
    /// coredns on worker 1 (table 10, line 71).
    pub const COREDNS_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 1, 2);
    /// coredns's MAC (table 10, line 71).
    pub const COREDNS_MAC: [u8; 6] = [0xf2, 0x82, 0xcc, 0x96, 0xda, 0xbd];
    /// backendsvc's ClusterIP (`kubectl get svc`, line 132).
    pub const SVC_IP: Ipv4Addr = Ipv4Addr::new(10, 104, 65, 133);
    /// backendsvc's port (`80/TCP`, line 132).
    pub const SVC_PORT: u16 = 80;
    /// The frontend's source port (tcpdump on the frontend, line 1822).
    pub const CLIENT_PORT: u16 = 33712;
    /// Client initial sequence number (line 1822).
    pub const CLIENT_ISN: u32 = 1_468_216_310;
    /// Server initial sequence number (line 1823).
    pub const SERVER_ISN: u32 = 1_653_417_399;
}

/// `curl backendsvc` (line 20): the request. Not in the seed beyond the command; curl's usual
/// headers.
pub fn policy_request() -> Vec<u8> {
    b"GET / HTTP/1.1\r\nHost: backendsvc\r\nUser-Agent: curl/7.69.1\r\nAccept: */*\r\n\r\n".to_vec()
}

/// The answer, as backend2 printed it at line 1106, for backend1.
pub fn policy_response() -> Vec<u8> {
    let body = "Praqma Network MultiTool (with NGINX) - backend1 - 10.222.1.47/24\n";
    format!(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The frontend's connection. The SYN and SYN-ACK are lines 1822-1823 (the SYN-ACK enters from
/// backend1 before it is translated back to the service address, 30 µs before the frontend saw
/// it); the rest is chosen: a curl exchange with Linux's windows (scale 7) and timestamps that
/// advance by one per millisecond. IP ids are chosen.
#[rustfmt::skip]
fn policy_exchange() -> Vec<Seg> {
    use flags::*;
    let (c, s) = (policy::CLIENT_ISN, policy::SERVER_ISN);
    let (req, resp) = (policy_request(), policy_response());
    let (q, r) = (req.len() as u32, resp.len() as u32);
    let (ct, st) = (4_059_789_635u32, 3_349_679_792u32);
    vec![
        //   time              client  IP id   flags      seq        ack        win    mss         TS val, ecr    payload
        seg("16:47:00.686688", true,  0x62d0, SYN,       c,         0,         64860, Some(1410), (ct, 0),       &[]),
        seg("16:47:00.687708", false, 0,      SYN | ACK, s,         c + 1,     64308, Some(1410), (st, ct),      &[]),
        seg("16:47:00.687790", true,  0x62d1, ACK,       c + 1,     s + 1,     507,   None,       (ct + 1, st),  &[]),
        seg("16:47:00.687856", true,  0x62d2, PSH | ACK, c + 1,     s + 1,     507,   None,       (ct + 1, st),  &req),
        seg("16:47:00.687901", false, 0x1b3c, ACK,       s + 1,     c + 1 + q, 503,   None,       (st + 1, ct + 1), &[]),
        seg("16:47:00.688214", false, 0x1b3d, PSH | ACK, s + 1,     c + 1 + q, 503,   None,       (st + 1, ct + 1), &resp),
        seg("16:47:00.688290", true,  0x62d3, ACK,       c + 1 + q, s + 1 + r, 506,   None,       (ct + 2, st + 1), &[]),
        seg("16:47:00.688512", true,  0x62d4, FIN | ACK, c + 1 + q, s + 1 + r, 506,   None,       (ct + 2, st + 1), &[]),
        seg("16:47:00.688901", false, 0x1b3e, FIN | ACK, s + 1 + r, c + 2 + q, 503,   None,       (st + 2, ct + 2), &[]),
        seg("16:47:00.688950", true,  0x62d5, ACK,       c + 2 + q, s + 2 + r, 506,   None,       (ct + 2, st + 2), &[]),
    ]
}

fn policy_packets() -> Vec<DocPacket> {
    use policy::*;
    let frontend = End {
        mac: FRONTEND_MAC,
        ip: FRONTEND_IP,
        port: CLIENT_PORT,
    };
    let svc = End {
        mac: GW_MAC,
        ip: SVC_IP,
        port: SVC_PORT,
    };
    let backend = End {
        mac: BACKEND1_MAC,
        ip: BACKEND1_IP,
        port: BACKEND1_PORT,
    };
    let frontend_seen = End {
        mac: GW_MAC,
        ..frontend
    };
    let mut v: Vec<DocPacket> = policy_exchange()
        .iter()
        .map(|s| {
            let (iface, f) = if s.from_client {
                ("tap1", frame(s, frontend, svc))
            } else {
                ("tap2", frame(s, backend, frontend_seen))
            };
            DocPacket {
                iface,
                ts_ns: tcpdump_time_ns(s.time),
                frame: f,
            }
        })
        .collect();
    // Denied 1: backend1 opens a connection to the frontend's port 80. frontendpolicy would admit
    // it (ingress TCP 80 from anyone), but backendpolicy isolates backend pods for egress (table
    // 60, line 632: `nw_src=10.222.1.47 actions=drop`): dropped on entry.
    let syn = |time, id, seq, ts| {
        seg(
            time,
            true,
            id,
            flags::SYN,
            seq,
            0,
            64860,
            Some(1410),
            (ts, 0),
            &[],
        )
    };
    v.push(DocPacket {
        iface: "tap2",
        ts_ns: tcpdump_time_ns("16:47:01.201733"),
        frame: frame(
            &syn("16:47:01.201733", 0x5a11, 2_975_212_411, 1_204_559_230),
            End {
                port: 52814,
                ..backend
            },
            End {
                mac: GW_MAC,
                ip: FRONTEND_IP,
                port: 80,
            },
        ),
    });
    // Denied 2: coredns (no policy of its own) connects to backendsvc. The service translates it
    // to backend1, whose ingress admits TCP 80 from `role=frontend` only (table 90/100): dropped
    // on the way out to backend1, after NAT.
    v.push(DocPacket {
        iface: "tap3",
        ts_ns: tcpdump_time_ns("16:47:01.734020"),
        frame: frame(
            &syn("16:47:01.734020", 0x0c4e, 1_130_845_226, 2_811_390_004),
            End {
                mac: COREDNS_MAC,
                ip: COREDNS_IP,
                port: 45526,
            },
            svc,
        ),
    });
    v
}

// ---------------------------------------------------------------------------------------------
// Seed 001 across nodes: frontend (worker 1) -> backendsvc -> backend2 (worker 2) over Geneve.

/// Seed 001 values for the cross-node walk (`001_3db9a3467ea66f99.txt`, part C section 9-10).
pub mod cross {
    use std::net::Ipv4Addr;

    /// Worker 1's ens160 (`10.79.1.201.50308 > 10.79.1.202.6081`, line 1364).
    pub const NODE1_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 1, 201);
    /// Worker 2's ens160 (line 1364; table 70 line 653 `0xa4f01ca`).
    pub const NODE2_IP: Ipv4Addr = Ipv4Addr::new(10, 79, 1, 202);
    /// Worker 1's ens160 MAC (`00:50:56:8f:4e:82 > 00:50:56:8f:1c:f6`, line 1364).
    pub const NODE1_MAC: [u8; 6] = [0x00, 0x50, 0x56, 0x8f, 0x4e, 0x82];
    /// Worker 2's ens160 MAC (line 1364).
    pub const NODE2_MAC: [u8; 6] = [0x00, 0x50, 0x56, 0x8f, 0x1c, 0xf6];
    /// The global virtual MAC of remote pods' gateways (lines 381, 653, 1365).
    pub const VIRTUAL_MAC: [u8; 6] = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
    /// antrea-gw0 of worker 2 (lines 888-890, 1116, 1365).
    pub const GW2_MAC: [u8; 6] = [0x02, 0xd8, 0x4e, 0x3f, 0x92, 0x1d];
    /// antrea-gw0's IP on worker 2 (line 888).
    pub const GW2_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 2, 1);
    /// backend2 (iptables DNAT `tcp to:10.222.2.34:80`, line 297).
    pub const BACKEND2_IP: Ipv4Addr = Ipv4Addr::new(10, 222, 2, 34);
    /// backend2's MAC (table 70 line 890, tcpdump line 1116).
    pub const BACKEND2_MAC: [u8; 6] = [0xc6, 0xf4, 0xb5, 0x76, 0x10, 0x38];
    /// The frontend's port of the exchange on the wire (line 1364).
    pub const CLIENT_PORT: u16 = 40976;
    /// Client initial sequence number (line 1364).
    pub const CLIENT_ISN: u32 = 3_669_882_487;
    /// Server initial sequence number (line 1365).
    pub const SERVER_ISN: u32 = 1_344_714_200;
}

/// The cross-node handshake: the SYN and SYN-ACK are lines 1364-1365 (tcpdump on worker 2's
/// ens160: the SYN arrived at 14:32:43.976230, so the frontend sent it a little earlier; the
/// SYN-ACK left at .977008, so backend2 sent it a little earlier); the ACK is chosen.
#[rustfmt::skip]
fn cross_exchange() -> Vec<Seg> {
    use flags::*;
    let (c, s) = (cross::CLIENT_ISN, cross::SERVER_ISN);
    let (ct, st) = (4_051_732_790u32, 3_341_622_948u32);
    vec![
        //   time              client  IP id   flags      seq    ack    win    mss         TS val, ecr
        seg("14:32:43.976100", true,  0x7c21, SYN,       c,     0,     64860, Some(1410), (ct, 0),      &[]),
        seg("14:32:43.976900", false, 0,      SYN | ACK, s,     c + 1, 64308, Some(1410), (st, ct),     &[]),
        seg("14:32:43.977200", true,  0x7c22, ACK,       c + 1, s + 1, 507,   None,       (ct + 1, st), &[]),
    ]
}

/// The packets of one worker (`node-a` = worker 1, `node-b` = worker 2).
fn cross_packets(node: &str) -> Vec<DocPacket> {
    use policy::*;
    let frontend = End {
        mac: FRONTEND_MAC,
        ip: FRONTEND_IP,
        port: cross::CLIENT_PORT,
    };
    let svc = End {
        mac: GW_MAC,
        ip: SVC_IP,
        port: SVC_PORT,
    };
    let backend2 = End {
        mac: cross::BACKEND2_MAC,
        ip: cross::BACKEND2_IP,
        port: 80,
    };
    // As backend2 sees the frontend: through worker 2's antrea-gw0 (line 1116).
    let frontend_seen = End {
        mac: cross::GW2_MAC,
        ..frontend
    };
    let mut v: Vec<DocPacket> = cross_exchange()
        .iter()
        .filter(|s| s.from_client == (node == "node-a"))
        .map(|s| {
            let (iface, f) = if s.from_client {
                ("tap1", frame(s, frontend, svc))
            } else {
                ("tap1", frame(s, backend2, frontend_seen))
            };
            DocPacket {
                iface,
                ts_ns: tcpdump_time_ns(s.time),
                frame: f,
            }
        })
        .collect();
    if node == "node-a" {
        // Denied across nodes: coredns on worker 1 (no policy of its own) connects to backend2
        // directly. It crosses to worker 2, where backendpolicy admits TCP 80 from the frontend
        // only (tables 90/100): dropped on the way out to backend2.
        v.push(DocPacket {
            iface: "tap3",
            ts_ns: tcpdump_time_ns("14:32:44.512006"),
            frame: frame(
                &seg(
                    "14:32:44.512006",
                    true,
                    0x1a07,
                    flags::SYN,
                    2_204_117_903,
                    0,
                    64860,
                    Some(1410),
                    (1_830_227_611, 0),
                    &[],
                ),
                End {
                    mac: COREDNS_MAC,
                    ip: COREDNS_IP,
                    port: 39114,
                },
                End {
                    mac: GW_MAC,
                    ip: cross::BACKEND2_IP,
                    port: 80,
                },
            ),
        });
    }
    v
}

/// Two-node scenarios: (folder, node folders).
pub const NODE_SCENARIOS: &[(&str, &[&str])] = &[("cross-node", &["node-a", "node-b"])];

/// The input packets of one node of a two-node scenario.
pub fn node_packets(scenario: &str, node: &str) -> Option<Vec<DocPacket>> {
    match (scenario, node) {
        ("cross-node", "node-a" | "node-b") => Some(cross_packets(node)),
        _ => None,
    }
}

/// Every scenario this module knows.
pub const SCENARIOS: &[&str] = &["nodeport", "policy"];

/// The input packets of a scenario (by folder name), in order.
pub fn packets(scenario: &str) -> Option<Vec<DocPacket>> {
    match scenario {
        "nodeport" => Some(nodeport_packets()),
        "policy" => Some(policy_packets()),
        _ => None,
    }
}

/// Write `DIR/input/IF.pcap` for a scenario (one file per interface).
pub fn write_inputs(scenario_dir: &Path, scenario: &str) -> Result<(), String> {
    if let Some((_, nodes)) = NODE_SCENARIOS.iter().find(|(s, _)| *s == scenario) {
        for node in nodes.iter() {
            let pkts = node_packets(scenario, node)
                .ok_or_else(|| format!("no packets for {scenario}/{node}"))?;
            crate::contiv::write_pcaps(&scenario_dir.join(node).join("input"), &pkts)?;
        }
        return Ok(());
    }
    let pkts = packets(scenario).ok_or_else(|| format!("unknown scenario `{scenario}`"))?;
    crate::contiv::write_pcaps(&scenario_dir.join("input"), &pkts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_lengths_are_the_seeds() {
        // Seed 000, lines 106 and 108: `length 77`, `length 131`.
        assert_eq!(nodeport_request().len(), 77);
        assert_eq!(nodeport_response().len(), 131);
    }

    #[test]
    fn every_input_is_valid_tcp() {
        let all: Vec<(&str, DocPacket)> = SCENARIOS
            .iter()
            .flat_map(|s| packets(s).unwrap().into_iter().map(move |p| (*s, p)))
            .chain(NODE_SCENARIOS.iter().flat_map(|(s, nodes)| {
                nodes.iter().flat_map(move |n| {
                    node_packets(s, n)
                        .unwrap()
                        .into_iter()
                        .map(move |p| (*s, p))
                })
            }))
            .collect();
        {
            for (s, p) in all {
                let sp = etherparse::SlicedPacket::from_ethernet(&p.frame).expect("parses");
                let (
                    Some(etherparse::NetSlice::Ipv4(ip)),
                    Some(etherparse::TransportSlice::Tcp(t)),
                ) = (sp.net, sp.transport)
                else {
                    panic!("{s}: not TCP/IPv4")
                };
                let h = ip.header().to_header();
                assert_eq!(h.header_checksum, h.calc_header_checksum(), "{s}");
                let want = t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap();
                assert_eq!(t.checksum(), want, "{s} {}", p.iface);
            }
        }
    }

    #[test]
    fn tcpdump_times() {
        assert_eq!(
            tcpdump_time_ns("04:53:36.353399"),
            ((4 * 3600 + 53 * 60 + 36) * 1_000_000 + 353_399) * 1_000
        );
    }
}
