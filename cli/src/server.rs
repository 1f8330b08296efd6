//! The CLI socket server: command lines from `dpctl` clients, run on the daemon's main thread.
//!
//! # Threads
//!
//! [`CliServer::bind`] listens on a unix stream socket and starts a background
//! acceptor thread; each connection gets a thread that reads and validates its
//! requests. A valid request travels over a channel to the daemon's main thread,
//! together with a reply channel; the main thread answers it whenever it calls
//! [`CliServer::poll`] (between packet dispatches), so command handlers run on
//! the thread that owns the engine and need no locking. The connection thread
//! then writes the response back. Each connection has at most one request in
//! flight, so one `poll` serves at most one request per connected client.
//!
//! A client that sends garbage, stalls mid-frame, vanishes mid-response or never
//! reads its output only ever occupies its own connection thread: the main
//! thread never does socket I/O and never blocks on a client.
//!
//! # Two protocols on one socket
//!
//! A connection whose first byte is an upper-case letter speaks the framed protocol below
//! (`dpctl`, [`crate::client`]); any other first byte, or silence for 100 ms, makes it a text
//! or telnet session as VPP's CLI socket has them (`vppctl`, `socat`, `nc -U`; see
//! [`crate::telnet`]).
//!
//! # Wire protocol
//!
//! Every message is a frame: an ASCII header `KIND LEN\n` (`LEN` in decimal)
//! followed by exactly `LEN` payload bytes (no terminator), so any output text,
//! including newlines and control characters, travels safely. The payload of
//! one frame is at most 1 MiB ([`MAX_FRAME`]).
//!
//! Client → server, one request at a time on a connection (which stays open
//! for further requests):
//!
//! - `EXEC <len>\n<command line>`: run a command line (UTF-8).
//! - `COMPLETE <len>\n<partial line>`: ask for the possible next words (UTF-8).
//! - `HELLO 0\n`: sent by the client on connect (no response), so that a client that says
//!   nothing yet is not greeted as a telnet one.
//!
//! Server → client, the response to each request, in order:
//!
//! - zero or more `OUT <len>\n<bytes>`: output (long output is split in chunks
//!   of at most 64 KiB; concatenate them);
//! - then either `END 0\n` (success) or `ERR <len>\n<message>` (failure; a one-line
//!   UTF-8 message; output sent before it is still valid).
//!
//! For `COMPLETE` the output is one candidate per line, `word\thelp`.
//!
//! A protocol violation (unknown kind, malformed header, length over 1 MiB,
//! invalid UTF-8, EOF in the middle of a frame, a partial frame not completed
//! within the frame timeout) is answered with an `ERR` frame, if the socket
//! still takes it, and the connection is closed. Example exchange:
//!
//! ```text
//! > EXEC 9\nshow mode
//! < OUT 11\nmode: bench
//! < END 0\n
//! > EXEC 3\nfoo
//! < ERR 44\nunknown command `foo`: expected one of: show
//! ```
//!
//! # Main loop
//!
//! ```no_run
//! use std::time::Duration;
//! use cli::server::CliServer;
//! use cli::Registry;
//!
//! # fn dispatch(_: &mut u64) -> usize { 0 }
//! let registry: Registry<u64> = Registry::new();
//! let mut engine = 0u64;
//! let mut server = CliServer::bind("/run/dataplane/cli.sock".as_ref()).unwrap();
//! loop {
//!     let packets = dispatch(&mut engine);
//!     let served = server.poll(|req| req.run(&registry, &mut engine));
//!     if packets == 0 && served == 0 {
//!         // Idle: sleep until a request arrives, a Waker fires, or 10 ms pass.
//!         server.wait_timeout(Duration::from_millis(10));
//!     }
//! #   break;
//! }
//! ```

use std::collections::HashMap;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::net::TcpListener;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use crate::proto::MAX_FRAME;
use crate::proto::{write_frame, Decoder, Kind, OUT_CHUNK};
use crate::stream::{Endpoint, Listener, Stream};
use crate::{CliError, Completion, Registry};

/// One request from a client, handed to the main thread by [`CliServer::poll`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Run this command line.
    Exec(String),
    /// List the possible next words of this partial line.
    Complete(String),
}

impl Request {
    /// The command line (complete or partial).
    pub fn line(&self) -> &str {
        match self {
            Request::Exec(l) | Request::Complete(l) => l,
        }
    }

