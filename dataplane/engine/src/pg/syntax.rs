//! VPP's packet description syntax, the `data { ... }` of `packet-generator new`, compiled into a
//! [`Template`]. Layers are written outermost first, each layer's parser choosing the next one by
//! the protocol it carries, as VPP's `unformat_pg_*_header` functions do:
//!
//! ```text
//! IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06 [vlan ID [priority P] [cfi C]]...
//!                                    ethernet (source -> destination; `1.2.3` is 0001.0002.0003)
//! UDP: 10.0.0.1 - 10.0.0.100 -> 10.0.1.1 [ttl N] [tos N] [length N] [checksum N] [version N]
//!      [header-length N] [fragment id N offset N] [df] [mf] [ce]
//!                                    IPv4, `UDP`/`TCP`/`ICMP`/... being its protocol
//! UDP: 1234 -> 5678 [length N] [checksum N]
//! TCP: 1234 -> 80 [SYN] [ACK] [FIN] [RST] [PSH] [URG] [ECE] [CWR] [window N] [seqnum N]
//!      [acknum N] [checksum N] [opt mss N] [opt winscale N] [opt timestamp N N] [opt sackperm]
//!      [opt sack nvalues N V...]
//! ICMP echo_request [checksum N]     ICMP (a type, or a type-and-code name)
//! incrementing N | hex 0xHEX         the payload, cut or zero-padded to the packet size
//! ```
//!
//! Every value may be a range: `A - B` increments from A to B, one step per packet, `A + B` is
//! random in A..=B. Lengths and checksums that are not given are filled in per packet.

use super::edit::{Builder, Field, Fixup, Template, Value};

/// What a stream's first node expects its packets to start with (VPP: the node's
/// `unformat_edit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// An Ethernet header (`ethernet-input`).
    Ethernet,
    /// An IPv4 header (`ip4-input`, `ip4-input-no-checksum`, `ip4-lookup`).
    Ip4,
    /// Payload only (any other node).
    Payload,
}

impl Layer {
    /// The layer `node`'s packets start with.
    pub fn of_node(node: &str) -> Layer {
        match node {
            "ethernet-input" => Layer::Ethernet,
            "ip4-input" | "ip4-input-no-checksum" | "ip4-lookup" => Layer::Ip4,
            _ => Layer::Payload,
        }
    }
}

/// Compile `text` (the inside of `data { ... }`) for a stream whose packets start at `first`,
/// with packet sizes `size`, at most `max_bytes` each. The error is one line saying what was
/// wrong and what was expected.
pub fn parse(text: &str, first: Layer, size: Value, max_bytes: usize) -> Result<Template, String> {
    let mut sc = Scan { s: text, pos: 0 };
    let mut b = Builder::default();
    let payload = match first {
        _ if sc.at_payload() => finish_payload(&mut sc)?,
        Layer::Ethernet => ethernet(&mut sc, &mut b)?,
        Layer::Ip4 => ip4(&mut sc, &mut b)?,
        Layer::Payload => finish_payload(&mut sc)?,
    };
    b.finish(&payload, size, max_bytes)
}

/// Ethernet types by VPP's names (`src/vnet/ethernet/types.def`, the common ones).
const ETHERNET_TYPES: &[(&str, u64)] = &[
    ("IP4", 0x0800),
    ("ARP", 0x0806),
    ("TRANSPARENT_BRIDGING", 0x6558),
    ("REVERSE_ARP", 0x8035),
    ("VLAN", 0x8100),
    ("IP6", 0x86dd),
    ("MAC_CONTROL", 0x8808),
    ("SLOW_PROTOCOLS", 0x8809),
    ("MPLS", 0x8847),
    ("MPLS_UPSTREAM_ASSIGNED", 0x8848),
    ("PPPOE_DISCOVERY", 0x8863),
    ("PPPOE_SESSION", 0x8864),
    ("DOT1AD", 0x88a8),
    ("802_1_LLDP", 0x88cc),
    ("NSH", 0x894f),
    ("LOOPBACK", 0x9000),
];

/// IP protocols by VPP's names (`src/vnet/ip/protocols.def`, the common ones).
const IP_PROTOCOLS: &[(&str, u64)] = &[
    ("ICMP", 1),
    ("IGMP", 2),
    ("IP_IN_IP", 4),
    ("TCP", 6),
    ("UDP", 17),
    ("IPV6", 41),
    ("GRE", 47),
    ("IPSEC_ESP", 50),
    ("IPSEC_AH", 51),
    ("ICMP6", 58),
    ("OSPF", 89),
    ("PIM", 103),
    ("VRRP", 112),
    ("L2TP", 115),
    ("SCTP", 132),
    ("MPLS_IN_IP", 137),
    ("RESERVED", 255),
];

/// ICMPv4 types (`foreach_icmp4_type` of `icmp46_packet.h`).
const ICMP_TYPES: &[(&str, u8)] = &[
    ("echo_reply", 0),
    ("destination_unreachable", 3),
    ("source_quench", 4),
    ("redirect", 5),
    ("alternate_host_address", 6),
    ("echo_request", 8),
    ("router_advertisement", 9),
    ("router_solicitation", 10),
    ("time_exceeded", 11),
    ("parameter_problem", 12),
    ("timestamp_request", 13),
    ("timestamp_reply", 14),
    ("information_request", 15),
    ("information_reply", 16),
    ("address_mask_request", 17),
    ("address_mask_reply", 18),
    ("traceroute", 30),
    ("datagram_conversion_error", 31),
    ("mobile_host_redirect", 32),
    ("ip6_where_are_you", 33),
    ("ip6_i_am_here", 34),
    ("mobile_registration_request", 35),
    ("mobile_registration_reply", 36),
    ("domain_name_request", 37),
    ("domain_name_reply", 38),
    ("skip", 39),
    ("photuris", 40),
];

