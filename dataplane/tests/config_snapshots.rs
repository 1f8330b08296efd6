//! Configuration snapshots ([`dataplane::engine::config`]): a command's changes to several tables
//! (an interface's NAT44 role or ACL list, and its feature arc) reach other threads as one
//! snapshot, never half; a snapshot a reader holds does not change under it; traffic sees each
//! command from the next packet on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::engine::Mode;
use dataplane::App;

const SETUP: &str = "
create tap id 1 hw-addr 02:fe:00:00:00:01
create tap id 2 hw-addr 02:fe:00:00:00:02
set interface state tap1 up
set interface state tap2 up
set interface ip address tap1 10.1.1.1/24
set interface ip address tap2 10.20.0.1/24
set acl-plugin acl permit src 10.1.1.0/24 proto 6
";

#[test]
fn nat_roles_acl_lists_and_feature_arcs_change_together_for_another_thread() {
    let mut a = App::new(Mode::Replay);
    a.exec_script(SETUP).unwrap();
    let nat = nat44::nat(&a.dp).sh.cfg;
    let acls = acl::plugin(&a.dp).main;
    let feats = a.dp.features;
    let sw = 1u32;
    let src = a.dp.config().source();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut seen, mut with_nat, mut with_acl) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let s = src.load_full();
                let enabled = s.get(feats).enabled("ip4-unicast", sw);
                let has = |f: &str| enabled.iter().any(|e| e == f);
                let role = s.get(nat).interface(sw).is_some_and(|i| i.inside);
                assert_eq!(
                    role,
                    has("nat44-in2out"),
                    "NAT role and feature arc torn at epoch {}",
                    s.epoch()
                );
                let listed = !s.get(acls).list(acl::DIR_IN, sw).is_empty();
                assert_eq!(
                    listed,
                    has("acl-plugin-in-ip4-fa"),
                    "ACL list and feature arc torn at epoch {}",
                    s.epoch()
                );
                with_nat += role as u64;
                with_acl += listed as u64;
                seen += 1;
            }
            (seen, with_nat, with_acl)
        })
    };
    let epoch0 = a.dp.config().epoch();
    for _ in 0..300 {
        a.exec("set interface nat44 in tap1").unwrap();
        a.exec("set acl-plugin interface tap1 input acl 0").unwrap();
        a.exec("set interface nat44 in tap1 del").unwrap();
        a.exec("set acl-plugin interface tap1 input acl 0 del")
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let (seen, _, _) = reader.join().expect("no torn snapshot");
    assert!(seen > 0);
    assert_eq!(
        a.dp.config().epoch() - epoch0,
        1200,
        "one publication per command"
    );
}

#[test]
fn a_held_snapshot_keeps_its_tables_and_a_failed_command_publishes_nothing() {
    let mut a = App::new(Mode::Replay);
    a.exec_script(SETUP).unwrap();
    let acls = acl::plugin(&a.dp).main;
    let held = a.dp.config().published();
    a.exec("set acl-plugin acl deny proto 17").unwrap();
    assert_eq!(
        held.get(acls).acls.iter().count(),
        1,
        "the old snapshot is unchanged"
    );
    let now = a.dp.config().published();
    assert_eq!(now.get(acls).acls.iter().count(), 2);
    let e = a.dp.config().epoch();
    assert!(a.exec("set acl-plugin interface tap1 input acl 7").is_err());
    assert_eq!(
        a.dp.config().epoch(),
        e,
        "a refused command publishes nothing"
    );
    let tables: Vec<&str> = a.dp.config().tables().iter().map(|t| t.0).collect();
    for t in ["interfaces", "feature arcs", "acl", "nat44"] {
        assert!(tables.contains(&t), "{t} is a snapshot table: {tables:?}");
    }
}
