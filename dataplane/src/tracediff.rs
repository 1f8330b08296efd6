//! Comparing `show trace` texts record by record (`dataplane trace-diff EXPECTED ACTUAL`).
//!
//! Both sides are parsed into packets and records (`HH:MM:SS:uuuuuu: node` headers and their
//! body lines). Only run-time noise is ignored: timestamps, and memory addresses (`buffer 0x…`,
//! `phys_addr 0x…`). Everything else must match line for line. Expected files may carry `#`
//! comment lines (ignored), and may hold bare records without `Packet N` lines: a blank line or a
//! `Packet N` line ends a packet.

use std::fmt::Write;

/// One node's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Node name from the header line.
    pub node: String,
    /// Timestamp text of the header (ignored in comparisons).
    pub time: String,
    /// Body lines, as printed (indentation included).
    pub body: Vec<String>,
    /// 1-based line number of the header in its file.
    pub line: usize,
}

/// One traced packet.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Packet {
    /// Its records in order.
    pub records: Vec<Record>,
}

fn header(line: &str) -> Option<(String, String)> {
    // HH:MM:SS:uuuuuu: node
    let b = line.as_bytes();
    if b.len() < 17 || b[15] != b':' || b[16] != b' ' {
        return None;
    }
    let t = &line[..15];
    let ok = t.char_indices().all(|(i, c)| match i {
        2 | 5 | 8 => c == ':',
        _ => c.is_ascii_digit(),
    });
    let node = line[17..].trim();
    (ok && !node.is_empty() && !node.contains(' ')).then(|| (t.to_string(), node.to_string()))
}