/// ICMPv4 type-and-code names (`foreach_icmp4_code`): (name, type, code).
const ICMP_CODES: &[(&str, u8, u8)] = &[
    ("destination_unreachable_net", 3, 0),
    ("destination_unreachable_host", 3, 1),
    ("protocol_unreachable", 3, 2),
    ("port_unreachable", 3, 3),
    ("fragmentation_needed_and_dont_fragment_set", 3, 4),
    ("source_route_failed", 3, 5),
    ("destination_network_unknown", 3, 6),
    ("destination_host_unknown", 3, 7),
    ("source_host_isolated", 3, 8),
    ("network_administratively_prohibited", 3, 9),
    ("host_administratively_prohibited", 3, 10),
    ("network_unreachable_for_type_of_service", 3, 11),
    ("host_unreachable_for_type_of_service", 3, 12),
    ("communication_administratively_prohibited", 3, 13),
    ("host_precedence_violation", 3, 14),
    ("precedence_cutoff_in_effect", 3, 15),
    ("network_redirect", 5, 0),
    ("host_redirect", 5, 1),
    ("type_of_service_and_network_redirect", 5, 2),
    ("type_of_service_and_host_redirect", 5, 3),
    ("normal_router_advertisement", 9, 0),
    ("does_not_route_common_traffic", 9, 16),
    ("ttl_exceeded_in_transit", 11, 0),
    ("fragment_reassembly_time_exceeded", 11, 1),
    ("pointer_indicates_error", 12, 0),
    ("missing_required_option", 12, 1),
    ("bad_length", 12, 2),
];

/// TCP flags in bit order (`foreach_tcp_flag`).
const TCP_FLAGS: &[&str] = &["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

/// A cursor over the description. Like VPP's `unformat`, white space (newlines included) is
/// skipped before every item, and a failed item consumes nothing.
struct Scan<'a> {
    s: &'a str,
    pos: usize,
}

/// How to read and print one kind of value.
struct Kind {
    /// What it is, for errors (`source MAC address`).
    what: &'static str,
    parse: fn(&mut Scan<'_>) -> Option<u64>,
    show: fn(u64) -> String,
}

fn show_dec(v: u64) -> String {
    v.to_string()
}

fn show_ip4(v: u64) -> String {
    std::net::Ipv4Addr::from(v as u32).to_string()
}

fn show_mac(v: u64) -> String {
    let b = v.to_be_bytes();
    crate::interface::format_mac(&[b[2], b[3], b[4], b[5], b[6], b[7]])
}

impl<'a> Scan<'a> {
    fn skip_ws(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn rest(&mut self) -> &'a str {
        self.skip_ws();
        &self.s[self.pos..]
    }

    fn at_end(&mut self) -> bool {
        self.rest().is_empty()
    }

    /// What is at the cursor, for errors: "`the next few words`" or "the end of the data".
    fn got(&mut self) -> String {
        let r = self.rest();
        if r.is_empty() {
            return "the end of the data".into();
        }
        let words: Vec<&str> = r.split_whitespace().take(4).collect();
        let mut t = words.join(" ");
        if t.chars().count() > 40 {
            t = t.chars().take(40).collect::<String>() + "...";
        }
        format!("`{t}`")
    }

    /// A literal (`->`, `:`).
    fn lit(&mut self, l: &str) -> bool {
        if self.rest().starts_with(l) {
            self.pos += l.len();
            true
        } else {
            false
        }
    }

    /// A word: `[A-Za-z0-9_]+` (VPP's name token), not consumed.
    fn peek_token(&mut self) -> &'a str {
        let r = self.rest();
        let n = r
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        &r[..n]
    }

    /// A keyword: the word `k` followed by white space or the end (case as given, or all
    /// lower/upper case when `any_case`).
    fn kw_case(&mut self, k: &str, any_case: bool) -> bool {
        let r = self.rest();
        let Some(head) = r.get(..k.len()) else {
            return false;
        };
        let same = if any_case {
            head.eq_ignore_ascii_case(k)
                && (head == k.to_ascii_lowercase() || head == k.to_ascii_uppercase())
        } else {
            head == k
        };
        if same && r[k.len()..].chars().next().is_none_or(char::is_whitespace) {
            self.pos += k.len();
            true
        } else {
            false
        }
    }

    fn kw(&mut self, k: &str) -> bool {
        self.kw_case(k, false)
    }

    /// The next thing is a header: `NAME:` (the name not yet consumed).
    fn at_header(&mut self, name: Option<&str>) -> bool {
        let save = self.pos;
        let t = self.peek_token();
        let ok = !t.is_empty() && name.is_none_or(|n| n == t) && {
            self.pos += t.len();
            self.lit(":")
        };
        self.pos = save;
        ok
    }

