use std::net::Ipv4Addr;

use super::*;

#[derive(Default)]
struct Ctx {
    log: Vec<String>,
}

fn record(ctx: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    let rest = args.take_rest();
    ctx.log.push(rest.clone());
    Ok(rest)
}

fn show_int(_: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    args.expect_end()?;
    Ok("pg0 up".into())
}
fn show_ip_fib(_: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    Ok(format!("fib[{}]", args.take_rest()))
}
fn show_ip_arp(_: &mut Ctx, _: &mut Args) -> Result<String, CliError> {
    Ok("arp".into())
}
fn set_cmd(_: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    Ok(format!("set[{}]", args.remaining()))
}
fn setup_cmd(_: &mut Ctx, _: &mut Args) -> Result<String, CliError> {
    Ok("setup".into())
}
fn set_ip_addr(ctx: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    let ifname = args.next_word().ok_or_else(|| args.unknown())?;
    let (a, l) = args.ip4_prefix()?;
    args.expect_end()?;
    ctx.log.push(format!("{ifname} {a}/{l}"));
    Ok(String::new())
}
fn set_int_state(_: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    let ifname = args.next_word().ok_or_else(|| args.unknown())?;
    if args.keyword("up") {
        Ok(format!("{ifname} up"))
    } else if args.keyword("down") {
        Ok(format!("{ifname} down"))
    } else {
        Err(args.unknown())
    }
}
fn pg_new(ctx: &mut Ctx, args: &mut Args) -> Result<String, CliError> {
    let mut b = args.block()?;
    args.expect_end()?;
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.keyword("name") {
            out.push(format!("name={}", b.next_word().unwrap_or_default()));
        } else if b.keyword("limit") {
            out.push(format!("limit={}", b.u64()?));
        } else if b.keyword("interface") {
            out.push(format!("if={}", b.next_word().unwrap_or_default()));
        } else if b.keyword("pcap") {
            out.push(format!("pcap={}", b.next_word().unwrap_or_default()));
        } else {
            return Err(b.unknown());
        }
    }
    let s = out.join(" ");
    ctx.log.push(s.clone());
    Ok(s)
}
fn fail(_: &mut Ctx, _: &mut Args) -> Result<String, CliError> {
    Err(CliError::new("boom\nsecond line"))
}

fn reg() -> Registry<Ctx> {
    let mut r = Registry::new();
    r.register("show interface", "show interfaces", show_int)
        .unwrap();
    r.register("show ip fib", "show the FIB", show_ip_fib)
        .unwrap();
    r.register("show ip arp", "show ARP table", show_ip_arp)
        .unwrap();
    r.register("set", "set something", set_cmd).unwrap();
    r.register("setup", "setup something", setup_cmd).unwrap();
    r.register(
        "set interface ip address",
        "set interface ip address IF A/L",
        set_ip_addr,
    )
    .unwrap();
    r.register(
        "set interface state",
        "set interface state IF up|down",
        set_int_state,
    )
    .unwrap();
    r.register(
        "packet-generator new",
        "packet-generator new { ... }",
        pg_new,
    )
    .unwrap();
    r.register("clear trace", "clear the trace", record)
        .unwrap();
    r.register(
        "create host-interface",
        "create host-interface name X",
        record,
    )
    .unwrap();
    r.register("fail", "always fails", fail).unwrap();
    r
}

fn run(r: &Registry<Ctx>, line: &str) -> Result<String, CliError> {
    r.execute(&mut Ctx::default(), line)
}

fn err(r: &Registry<Ctx>, line: &str) -> String {
    let e = run(r, line).expect_err(line).to_string();
    assert!(
        !e.contains('\n') && !e.contains('\r'),
        "multi-line error: {e:?}"
    );
    e
}

fn tmp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cli-test-{}-{name}", std::process::id()))
}

// ---------- registry / matching ----------