    /// Answers the request with a [`Registry`]: `Exec` runs
    /// [`Registry::execute`], `Complete` lists [`Registry::complete`].
    pub fn run<C>(&self, registry: &Registry<C>, ctx: &mut C) -> Response {
        match self {
            Request::Exec(line) => registry.execute(ctx, line).into(),
            Request::Complete(line) => Response::completions(&registry.complete(line)),
        }
    }
}

/// The answer to a [`Request`]: output text and, on failure, a one-line error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// Output text (sent even when `error` is set).
    pub output: String,
    /// The error message, if the request failed.
    pub error: Option<String>,
}

impl Response {
    /// A success with this output.
    pub fn ok(output: impl Into<String>) -> Self {
        Response {
            output: output.into(),
            error: None,
        }
    }

    /// A failure with this message (made one line).
    pub fn error(msg: impl Into<String>) -> Self {
        Response {
            output: String::new(),
            error: Some(CliError::new(msg).message().to_string()),
        }
    }

    /// The answer to a `Complete` request: one `word\thelp` line per completion.
    pub fn completions(list: &[Completion]) -> Self {
        let output = list
            .iter()
            .map(|c| format!("{}\t{}", c.word, c.help))
            .collect::<Vec<_>>()
            .join("\n");
        Response::ok(output)
    }
}

impl From<Result<String, CliError>> for Response {
    fn from(r: Result<String, CliError>) -> Self {
        match r {
            Ok(o) => Response::ok(o),
            Err(e) => Response::error(e.message()),
        }
    }
}

/// Tunables of a [`CliServer`].
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Most clients connected at once; further connections get an `ERR` and are closed.
    pub max_clients: usize,
    /// Time a client has to finish a frame once it has started sending it.
    pub frame_timeout: Duration,
    /// Prompt of interactive telnet sessions (see [`crate::telnet`]).
    pub prompt: String,
    /// A connection that sends nothing for this long is closed (its thread and descriptor
    /// freed); dpctl reconnects by itself on its next command.
    pub idle_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_clients: 64,
            frame_timeout: Duration::from_secs(10),
            prompt: "dpctl# ".into(),
            idle_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// What connection threads send to the main thread.
enum Msg {
    Req(Request, Sender<Response>, Option<Peer>),
    Wake,
}

/// Who sent a request: the client process, from the unix socket's credentials
/// (`SO_PEERCRED`), or the TCP client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A local process.
    Local {
        /// Process id.
        pid: i32,
        /// User id.
        uid: u32,
    },
    /// A TCP client (`cli-listen HOST:PORT`).
    Remote(std::net::SocketAddr),
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Local { pid, uid } => write!(f, "uid {uid} pid {pid}"),
            Peer::Remote(a) => write!(f, "tcp {a}"),
        }
    }
}

fn peer_of(stream: &Stream, addr: Option<std::net::SocketAddr>) -> Option<Peer> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match stream {
        Stream::Unix(s) => {
            let c = getsockopt(s, PeerCredentials).ok()?;
            Some(Peer::Local {
                pid: c.pid(),
                uid: c.uid(),
            })
        }
        Stream::Tcp(_) => addr.map(Peer::Remote),
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Req(r, _, _) => write!(f, "Req({r:?})"),
            Msg::Wake => f.write_str("Wake"),
        }
    }
}

/// Wakes a main loop sleeping in [`CliServer::wait_timeout`], e.g. from a
/// signal-handling thread. Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct Waker {
    tx: Sender<Msg>,
}

impl Waker {
    /// Makes the current or next [`CliServer::wait_timeout`] return at once.
    /// Does nothing once the server is shut down.
    pub fn wake(&self) {
        let _ = self.tx.send(Msg::Wake);
    }
}

/// State shared by the server, the acceptor and the connection threads.
struct Shared {
    /// Set once by shutdown; read with the `conns` lock held (see `accept_loop`).
    stop: AtomicBool,
    /// Open connections, to shut them down on server shutdown.
    conns: Mutex<HashMap<u64, Stream>>,
    opts: ServerOptions,
}