    /// The payload (or the end) is next.
    fn at_payload(&mut self) -> bool {
        let t = self.peek_token();
        self.at_end() || t == "incrementing" || t == "hex"
    }

    /// `0xHEX` or decimal.
    fn number(&mut self) -> Option<u64> {
        let r = self.rest();
        if let Some(h) = r.strip_prefix("0x").or_else(|| r.strip_prefix("0X")) {
            let n = h.bytes().take_while(u8::is_ascii_hexdigit).count();
            let v = u64::from_str_radix(h.get(..n).filter(|d| !d.is_empty())?, 16).ok()?;
            self.pos += 2 + n;
            return Some(v);
        }
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        let v = r.get(..n).filter(|d| !d.is_empty())?.parse().ok()?;
        self.pos += n;
        Some(v)
    }

    /// Groups of digits in `radix`, separated by `sep`, each at most `max`: (values, bytes read).
    fn groups(r: &str, n: usize, sep: u8, radix: u32, max: u64) -> Option<(Vec<u64>, usize)> {
        let b = r.as_bytes();
        let mut i = 0;
        let mut out = Vec::with_capacity(n);
        for k in 0..n {
            if k > 0 {
                if b.get(i) != Some(&sep) {
                    return None;
                }
                i += 1;
            }
            let d = b[i..]
                .iter()
                .take_while(|c| (**c as char).is_digit(radix))
                .count();
            if d == 0 || d > 16 {
                return None;
            }
            let v = u64::from_str_radix(&r[i..i + d], radix).ok()?;
            if v > max {
                return None;
            }
            out.push(v);
            i += d;
        }
        Some((out, i))
    }

    fn ip4(&mut self) -> Option<u64> {
        let (g, n) = Self::groups(self.rest(), 4, b'.', 10, 255)?;
        self.pos += n;
        Some(g.iter().fold(0, |a, &x| (a << 8) | x))
    }

    /// `xx:xx:xx:xx:xx:xx` or VPP's `xxxx.xxxx.xxxx`.
    fn mac(&mut self) -> Option<u64> {
        let r = self.rest();
        if let Some((g, n)) = Self::groups(r, 6, b':', 16, 0xff) {
            self.pos += n;
            return Some(g.iter().fold(0, |a, &x| (a << 8) | x));
        }
        let (g, n) = Self::groups(r, 3, b'.', 16, 0xffff)?;
        self.pos += n;
        Some(g.iter().fold(0, |a, &x| (a << 16) | x))
    }

    /// A name from `table`, or a number.
    fn named(&mut self, table: &[(&str, u64)]) -> Option<u64> {
        let t = self.peek_token();
        if let Some((_, v)) = table.iter().find(|(n, _)| *n == t) {
            self.pos += t.len();
            return Some(*v);
        }
        self.number()
    }

    /// A value, fixed or a range (`A - B` increments, `A + B` random), of at most `max`. None if
    /// there is no value here (nothing consumed).
    fn edit(&mut self, k: &Kind, max: u64) -> Result<Option<Value>, String> {
        let Some(lo) = (k.parse)(self) else {
            return Ok(None);
        };
        let mut v = Value::Fixed(lo);
        let mark = self.pos;
        let r = self.rest();
        let random = r.starts_with('+');
        if random || (r.starts_with('-') && !r.starts_with("->")) {
            self.pos += 1;
            match (k.parse)(self) {
                Some(hi) if hi < lo => {
                    return Err(format!(
                        "the {} range {} - {} goes down; give the low value first",
                        k.what,
                        (k.show)(lo),
                        (k.show)(hi)
                    ))
                }
                Some(hi) if random => v = Value::Random(lo, hi),
                Some(hi) => v = Value::Increment(lo, hi),
                // Not a range after all (as VPP's unformat, back up).
                None => self.pos = mark,
            }
        }
        if v.hi() > max {
            return Err(format!(
                "{} {} is out of range: at most {}",
                k.what,
                (k.show)(v.hi()),
                (k.show)(max)
            ));
        }
        Ok(Some(v))
    }

    /// A value that must be there.
    fn need(&mut self, k: &Kind, max: u64, after: &str) -> Result<Value, String> {
        match self.edit(k, max)? {
            Some(v) => Ok(v),
            None => Err(format!(
                "expected the {} after `{after}`, got {}",
                k.what,
                self.got()
            )),
        }
    }

    /// `->` between source and destination.
    fn arrow(&mut self, after: &str) -> Result<(), String> {
        if self.lit("->") {
            Ok(())
        } else {
            Err(format!(
                "expected `->` between source and destination after `{after}`, got {}",
                self.got()
            ))
        }
    }
}

fn number_kind(what: &'static str) -> Kind {
    Kind {
        what,
        parse: |s| s.number(),
        show: show_dec,
    }
}

const MAC: Kind = Kind {
    what: "MAC address",
    parse: |s| s.mac(),
    show: show_mac,
};

const IP4_ADDRESS: Kind = Kind {
    what: "IPv4 address",
    parse: |s| s.ip4(),
    show: show_ip4,
};