#[test]
fn register_rejects_duplicates_and_bad_paths() {
    let mut r = reg();
    assert!(r.register("show  interface", "dup", show_int).is_err());
    assert!(r.register("echo", "dup builtin", show_int).is_err());
    assert!(r.register("", "empty", show_int).is_err());
    assert!(r.register("   ", "empty", show_int).is_err());
    assert!(r.register("show {x}", "brace", show_int).is_err());
    assert!(r.register("show a,b", "comma", show_int).is_err());
    assert!(r.register("show ?", "question", show_int).is_err());
    assert!(r.register("show interface addr", "ok", show_int).is_ok());
}

#[test]
fn prefix_matching() {
    let r = reg();
    assert_eq!(run(&r, "show interface").unwrap(), "pg0 up");
    assert_eq!(run(&r, "sh int").unwrap(), "pg0 up");
    assert_eq!(
        run(&r, "  sho   ip   f  1.0.0.0/8 ").unwrap(),
        "fib[1.0.0.0/8]"
    );
    assert_eq!(run(&r, "sh ip a").unwrap(), "arp");
    assert_eq!(run(&r, "p n { name x }").unwrap(), "name=x");
}

#[test]
fn ambiguity_error_names_candidates() {
    let r = reg();
    let e = err(&r, "s int");
    assert!(e.contains("ambiguous"), "{e}");
    assert!(
        e.contains("set") && e.contains("show") && e.contains("setup"),
        "{e}"
    );
    let e = err(&r, "c x");
    assert!(
        e.contains("clear") && e.contains("comment") && e.contains("create"),
        "{e}"
    );
}

#[test]
fn exact_match_wins_over_prefix() {
    let r = reg();
    assert_eq!(run(&r, "set foo").unwrap(), "set[foo]");
    assert_eq!(run(&r, "set").unwrap(), "set[]");
    assert_eq!(run(&r, "setup").unwrap(), "setup");
    // `setu` is a unique prefix of `setup`
    assert_eq!(run(&r, "setu").unwrap(), "setup");
}

#[test]
fn longest_path_and_args() {
    let r = reg();
    assert_eq!(
        run(&r, "show ip fib 10.0.0.0/8").unwrap(),
        "fib[10.0.0.0/8]"
    );
    let mut ctx = Ctx::default();
    r.execute(&mut ctx, "set interface ip address pg0 10.1.1.1/24")
        .unwrap();
    assert_eq!(ctx.log, vec!["pg0 10.1.1.1/24"]);
    assert_eq!(run(&r, "set int state pg0 up").unwrap(), "pg0 up");
    // falls back to the deepest command on the path: `set` with args
    assert_eq!(
        run(&r, "set interface bogus").unwrap(),
        "set[interface bogus]"
    );
    assert_eq!(run(&r, "set interface").unwrap(), "set[interface]");
    // argument words are not matched against the tree once past a leaf
    assert_eq!(run(&r, "show ip fib show ip").unwrap(), "fib[show ip]");
}

#[test]
fn unknown_and_incomplete_errors() {
    let r = reg();
    let e = err(&r, "shw int");
    assert!(
        e.starts_with("unknown command `shw int`: expected one of: "),
        "{e}"
    );
    assert!(e.contains("clear, comment, create, echo, exec"), "{e}");
    let e = err(&r, "show");
    assert!(e.contains("incomplete command `show`"), "{e}");
    assert!(e.contains("interface, ip"), "{e}");
    let e = err(&r, "show ip foo");
    assert!(
        e.contains("after `show ip` expected one of: arp, fib"),
        "{e}"
    );
    let e = err(&r, "show interface extra");
    assert!(e.contains("unexpected input `extra`"), "{e}");
    let e = err(&r, "{ x }");
    assert!(e.contains("unknown command"), "{e}");
}

#[test]
fn empty_and_blank_lines() {
    let r = reg();
    assert_eq!(run(&r, "").unwrap(), "");
    assert_eq!(run(&r, "   \t ").unwrap(), "");
}