/// Parse a trace text into packets.
pub fn parse(text: &str) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut cur = Packet::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let t = line.trim();
        let ends_packet =
            t.is_empty() || (t.starts_with("Packet ") && t[7..].parse::<u32>().is_ok());
        if ends_packet {
            if !cur.records.is_empty() {
                packets.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // `====... node-a ====...` headers of a multi-node replay end a packet too.
        if t.starts_with("====") {
            if !cur.records.is_empty() {
                packets.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if t.starts_with('#') || t.starts_with("---") || t.starts_with("```") {
            continue;
        }
        if let Some((time, node)) = header(line) {
            cur.records.push(Record {
                node,
                time,
                body: Vec::new(),
                line: i + 1,
            });
        } else if let Some(r) = cur.records.last_mut() {
            r.body.push(line.to_string());
        }
    }
    if !cur.records.is_empty() {
        packets.push(cur);
    }
    packets
}

/// Mask a record's body: addresses in each line (see [`mask`]); in a DPDK `buffer 0x…:` line also
/// the trace-pool index (`trace 0x…`, which counts every packet traced earlier in that VPP's
/// life); and the indentation of the line after it, which follows the width of the masked address.
pub fn mask_body(body: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(body.len());
    let mut after_buffer = false;
    for l in body {
        let mut m = mask(l);
        if after_buffer {
            m = format!(" {}", m.trim_start());
        }
        after_buffer = l.contains("buffer 0x");
        if after_buffer {
            if let Some(i) = m.find(", trace 0x") {
                let rest = &m[i + ", trace 0x".len()..];
                let n = rest
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(rest.len());
                m = format!("{}, trace 0x…{}", &m[..i], &rest[n..]);
            }
        }
        out.push(m);
    }
    out
}

/// Replace run-time noise in a body line: memory addresses.
pub fn mask(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(p) = ["buffer 0x", "phys_addr 0x"]
        .iter()
        .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
        .min()
    {
        let (i, klen) = p;
        out.push_str(&rest[..i + klen]);
        let after = &rest[i + klen..];
        let n = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        out.push('…');
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

/// Differences between two traces: empty when they match.
pub fn diff(expected: &str, actual: &str) -> Vec<String> {
    diff_lines(expected, actual)
}

/// The trace with what depends on how packets shared frames blanked, as it does in VPP (18.01
/// and current, `dataplane_node.c`): the ACL plugin's `trace_bits`, kept in one variable per
/// frame (a packet's record also shows the bits of the packets before it in its frame), and the
/// session index a session hit prints (`acl -1 rule N`): the input and output ACL nodes share
/// one session pool per thread, so a frame of new flows gets its input sessions numbered before
/// any output session. Replays frame by frame and in bursts agree on everything else.
pub fn frame_independent(trace: &str) -> String {
    let mut out = String::with_capacity(trace.len());
    for line in trace.lines() {
        let mut l = line.to_string();
        if let Some(i) = l.find("trace_bits ") {
            if l.len() >= i + 19 {
                l.replace_range(i + 11..i + 19, "........");
            }
        }
        if let Some(i) = l.find("match: acl -1 rule ") {
            let start = i + "match: acl -1 rule ".len();
            let end = l[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(l.len(), |e| start + e);
            l.replace_range(start..end, "N");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn diff_lines(expected: &str, actual: &str) -> Vec<String> {
    let (e, a) = (parse(expected), parse(actual));
    let mut out = Vec::new();
    if e.len() != a.len() {
        out.push(format!("expected {} packets, got {}", e.len(), a.len()));
    }
    for (pi, (ep, ap)) in e.iter().zip(a.iter()).enumerate() {
        let n = ep.records.len().max(ap.records.len());
        for ri in 0..n {
            match (ep.records.get(ri), ap.records.get(ri)) {
                (Some(er), Some(ar)) => {
                    let mut msg = String::new();
                    if er.node != ar.node {
                        let _ = writeln!(msg, "  node: expected `{}`, got `{}`", er.node, ar.node);
                    }
                    let m = er.body.len().max(ar.body.len());
                    let (eb, ab) = (mask_body(&er.body), mask_body(&ar.body));
                    for li in 0..m {
                        let el = eb.get(li);
                        let al = ab.get(li);
                        if el != al {
                            let _ = writeln!(
                                msg,
                                "  line {}:\n    expected: {}\n    actual:   {}",
                                li + 1,
                                el.map(String::as_str).unwrap_or("<missing>"),
                                al.map(String::as_str).unwrap_or("<missing>")
                            );
                        }
                    }
                    if !msg.is_empty() {
                        out.push(format!(
                            "packet {}, record {} ({}, expected line {}):\n{}",
                            pi + 1,
                            ri + 1,
                            er.node,
                            er.line,
                            msg.trim_end()
                        ));
                    }
                }
                (Some(er), None) => out.push(format!(
                    "packet {}, record {} ({}): missing in actual trace",
                    pi + 1,
                    ri + 1,
                    er.node
                )),
                (None, Some(ar)) => out.push(format!(
                    "packet {}, record {} ({}): not expected",
                    pi + 1,
                    ri + 1,
                    ar.node
                )),
                (None, None) => {}
            }
        }
    }
    out
}

/// Keep only the records of the given nodes (to compare the part of a walk a test covers).
pub fn filter_nodes(packets: &[Packet], keep: &dyn Fn(&str) -> bool) -> Vec<Packet> {
    packets
        .iter()
        .map(|p| Packet {
            records: p
                .records
                .iter()
                .filter(|r| keep(&r.node))
                .cloned()
                .collect(),
        })
        .collect()
}

/// Render packets back to text (records with their original headers).
pub fn render(packets: &[Packet]) -> String {
    let mut s = String::new();
    for (i, p) in packets.iter().enumerate() {
        let _ = writeln!(s, "Packet {}\n", i + 1);
        for r in &p.records {
            let _ = writeln!(s, "{}: {}", r.time, r.node);
            for l in &r.body {
                let _ = writeln!(s, "{l}");
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "------------------- Start of thread 0 vpp_main -------------------
Packet 1

02:54:30:091783: virtio-input
  virtio: hw_if_index 6 next-index 4 vring 0 len 74
02:06:32:880926: dpdk-input
  GigabitEthernet0/8/0 rx queue 0
  buffer 0x2f8b: current data 14, length 46, free-list 0, clone-count 0, totlen-nifb 0, trace 0x15
    buf_len 2176, data_len 60, ol_flags 0x0, data_off 128, phys_addr 0x704be340

";

    #[test]
    fn parses_packets_and_records() {
        let p = parse(A);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].records.len(), 2);
        assert_eq!(p[0].records[0].node, "virtio-input");
        assert_eq!(p[0].records[1].body.len(), 3);
    }

    #[test]
    fn ignores_times_and_addresses_only() {
        let b = A
            .replace("02:54:30:091783", "00:00:01:000000")
            .replace("0x2f8b", "0x1")
            .replace("0x704be340", "0x9");
        assert!(diff(A, &b).is_empty(), "{:?}", diff(A, &b));
        let c = A.replace("len 74", "len 75");
        let d = diff(A, &c);
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("line 1") && d[0].contains("len 75"), "{d:?}");
        let e = A
            .replace("buffer 0x2f8b", "buffer 0x12345")
            .replace("trace 0x15", "trace 0x1")
            .replace("\n    buf_len", "\n     buf_len");
        assert!(diff(A, &e).is_empty(), "{:?}", diff(A, &e));
        let f = A.replace("data_off 128", "data_off 129");
        assert_eq!(diff(A, &f).len(), 1);
    }

    #[test]
    fn counts_missing_and_extra_records() {
        let short = A.lines().take(5).collect::<Vec<_>>().join("\n");
        let d = diff(A, &short);
        assert!(d.iter().any(|l| l.contains("missing in actual")), "{d:?}");
        let d2 = diff(&short, A);
        assert!(d2.iter().any(|l| l.contains("not expected")), "{d2:?}");
    }

    #[test]
    fn mask_keeps_the_rest() {
        assert_eq!(
            mask("  buffer 0x2f8b: current data 14, phys_addr 0x704be340"),
            "  buffer 0x…: current data 14, phys_addr 0x…"
        );
    }
}
