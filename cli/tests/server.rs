//! CLI socket server: requests served on the main loop, many clients, garbage
//! clients, socket ownership.

mod common;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use cli::client::{Client, ClientError};
use cli::server::{CliServer, Request, Response, ServerOptions, MAX_FRAME};
use common::{tempdir, Daemon};

/// Reads until EOF (or the timeout) and returns everything received.
fn read_all(s: &mut UnixStream, timeout: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut v = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => v.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    v
}

/// Sends raw bytes (ignoring write errors) and returns the server's reply up to EOF.
fn raw_exchange(path: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(path).unwrap();
    let _ = s.write_all(bytes);
    String::from_utf8_lossy(&read_all(&mut s, Duration::from_secs(5))).into_owned()
}

/// Asserts the daemon still answers a well-behaved client.
fn assert_alive(path: &Path) {
    let mut c = Client::connect(path).unwrap();
    assert_eq!(c.exec("show version").unwrap(), "dataplane test 0.1");
}

#[test]
fn exec_error_complete_and_big_output() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start(&path);
    let mut c = Client::connect(&path).unwrap();
    assert_eq!(c.exec("sh ver").unwrap(), "dataplane test 0.1");
    assert_eq!(c.exec("set counter 41").unwrap(), "");
    assert_eq!(c.exec("incr c").unwrap(), "42");
    assert_eq!(c.exec("show counter").unwrap(), "counter 42");
    assert_eq!(c.exec("").unwrap(), "");

    // Errors keep the connection usable.
    match c.exec("bogus command") {
        Err(ClientError::Command(m)) => {
            assert!(m.starts_with("unknown command `bogus command`"), "{m}");
            assert!(!m.contains('\n'));
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    match c.exec("set counter x") {
        Err(ClientError::Command(m)) => assert!(m.contains("expected u64"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.exec("show counter").unwrap(), "counter 42");

    // Output that looks like frames or has control characters is carried verbatim.
    assert_eq!(
        c.exec("show weird").unwrap(),
        "OUT 5\nEND 0\nERR 3\n\t\r\u{0}\u{e9}\u{1F600}\n\n"
    );

    // `?` lines and completion.
    let q = c.exec("show ?").unwrap();
    assert!(
        q.contains("counter") && q.contains("show the counter value"),
        "{q}"
    );
    let words: Vec<String> = c
        .complete("sh")
        .unwrap()
        .into_iter()
        .map(|w| w.word)
        .collect();
    assert_eq!(words, ["show"]);
    let comps = c.complete("show ").unwrap();
    let words: Vec<&str> = comps.iter().map(|w| w.word.as_str()).collect();
    assert_eq!(words, ["counter", "lines", "version", "weird"]);
    assert_eq!(comps[0].help, "show the counter value");
    assert!(c.complete("nothing").unwrap().is_empty());

    // Output larger than a frame comes in several chunks.
    let big = c.exec("show lines 100000").unwrap();
    assert!(big.len() > 3 * MAX_FRAME, "{}", big.len());
    assert_eq!(big.lines().count(), 100000);
    assert!(big.ends_with("line 00099999 abcdefghijklmnopqrstuvwxyz"));
    let mut streamed = Vec::new();
    c.exec_to("show lines 1000", &mut streamed).unwrap();
    assert_eq!(streamed.split(|&b| b == b'\n').count(), 1000);

    // Pipelined requests on one connection are answered in order.
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"EXEC 12\nshow counterEXEC 3\nfooCOMPLETE 2\nsh")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let reply = String::from_utf8(read_all(&mut s, Duration::from_secs(5))).unwrap();
    assert!(
        reply.starts_with("OUT 10\ncounter 42END 0\nERR "),
        "{reply:?}"
    );
    assert!(
        reply.ends_with("show\t{counter|lines|version|weird}END 0\n"),
        "{reply:?}"
    );

    let ctx = d.stop();
    assert_eq!(ctx.value, 42);
}

#[test]
fn concurrent_clients() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start(&path);
    const CLIENTS: usize = 8;
    const EACH: u64 = 50;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let path = path.clone();
            thread::spawn(move || {
                let mut c = Client::connect(&path).unwrap();
                let mut last = 0;
                for _ in 0..EACH {
                    let v: u64 = c.exec("increment counter").unwrap().parse().unwrap();
                    assert!(v > last, "values from one client must increase");
                    last = v;
                    if i % 2 == 0 {
                        assert!(c.exec("show counter").unwrap().starts_with("counter "));
                        assert_eq!(c.complete("inc").unwrap()[0].word, "increment");
                    }
                }
                // A big output per client, all at once.
                assert_eq!(c.exec("show lines 20000").unwrap().lines().count(), 20000);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = Client::connect(&path).unwrap();
    assert_eq!(
        c.exec("show counter").unwrap(),
        format!("counter {}", CLIENTS as u64 * EACH)
    );
    drop(c);
    let ctx = d.stop();
    assert_eq!(ctx.value, CLIENTS as u64 * EACH);
}

/// Tiny deterministic PRNG for garbage.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn garbage_clients_do_not_disturb() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start_with(
        &path,
        ServerOptions {
            frame_timeout: Duration::from_millis(300),
            ..ServerOptions::default()
        },
    );
    let mut good = Client::connect(&path).unwrap();
    good.exec("set counter 7").unwrap();

    // Malformed headers, bad kinds, huge lengths: ERR, then closed.
    for (bytes, expect) in [
        (&b"HELO 3\nabc"[..], "unexpected kind"),
        (b"OUT 3\nabc", "unexpected kind"),
        (b"EXEC\n", "expected `KIND LEN`"),
        (b"EXEC abc\n", "not a decimal number"),
        (b"EXEC 99999999999999\n", "not a decimal number"),
        (b"EXEC 1048577\n", "frame too long"),
        (b"EXEC 4294967295\nxx", "frame too long"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "unexpected kind"),
        (&[b'A'; 100], "no newline"),
    ] {
        let r = raw_exchange(&path, bytes);
        assert!(
            r.starts_with("ERR "),
            "{:?} -> {r:?}",
            String::from_utf8_lossy(bytes)
        );
        assert!(
            r.contains(expect),
            "{:?} -> {r:?}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(r.matches('\n').count(), 1, "one-line error: {r:?}");
    }

    // Invalid UTF-8 in a well-formed frame.
    let r = raw_exchange(&path, b"EXEC 4\nsh\xff\xfe");
    assert!(
        r.starts_with("ERR ") && r.contains("invalid UTF-8"),
        "{r:?}"
    );

    // A valid request followed by garbage: the request is answered first.
    let r = raw_exchange(&path, b"EXEC 12\nshow counterBLAH 1\n");
    assert!(r.starts_with("OUT 9\ncounter 7END 0\nERR "), "{r:?}");

    // Half a frame, then EOF.
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"EXEC 10\nshow").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let r = String::from_utf8_lossy(&read_all(&mut s, Duration::from_secs(5))).into_owned();
    assert!(
        r.starts_with("ERR ") && r.contains("closed in the middle"),
        "{r:?}"
    );

    // Half a frame, then silence: timed out, while others are served meanwhile.
    let mut stall = UnixStream::connect(&path).unwrap();
    stall.write_all(b"EXEC 10\nsho").unwrap();
    let mut stall_hdr = UnixStream::connect(&path).unwrap();
    stall_hdr.write_all(b"EXE").unwrap();
    assert_eq!(good.exec("show counter").unwrap(), "counter 7");
    let t = Instant::now();
    let r = String::from_utf8_lossy(&read_all(&mut stall, Duration::from_secs(5))).into_owned();
    assert!(r.contains("timed out"), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(4));
    let r = String::from_utf8_lossy(&read_all(&mut stall_hdr, Duration::from_secs(5))).into_owned();
    assert!(r.contains("timed out"), "{r:?}");

    // Instant disconnects, and clients that send a request and vanish before
    // (or while) reading a big response.
    for i in 0..50 {
        let mut s = UnixStream::connect(&path).unwrap();
        if i % 2 == 0 {
            let _ = s.write_all(b"EXEC 17\nshow lines 200000");
        }
        drop(s);
    }
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"EXEC 17\nshow lines 200000").unwrap();
    let mut part = [0u8; 1000];
    s.read_exact(&mut part).unwrap();
    assert!(part.starts_with(b"OUT 65536\nline 00000000"));
    drop(s);

    // Random garbage.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..40 {
        let len = (xorshift(&mut seed) % 3000) as usize + 1;
        let mut bytes: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        if round % 4 == 0 {
            // Plausible start, garbage after.
            bytes.splice(0..0, b"EXEC ".iter().copied());
        }
        let mut s = UnixStream::connect(&path).unwrap();
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let r = read_all(&mut s, Duration::from_secs(5));
        // Frames (an upper-case start) are answered in frames; anything else is a text
        // client, whose lines run as commands (here: unknown ones).
        if bytes[0].is_ascii_uppercase() {
            assert!(
                r.is_empty() || r.starts_with(b"ERR ") || r.starts_with(b"OUT "),
                "{r:?}"
            );
        }
        if round % 8 == 0 {
            assert_eq!(good.exec("show counter").unwrap(), "counter 7");
        }
    }

    // A client that never reads a huge output does not block anyone else.
    let mut hog = UnixStream::connect(&path).unwrap();
    hog.write_all(b"EXEC 17\nshow lines 300000").unwrap();
    thread::sleep(Duration::from_millis(100));
    assert_eq!(good.exec("increment counter").unwrap(), "8");

    // The original connection and new ones still work.
    assert_eq!(good.exec("show counter").unwrap(), "counter 8");
    assert_alive(&path);
    let ctx = d.stop(); // shuts down even with `hog` stuck mid-response
    drop(hog);
    assert_eq!(ctx.value, 8);
    assert!(!path.exists());
}