impl Shared {
    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Stream>> {
        // A poisoned lock only means a thread panicked while holding it; the map is still fine.
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The CLI server: a listening unix socket plus its threads. See the module docs.
///
/// Dropping it (or [`CliServer::shutdown`]) stops the threads, closes all client
/// connections and unlinks the socket.
pub struct CliServer {
    path: PathBuf,
    /// Device and inode of the socket file we created, to unlink only our own.
    ident: Option<(u64, u64)>,
    rx: Option<Receiver<Msg>>,
    tx: Sender<Msg>,
    /// A request taken off the channel by `wait_timeout`, served by the next `poll`.
    stash: Option<(Request, Sender<Response>, Option<Peer>)>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    /// A clone of the listening socket, shut down to wake the acceptor out of `accept()`.
    listener: Option<Listener>,
    /// The TCP address bound (`cli-listen HOST:PORT`); None for a unix socket.
    tcp: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for CliServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliServer")
            .field("path", &self.path)
            .field("running", &self.rx.is_some())
            .finish()
    }
}

impl CliServer {
    /// Listens on the unix socket `path` with default [`ServerOptions`].
    ///
    /// Creates the parent directory if missing. If `path` exists: when a live
    /// server answers on it, fails with "a daemon is already listening on PATH";
    /// when it is a stale socket (connection refused), removes it and binds; any
    /// other existing file is left alone and is an error. The socket gets mode 0600.
    pub fn bind(path: &Path) -> Result<CliServer, String> {
        Self::bind_with(path, ServerOptions::default())
    }

    /// Like [`CliServer::bind`], with explicit options. A `path` of the form `HOST:PORT`
    /// (`localhost:5002`, `127.0.0.1:5002`, `:5002` for 127.0.0.1) listens on TCP instead,
    /// as VPP's `cli-listen` does; the address given is the only one bound.
    pub fn bind_with(path: &Path, opts: ServerOptions) -> Result<CliServer, String> {
        if let Endpoint::Tcp(hp) = Endpoint::parse(path) {
            let addr =
                Endpoint::tcp_addr(&hp).map_err(|e| format!("cannot listen on {hp}: {e}"))?;
            let l = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {hp}: {e}"))?;
            let bound = l
                .local_addr()
                .map_err(|e| format!("cannot listen on {hp}: {e}"))?;
            return Self::start(path, None, Listener::Tcp(l), Some(bound), opts);
        }
        let p = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(dir)
                    .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
            }
        }
        let listener = match UnixListener::bind(path) {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                take_over(path)?;
                UnixListener::bind(path).map_err(|e| format!("cannot listen on {p}: {e}"))?
            }
            Err(e) => return Err(format!("cannot listen on {p}: {e}")),
        };
        let ident = fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()));
        let cleanup = |msg: String| {
            let _ = fs::remove_file(path);
            msg
        };
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| cleanup(format!("cannot set the mode of {p}: {e}")))?;
        Self::start(path, ident, Listener::Unix(listener), None, opts).map_err(cleanup)
    }

    fn start(
        path: &Path,
        ident: Option<(u64, u64)>,
        listener: Listener,
        tcp: Option<std::net::SocketAddr>,
        opts: ServerOptions,
    ) -> Result<CliServer, String> {
        let p = path.display();
        let wake = listener
            .try_clone()
            .map_err(|e| format!("cannot listen on {p}: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            opts,
        });
        let acceptor = {
            let (shared, tx) = (shared.clone(), tx.clone());
            thread::Builder::new()
                .name("cli-accept".into())
                .spawn(move || accept_loop(listener, shared, tx))
                .map_err(|e| format!("cannot start the CLI acceptor thread: {e}"))?
        };
        Ok(CliServer {
            path: path.to_path_buf(),
            ident,
            rx: Some(rx),
            tx,
            stash: None,
            shared,
            acceptor: Some(acceptor),
            listener: Some(wake),
            tcp,
        })
    }

    /// The socket path (as given: `HOST:PORT` for TCP).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The TCP address bound, for `cli-listen HOST:PORT` (with the port the kernel chose when
    /// the port given was 0).
    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        self.tcp
    }

    /// Number of clients currently connected.
    pub fn clients(&self) -> usize {
        self.shared.conns().len()
    }

    /// A handle that wakes [`CliServer::wait_timeout`] from another thread.
    pub fn waker(&self) -> Waker {
        Waker {
            tx: self.tx.clone(),
        }
    }

    /// Serves all pending requests without blocking: calls `handler` for each on
    /// the calling thread and sends the response back to its client. Returns how
    /// many requests were served (0 after shutdown). Responses to clients that
    /// have gone are dropped.
    pub fn poll<F: FnMut(Request) -> Response>(&mut self, mut handler: F) -> usize {
        self.poll_from(|req, _| handler(req))
    }

    /// As [`CliServer::poll`], telling the handler who sent each request (for the log of
    /// configuration changes).
    pub fn poll_from<F: FnMut(Request, Option<Peer>) -> Response>(
        &mut self,
        mut handler: F,
    ) -> usize {
        let mut served = 0;
        if let Some((req, reply, peer)) = self.stash.take() {
            let _ = reply.send(handler(req, peer));
            served += 1;
        }
        let Some(rx) = &self.rx else {
            return served;
        };
        loop {
            match rx.try_recv() {
                Ok(Msg::Req(req, reply, peer)) => {
                    let _ = reply.send(handler(req, peer));
                    served += 1;
                }
                Ok(Msg::Wake) => {}
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return served,
            }
        }
    }

    /// Blocks until a request is pending (it is kept for the next [`CliServer::poll`]),
    /// a [`Waker`] fires, or `timeout` passes. Returns true unless it timed out.
    /// Returns false at once after shutdown. Meant for an idle main loop: it
    /// sleeps without spinning and still answers the CLI promptly.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        if self.stash.is_some() {
            return true;
        }
        let Some(rx) = &self.rx else {
            return false;
        };
        match rx.recv_timeout(timeout) {
            Ok(Msg::Req(req, reply, peer)) => {
                self.stash = Some((req, reply, peer));
                true
            }
            Ok(Msg::Wake) => true,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }

    /// Stops accepting, closes every client connection (requests waiting for the
    /// main thread get no answer), joins the server's threads and unlinks the
    /// socket if it is still ours. Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        {
            // Under the lock, so the acceptor cannot register a new connection
            // after the sweep below (it checks `stop` with the lock held).
            let conns = self.shared.conns();
            self.shared.stop.store(true, Ordering::SeqCst);
            for s in conns.values() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Dropping the receiver drops queued requests and their reply channels,
        // which releases connection threads waiting for an answer.
        self.rx = None;
        self.stash = None;
        // Wake the acceptor out of accept(): shutdown(2) on the listening socket
        // makes a blocked accept() fail on Linux; connecting is the fallback.
        let woken = self.listener.take().is_some_and(Listener::wake);
        let ours = self.socket_is_ours();
        if !woken {
            if let Some(a) = self.tcp {
                let _ = std::net::TcpStream::connect(a);
            } else if ours {
                let _ = UnixStream::connect(&self.path);
            }
        }
        let _ = acceptor.join();
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }

    /// True if the file at our path is still the socket we bound (not replaced or removed).
    fn socket_is_ours(&self) -> bool {
        match (self.ident, fs::symlink_metadata(&self.path)) {
            (Some((dev, ino)), Ok(m)) => m.dev() == dev && m.ino() == ino,
            _ => false,
        }
    }
}