/// `TYPE: SRC -> DST [vlan ID [priority P] [cfi C]]...` then the next layer.
fn ethernet(sc: &mut Scan<'_>, b: &mut Builder) -> Result<Vec<u8>, String> {
    if !sc.at_header(None) {
        return Err(format!(
            "expected an Ethernet header `TYPE: SRC -> DST` (e.g. `IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06`) or a payload (`incrementing N`, `hex 0x...`), got {}",
            sc.got()
        ));
    }
    let off = b.push_header(14);
    let ty_kind = Kind {
        what: "Ethernet type",
        parse: |s| s.named(ETHERNET_TYPES),
        show: |v| format!("0x{v:04x}"),
    };
    let ty = match sc.edit(&ty_kind, 0xffff)? {
        Some(v) => v,
        None => {
            return Err(format!(
                "unknown Ethernet type `{}`; expected IP4, IP6, ARP, VLAN, MPLS, ... or a number such as 0x0800",
                sc.peek_token()
            ))
        }
    };
    sc.lit(":");
    let src = sc.need(&MAC, (1 << 48) - 1, "the Ethernet type")?;
    sc.arrow("the source MAC address")?;
    let dst = sc.need(&MAC, (1 << 48) - 1, "->")?;
    b.set(Field::bytes(off, 6), dst);
    b.set(Field::bytes(off + 6, 6), src);
    let mut type_field = Field::bytes(off + 12, 2);
    let mut n_vlan = 0;
    while sc.kw("vlan") {
        if n_vlan == 2 {
            return Err("at most two `vlan` tags (VPP's limit)".into());
        }
        n_vlan += 1;
        b.set(type_field, Value::Fixed(0x8100));
        let v = b.push_header(4);
        let id = sc.need(&number_kind("VLAN id"), 0xfff, "vlan")?;
        b.set(Field::bits(v, 2, 0, 12), id);
        if sc.kw("priority") {
            let p = sc.need(&number_kind("VLAN priority"), 7, "priority")?;
            b.set(Field::bits(v, 2, 13, 3), p);
        }
        if sc.kw("cfi") {
            let c = sc.need(&number_kind("VLAN cfi"), 1, "cfi")?;
            b.set(Field::bits(v, 2, 12, 1), c);
        }
        type_field = Field::bytes(v + 2, 2);
    }
    b.set(type_field, ty);
    if ty == Value::Fixed(0x0800) && !sc.at_payload() {
        return ip4(sc, b);
    }
    finish_payload(sc)
}

/// `PROTO: SRC -> DST [options]` (or `PROTO:` alone) then the next layer.
fn ip4(sc: &mut Scan<'_>, b: &mut Builder) -> Result<Vec<u8>, String> {
    if !sc.at_header(None) {
        return Err(format!(
            "expected an IPv4 header `PROTOCOL: SRC -> DST` (e.g. `UDP: 10.0.0.1 -> 10.0.1.1`) or a payload, got {}",
            sc.got()
        ));
    }
    let ip = b.push_header(20);
    let version = Field::bits(ip, 1, 4, 4);
    let header_length = Field::bits(ip, 1, 0, 4);
    let tos = Field::bytes(ip + 1, 1);
    let length = Field::bytes(ip + 2, 2);
    let fragment_id = Field::bytes(ip + 4, 2);
    let fragment_offset = Field::bits(ip + 6, 2, 0, 13);
    let ttl = Field::bytes(ip + 8, 1);
    let protocol = Field::bytes(ip + 9, 1);
    let checksum = Field::bytes(ip + 10, 2);
    b.set(version, Value::Fixed(4));
    b.set(header_length, Value::Fixed(5));
    b.set(ttl, Value::Fixed(64));
    let proto_kind = Kind {
        what: "IP protocol",
        parse: |s| s.named(IP_PROTOCOLS),
        show: show_dec,
    };
    let proto = match sc.edit(&proto_kind, 0xff)? {
        Some(v) => v,
        None => {
            return Err(format!(
                "unknown IP protocol `{}`; expected UDP, TCP, ICMP, GRE, ... or a number",
                sc.peek_token()
            ))
        }
    };
    sc.lit(":");
    b.set(protocol, proto);
    if let Some(src) = sc.edit(&IP4_ADDRESS, u32::MAX as u64)? {
        sc.arrow("the source IPv4 address")?;
        let dst = sc.need(&IP4_ADDRESS, u32::MAX as u64, "->")?;
        b.set(Field::bytes(ip + 12, 4), src);
        b.set(Field::bytes(ip + 16, 4), dst);
    }
    let (mut length_given, mut checksum_given) = (false, false);
    loop {
        let numeric: &[(&str, Field)] = &[
            ("version", version),
            ("header-length", header_length),
            ("tos", tos),
            ("length", length),
            ("checksum", checksum),
            ("ttl", ttl),
        ];
        if let Some(&(name, f)) = numeric.iter().find(|(n, _)| sc.kw(n)) {
            let v = sc.need(&number_kind(name), f.max(), name)?;
            b.set(f, v);
            length_given |= name == "length";
            checksum_given |= name == "checksum";
        } else if sc.kw("fragment") {
            if !sc.kw("id") {
                return Err(format!(
                    "expected `fragment id N offset N`, got `fragment` {}",
                    sc.got()
                ));
            }
            let id = sc.need(&number_kind("fragment id"), 0xffff, "fragment id")?;
            if !sc.kw("offset") {
                return Err(format!(
                    "expected `offset N` after the fragment id, got {}",
                    sc.got()
                ));
            }
            // Given in bytes, stored in 8-byte units (as VPP).
            let off = sc.need(&number_kind("fragment offset"), 0xffff, "offset")?;
            let units = match off {
                Value::Fixed(v) => Value::Fixed(v / 8),
                Value::Increment(l, h) => Value::Increment(l / 8, h / 8),
                Value::Random(l, h) => Value::Random(l / 8, h / 8),
            };
            b.set(fragment_id, id);
            b.set(fragment_offset, units);
        } else if let Some(bit) = [("mf", 13u8), ("df", 14), ("ce", 15)]
            .into_iter()
            .find(|(n, _)| sc.kw_case(n, true))
            .map(|(_, bit)| bit)
        {
            b.set(Field::bits(ip + 6, 2, bit, 1), Value::Fixed(1));
        } else {
            break;
        }
    }
    if !length_given || !checksum_given {
        b.fixup(Fixup::Ip4 {
            ip,
            length: !length_given,
            checksum: !checksum_given,
        });
    }
    match b.fixed(protocol) {
        Some(17) if sc.at_header(Some("UDP")) => udp(sc, b, ip),
        Some(6) if sc.at_header(Some("TCP")) => tcp(sc, b, ip, length_given),
        Some(1) if sc.peek_token() == "ICMP" => icmp(sc, b, ip, length_given),
        _ => finish_payload(sc),
    }
}