#[test]
fn unbalanced_braces() {
    let r = reg();
    assert_eq!(err(&r, "packet-generator new { name x"), "unbalanced `{`");
    assert_eq!(err(&r, "comment } x"), "unbalanced `}`");
}

#[test]
fn handler_error_is_one_line() {
    let r = reg();
    assert_eq!(err(&r, "fail"), "boom second line");
}

// ---------- built-ins ----------

#[test]
fn echo_and_comment() {
    let r = reg();
    assert_eq!(run(&r, "echo hello").unwrap(), "hello");
    assert_eq!(run(&r, "echo  hello   world ").unwrap(), "hello   world");
    assert_eq!(run(&r, "echo").unwrap(), "");
    assert_eq!(
        run(&r, "comment { anything { nested } at all }").unwrap(),
        ""
    );
    assert_eq!(run(&r, "comment plain words").unwrap(), "");
}

#[test]
fn question_lists_next_words() {
    let r = reg();
    let out = run(&r, "show ?").unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("interface  show interfaces"), "{out}");
    assert!(lines[1].starts_with("ip         {arp|fib}"), "{out}");
    assert_eq!(run(&r, "show?").unwrap(), out);
    assert_eq!(run(&r, "sh ?").unwrap(), out);
    assert_eq!(run(&r, "? show").unwrap(), out);
    let out = run(&r, "sh ip ?").unwrap();
    assert_eq!(out, "arp  show ARP table\nfib  show the FIB");
    // partial word: candidates completing it
    assert_eq!(run(&r, "show ip f?").unwrap(), "fib  show the FIB");
    // a complete command: its help line
    assert_eq!(
        run(&r, "set interface ip address pg0 ?").unwrap(),
        "set interface ip address  set interface ip address IF A/L"
    );
    // top level
    let top = run(&r, "?").unwrap();
    for w in ["comment", "echo", "exec", "help", "show", "set", "setup"] {
        assert!(
            top.lines().any(|l| l.starts_with(w)),
            "{w} missing in {top}"
        );
    }
    assert!(err(&r, "shw ?").contains("unknown command"));
}

#[test]
fn help_lists_commands() {
    let r = reg();
    let all = run(&r, "help").unwrap();
    assert_eq!(all.lines().count(), r.commands().count());
    assert!(all.contains("show ip fib"));
    assert!(all.contains("echo"));
    let sh = run(&r, "help show ip").unwrap();
    assert_eq!(sh.lines().count(), 2);
    assert!(sh.starts_with("show ip arp  show ARP table"), "{sh}");
    assert_eq!(run(&r, "help sh ip").unwrap(), sh);
    assert!(err(&r, "help nosuch").contains("no commands match `nosuch`"));
}

#[test]
fn complete_words() {
    let r = reg();
    let words = |l: &str| -> Vec<String> { r.complete(l).into_iter().map(|c| c.word).collect() };
    assert_eq!(words("sh"), vec!["show"]);
    assert_eq!(words("se"), vec!["set", "setup"]);
    assert_eq!(words("set"), vec!["set", "setup"]);
    assert_eq!(words("show "), vec!["interface", "ip"]);
    assert_eq!(words("show ip f"), vec!["fib"]);
    assert_eq!(words("set interface "), vec!["ip", "state"]);
    assert!(words("show ip fib ").is_empty());
    assert!(words("nosuch ").is_empty());
    assert!(words("{").is_empty());
    let c = r.complete("show i");
    assert_eq!(c[0].help, "show interfaces");
    assert!(words("").len() >= 10);
}

#[test]
fn commands_iterator() {
    let r = reg();
    let cmds: Vec<(&str, &str)> = r.commands().collect();
    assert!(cmds.contains(&("show ip fib", "show the FIB")));
    assert!(cmds.iter().any(|(p, _)| *p == "?"));
    assert!(cmds.iter().any(|(p, _)| *p == "comment"));
}

// ---------- scripts ----------

