//! The ACL plugin's CLI: create, replace, show, apply, delete, sessions and MACIP commands, and
//! one-line errors that change nothing.

mod common;

use common::*;
use dataplane::engine::Mode;
use dataplane::App;

fn app() -> App {
    let mut a = App::new(Mode::Replay);
    run(&mut a, TWO_TAPS);
    a
}

#[test]
fn create_replace_show_delete() {
    let mut a = app();
    assert_eq!(
        a.exec("set acl-plugin acl permit src 10.1.1.0/24 dst 10.104.221.85/32 proto 6 dport 80")
            .unwrap(),
        "ACL index:0"
    );
    assert_eq!(
        a.exec("set acl-plugin acl deny proto 17 sport 1000-2000 dport 53, permit+reflect src 10.0.0.0/8 proto 6 tcpflags 2 mask 18 tag web, action 0 proto 1 sport 8 dport 0")
            .unwrap(),
        "ACL index:1"
    );
    let show = a.exec("show acl-plugin acl").unwrap();
    let want = "\
acl-index 0 count 1 tag {cli}
     0: ipv4 permit src 10.1.1.0/24 dst 10.104.221.85/32 proto 6 sport 0-65535 dport 80
acl-index 1 count 3 tag {web}
     0: ipv4 deny src 0.0.0.0/0 dst 0.0.0.0/0 proto 17 sport 1000-2000 dport 53
     1: ipv4 permit+reflect src 10.0.0.0/8 dst 0.0.0.0/0 proto 6 sport 0-65535 dport 0-65535 tcpflags 2 mask 18
     2: ipv4 deny src 0.0.0.0/0 dst 0.0.0.0/0 proto 1 sport 8 dport 0
";
    assert_eq!(show, want);
    // Replace by index.
    assert_eq!(
        a.exec("set acl-plugin acl index 0 deny dst 10.0.0.1/32")
            .unwrap(),
        "ACL index:0"
    );
    assert!(a.exec("show acl-plugin acl index 0").unwrap().contains(
        "0: ipv4 deny src 0.0.0.0/0 dst 10.0.0.1/32 proto 0 sport 0-65535 dport 0-65535"
    ));
    // Apply, show interface, refuse delete in use.
    run(
        &mut a,
        "set acl-plugin interface tap1 input acl 1\nset acl-plugin interface tap1 input acl 0\nset acl-plugin interface tap2 output acl 0",
    );
    let si = a.exec("show acl-plugin interface").unwrap();
    assert_eq!(
        si,
        "sw_if_index 0:\nsw_if_index 1:\n  input acl(s): 1, 0\nsw_if_index 2:\n  output acl(s): 0\n"
    );
    assert_eq!(
        a.exec("show acl-plugin interface sw_if_index 2").unwrap(),
        "sw_if_index 2:\n  output acl(s): 0\n"
    );
    let with_acl = a.exec("show acl-plugin interface tap2 acl").unwrap();
    assert!(with_acl
        .starts_with("sw_if_index 2:\n  output acl(s): 0\n\nacl-index 0 count 1 tag {cli}\n"));
    let s0 = a.exec("show acl-plugin acl index 0").unwrap();
    assert!(
        s0.contains("  applied inbound on sw_if_index: 1\n  applied outbound on sw_if_index: 2\n"),
        "{s0}"
    );
    let e = a.exec("delete acl-plugin acl index 0").unwrap_err();
    assert!(
        e.message().contains("in use inbound on sw_if_index 1"),
        "{e}"
    );
    // Features are on the arcs.
    let feats = a.dp.config().get(a.dp.features).enabled("ip4-unicast", 1);
    assert_eq!(feats, vec!["acl-plugin-in-ip4-fa".to_string()]);
    // Remove and delete.
    run(
        &mut a,
        "set acl-plugin interface tap1 input acl 0 del\nset acl-plugin interface tap2 output acl 0 del",
    );
    assert!(a
        .dp
        .config()
        .get(a.dp.features)
        .enabled("ip4-output", 2)
        .is_empty());
    assert_eq!(
        a.exec("delete acl-plugin acl index 0").unwrap(),
        "Deleted ACL index:0"
    );
    // Index 0 is reused first.
    assert_eq!(a.exec("set acl-plugin acl permit").unwrap(), "ACL index:0");
    // Create at a free index: skipped indices are used next, lowest first.
    assert_eq!(
        a.exec("set acl-plugin acl index 4 permit").unwrap(),
        "ACL index:4"
    );
    assert_eq!(a.exec("set acl-plugin acl deny").unwrap(), "ACL index:2");
    assert_eq!(a.exec("set acl-plugin acl deny").unwrap(), "ACL index:3");
    assert_eq!(a.exec("set acl-plugin acl deny").unwrap(), "ACL index:5");
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let mut a = app();
    run(&mut a, "set acl-plugin acl permit proto 6 dport 80");
    let before = a.exec("show acl-plugin acl").unwrap();
    let bad = [
        "set acl-plugin acl permit src 10.0.0.0/33",
        "set acl-plugin acl permit proto 300",
        "set acl-plugin acl permit dport 90-80",
        "set acl-plugin acl permit sport x",
        "set acl-plugin acl permit frob",
        "set acl-plugin acl permit ,",
        "set acl-plugin acl , permit",
        "set acl-plugin acl permit src 1.2.3.4/32 src 1.2.3.5/32",
        "set acl-plugin acl action 7",
        "set acl-plugin acl tcpflags 2",
        "set acl-plugin acl index 99999999 permit",
        "set acl-plugin interface tap1 input acl 7",
        "set acl-plugin interface tap9 input acl 0",
        "set acl-plugin interface input acl 0",
        "set acl-plugin interface tap1 input",
        "set acl-plugin interface tap1 input acl 0 del",
        "delete acl-plugin acl index 5",
        "delete acl-plugin acl 0",
        "show acl-plugin acl index 3",
        "set acl-plugin session timeout udp 5",
        "set acl-plugin session timeout tcp idle x",
        "set acl-plugin session table max-entries",
        "set acl-plugin macip acl permit ip 10.0.0.1/32 mac zz",
        "set acl-plugin macip acl action 3 ip 10.0.0.1/32",
        "set acl-plugin macip acl",
        "set acl-plugin macip interface tap1 acl 0",
        "set acl-plugin macip interface tap1 del",
        "show acl-plugin sessions thread 0",
    ];
    for b in bad {
        let e = a.exec(b).expect_err(b);
        assert!(
            !e.message().is_empty() && !e.message().contains('\n'),
            "{b}: {e}"
        );
    }
    run(&mut a, "set acl-plugin interface tap1 input acl 0");
    let e = a
        .exec("set acl-plugin interface tap1 input acl 0")
        .unwrap_err();
    assert!(e.message().contains("already applied"), "{e}");
    assert_eq!(
        a.exec("show acl-plugin acl").unwrap().lines().next(),
        before.lines().next()
    );
    assert_eq!(
        a.exec("show acl-plugin interface").unwrap(),
        "sw_if_index 0:\nsw_if_index 1:\n  input acl(s): 0\n"
    );
}