/// `UDP: SPORT -> DPORT [length N] [checksum N]` then the payload.
fn udp(sc: &mut Scan<'_>, b: &mut Builder, ip: u16) -> Result<Vec<u8>, String> {
    sc.lit("UDP");
    sc.lit(":");
    let udp = b.push_header(8);
    let port = number_kind("UDP port");
    let src = sc.need(&port, 0xffff, "UDP:")?;
    sc.arrow("the UDP source port")?;
    let dst = sc.need(&port, 0xffff, "->")?;
    b.set(Field::bytes(udp, 2), src);
    b.set(Field::bytes(udp + 2, 2), dst);
    let (mut length_given, mut checksum_given) = (false, false);
    loop {
        if sc.kw("length") {
            let v = sc.need(&number_kind("UDP length"), 0xffff, "length")?;
            b.set(Field::bytes(udp + 4, 2), v);
            length_given = true;
        } else if sc.kw("checksum") {
            let v = sc.need(&number_kind("UDP checksum"), 0xffff, "checksum")?;
            b.set(Field::bytes(udp + 6, 2), v);
            checksum_given = true;
        } else {
            break;
        }
    }
    if !length_given || !checksum_given {
        b.fixup(Fixup::Udp {
            ip,
            udp,
            length: !length_given,
            checksum: !checksum_given,
        });
    }
    finish_payload(sc)
}

/// `TCP: SPORT -> DPORT [flags] [window N] [seqnum N] [acknum N] [checksum N] [opt ...]...`
/// then the payload.
fn tcp(
    sc: &mut Scan<'_>,
    b: &mut Builder,
    ip: u16,
    ip_length_given: bool,
) -> Result<Vec<u8>, String> {
    sc.lit("TCP");
    sc.lit(":");
    let tcp = b.push_header(20);
    let port = number_kind("TCP port");
    let src = sc.need(&port, 0xffff, "TCP:")?;
    sc.arrow("the TCP source port")?;
    let dst = sc.need(&port, 0xffff, "->")?;
    b.set(Field::bytes(tcp, 2), src);
    b.set(Field::bytes(tcp + 2, 2), dst);
    b.set(Field::bytes(tcp + 14, 2), Value::Fixed(4096));
    let mut checksum_given = false;
    loop {
        let numeric: &[(&str, Field)] = &[
            ("window", Field::bytes(tcp + 14, 2)),
            ("checksum", Field::bytes(tcp + 16, 2)),
            ("seqnum", Field::bytes(tcp + 4, 4)),
            ("acknum", Field::bytes(tcp + 8, 4)),
        ];
        if let Some(&(name, f)) = numeric.iter().find(|(n, _)| sc.kw(n)) {
            let v = sc.need(&number_kind(name), f.max(), name)?;
            b.set(f, v);
            checksum_given |= name == "checksum";
        } else if let Some(bit) = TCP_FLAGS.iter().position(|f| sc.kw_case(f, true)) {
            b.set(Field::bits(tcp + 13, 1, bit as u8, 1), Value::Fixed(1));
        } else {
            break;
        }
    }
    let opts_start = b.len();
    while sc.kw("opt") {
        // (kind, length, value widths); sack's length depends on nvalues.
        let (kind, widths): (u8, Vec<u8>) = if sc.kw("mss") {
            (2, vec![2])
        } else if sc.kw("winscale") {
            (3, vec![1])
        } else if sc.kw("sackperm") {
            (4, vec![])
        } else if sc.kw("timestamp") {
            (8, vec![4, 4])
        } else if sc.kw("sack") {
            if !sc.kw("nvalues") {
                return Err(format!(
                    "expected `nvalues N` after `opt sack`, got {}",
                    sc.got()
                ));
            }
            let n = sc.number().filter(|n| (1..=4).contains(n)).ok_or_else(|| {
                format!(
                    "expected the number of SACK blocks (1-4) after `nvalues`, got {}",
                    sc.got()
                )
            })?;
            (5, vec![4; 2 * n as usize])
        } else {
            return Err(format!(
                "expected a TCP option (`mss N`, `winscale N`, `timestamp N N`, `sackperm`, `sack nvalues N ...`) after `opt`, got {}",
                sc.got()
            ));
        };
        let len = 2 + widths.iter().map(|&w| w as usize).sum::<usize>();
        let o = b.push_header(len);
        b.set(Field::bytes(o, 1), Value::Fixed(kind as u64));
        b.set(Field::bytes(o + 1, 1), Value::Fixed(len as u64));
        let mut at = o + 2;
        for w in widths {
            let f = Field::bytes(at, w);
            let v = sc.need(&number_kind("TCP option value"), f.max(), "opt")?;
            b.set(f, v);
            at += w as u16;
        }
    }
    let opts = b.len() - opts_start;
    if opts > 40 {
        return Err(format!(
            "TCP options take {opts} bytes; at most 40 fit in a TCP header"
        ));
    }
    // NOPs to the next 4-byte boundary, as VPP.
    let pad = (4 - opts % 4) % 4;
    b.push_bytes(&[1, 1, 1][..pad]);
    b.set(
        Field::bits(tcp + 12, 1, 4, 4),
        Value::Fixed(((20 + opts + pad) / 4) as u64),
    );
    if !checksum_given {
        b.fixup(Fixup::Tcp {
            ip,
            tcp,
            ip_length_given,
        });
    }
    finish_payload(sc)
}