impl Drop for CliServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `path` is in use: fail if a live server answers, else remove the stale socket.
fn take_over(path: &Path) -> Result<(), String> {
    let p = path.display();
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot listen on {p}: {e}"))?;
    if !meta.file_type().is_socket() {
        return Err(format!(
            "cannot listen on {p}: it exists and is not a socket"
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(format!("a daemon is already listening on {p}")),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            fs::remove_file(path).map_err(|e| format!("cannot remove the stale socket {p}: {e}"))
        }
        Err(e) => Err(format!(
            "cannot listen on {p}: it exists and connecting to it fails: {e}"
        )),
    }
}

fn accept_loop(listener: Listener, shared: Arc<Shared>, tx: Sender<Msg>) {
    let mut next_id: u64 = 0;
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let (stream, addr) = match listener.accept() {
            Ok(s) => s,
            Err(e) => {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                // EMFILE and friends: back off instead of spinning.
                if !matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) {
                    thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
        };
        threads.retain(|t| !t.is_finished());
        let id = next_id;
        next_id += 1;
        {
            let mut conns = shared.conns();
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            if conns.len() >= shared.opts.max_clients {
                drop(conns);
                refuse(stream, "too many CLI clients connected");
                continue;
            }
            match stream.try_clone() {
                Ok(c) => {
                    conns.insert(id, c);
                }
                Err(_) => continue,
            }
        }
        let (shared2, tx2) = (shared.clone(), tx.clone());
        let spawned = thread::Builder::new()
            .name(format!("cli-conn-{id}"))
            .spawn(move || {
                serve_conn(stream, addr, &shared2, &tx2);
                shared2.conns().remove(&id);
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(_) => {
                if let Some(s) = shared.conns().remove(&id) {
                    refuse(s, "cannot start a CLI connection thread");
                }
            }
        }
    }
    drop(listener);
    for t in threads {
        let _ = t.join();
    }
}

/// Sends a one-line error to a connection we will not serve, then closes it.
fn refuse(mut stream: Stream, msg: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = write_frame(&mut stream, Kind::Err, msg.as_bytes());
    let _ = stream.shutdown(Shutdown::Both);
}

/// How often an idle connection thread checks for shutdown.
const TICK: Duration = Duration::from_millis(250);

/// Run one request on the main thread: (output, error), or None when the daemon is stopping.
fn request(
    shared: &Shared,
    tx: &Sender<Msg>,
    req: Request,
    peer: Option<Peer>,
) -> Option<Response> {
    let (rtx, rrx) = mpsc::channel();
    if shared.stop.load(Ordering::SeqCst) || tx.send(Msg::Req(req, rtx, peer)).is_err() {
        return None;
    }
    rrx.recv().ok()
}

fn serve_conn(
    mut stream: Stream,
    addr: Option<std::net::SocketAddr>,
    shared: &Shared,
    tx: &Sender<Msg>,
) {
    const ACCEPT: &[Kind] = &[Kind::Exec, Kind::Complete, Kind::Hello];
    let peer = peer_of(&stream, addr);
    let mut buf = vec![0u8; 16 * 1024];
    // The protocol, from the first bytes: dpctl frames start with an upper-case kind; other
    // bytes are a text or telnet client; silence is a telnet client waiting to be greeted.
    if stream
        .set_read_timeout(Some(crate::telnet::NEGOTIATE_AFTER))
        .is_err()
    {
        return;
    }
    let first = loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => break Some(buf[..n].to_vec()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break None
            }
            Err(_) => return,
        }
    };
    if stream.set_read_timeout(Some(TICK)).is_err() {
        return;
    }
    let is_frames = first
        .as_ref()
        .is_some_and(|f| f.first().is_some_and(u8::is_ascii_uppercase));
    if !is_frames {
        let run = |line: String| {
            request(shared, tx, Request::Exec(line), peer).map(|r| (r.output, r.error))
        };
        crate::telnet::serve(
            stream,
            first.as_deref().unwrap_or(&[]),
            first.is_none(),
            &shared.opts.prompt,
            shared.opts.idle_timeout,
            &shared.stop,
            &run,
        );
        return;
    }
    let mut dec = Decoder::new(ACCEPT);
    // When the partial frame in `dec` started arriving.
    let mut frame_start: Option<Instant> = None;
    let mut last_seen = Instant::now();
    if let Some(f) = first {
        dec.push(&f);
        frame_start = Some(Instant::now());
    }
    loop {
        let frame = match dec.next_frame() {
            Err(msg) => return fail(stream, &msg),
            Ok(f) => f,
        };
        if let Some(frame) = frame {
            frame_start = (!dec.is_empty()).then(Instant::now);
            let Ok(line) = String::from_utf8(frame.payload) else {
                return fail(stream, "invalid UTF-8 in request");
            };
            let req = match frame.kind {
                Kind::Hello => continue,
                Kind::Complete => Request::Complete(line),
                _ => Request::Exec(line),
            };
            let Some(resp) = request(shared, tx, req, peer) else {
                return fail(stream, "the daemon is shutting down");
            };
            if send_response(&mut stream, &resp).is_err() {
                return; // client gone
            }
            continue;
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                if !dec.is_empty() {
                    fail(stream, "connection closed in the middle of a frame");
                }
                return;
            }
            Ok(n) => {
                if dec.is_empty() {
                    frame_start = Some(Instant::now());
                }
                last_seen = Instant::now();
                dec.push(&buf[..n]);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if let Some(t) = frame_start {
                    if !dec.is_empty() && t.elapsed() > shared.opts.frame_timeout {
                        return fail(stream, "timed out in the middle of a frame");
                    }
                }
                if last_seen.elapsed() > shared.opts.idle_timeout {
                    // Closed quietly: an ERR would be read as the answer to dpctl's next request.
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn send_response(stream: &mut Stream, resp: &Response) -> io::Result<()> {
    for chunk in resp.output.as_bytes().chunks(OUT_CHUNK) {
        write_frame(stream, Kind::Out, chunk)?;
    }
    match &resp.error {
        None => write_frame(stream, Kind::End, b""),
        Some(e) => {
            let e = CliError::new(e.as_str());
            write_frame(stream, Kind::Err, e.message().as_bytes())
        }
    }?;
    stream.flush()
}

/// Protocol violation: send an `ERR` if possible, then close. The rest of the
/// client's input is drained briefly first, so that closing does not reset the
/// connection before the client has read the error.
fn fail(mut stream: Stream, msg: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let msg = CliError::new(msg);
    if write_frame(&mut stream, Kind::Err, msg.message().as_bytes()).is_err() {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut sink = [0u8; 16 * 1024];
    let mut drained = 0usize;
    while Instant::now() < deadline && drained < 4 * crate::proto::MAX_FRAME {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