#[test]
fn script_comments_blank_lines_and_output() {
    let r = reg();
    let script = "\n# a comment\necho one\n\n   # indented comment\necho two\ncomment { multi\n line\n # still comment\n}\necho three\n";
    assert_eq!(
        r.exec_script(&mut Ctx::default(), script).unwrap(),
        "one\ntwo\nthree"
    );
}

#[test]
fn script_brace_continuation() {
    let r = reg();
    let mut ctx = Ctx::default();
    let out = r
        .exec_script(
            &mut ctx,
            "packet-generator new { name s0\n  limit 10\n  interface pg0 }\necho done",
        )
        .unwrap();
    assert_eq!(out, "name=s0 limit=10 if=pg0\ndone");
    assert_eq!(ctx.log, vec!["name=s0 limit=10 if=pg0"]);
}

#[test]
fn script_errors_have_line_numbers() {
    let r = reg();
    let mut ctx = Ctx::default();
    let e = r
        .exec_script(
            &mut ctx,
            "echo a\n# c\n\nclear trace x\nfail\nclear trace y",
        )
        .unwrap_err()
        .to_string();
    assert_eq!(e, "line 5: `fail`: boom second line");
    assert_eq!(ctx.log, vec!["x"], "stops at the first failure");
    let e = r
        .exec_script(
            &mut ctx,
            "echo a\npacket-generator new { name s0\n limit x }",
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("line 2: `packet-generator new { name s0 limit x }`: expected u64"),
        "{e}"
    );
    let e = r
        .exec_script(&mut ctx, "echo a\ncomment { never closed\nmore")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("line 2: ") && e.ends_with("unbalanced `{`"),
        "{e}"
    );
    let e = r
        .exec_script(&mut ctx, "echo }\necho b")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "line 1: `echo }`: unbalanced `}`");
}

#[test]
fn exec_file() {
    let r = reg();
    let p = tmp_path("exec.cli");
    std::fs::write(
        &p,
        "# setup\nset int ip addr pg0 10.1.1.1/24\npacket-generator new {\n name s0\n limit 5\n}\necho ok\n",
    )
    .unwrap();
    let mut ctx = Ctx::default();
    let out = r
        .execute(&mut ctx, &format!("exec {}", p.display()))
        .unwrap();
    assert_eq!(out, "name=s0 limit=5\nok");
    assert_eq!(ctx.log, vec!["pg0 10.1.1.1/24", "name=s0 limit=5"]);
    std::fs::remove_file(&p).unwrap();

    let e = err(&r, &format!("exec {}", p.display()));
    assert!(e.starts_with("exec: cannot read `"), "{e}");
    assert!(e.contains(&p.display().to_string()), "{e}");
    assert!(err(&r, "exec").contains("missing FILE"));
}

#[test]
fn exec_error_propagates_with_line() {
    let r = reg();
    let p = tmp_path("exec-err.cli");
    std::fs::write(&p, "echo a\nfail\n").unwrap();
    let e = r
        .exec_script(
            &mut Ctx::default(),
            &format!("echo x\nexec {}", p.display()),
        )
        .unwrap_err()
        .to_string();
    std::fs::remove_file(&p).unwrap();
    assert!(e.starts_with("line 2: `exec "), "{e}");
    assert!(e.ends_with("line 2: `fail`: boom second line"), "{e}");
}

#[test]
fn exec_recursion_limit() {
    let r = reg();
    let p = tmp_path("recurse.cli");
    std::fs::write(&p, format!("echo x\nexec {}\n", p.display())).unwrap();
    let e = err(&r, &format!("exec {}", p.display()));
    std::fs::remove_file(&p).unwrap();
    assert!(
        e.contains(&format!("nesting deeper than {MAX_EXEC_DEPTH} levels")),
        "{e}"
    );
}

// ---------- Args ----------

fn a(s: &str) -> Args {
    Args::new(s).unwrap()
}