/// `ICMP TYPE [checksum N]` then the payload.
fn icmp(
    sc: &mut Scan<'_>,
    b: &mut Builder,
    ip: u16,
    ip_length_given: bool,
) -> Result<Vec<u8>, String> {
    sc.lit("ICMP");
    let icmp = b.push_header(4);
    let t = sc.peek_token();
    let (ty, code) = if let Some(&(_, ty, code)) = ICMP_CODES.iter().find(|(n, _, _)| *n == t) {
        (ty, code)
    } else if let Some(&(_, ty)) = ICMP_TYPES.iter().find(|(n, _)| *n == t) {
        (ty, 0)
    } else {
        return Err(format!(
            "expected an ICMP type after `ICMP` (echo_request, echo_reply, destination_unreachable, port_unreachable, time_exceeded, ...), got {}",
            sc.got()
        ));
    };
    sc.pos += t.len();
    b.set(Field::bytes(icmp, 1), Value::Fixed(ty as u64));
    b.set(Field::bytes(icmp + 1, 1), Value::Fixed(code as u64));
    if sc.kw("checksum") {
        let v = sc.need(&number_kind("ICMP checksum"), 0xffff, "checksum")?;
        b.set(Field::bytes(icmp + 2, 2), v);
    } else {
        b.fixup(Fixup::Icmp {
            ip,
            icmp,
            ip_length_given,
        });
    }
    finish_payload(sc)
}

/// The payload, which must end the description.
fn finish_payload(sc: &mut Scan<'_>) -> Result<Vec<u8>, String> {
    let p = payload(sc)?;
    if !sc.at_end() {
        return Err(format!(
            "unexpected {} after the payload: the payload (`incrementing N` or `hex 0x...`) comes last",
            sc.got()
        ));
    }
    Ok(p)
}

