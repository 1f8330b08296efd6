//! A minimal HTTP/1.x responder for `GET /metrics`, built so that no client can stall the
//! forwarding loop.
//!
//! # Threads
//!
//! - An acceptor thread (`metrics`) accepts TCP connections and gives each its own short-lived
//!   thread (`metrics-conn`), at most [`MAX_CONNECTIONS`] at once; beyond that a client gets a
//!   503 at once.
//! - A connection thread reads the request head with a deadline ([`READ_TIMEOUT`]) and a size
//!   bound ([`MAX_HEAD`]), and answers bad requests (400, 404, 405, 408, 431, 505) by itself.
//! - For `GET`/`HEAD` of `/metrics` (or `/`) it queues a [`Scrape`] on a channel to the main
//!   thread, writes one byte to a socket pair whose other end is in the set the idle main loop
//!   waits on ([`MetricsServer::wake_fd`]), so an idle loop wakes at once instead of after its
//!   poll-sleep, and waits for the text ([`RENDER_TIMEOUT`], then 503).
//! - The main thread owns the dataplane: between graph dispatches [`MetricsServer::poll`]
//!   renders the text once for all queued scrapes and hands it back, never blocking.
//! - The connection thread writes the response with a write timeout and closes the connection
//!   (`Connection: close`: one request per connection, as Prometheus and curl are fine with).
//!
//! The forwarding loop therefore never reads from or writes to a client: a slow, silent or
//! hostile client only ties up its own connection thread, for a bounded time.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest request head (request line and headers) read from a client.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long writing the response may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection waits for the main loop to render (it may be running a long script).
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more get a 503 at once.
pub const MAX_CONNECTIONS: usize = 32;

/// A scrape waiting for the main thread: the rendered text goes back on `reply`.
pub struct Scrape {
    reply: SyncSender<String>,
}

/// Response status codes used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 200 OK.
    Ok,
    /// 400 Bad Request: not an HTTP/1.x request.
    BadRequest,
    /// 404 Not Found: a path other than `/metrics` and `/`.
    NotFound,
    /// 405 Method Not Allowed: not GET or HEAD.
    MethodNotAllowed,
    /// 408 Request Timeout: the head did not arrive within [`READ_TIMEOUT`].
    RequestTimeout,
    /// 431 Request Header Fields Too Large: the head is longer than [`MAX_HEAD`].
    HeadTooLarge,
    /// 503 Service Unavailable: too many connections, or the main loop did not answer.
    Unavailable,
    /// 505 HTTP Version Not Supported: HTTP/2 or later.
    VersionNotSupported,
}

impl Status {
    /// Code and reason phrase.
    pub fn line(self) -> (u16, &'static str) {
        match self {
            Status::Ok => (200, "OK"),
            Status::BadRequest => (400, "Bad Request"),
            Status::NotFound => (404, "Not Found"),
            Status::MethodNotAllowed => (405, "Method Not Allowed"),
            Status::RequestTimeout => (408, "Request Timeout"),
            Status::HeadTooLarge => (431, "Request Header Fields Too Large"),
            Status::Unavailable => (503, "Service Unavailable"),
            Status::VersionNotSupported => (505, "HTTP Version Not Supported"),
        }
    }

    /// The body of an error response.
    fn text(self) -> &'static str {
        match self {
            Status::Ok => "",
            Status::BadRequest => {
                "bad request: expected an HTTP/1.x request such as GET /metrics\n"
            }
            Status::NotFound => "not found: metrics are at /metrics\n",
            Status::MethodNotAllowed => "method not allowed: use GET or HEAD\n",
            Status::RequestTimeout => "request timeout\n",
            Status::HeadTooLarge => "request head too large\n",
            Status::Unavailable => "busy: try again\n",
            Status::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are supported\n",
        }
    }
}

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The metrics; `head_only` for HEAD (headers without the body).
    Metrics {
        /// A HEAD request.
        head_only: bool,
    },
    /// An error response.
    Error(Status),
}

