//! Packet parsing and in-place translation with incremental checksums (RFC 1624, VPP's
//! `ip_csum_update` order, bit for bit through [`IpCsum`]).

use graph_nodes::wire::checksum::IpCsum;

use crate::session::{proto, Endpoints};

/// Read a big-endian u16.
#[inline(always)]
pub fn rd16(d: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([d[o], d[o + 1]])
}

/// Read a big-endian u32.
#[inline(always)]
pub fn rd32(d: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]])
}

/// Write a big-endian u16.
#[inline(always)]
pub fn wr16(d: &mut [u8], o: usize, v: u16) {
    d[o..o + 2].copy_from_slice(&v.to_be_bytes());
}

/// Write a big-endian u32.
#[inline(always)]
pub fn wr32(d: &mut [u8], o: usize, v: u32) {
    d[o..o + 4].copy_from_slice(&v.to_be_bytes());
}

/// ICMP types.
pub mod icmp {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;

    /// True for the error messages whose payload quotes the offending packet (VPP's
    /// `icmp_is_error_message`).
    #[inline]
    pub fn is_error(t: u8) -> bool {
        matches!(t, 3 | 4 | 5 | 6 | 11 | 12)
    }
}

/// What the NAT nodes need of a packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pkt {
    /// Offset of the IPv4 header in the data.
    pub ip: usize,
    /// Offset of the L4 header.
    pub l4: usize,
    /// IP protocol.
    pub proto: u8,
    /// TTL.
    pub ttl: u8,
    /// Source address.
    pub src: u32,
    /// Destination address.
    pub dst: u32,
    /// Source port (ICMP echo: identifier).
    pub sport: u16,
    /// Destination port (ICMP echo: identifier).
    pub dport: u16,
    /// A fragment (more-fragments set or non-zero offset).
    pub frag: bool,
    /// A fragment other than the first: no L4 header here (its L4 fields come from the
    /// shallow reassembly, see [`with_reass`]).
    pub nonfirst: bool,
    /// ICMP type (ICMP only).
    pub icmp_type: u8,
    /// TCP flags (TCP only).
    pub tcp_flags: u8,
    /// The L4 header needed for translation is complete.
    pub l4_ok: bool,
}

/// Parse the IPv4 header at `ip` and the L4 fields NAT uses. None if the IPv4 header is not there.
#[inline(always)]
pub fn parse(d: &[u8], ip: usize) -> Option<Pkt> {
    let h = d.get(ip..ip + 20)?;
    let ihl = ((h[0] & 0xf) as usize) * 4;
    let mut p = Pkt {
        ip,
        l4: ip + ihl,
        proto: h[9],
        ttl: h[8],
        src: u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
        dst: u32::from_be_bytes([h[16], h[17], h[18], h[19]]),
        frag: (u16::from_be_bytes([h[6], h[7]]) & 0x3fff) != 0,
        nonfirst: (u16::from_be_bytes([h[6], h[7]]) & 0x1fff) != 0,
        ..Pkt::default()
    };
    if ihl < 20 || p.nonfirst {
        return Some(p);
    }
    let l4 = p.l4;
    match p.proto {
        proto::TCP if d.len() >= l4 + 20 => {
            p.sport = rd16(d, l4);
            p.dport = rd16(d, l4 + 2);
            p.tcp_flags = d[l4 + 13];
            p.l4_ok = true;
        }
        proto::UDP if d.len() >= l4 + 8 => {
            p.sport = rd16(d, l4);
            p.dport = rd16(d, l4 + 2);
            p.l4_ok = true;
        }
        proto::ICMP if d.len() >= l4 + 8 => {
            p.icmp_type = d[l4];
            let id = rd16(d, l4 + 4);
            p.sport = id;
            p.dport = id;
            p.l4_ok = true;
        }
        proto::TCP | proto::UDP | proto::ICMP => {}
        _ => p.l4_ok = true,
    }
    Some(p)
}

/// A fragment takes its datagram's L4 fields from the shallow virtual reassembly (the first
/// fragment's ports, TCP flags, ICMP type and identifier). False if the fragment has none (it
/// did not go through the reassembly): it cannot be translated.
#[inline]
pub fn with_reass(p: &mut Pkt, r: Option<engine::buffer::ReassL4>) -> bool {
    if !p.frag {
        return true;
    }
    let Some(r) = r else {
        return false;
    };
    if p.nonfirst {
        match p.proto {
            proto::TCP | proto::UDP => {
                p.sport = u16::from_be_bytes([r.head[0], r.head[1]]);
                p.dport = u16::from_be_bytes([r.head[2], r.head[3]]);
                p.tcp_flags = r.tcp_flags;
            }
            proto::ICMP => {
                p.icmp_type = r.head[0];
                p.sport = r.icmp_id;
                p.dport = r.icmp_id;
            }
            _ => {}
        }
        p.l4_ok = true;
    }
    true
}

