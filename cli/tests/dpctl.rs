//! The `dpctl` binary against an in-process daemon: one-shot mode, and the
//! interactive mode driven through a pseudo-terminal (completion, `?`, history,
//! errors, Ctrl-C, Ctrl-D).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{tempdir, Daemon};
use rexpect::process::wait::WaitStatus;
use rexpect::session::{spawn_command, PtySession};

const DPCTL: &str = env!("CARGO_BIN_EXE_dpctl");
const PROMPT: &str = "dpctl# ";

fn dpctl(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(DPCTL)
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn one_shot() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");

    // No daemon: one line, exit 1.
    let (code, out, err) = dpctl(&sock, &["show", "counter"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.starts_with(&format!("cannot connect to {}: ", sock.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    // Interactive without a daemon fails the same way.
    let out = Command::new(DPCTL).arg("-s").arg(&sock).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("cannot connect to "));

    let d = Daemon::start(&sock);
    assert_eq!(
        dpctl(&sock, &["set", "counter", "3"]),
        (0, String::new(), String::new())
    );
    assert_eq!(
        dpctl(&sock, &["sh", "counter"]),
        (0, "counter 3\n".into(), String::new())
    );
    // Words are joined with spaces; a single quoted argument works too.
    assert_eq!(
        dpctl(&sock, &["show counter"]),
        (0, "counter 3\n".into(), String::new())
    );
    let (code, out, err) = dpctl(&sock, &["show", "?"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("version") && out.contains("show the version"),
        "{out}"
    );
    let (code, out, err) = dpctl(&sock, &["show", "lines", "50000"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().count(), 50000);

    let (code, out, err) = dpctl(&sock, &["bogus", "thing"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.starts_with("unknown command `bogus thing`"), "{err}");
    assert_eq!(err.lines().count(), 1);
    let (code, _, err) = dpctl(&sock, &["set", "counter", "-1"]);
    assert_eq!(code, 1);
    assert!(err.contains("expected u64"), "{err}");
    assert_eq!(d.stop().value, 3);
}

fn dpctl_stdin(socket: &Path, input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut c = Command::new(DPCTL)
        .arg("-s")
        .arg(socket)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input).unwrap();
    let out = c.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn piped_commands_all_run_and_failures_set_the_exit_status() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");
    // --version is answered without a daemon.
    let out = Command::new(DPCTL).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("dpctl {}\n", env!("CARGO_PKG_VERSION"))
    );
    // No daemon: one line, exit 1, even with nothing to send.
    let (code, _, err) = dpctl_stdin(&sock, b"");
    assert_eq!(code, 1);
    assert!(err.starts_with("cannot connect to "), "{err}");

    let d = Daemon::start(&sock);
    let (code, out, err) = dpctl_stdin(&sock, b"set counter 1\nshow counter\n");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "counter 1\n", ""));
    // A failing line is reported and the rest still runs; the status says something failed.
    let (code, out, err) = dpctl_stdin(
        &sock,
        b"set counter 2\nbogus thing\n# a comment\n\nset counter 5\nshow counter\n",
    );
    assert_eq!(code, 1);
    assert_eq!(out, "counter 5\n");
    assert!(err.starts_with("unknown command `bogus thing`"), "{err}");
    assert_eq!(err.lines().count(), 1);
    // A line that is not UTF-8 is named and skipped.
    let (code, out, err) = dpctl_stdin(&sock, b"set counter 6\n\xff\xfe junk\nshow counter\n");
    assert_eq!(code, 1);
    assert_eq!(out, "counter 6\n");
    assert_eq!(err, "dpctl: line 2: not valid UTF-8, skipped\n");
    // quit stops there.
    let (code, out, _) = dpctl_stdin(&sock, b"set counter 7\nquit\nset counter 8\n");
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(d.stop().value, 7);
}

fn spawn(socket: &Path, history: &Path) -> PtySession {
    let mut cmd = Command::new(DPCTL);
    cmd.arg("-s")
        .arg(socket)
        .env("DPCTL_HISTORY", history)
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(10_000)).expect("spawn dpctl in a pty");
    p.exp_string(PROMPT).expect("first prompt");
    p
}

fn send(p: &mut PtySession, s: &str) {
    p.send(s).unwrap();
    p.flush().unwrap();
}

fn expect(p: &mut PtySession, s: &str) -> String {
    match p.exp_string(s) {
        Ok(before) => before,
        Err(e) => panic!("waiting for {s:?}: {e}"),
    }
}

fn expect_exit_0(p: &mut PtySession) {
    p.exp_eof().expect("dpctl exits");
    match p.process.wait().unwrap() {
        WaitStatus::Exited(_, 0) => {}
        other => panic!("dpctl ended with {other:?}"),
    }
}

/// Expects `text` as a whole output line (not as part of echoed input).
fn expect_line(p: &mut PtySession, text: &str) {
    expect(p, &format!("\n{text}\r\n"));
}

const UP: &str = "\x1b[A";

#[test]
fn interactive_in_a_pty() {
    let dir = tempdir();
    let sock = dir.path().join("cli.sock");
    let history = dir.path().join("history");
    let d = Daemon::start(&sock);

    // ---- first session ----
    let mut p = spawn(&sock, &history);

    // TAB completes a unique word: `sh` -> `show `, `ver` -> `version `.
    send(&mut p, "sh\t");
    expect(&mut p, "show ");
    send(&mut p, "ver\t");
    expect(&mut p, "show version ");
    send(&mut p, "\r");
    expect_line(&mut p, "dataplane test 0.1");
    expect(&mut p, PROMPT);

    // TAB twice on an ambiguous position lists the candidates.
    send(&mut p, "show \t\t");
    let listing = expect(&mut p, "weird");
    assert!(
        listing.contains("counter") && listing.contains("version"),
        "{listing:?}"
    );
    send(&mut p, "\x15"); // Ctrl-U: kill the line
    send(&mut p, "\r");
    expect(&mut p, PROMPT);

    // `?` lists the next words with help at once, then the line is redisplayed
    // unchanged and editing continues.
    send(&mut p, "show ?");
    let listing = expect(&mut p, "show the version");
    assert!(
        listing.contains("counter") && listing.contains("show the counter value"),
        "{listing:?}"
    );
    assert!(
        listing.contains("lines") && listing.contains("print N lines"),
        "{listing:?}"
    );
    expect(&mut p, &format!("{PROMPT}show "));
    send(&mut p, "counter\r");
    expect_line(&mut p, "counter 0");
    expect(&mut p, PROMPT);
    // `?` inside a command's arguments shows the command's help.
    send(&mut p, "set counter ?");
    expect(&mut p, "set counter N");
    expect(&mut p, &format!("{PROMPT}set counter "));
    send(&mut p, "5\r");
    expect(&mut p, PROMPT);

    // A bad command prints one error line and the session goes on.
    send(&mut p, "bogus\r");
    expect(&mut p, "unknown command `bogus`: expected one of:");
    expect(&mut p, PROMPT);
    send(&mut p, "set counter x\r");
    expect(&mut p, "expected u64 number, got `x`");
    expect(&mut p, PROMPT);

    // Ctrl-C abandons the line being typed.
    send(&mut p, "set counter 9");
    expect(&mut p, "set counter 9");
    send(&mut p, "\x03");
    expect(&mut p, PROMPT);
    send(&mut p, "show counter\r");
    expect_line(&mut p, "counter 5");
    expect(&mut p, PROMPT);

    // Typed-ahead lines are not lost, and pasted (bracketed) multi-line text
    // runs one command per line.
    send(&mut p, "set counter 6\rshow counter\r");
    expect_line(&mut p, "counter 6");
    expect(&mut p, PROMPT);
    send(
        &mut p,
        "\x1b[200~set counter 5\r# note\rshow counter\r\x1b[201~",
    );
    send(&mut p, "\r");
    expect_line(&mut p, "counter 5");
    expect(&mut p, PROMPT);

    send(&mut p, "set counter 7\r");
    expect(&mut p, PROMPT);

    // Ctrl-D on an empty line leaves.
    send(&mut p, "\x04");
    expect_exit_0(&mut p);

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("show counter") && saved.contains("bogus"),
        "{saved}"
    );
    assert!(!saved.contains("set counter 9"), "{saved}");
    assert!(!saved.contains("# note"), "{saved}");

    // ---- second session: history persisted ----
    let mut p = spawn(&sock, &history);
    send(&mut p, "set counter 1\r");
    expect(&mut p, PROMPT);
    // Up twice: past this session's `set counter 1` to the last one of the first session.
    send(&mut p, &UP.repeat(2));
    expect(&mut p, "set counter 7");
    send(&mut p, "\r");
    expect(&mut p, PROMPT);
    send(&mut p, "show counter\r");
    expect_line(&mut p, "counter 7");
    expect(&mut p, PROMPT);

    // The daemon restarts under a running session: the next command reconnects.
    let ctx = d.stop();
    assert_eq!(ctx.value, 7);
    send(&mut p, "show counter\r");
    p.exp_regex("cannot connect to|connection to .* lost")
        .expect("connection error");
    expect(&mut p, PROMPT);
    let d = Daemon::start(&sock);
    send(&mut p, "show counter\r");
    expect_line(&mut p, "counter 0");
    expect(&mut p, PROMPT);

    send(&mut p, "quit\r");
    expect_exit_0(&mut p);

    // `exit` works too.
    let mut p = spawn(&sock, &history);
    send(&mut p, "exit\r");
    expect_exit_0(&mut p);
    std::thread::sleep(Duration::from_millis(50));
    d.stop();
}