/// Where `head` (a complete request head, without the blank line or with it) should go.
pub fn route(head: &[u8]) -> Route {
    let Ok(text) = std::str::from_utf8(head) else {
        return Route::Error(Status::BadRequest);
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    // RFC 9112 2.2: empty lines before the request line are skipped.
    let line = lines.by_ref().find(|l| !l.is_empty()).unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::Error(Status::BadRequest);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase() || b == b'-') {
        return Route::Error(Status::BadRequest);
    }
    match version {
        "HTTP/1.0" | "HTTP/1.1" => {}
        v if v.starts_with("HTTP/") && v.len() > 5 => {
            return Route::Error(Status::VersionNotSupported)
        }
        _ => return Route::Error(Status::BadRequest),
    }
    // Every header line needs a name and a colon; the values do not matter here.
    for l in lines.take_while(|l| !l.is_empty()) {
        match l.split_once(':') {
            Some((name, _)) if !name.is_empty() && !name.contains([' ', '\t']) => {}
            _ => return Route::Error(Status::BadRequest),
        }
    }
    // Origin form `/metrics?x`, or absolute form `http://host:port/metrics` (proxies).
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None if target.starts_with('/') => target,
        None => return Route::Error(Status::BadRequest),
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if path != "/metrics" && path != "/" {
        return Route::Error(Status::NotFound);
    }
    match method {
        "GET" => Route::Metrics { head_only: false },
        "HEAD" => Route::Metrics { head_only: true },
        _ => Route::Error(Status::MethodNotAllowed),
    }
}

/// The bytes of a response: status line, headers, and `body` unless `head_only`.
pub fn response(status: Status, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let (code, reason) = status.line();
    let allow = if status == Status::MethodNotAllowed {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

fn error_response(status: Status, head_only: bool) -> Vec<u8> {
    response(
        status,
        "text/plain; charset=utf-8",
        status.text(),
        head_only,
    )
}

/// Read a request head: up to the blank line, at most [`MAX_HEAD`] bytes, within `timeout`.
/// `Ok(None)` when the client closed without sending anything.
fn read_head(s: &mut TcpStream, timeout: Duration) -> Result<Option<Vec<u8>>, Status> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = head_end(&buf) {
            buf.truncate(end);
            return Ok(Some(buf));
        }
        if buf.len() > MAX_HEAD {
            return Err(Status::HeadTooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Status::RequestTimeout);
        }
        s.set_read_timeout(Some(left))
            .map_err(|_| Status::BadRequest)?;
        match s.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(Status::BadRequest),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Status::RequestTimeout)
            }
            Err(_) => return Ok(None),
        }
    }
}

/// Length of the head up to its blank line (CRLF CRLF, or bare LF LF as lenient servers take).
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What connection threads share.
struct Shared {
    scrapes: Sender<Scrape>,
    /// Written to after a scrape is queued; the main loop polls the other end.
    wake: UnixStream,
    active: AtomicUsize,
}