#[test]
fn args_tokens() {
    let mut x = a("permit src 1.2.3.0/24, deny {a {b} c},x");
    assert_eq!(x.peek(), Some("permit"));
    assert!(!x.keyword("Permit"));
    assert!(x.keyword("permit"));
    assert_eq!(x.remaining(), "src 1.2.3.0/24, deny {a {b} c},x");
    assert_eq!(x.next_word().as_deref(), Some("src"));
    assert_eq!(x.ip4_prefix().unwrap(), (Ipv4Addr::new(1, 2, 3, 0), 24));
    assert!(x.keyword(","));
    assert!(x.keyword("deny"));
    assert_eq!(x.peek(), Some("{a {b} c}"));
    let mut b = x.block().unwrap();
    assert_eq!(b.next_word().as_deref(), Some("a"));
    let mut inner = b.block().unwrap();
    assert_eq!(inner.next_word().as_deref(), Some("b"));
    inner.expect_end().unwrap();
    assert_eq!(b.next_word().as_deref(), Some("c"));
    assert!(b.is_empty());
    assert!(x.keyword(","));
    assert!(x.expect_end().is_err());
    assert_eq!(x.unknown().to_string(), "unknown input `x`");
    assert_eq!(x.take_rest(), "x");
    assert!(x.is_empty());
    assert_eq!(x.next_word(), None);
    x.expect_end().unwrap();
    assert_eq!(a("").remaining(), "");
}

#[test]
fn args_mark_rewind() {
    let mut x = a("one two");
    let m = x.mark();
    x.next_word();
    x.next_word();
    x.rewind(m);
    assert_eq!(x.peek(), Some("one"));
}

#[test]
fn args_numbers() {
    let mut x = a("42 0x2a 0XFF 4294967295 4294967296 65535 65536 255 256 foo -1 +1 0x");
    assert_eq!(x.u32().unwrap(), 42);
    assert_eq!(x.u64().unwrap(), 42);
    assert_eq!(x.u8().unwrap(), 255);
    assert_eq!(x.u32().unwrap(), u32::MAX);
    assert!(x.u32().is_err());
    assert_eq!(x.u64().unwrap(), 1 << 32);
    assert_eq!(x.u16().unwrap(), 65535);
    assert!(x.u16().is_err());
    assert_eq!(x.u32().unwrap(), 65536);
    assert_eq!(x.u8().unwrap(), 255);
    let e = x.u8().unwrap_err().to_string();
    assert_eq!(e, "expected u8 number (0-255), got `256`");
    x.next_word();
    assert_eq!(
        x.u32().unwrap_err().to_string(),
        "expected u32 number, got `foo`"
    );
    x.next_word();
    for _ in 0..3 {
        assert!(x.u64().is_err());
        x.next_word();
    }
    assert_eq!(
        x.u32().unwrap_err().to_string(),
        "expected u32 number, got end of input"
    );
    assert!(a("99999999999999999999").u64().is_err());
    assert!(a("{ 1 }").u32().is_err());
}

#[test]
fn args_ip4() {
    assert_eq!(a("10.1.2.3").ip4().unwrap(), Ipv4Addr::new(10, 1, 2, 3));
    assert_eq!(
        a("foo").ip4().unwrap_err().to_string(),
        "expected IPv4 address, got `foo`"
    );
    assert!(a("1.2.3").ip4().is_err());
    assert!(a("1.2.3.256").ip4().is_err());
    let mut x = a("bad 1.2.3.4");
    assert!(x.ip4().is_err());
    assert_eq!(x.peek(), Some("bad"), "failure does not consume");
}

#[test]
fn args_ip4_prefix() {
    assert_eq!(
        a("10.1.0.0/16").ip4_prefix().unwrap(),
        (Ipv4Addr::new(10, 1, 0, 0), 16)
    );
    assert_eq!(
        a("0.0.0.0/0").ip4_prefix().unwrap(),
        (Ipv4Addr::UNSPECIFIED, 0)
    );
    assert_eq!(a("1.1.1.1/32").ip4_prefix().unwrap().1, 32);
    for bad in [
        "10.0.0.0/33",
        "10.0.0.0",
        "10.0.0.0/",
        "10.0.0/8",
        "10.0.0.0/x",
        "/8",
        "10.0.0.0/+8",
    ] {
        let e = a(bad).ip4_prefix().unwrap_err().to_string();
        assert!(e.starts_with("expected IPv4 prefix"), "{bad}: {e}");
    }
}