/// `incrementing N` (bytes 0, 1, 2, ... N-1), `hex 0xHEX`, or nothing (zeros).
fn payload(sc: &mut Scan<'_>) -> Result<Vec<u8>, String> {
    if sc.at_end() {
        return Ok(Vec::new());
    }
    if sc.kw("incrementing") {
        let n = sc.number().filter(|&n| n <= 65535).ok_or_else(|| {
            format!(
                "expected a byte count (0-65535) after `incrementing`, got {}",
                sc.got()
            )
        })?;
        return Ok((0..n).map(|i| i as u8).collect());
    }
    if sc.kw("hex") {
        let r = sc.rest();
        let digits = r
            .strip_prefix("0x")
            .or_else(|| r.strip_prefix("0X"))
            .map(|h| &h[..h.bytes().take_while(u8::is_ascii_hexdigit).count()])
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("expected `0x` and hex digits after `hex`, got {}", sc.got()))?;
        if digits.len() % 2 != 0 {
            return Err(format!(
                "`hex 0x{digits}` has an odd number of hex digits; give whole bytes"
            ));
        }
        sc.pos += 2 + digits.len();
        return Ok((0..digits.len() / 2)
            .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect());
    }
    Err(format!(
        "expected a header or a payload (`incrementing N`, `hex 0x...`), got {}",
        sc.got()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::edit::PgRng;
    use super::*;
    use etherparse::{NetHeaders, PacketHeaders, TransportHeader};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    fn packets(text: &str, size: Value, n: usize) -> Vec<Vec<u8>> {
        let mut t = parse(text, Layer::Ethernet, size, 2048).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = PgRng::new(1);
        (0..n).map(|_| t.generate(&mut rng)).collect()
    }

    /// Every checksum and length of an Ethernet/IPv4 frame is right (etherparse recomputes
    /// them).
    fn check(frame: &[u8]) {
        let h = PacketHeaders::from_ethernet_slice(frame).expect("parses");
        let Some(NetHeaders::Ipv4(ip, _)) = &h.net else {
            panic!("no IPv4 header")
        };
        assert_eq!(ip.header_checksum, ip.calc_header_checksum(), "IP checksum");
        let eth_len = frame.len() - ip.total_len as usize;
        assert!(eth_len == 14 || eth_len == 18, "IP total length");
        let payload = h.payload.slice();
        match &h.transport {
            Some(TransportHeader::Udp(u)) => {
                assert_eq!(u.length as usize, 8 + payload.len(), "UDP length");
                let mut c = u.calc_checksum_ipv4(ip, payload).unwrap();
                if c == 0 {
                    c = 0xffff;
                }
                assert_eq!(u.checksum, c, "UDP checksum");
            }
            Some(TransportHeader::Tcp(t)) => {
                assert_eq!(
                    t.checksum,
                    t.calc_checksum_ipv4(ip, payload).unwrap(),
                    "TCP checksum"
                );
            }
            Some(TransportHeader::Icmpv4(i)) => {
                let want = etherparse::Icmpv4Header::with_checksum(i.icmp_type.clone(), payload);
                assert_eq!(i.checksum, want.checksum, "ICMP checksum");
            }
            other => panic!("unexpected transport {other:?}"),
        }
    }

    #[test]
    fn the_typical_udp_stream_is_the_hand_computed_frame() {
        let p = packets(
            "IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06
             UDP: 10.0.0.1 -> 10.0.1.1
             UDP: 1234 -> 5678
             incrementing 100",
            Value::Fixed(64),
            2,
        );
        // dst, src, IP4; 45 00 len 50, ttl 64, UDP, checksum 0x65ba; ports, length 30, checksum;
        // then bytes 0..21 (the 22 bytes left of `incrementing 100` in a 64-byte packet).
        let want = hex("00020304050600010203040508004500003200000000401165ba0a0000010a00010104d2162e001e6137000102030405060708090a0b0c0d0e0f101112131415");
        assert_eq!(p[0], want);
        assert_eq!(p[1], want, "nothing changes between packets");
        check(&p[0]);
    }

    #[test]
    fn icmp_echo_with_cisco_macs_is_the_hand_computed_frame() {
        let p = packets(
            "IP4: 1.2.3 -> 4.5.6 ICMP: 1.0.0.2 -> 1.0.0.1 ICMP echo_request incrementing 100",
            Value::Fixed(64),
            1,
        );
        let want = hex("00040005000600010002000308004500003200000000400178c9010000020100000108005b56000102030405060708090a0b0c0d0e0f10111213141516171819");
        assert_eq!(p[0], want);
        check(&p[0]);
    }

    #[test]
    fn tcp_syn_with_mss_is_the_hand_computed_frame() {
        let p = packets(
            "IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06
             TCP: 172.16.0.1 -> 172.16.0.2
             TCP: 40000 -> 80 SYN window 1024 seqnum 7 opt mss 1460",
            Value::Fixed(64),
            1,
        );
        // Data offset 6 (20 bytes + MSS option), flags SYN, then six zero bytes of payload.
        let want = hex("00020304050600010203040508004500003200000000400622a3ac100001ac1000029c4000500000000700000000600204009f650000020405b4000000000000");
        assert_eq!(p[0], want);
        check(&p[0]);
    }

    #[test]
    fn address_and_port_ranges_increment_per_packet_and_wrap() {
        let p = packets(
            "IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06
             UDP: 10.0.0.1 - 10.0.0.3 -> 10.0.1.1 ttl 10 tos 0x10
             UDP: 1000 -> 2000-2001",
            Value::Fixed(60),
            4,
        );
        let src: Vec<u8> = p.iter().map(|f| f[29]).collect();
        assert_eq!(src, [1, 2, 3, 1]);
        let dport: Vec<u16> = p
            .iter()
            .map(|f| u16::from_be_bytes([f[36], f[37]]))
            .collect();
        assert_eq!(dport, [2000, 2001, 2000, 2001]);
        for f in &p {
            assert_eq!((f[15], f[22]), (0x10, 10), "tos, ttl");
            check(f);
        }
    }

    #[test]
    fn sizes_increment_or_are_random_and_lengths_follow() {
        let text =
            "IP4: 0:1:2:3:4:5 -> 0:2:3:4:5:6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 1 -> 2 incrementing 30";
        let p = packets(text, Value::Increment(60, 62), 4);
        let lens: Vec<usize> = p.iter().map(Vec::len).collect();
        assert_eq!(lens, [60, 61, 62, 60]);
        p.iter().for_each(|f| check(f));
        let r = packets(text, Value::Random(60, 200), 50);
        assert!(r.iter().all(|f| (60..=200).contains(&f.len())));
        assert!(r.iter().any(|f| f.len() != r[0].len()));
        r.iter().for_each(|f| check(f));
    }

    #[test]
    fn random_fields_are_in_range_and_reproducible() {
        let text =
            "IP4: 0:1:2:3:4:5 -> 0:2:3:4:5:6 UDP: 10.0.0.1 -> 10.0.0.2 UDP: 1000 + 1999 -> 53";
        let a = packets(text, Value::Fixed(64), 100);
        let b = packets(text, Value::Fixed(64), 100);
        assert_eq!(a, b, "the same seed gives the same packets");
        let ports: Vec<u16> = a
            .iter()
            .map(|f| u16::from_be_bytes([f[34], f[35]]))
            .collect();
        assert!(ports.iter().all(|p| (1000..=1999).contains(p)));
        assert!(ports.iter().any(|&p| p != ports[0]));
        a.iter().for_each(|f| check(f));
        let mut t = parse(text, Layer::Ethernet, Value::Fixed(64), 2048).unwrap();
        let mut other = PgRng::new(2);
        let c: Vec<Vec<u8>> = (0..100).map(|_| t.generate(&mut other)).collect();
        assert_ne!(a, c, "another seed, other ports");
    }

    #[test]
    fn vlan_tags_fragments_flags_and_fixed_fields() {
        let p = packets(
            "IP4: 00:01:02:03:04:05 -> 00:02:03:04:05:06 vlan 100 priority 3
             UDP: 10.0.0.1 -> 10.0.1.1 df fragment id 7 offset 16
             UDP: 1 -> 2 checksum 0x1234 length 9
             hex 0xdeadbeef",
            Value::Fixed(64),
            1,
        );
        let f = &p[0];
        assert_eq!(&f[12..18], &[0x81, 0x00, 0x60, 0x64, 0x08, 0x00]);
        assert_eq!(&f[22..24], &[0, 7], "fragment id");
        assert_eq!(&f[24..26], &[0x40, 2], "DF, offset 16 bytes = 2 units");
        assert_eq!(
            &f[42..46],
            &[0, 9, 0x12, 0x34],
            "UDP length and checksum as given"
        );
        assert_eq!(&f[46..50], &[0xde, 0xad, 0xbe, 0xef]);
        assert!(f[50..].iter().all(|&b| b == 0), "hex data is zero-padded");
        let h = PacketHeaders::from_ethernet_slice(f).unwrap();
        let Some(NetHeaders::Ipv4(ip, _)) = &h.net else {
            panic!()
        };
        assert_eq!(ip.header_checksum, ip.calc_header_checksum());
        assert_eq!(ip.total_len, 64 - 18);
    }

    #[test]
    fn other_first_nodes_start_at_their_layer() {
        let mut t = parse(
            "UDP: 10.0.0.1 -> 10.0.0.2 UDP: 7 -> 9",
            Layer::Ip4,
            Value::Fixed(28),
            2048,
        )
        .unwrap();
        let f = t.generate(&mut PgRng::new(0));
        assert_eq!(f.len(), 28);
        assert_eq!((f[0], f[9], f[3]), (0x45, 17, 28));
        let mut t = parse("hex 0x0102", Layer::Payload, Value::Fixed(4), 2048).unwrap();
        assert_eq!(t.generate(&mut PgRng::new(0)), [1, 2, 0, 0]);
        let mut t = parse("incrementing 3", Layer::Ethernet, Value::Fixed(5), 2048).unwrap();
        assert_eq!(t.generate(&mut PgRng::new(0)), [0, 1, 2, 0, 0]);
        assert!(t.is_constant());
    }

    #[test]
    fn bad_syntax_says_what_was_expected() {
        let cases = [
            (
                "IP4 00:01:02:03:04:05 -> 00:02:03:04:05:06",
                "expected an Ethernet header `TYPE: SRC -> DST`",
            ),
            (
                "FOO: 00:01:02:03:04:05 -> 00:02:03:04:05:06",
                "unknown Ethernet type `FOO`",
            ),
            (
                "IP4: 00:01:02:03:04 -> 00:02:03:04:05:06",
                "expected the MAC address after `the Ethernet type`",
            ),
            ("IP4: 00:01:02:03:04:05 00:02:03:04:05:06", "expected `->`"),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 10.0.0.1 -> 10.0.0",
                "expected the IPv4 address after `->`",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 10.0.0.9 - 10.0.0.1 -> 10.0.0.2",
                "range 10.0.0.9 - 10.0.0.1 goes down",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 ttl 300",
                "ttl 300 is out of range: at most 255",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 BOGUS: 1.1.1.1 -> 2.2.2.2",
                "unknown IP protocol `BOGUS`",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 70000 -> 1",
                "UDP port 70000 is out of range",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 1 -> 2 incrementing",
                "expected a byte count",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 1 -> 2 hex 0xabc",
                "odd number of hex digits",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 1 -> 2 incrementing 4 ttl 3",
                "unexpected `ttl 3` after the payload",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 ICMP: 1.1.1.1 -> 2.2.2.2 ICMP ping",
                "expected an ICMP type after `ICMP`",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 TCP: 1.1.1.1 -> 2.2.2.2 TCP: 1 -> 2 opt bogus",
                "expected a TCP option",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 vlan 5000",
                "VLAN id 5000 is out of range",
            ),
            (
                "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 fragment 3",
                "expected `fragment id N offset N`",
            ),
            ("something else", "expected an Ethernet header"),
        ];
        for (text, want) in cases {
            let e = parse(text, Layer::Ethernet, Value::Fixed(64), 2048)
                .err()
                .unwrap_or_else(|| panic!("`{text}` parsed"));
            assert!(e.contains(want), "`{text}`: got `{e}`, want `{want}`");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let e = parse(
            "IP4: 1.2.3 -> 4.5.6 UDP: 1.1.1.1 -> 2.2.2.2 UDP: 1 -> 2",
            Layer::Ethernet,
            Value::Fixed(40),
            2048,
        )
        .unwrap_err();
        assert!(
            e.contains("size 40 is smaller than the packet's headers (42 bytes)"),
            "{e}"
        );
    }
}