/// Serve one connection (on its own thread).
fn serve(mut s: TcpStream, sh: &Shared) {
    let _ = s.set_write_timeout(Some(WRITE_TIMEOUT));
    let out = match read_head(&mut s, READ_TIMEOUT) {
        Ok(None) => return,
        Err(st) => error_response(st, false),
        Ok(Some(head)) => match route(&head) {
            Route::Error(st) => error_response(st, false),
            Route::Metrics { head_only } => match scrape(sh) {
                Some(text) => response(Status::Ok, super::CONTENT_TYPE, &text, head_only),
                None => error_response(Status::Unavailable, head_only),
            },
        },
    };
    let _ = s.write_all(&out);
    let _ = s.shutdown(Shutdown::Write);
    // Read what the client still sends (a body) for a moment before closing: closing with
    // unread data would reset the connection and could destroy the response in flight.
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    let mut left: usize = 64 * 1024;
    while left > 0 {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Ask the main thread for the text; `None` if it is stopping or does not answer in time.
fn scrape(sh: &Shared) -> Option<String> {
    let (tx, rx) = mpsc::sync_channel(1);
    sh.scrapes.send(Scrape { reply: tx }).ok()?;
    // Nonblocking: a full socket buffer means the main loop has wake-ups pending already.
    let _ = (&sh.wake).write(&[1]);
    rx.recv_timeout(RENDER_TIMEOUT).ok()
}

/// The metrics listener: an acceptor thread and the main thread's end of the scrape channel.
pub struct MetricsServer {
    addr: SocketAddr,
    scrapes: Option<Receiver<Scrape>>,
    wake: UnixStream,
    stop: Arc<AtomicBool>,
    /// A duplicate of the listening socket, to shut it down (which ends a blocked accept()).
    listener: Option<TcpListener>,
    acceptor: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listen on `addr` and start the acceptor thread.
    pub fn bind(addr: SocketAddr) -> Result<MetricsServer, String> {
        let err = |what: &str, e: io::Error| format!("metrics-listen {addr}: {what}: {e}");
        let listener = TcpListener::bind(addr).map_err(|e| err("cannot listen", e))?;
        let local = listener
            .local_addr()
            .map_err(|e| err("cannot read the address", e))?;
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(|e| err("socketpair", e))?;
        wake_tx
            .set_nonblocking(true)
            .and_then(|_| wake_rx.set_nonblocking(true))
            .map_err(|e| err("socketpair", e))?;
        let dup = listener
            .try_clone()
            .map_err(|e| err("cannot duplicate the socket", e))?;
        let (tx, rx) = mpsc::channel();
        let sh = Arc::new(Shared {
            scrapes: tx,
            wake: wake_tx,
            active: AtomicUsize::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || accept_loop(listener, sh, stop))
                .map_err(|e| err("cannot start the metrics thread", e))?
        };
        Ok(MetricsServer {
            addr: local,
            scrapes: Some(rx),
            wake: wake_rx,
            stop,
            listener: Some(dup),
            acceptor: Some(acceptor),
        })
    }

    /// The address listened on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A descriptor that is readable while scrapes wait: add it to the idle loop's poll set.
    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Answer the queued scrapes without blocking: `render` runs once if any wait, and its
    /// text goes to each. Returns how many were answered.
    pub fn poll(&mut self, render: impl FnOnce() -> String) -> usize {
        let mut sink = [0u8; 64];
        while matches!((&self.wake).read(&mut sink), Ok(n) if n > 0) {}
        let Some(rx) = &self.scrapes else {
            return 0;
        };
        let waiting: Vec<Scrape> = rx.try_iter().collect();
        if waiting.is_empty() {
            return 0;
        }
        let text = render();
        for s in &waiting {
            // The connection may have given up (timeout, client gone): nothing to do then.
            let _ = s.reply.try_send(text.clone());
        }
        waiting.len()
    }

    /// Stop accepting and join the acceptor; connections in progress get a 503 or finish on
    /// their own (their timeouts bound them). Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        self.scrapes = None;
        // shutdown(2) on the listening socket makes a blocked accept() fail on Linux;
        // connecting to it is the fallback.
        let woken = self.listener.take().is_some_and(|l| {
            TcpStream::from(OwnedFd::from(l))
                .shutdown(Shutdown::Both)
                .is_ok()
        });
        if !woken {
            let _ = TcpStream::connect_timeout(&reachable(self.addr), Duration::from_secs(1));
        }
        let _ = acceptor.join();
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// An address to connect to for reaching a listener on `addr` (a wildcard is reached on
/// loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

fn accept_loop(listener: TcpListener, sh: Arc<Shared>, stop: Arc<AtomicBool>) {
    loop {
        let r = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let s = match r {
            Ok((s, _)) => s,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                // Out of descriptors or similar: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if sh.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            sh.active.fetch_sub(1, Ordering::SeqCst);
            busy(s);
            continue;
        }
        let sh2 = sh.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                serve(s, &sh2);
                sh2.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            sh.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Turn a connection away without reading it (the response fits the socket buffer).
fn busy(mut s: TcpStream) {
    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = s.write_all(&error_response(Status::Unavailable, false));
    let _ = s.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let m = Route::Metrics { head_only: false };
        for (req, want) in [
            ("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", m),
            ("GET /metrics HTTP/1.0\r\n\r\n", m),
            ("GET / HTTP/1.1\r\n\r\n", m),
            ("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", m),
            ("\r\nGET /metrics HTTP/1.1\n\n", m),
            ("GET http://10.0.0.1:9482/metrics HTTP/1.1\r\n\r\n", m),
            (
                "HEAD /metrics HTTP/1.1\r\n\r\n",
                Route::Metrics { head_only: true },
            ),
            (
                "GET /metricsx HTTP/1.1\r\n\r\n",
                Route::Error(Status::NotFound),
            ),
            (
                "GET /favicon.ico HTTP/1.1\r\n\r\n",
                Route::Error(Status::NotFound),
            ),
            (
                "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
                Route::Error(Status::MethodNotAllowed),
            ),
            (
                "DELETE / HTTP/1.1\r\n\r\n",
                Route::Error(Status::MethodNotAllowed),
            ),
            (
                "PRI * HTTP/2.0\r\n\r\n",
                Route::Error(Status::VersionNotSupported),
            ),
            ("GET /metrics\r\n\r\n", Route::Error(Status::BadRequest)),
            (
                "GET  /metrics HTTP/1.1\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            (
                "GET /metrics HTTP/1.1 x\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            (
                "get /metrics HTTP/1.1\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            (
                "GET metrics HTTP/1.1\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            (
                "GET /metrics FTP/1.1\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            (
                "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
                Route::Error(Status::BadRequest),
            ),
            ("\x16\x03\x01\x02\x00\x01", Route::Error(Status::BadRequest)),
            ("", Route::Error(Status::BadRequest)),
        ] {
            assert_eq!(route(req.as_bytes()), want, "{req:?}");
        }
        assert_eq!(
            route(b"GET /\xff HTTP/1.1\r\n\r\n"),
            Route::Error(Status::BadRequest)
        );
    }

    #[test]
    fn responses() {
        let r = String::from_utf8(response(
            Status::Ok,
            super::super::CONTENT_TYPE,
            "a 1\n",
            false,
        ))
        .unwrap();
        assert_eq!(
            r,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n"
        );
        let r = String::from_utf8(response(Status::Ok, "text/plain", "a 1\n", true)).unwrap();
        assert!(
            r.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"),
            "{r}"
        );
        let r = String::from_utf8(error_response(Status::MethodNotAllowed, false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
        assert!(r.contains("\r\nAllow: GET, HEAD\r\n"), "{r}");
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    fn get(addr: SocketAddr, req: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(req).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// A server on an ephemeral port, answered by a stand-in main loop; a silent client holding
    /// a connection does not keep others from being served.
    #[test]
    fn serves_while_a_client_stays_silent() {
        let mut srv = MetricsServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = srv.local_addr();
        let done = Arc::new(AtomicBool::new(false));
        let main = {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::SeqCst) {
                    n += srv.poll(|| "dataplane_up 1\n".to_string());
                    std::thread::sleep(Duration::from_millis(1));
                }
                srv.shutdown();
                n
            })
        };
        let _silent = TcpStream::connect(addr).unwrap();
        let r = get(addr, b"GET /metrics HTTP/1.0\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\ndataplane_up 1\n"), "{r}");
        let r = get(addr, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        let r = get(addr, b"BREW /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 2048, b'a');
        let r = get(addr, &big);
        assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
        done.store(true, Ordering::SeqCst);
        assert_eq!(main.join().unwrap(), 1);
        assert!(TcpStream::connect(addr).is_err(), "still listening");
    }
}