#[test]
fn args_mac() {
    let m = [0x02, 0xfe, 0x16, 0x3f, 0x5f, 0x0f];
    assert_eq!(a("02:fe:16:3f:5f:0f").mac().unwrap(), m);
    assert_eq!(a("02:FE:16:3F:5F:0F").mac().unwrap(), m);
    assert_eq!(a("02-fe-16-3f-5f-0f").mac().unwrap(), m);
    assert_eq!(a("02fe.163f.5f0f").mac().unwrap(), m);
    assert_eq!(a("2:fe:16:3f:5f:f").mac().unwrap(), m);
    for bad in [
        "02:fe:16:3f:5f",
        "02:fe:16:3f:5f:0f:00",
        "02:fe:16:3f:5f:0g",
        "002:fe:16:3f:5f:0f",
        "02fe.163f",
        "02fe.163f.5f0",
        "hello",
        "",
    ] {
        let e = a(bad).mac().unwrap_err().to_string();
        assert!(e.starts_with("expected MAC address"), "{bad}: {e}");
    }
}

#[test]
fn args_ranges() {
    assert_eq!(a("80").range_u16().unwrap(), (80, 80));
    assert_eq!(a("1000-2000").range_u16().unwrap(), (1000, 2000));
    assert_eq!(a("0-65535").range_u16().unwrap(), (0, 65535));
    for bad in ["2000-1000", "1-65536", "x", "1-", "-1", "1-2-3"] {
        assert!(a(bad).range_u16().is_err(), "{bad}");
    }
    let (l, h) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 9));
    assert_eq!(a("10.0.0.1").ip4_range().unwrap(), (l, l));
    assert_eq!(a("10.0.0.1-10.0.0.9").ip4_range().unwrap(), (l, h));
    for bad in ["10.0.0.9-10.0.0.1", "10.0.0.1-", "10.0.0.1-x", "x"] {
        let e = a(bad).ip4_range().unwrap_err().to_string();
        assert!(e.starts_with("expected IPv4 range"), "{bad}: {e}");
    }
}

#[test]
fn args_ip4_port() {
    assert_eq!(
        a("10.104.221.85:80").ip4_port().unwrap(),
        (Ipv4Addr::new(10, 104, 221, 85), 80)
    );
    for bad in ["10.104.221.85", "10.104.221.85:", "x:80", ":80"] {
        let e = a(bad).ip4_port().unwrap_err().to_string();
        assert!(e.starts_with("expected IPv4 address:port"), "{bad}: {e}");
    }
    let e = a("10.104.221.85:65536").ip4_port().unwrap_err().to_string();
    assert_eq!(e, "port 65536 is out of range: a port is 0-65535");
}

#[test]
fn args_ports_name_what_is_out_of_range() {
    assert_eq!(a("65535").port().unwrap(), 65535);
    assert_eq!(a("0x50").port().unwrap(), 80);
    let mut x = a("external 10.0.0.1");
    assert_eq!(x.opt_port().unwrap(), None);
    assert_eq!(x.peek(), Some("external"));
    for bad in ["65536", "70000", "99999999999"] {
        let e = a(bad).port().unwrap_err().to_string();
        assert_eq!(e, format!("port {bad} is out of range: a port is 0-65535"));
        assert!(a(bad).opt_port().is_err());
    }
    let e = a("80-70000").range_u16().unwrap_err().to_string();
    assert_eq!(e, "port 70000 is out of range: a port is 0-65535");
    assert!(a("tcp")
        .port()
        .unwrap_err()
        .to_string()
        .starts_with("expected port (0-65535)"));
}