#[test]
fn macip_acl_commands() {
    let mut a = app();
    assert_eq!(
        a.exec("set acl-plugin macip acl permit ip 10.1.1.3/32 mac 00:00:00:00:00:03, deny ip 10.1.1.0/24 mac 00:00:00:00:00:00 mask 00:00:00:00:00:00")
            .unwrap(),
        "ACL index:0"
    );
    run(&mut a, "set acl-plugin macip interface tap1 acl 0");
    let s = a.exec("show acl-plugin macip acl").unwrap();
    assert_eq!(
        s,
        "MACIP acl_index: 0, count: 2 (true len 2) tag {cli} is free pool slot: 0\n    rule 0: ipv4 action 1 ip 10.1.1.3/32 mac 00:00:00:00:00:03 mask ff:ff:ff:ff:ff:ff\n    rule 1: ipv4 action 0 ip 10.1.1.0/24 mac 00:00:00:00:00:00 mask 00:00:00:00:00:00\n  applied on sw_if_index(s): 1\n"
    );
    assert_eq!(
        a.exec("show acl-plugin macip interface").unwrap(),
        "  sw_if_index 0: -1\n  sw_if_index 1: 0\n"
    );
    assert!(a
        .exec("delete acl-plugin macip acl index 0")
        .unwrap_err()
        .message()
        .contains("in use"));
    assert_eq!(
        a.dp.config().get(a.dp.features).enabled("device-input", 1),
        vec!["acl-plugin-macip-input".to_string()]
    );
    run(&mut a, "set acl-plugin macip interface tap1 del");
    assert!(a
        .dp
        .config()
        .get(a.dp.features)
        .enabled("device-input", 1)
        .is_empty());
    assert_eq!(
        a.exec("delete acl-plugin macip acl index 0").unwrap(),
        "Deleted ACL index:0"
    );
}

#[test]
fn session_settings_and_show() {
    let mut a = app();
    run(
        &mut a,
        "set acl-plugin session timeout udp idle 30\nset acl-plugin session timeout tcp idle 3600\nset acl-plugin session timeout tcp transient 10\nset acl-plugin session table max-entries 1000",
    );
    let s = a.exec("show acl-plugin sessions").unwrap();
    assert!(s.starts_with("Sessions total: add 0 - del 0 = 0\nSession table max-entries 1000, timeouts: udp idle 30 s, tcp idle 3600 s, tcp transient 10 s\n\n\nPer-thread data:\nThread #0:\n"), "{s}");
    assert!(s.contains("    sw_if_index 2: add 0 - del 0 = 0\n"), "{s}");
    assert!(s.contains("  fa_conn_list_head[2]: -1\n"), "{s}");
    run(
        &mut a,
        "set acl-plugin session table first-index 22\nclear acl-plugin sessions",
    );
}