/// After translating a fragment, its reassembly fields follow the translation, so that output
/// features (an egress ACL after a DNAT) see the datagram's new ports on every fragment.
pub fn xlate_reass(
    m: &mut engine::buffer::BufferMeta,
    p: &Pkt,
    to: &Endpoints,
    twice: bool,
    o2i: bool,
) {
    if !p.frag {
        return;
    }
    let Some(mut r) = m.reass_l4() else {
        return;
    };
    match p.proto {
        proto::TCP | proto::UDP => {
            // Local side: destination for o2i, source for i2o.
            let (l, rem) = if o2i { (2, 0) } else { (0, 2) };
            r.head[l..l + 2].copy_from_slice(&to.l_port.to_be_bytes());
            if twice {
                r.head[rem..rem + 2].copy_from_slice(&to.r_port.to_be_bytes());
            }
        }
        proto::ICMP => r.icmp_id = to.l_port,
        _ => {}
    }
    m.set_reass_l4(r);
}

/// TCP sequence and acknowledgment numbers of a parsed TCP packet.
#[inline(always)]
pub fn tcp_seq_ack(d: &[u8], p: &Pkt) -> (u32, u32) {
    (rd32(d, p.l4 + 4), rd32(d, p.l4 + 8))
}

#[inline(always)]
fn l4_update(d: &mut [u8], p: &Pkt, f: impl FnOnce(IpCsum) -> IpCsum) {
    match p.proto {
        proto::TCP => {
            let o = p.l4 + 16;
            let c = f(IpCsum::from_field(rd16(d, o))).fold();
            wr16(d, o, c);
        }
        proto::UDP => {
            let o = p.l4 + 6;
            let old = rd16(d, o);
            if old != 0 {
                let c = f(IpCsum::from_field(old)).fold();
                wr16(d, o, if c == 0 { 0xffff } else { c });
            }
        }
        _ => {}
    }
}

/// Translate an outside-to-inside packet: destination `to.l`, and with `twice` the source
/// `to.r`. IP, TCP/UDP (or ICMP echo identifier) checksums are updated incrementally in VPP's
/// order (destination address, destination port, then source address, source port).
#[inline(always)]
pub fn xlate_o2i(d: &mut [u8], p: &Pkt, to: &Endpoints, twice: bool) {
    xlate(d, p, to, twice, true)
}

/// Translate an inside-to-outside packet: source `to.l`, and with `twice` the destination `to.r`.
/// Checksum order: source address, source port, then destination address, destination port.
#[inline(always)]
pub fn xlate_i2o(d: &mut [u8], p: &Pkt, to: &Endpoints, twice: bool) {
    xlate(d, p, to, twice, false)
}

/// Both directions: the packet's local side (destination for `o2i`, source otherwise) becomes
/// `to.l`, and with `twice` its remote side becomes `to.r`, checksums in that order.
#[inline(always)]
fn xlate(d: &mut [u8], p: &Pkt, to: &Endpoints, twice: bool, o2i: bool) {
    // (address, port, address offset in the IP header, port offset in the L4 header) of the
    // packet's local and remote sides.
    let src = (p.src, p.sport, 12, 0);
    let dst = (p.dst, p.dport, 16, 2);
    let (l, r) = if o2i { (dst, src) } else { (src, dst) };
    let ip = p.ip;
    let mut ipc = IpCsum::from_field(rd16(d, ip + 10)).update_u32(l.0, to.l_addr);
    if twice {
        ipc = ipc.update_u32(r.0, to.r_addr);
    }
    wr16(d, ip + 10, ipc.fold());
    wr32(d, ip + l.2, to.l_addr);
    if twice {
        wr32(d, ip + r.2, to.r_addr);
    }
    if p.nonfirst {
        // No L4 header in this fragment: the first one's checksum update covers the
        // pseudo-header change of the whole datagram.
        return;
    }
    if p.proto == proto::ICMP {
        // Echo: the identifier is the local port.
        if to.l_port != l.1 {
            let o = p.l4 + 2;
            let c = IpCsum::from_field(rd16(d, o))
                .update_u16(l.1, to.l_port)
                .fold();
            wr16(d, o, c);
            wr16(d, p.l4 + 4, to.l_port);
        }
        return;
    }
    l4_update(d, p, |c| {
        let c = c.update_u32(l.0, to.l_addr).update_u16(l.1, to.l_port);
        if twice {
            c.update_u32(r.0, to.r_addr).update_u16(r.1, to.r_port)
        } else {
            c
        }
    });
    wr16(d, p.l4 + l.3, to.l_port);
    if twice {
        wr16(d, p.l4 + r.3, to.r_port);
    }
}