#[test]
fn args_block_errors() {
    let mut x = a("word { a }");
    assert_eq!(
        x.block().unwrap_err().to_string(),
        "expected `{ ... }` block, got `word`"
    );
    x.next_word();
    assert!(x.block().is_ok());
    assert!(x.block().is_err());
    assert!(Args::new("{").is_err());
    assert!(Args::new("}").is_err());
    assert!(Args::new("{{}").is_err());
    assert_eq!(
        a("").unknown().to_string(),
        "unknown input: unexpected end of line"
    );
}

#[test]
fn error_new_strips_newlines_and_long_input_is_truncated() {
    assert_eq!(CliError::new("a\nb\r\tc").to_string(), "a b  c");
    let long = "x".repeat(10_000);
    let e = a(&long).ip4().unwrap_err().to_string();
    assert!(e.len() < 200, "{}", e.len());
    let r = reg();
    let e = err(&r, &format!("nosuch {long}"));
    assert!(e.len() < 400);
    assert_eq!(run(&r, &format!("echo {long}")).unwrap(), long);
}

// ---------- robustness ----------

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn garbage_line(rng: &mut XorShift) -> String {
    const FRAGS: &[&str] = &[
        "show",
        "sh",
        "s",
        "set",
        "setup",
        "int",
        "interface",
        "ip",
        "fib",
        "arp",
        "address",
        "state",
        "pg0",
        "up",
        "{",
        "}",
        ",",
        "?",
        " ",
        "  ",
        "\t",
        "\n",
        "comment",
        "echo",
        "help",
        "exec",
        "/nonexistent/cli-fuzz",
        "packet-generator",
        "new",
        "name",
        "limit",
        "x",
        "10",
        "1.2.3.4/24",
        "é",
        "日本",
        "\u{0}",
        "#",
        "fail",
        "clear",
        "trace",
        "-",
        ":",
        ".",
    ];
    let n = rng.below(12);
    let mut s = String::new();
    for _ in 0..n {
        if rng.below(4) == 0 {
            // a random char, ascii-heavy
            let c = if rng.below(3) == 0 {
                char::from_u32(rng.below(0x3000) as u32).unwrap_or('?')
            } else {
                (b' ' + rng.below(95) as u8) as char
            };
            s.push(c);
        } else {
            s.push_str(FRAGS[rng.below(FRAGS.len())]);
            if rng.below(2) == 0 {
                s.push(' ');
            }
        }
    }
    // never exec a real file by accident: keep exec pointing nowhere
    s.replace("exec", "exec /nonexistent/cli-fuzz ")
}

#[test]
fn fuzz_never_panics() {
    let r = reg();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut ctx = Ctx::default();
    for _ in 0..20_000 {
        let line = garbage_line(&mut rng);
        match r.execute(&mut ctx, &line) {
            Ok(_) => {}
            Err(e) => assert!(!e.to_string().contains('\n'), "{line:?} -> {e:?}"),
        }
        let _ = r.complete(&line);
        let mut script = line.clone();
        for _ in 0..rng.below(4) {
            script.push('\n');
            script.push_str(&garbage_line(&mut rng));
        }
        if let Err(e) = r.exec_script(&mut ctx, &script) {
            assert!(!e.to_string().contains('\n'), "{script:?} -> {e:?}");
        }
        if let Ok(mut x) = Args::new(&line) {
            let _ = (x.u32(), x.ip4(), x.ip4_prefix(), x.mac(), x.range_u16());
            let _ = (x.ip4_range(), x.ip4_port(), x.u8(), x.block());
            let _ = (x.remaining(), x.unknown(), x.expect_end(), x.next_word());
        }
    }
    // pathological nesting and length
    let deep = format!("comment {}{}", "{".repeat(100_000), "}".repeat(100_000));
    assert_eq!(r.execute(&mut ctx, &deep).unwrap(), "");
    assert!(r.execute(&mut ctx, &"{".repeat(100_000)).is_err());
    assert!(r.exec_script(&mut ctx, &"{\n".repeat(10_000)).is_err());
    let _ = r.complete(&"sh ".repeat(50_000));
}