#[test]
fn too_many_clients_are_refused() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start_with(
        &path,
        ServerOptions {
            max_clients: 2,
            ..ServerOptions::default()
        },
    );
    let mut a = Client::connect(&path).unwrap();
    let mut b = Client::connect(&path).unwrap();
    a.exec("show counter").unwrap();
    b.exec("show counter").unwrap();
    let r = raw_exchange(&path, b"EXEC 12\nshow counter");
    assert!(r.starts_with("ERR ") && r.contains("too many"), "{r:?}");
    drop(b);
    // The slot is freed once the connection thread notices.
    let t = Instant::now();
    loop {
        let mut c = Client::connect(&path).unwrap();
        match c.exec("show counter") {
            Ok(o) => {
                assert_eq!(o, "counter 0");
                break;
            }
            Err(e) => assert!(t.elapsed() < Duration::from_secs(5), "{e}"),
        }
        thread::sleep(Duration::from_millis(20));
    }
    a.exec("show counter").unwrap();
    d.stop();
}

#[test]
fn socket_mode_parent_dir_and_unlink_on_drop() {
    let dir = tempdir();
    let path = dir.path().join("run/dataplane/cli.sock");
    let server = CliServer::bind(&path).unwrap();
    assert_eq!(server.path(), path);
    let meta = fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    drop(server);
    assert!(!path.exists());

    // Explicit shutdown is idempotent.
    let mut server = CliServer::bind(&path).unwrap();
    server.shutdown();
    assert!(!path.exists());
    server.shutdown();
    assert_eq!(server.poll(|_| Response::ok("")), 0);
    assert!(!server.wait_timeout(Duration::from_millis(1)));
    drop(server);
}