/// The packet quoted by an ICMP error.
#[derive(Clone, Copy, Debug)]
pub struct Inner {
    /// Offset of the inner IPv4 header.
    pub ip: usize,
    /// Offset of the inner L4 header.
    pub l4: usize,
    /// Inner protocol.
    pub proto: u8,
    /// Inner source.
    pub src: u32,
    /// Inner destination.
    pub dst: u32,
    /// Inner source port (echo: identifier).
    pub sport: u16,
    /// Inner destination port (echo: identifier).
    pub dport: u16,
}

/// Parse the packet quoted by the ICMP error of `p` (TCP, UDP or ICMP echo inside, at least
/// 8 bytes of its L4 header quoted).
pub fn parse_inner(d: &[u8], p: &Pkt) -> Option<Inner> {
    let ip = p.l4 + 8;
    let h = d.get(ip..ip + 20)?;
    let ihl = ((h[0] & 0xf) as usize) * 4;
    if ihl < 20 {
        return None;
    }
    let l4 = ip + ihl;
    let pr = h[9];
    let (sport, dport) = match pr {
        proto::TCP | proto::UDP if d.len() >= l4 + 4 => (rd16(d, l4), rd16(d, l4 + 2)),
        proto::ICMP if d.len() >= l4 + 8 => {
            let id = rd16(d, l4 + 4);
            (id, id)
        }
        _ => return None,
    };
    Some(Inner {
        ip,
        l4,
        proto: pr,
        src: u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
        dst: u32::from_be_bytes([h[16], h[17], h[18], h[19]]),
        sport,
        dport,
    })
}

/// Rewrite the quoted packet of an ICMP error: inner source becomes `src`, inner destination
/// `dst` (address, port or echo identifier); the inner IP checksum, the inner L4 checksum when it
/// is quoted, and the outer ICMP checksum (over everything changed) are updated incrementally.
pub fn xlate_inner(d: &mut [u8], p: &Pkt, inn: &Inner, src: (u32, u16), dst: (u32, u16)) {
    let icmp_c = p.l4 + 2;
    let mut ic = IpCsum::from_field(rd16(d, icmp_c));
    // Inner IP header.
    let old_ipc = rd16(d, inn.ip + 10);
    let new_ipc = IpCsum::from_field(old_ipc)
        .update_u32(inn.src, src.0)
        .update_u32(inn.dst, dst.0)
        .fold();
    ic = ic
        .update_u32(inn.src, src.0)
        .update_u32(inn.dst, dst.0)
        .update_u16(old_ipc, new_ipc);
    wr32(d, inn.ip + 12, src.0);
    wr32(d, inn.ip + 16, dst.0);
    wr16(d, inn.ip + 10, new_ipc);
    match inn.proto {
        proto::TCP | proto::UDP => {
            ic = ic.update_u16(inn.sport, src.1).update_u16(inn.dport, dst.1);
            let co = if inn.proto == proto::TCP {
                inn.l4 + 16
            } else {
                inn.l4 + 6
            };
            if d.len() >= co + 2 {
                let old = rd16(d, co);
                if !(inn.proto == proto::UDP && old == 0) {
                    let mut n = IpCsum::from_field(old)
                        .update_u32(inn.src, src.0)
                        .update_u32(inn.dst, dst.0)
                        .update_u16(inn.sport, src.1)
                        .update_u16(inn.dport, dst.1)
                        .fold();
                    if inn.proto == proto::UDP && n == 0 {
                        n = 0xffff;
                    }
                    ic = ic.update_u16(old, n);
                    wr16(d, co, n);
                }
            }
            wr16(d, inn.l4, src.1);
            wr16(d, inn.l4 + 2, dst.1);
        }
        _ => {
            // Inner echo: the identifier is that of the side that sent it (the source).
            let old_id = inn.sport;
            let new_id = src.1;
            if old_id != new_id {
                let co = inn.l4 + 2;
                let old = rd16(d, co);
                let n = IpCsum::from_field(old).update_u16(old_id, new_id).fold();
                ic = ic.update_u16(old_id, new_id).update_u16(old, n);
                wr16(d, co, n);
                wr16(d, inn.l4 + 4, new_id);
            }
        }
    }
    wr16(d, icmp_c, ic.fold());
}