#[test]
fn stale_socket_is_taken_over() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    // A socket file nobody listens on (as left by a crashed daemon).
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert_eq!(
        UnixStream::connect(&path).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    let d = Daemon::start(&path);
    assert_alive(&path);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    d.stop();
    assert!(!path.exists());
}

#[test]
fn live_daemon_is_not_taken_over() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start(&path);
    let err = CliServer::bind(&path).unwrap_err();
    assert_eq!(
        err,
        format!("a daemon is already listening on {}", path.display())
    );
    // The first daemon is unaffected.
    assert_alive(&path);

    // A path that is not a socket is never removed.
    let file = dir.path().join("not-a-socket");
    fs::write(&file, "keep me").unwrap();
    let err = CliServer::bind(&file).unwrap_err();
    assert!(err.contains("not a socket"), "{err}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
    d.stop();
}

#[test]
fn replaced_socket_is_not_unlinked() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let server = CliServer::bind(&path).unwrap();
    // Someone removes our socket and another daemon binds the path.
    fs::remove_file(&path).unwrap();
    let other = UnixListener::bind(&path).unwrap();
    drop(server); // must neither hang nor unlink the other daemon's socket
    assert!(path.exists());
    drop(other);
}

#[test]
fn wait_timeout_and_waker() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let mut server = CliServer::bind(&path).unwrap();
    let t = Instant::now();
    assert!(!server.wait_timeout(Duration::from_millis(50)));
    assert!(t.elapsed() >= Duration::from_millis(45));
    assert_eq!(server.poll(|_| Response::ok("")), 0);

    // A waker from another thread ends the wait early.
    let w = server.waker();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        w.wake();
    });
    let t = Instant::now();
    assert!(server.wait_timeout(Duration::from_secs(10)));
    assert!(t.elapsed() < Duration::from_secs(5));
    h.join().unwrap();
    assert_eq!(server.poll(|_| Response::ok("")), 0);

    // A request wakes the wait; the request is served by the next poll.
    let p = path.clone();
    let client = thread::spawn(move || {
        let mut c = Client::connect(&p).unwrap();
        let a = c.exec("hello").unwrap();
        let b = c.complete("x").unwrap();
        let e = c.exec("fail").unwrap_err();
        (a, b, e.to_string())
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        assert!(server.wait_timeout(Duration::from_secs(10)));
        server.poll(|req| {
            seen.push(req.clone());
            match req {
                Request::Exec(l) if l == "fail" => Response::error("it\nfailed"),
                Request::Exec(l) => Response::ok(format!("{l} world")),
                Request::Complete(l) => Response::completions(&[cli::Completion {
                    word: format!("{l}yz"),
                    help: "help text".into(),
                }]),
            }
        });
    }
    let (a, b, e) = client.join().unwrap();
    assert_eq!(a, "hello world");
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].word.as_str(), b[0].help.as_str()),
        ("xyz", "help text")
    );
    assert_eq!(e, "it failed");
    assert_eq!(
        seen,
        [
            Request::Exec("hello".into()),
            Request::Complete("x".into()),
            Request::Exec("fail".into())
        ]
    );
    assert_eq!(seen[1].line(), "x");
}

#[test]
fn shutdown_releases_waiting_clients() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let server = CliServer::bind(&path).unwrap();
    // Clients whose requests the main loop never serves.
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let p = path.clone();
            thread::spawn(move || Client::connect(&p).unwrap().exec("show counter"))
        })
        .collect();
    let idle = Client::connect(&path).unwrap();
    let t = Instant::now();
    while server.clients() < 4 {
        assert!(t.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    for w in waiting {
        assert!(w.join().unwrap().is_err());
    }
    drop(idle);
    assert!(!path.exists());
    assert!(Client::connect(&path).is_err());
}

#[test]
fn idle_clients_are_closed_and_dpctl_reconnects() {
    let dir = tempdir();
    let path = dir.path().join("cli.sock");
    let d = Daemon::start_with(
        &path,
        ServerOptions {
            idle_timeout: Duration::from_secs(1),
            ..ServerOptions::default()
        },
    );
    let mut c = Client::connect(&path).unwrap();
    c.exec("set counter 2").unwrap();
    // A text client that goes quiet is told, then closed.
    let mut t = UnixStream::connect(&path).unwrap();
    t.write_all(b"show counter\n").unwrap();
    let r = String::from_utf8_lossy(&read_all(&mut t, Duration::from_secs(5))).into_owned();
    assert_eq!(r, "counter 2\nidle for 1 s: closing\n");
    // The framed connection was closed too: the next request fails, a new one works.
    thread::sleep(Duration::from_millis(300));
    let e = c.exec("show counter").unwrap_err();
    assert!(e.is_connection(), "{e:?}");
    let mut c = Client::connect(&path).unwrap();
    assert_eq!(c.exec("show counter").unwrap(), "counter 2");
    drop(c);
    assert_eq!(d.stop().value, 2);
}