/// Rewrite one outer address of an ICMP error (IP checksum only: ICMP has no pseudo-header).
pub fn xlate_outer_addr(d: &mut [u8], p: &Pkt, src: u32, dst: u32) {
    let ip = p.ip;
    let c = IpCsum::from_field(rd16(d, ip + 10))
        .update_u32(p.dst, dst)
        .update_u32(p.src, src)
        .fold();
    wr16(d, ip + 10, c);
    wr32(d, ip + 12, src);
    wr32(d, ip + 16, dst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph_nodes::wire::checksum;

    fn syn(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, ipc: u16, tcpc: u16) -> Vec<u8> {
        let mut d = vec![
            0x45, 0, 0, 60, 0xbf, 0xf6, 0x40, 0, 64, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        d[10..12].copy_from_slice(&ipc.to_be_bytes());
        d[12..16].copy_from_slice(&src);
        d[16..20].copy_from_slice(&dst);
        let mut t = vec![0u8; 40];
        t[0..2].copy_from_slice(&sport.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[16..18].copy_from_slice(&tcpc.to_be_bytes());
        d.extend(t);
        d
    }

    #[test]
    fn documented_dnat_and_snat_checksums() {
        // POD_TO_SERVICE_SAME_NODE: 10.1.1.3:51082 -> 10.104.221.85:80 DNAT to 10.1.1.5:8080.
        let mut d = syn([10, 1, 1, 3], [10, 104, 221, 85], 51082, 80, 0x8804, 0x50b8);
        let p = parse(&d, 0).unwrap();
        let to = Endpoints {
            l_addr: u32::from_be_bytes([10, 1, 1, 5]),
            r_addr: p.src,
            l_port: 8080,
            r_port: 51082,
        };
        xlate_o2i(&mut d, &p, &to, false);
        assert_eq!(rd16(&d, 10), 0x64bc);
        assert_eq!(rd16(&d, 36), 0x0e30);
        assert!(checksum::verify_ipv4_header_checksum(&d[..20]));
        // Response SNAT back: 10.1.1.5:8080 -> 10.1.1.3:51082, ip 0x24b3 tcp 0x8023 -> 0x47fb / 0xc2ab.
        let mut r = syn([10, 1, 1, 5], [10, 1, 1, 3], 8080, 51082, 0x24b3, 0x8023);
        r[4] = 0;
        r[5] = 0;
        let p = parse(&r, 0).unwrap();
        let to = Endpoints {
            l_addr: u32::from_be_bytes([10, 104, 221, 85]),
            r_addr: p.dst,
            l_port: 80,
            r_port: 51082,
        };
        xlate_i2o(&mut r, &p, &to, false);
        assert_eq!(rd16(&r, 10), 0x47fb);
        assert_eq!(rd16(&r, 36), 0xc2ab);
        // POD_TO_INTERNET SNAT: 10.1.1.3:41084 -> 192.168.16.1:25801, tcp 0x91d0 -> 0x07de.
        let mut s = syn([10, 1, 1, 3], [31, 134, 97, 51], 41084, 80, 0x3154, 0x91d0);
        let p = parse(&s, 0).unwrap();
        let to = Endpoints {
            l_addr: u32::from_be_bytes([192, 168, 16, 1]),
            r_addr: p.dst,
            l_port: 25801,
            r_port: 80,
        };
        xlate_i2o(&mut s, &p, &to, false);
        assert_eq!(rd16(&s, 36), 0x07de);
    }

    #[test]
    fn udp_checksum_follows_and_zero_stays_zero() {
        let mut d = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = checksum::ipv4_header_checksum(&d[..20]);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        d.extend_from_slice(&[0x13, 0x88, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00]);
        let uc =
            checksum::ipv4_l4_checksum([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), 17, &d[20..]);
        d[26..28].copy_from_slice(&uc.to_be_bytes());
        let p = parse(&d, 0).unwrap();
        let to = Endpoints {
            l_addr: u32::from_be_bytes([192, 168, 1, 1]),
            r_addr: p.dst,
            l_port: 40000,
            r_port: 53,
        };
        let mut z = d.clone();
        xlate_i2o(&mut d, &p, &to, false);
        assert!(checksum::verify_ipv4_header_checksum(&d[..20]));
        assert!(checksum::verify_ipv4_l4_checksum(
            [192, 168, 1, 1].into(),
            [10, 0, 0, 2].into(),
            17,
            &d[20..]
        ));
        z[26] = 0;
        z[27] = 0;
        xlate_i2o(&mut z, &p, &to, false);
        assert_eq!(rd16(&z, 26), 0);
    }
}
