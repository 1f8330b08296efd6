//! `dpctl`, the vppctl-style client of the daemon's CLI socket.
//!
//! `dpctl [-s SOCKET] [COMMAND ...]`: with a command (the words joined with
//! spaces) it runs it once, prints the output and exits 0, or prints the error
//! on stderr and exits 1. Without one it is interactive (rustyline): prompt
//! `dpctl# `, persistent history in `$DPCTL_HISTORY` or `~/.dpctl_history`, TAB
//! completes command words (asked from the daemon), `?` lists the possible next
//! words with their help at once and redisplays the line, Ctrl-C clears the
//! line, Ctrl-D, `quit` or `exit` leave. A failing command prints one line and
//! the session goes on; a lost connection is re-established on the next command.
//! Pasted text with several lines runs as one command per line (see
//! [`split_commands`]), stopping at the first error. With standard input not a terminal
//! (`dpctl < setup.cli`, a pipe) every line runs, failures are reported and the exit status is 1
//! if any failed (see [`piped`]). `--version` is answered by dpctl itself.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Parser;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, Modifiers, RepeatCount,
};

use crate::client::{Client, ClientError};

/// Socket used when `-s` is not given.
pub const DEFAULT_SOCKET: &str = "/run/dataplane/cli.sock";

/// The interactive prompt.
pub const PROMPT: &str = "dpctl# ";

/// Environment variable naming the history file (overrides `$HOME/.dpctl_history`).
pub const HISTORY_ENV: &str = "DPCTL_HISTORY";

/// Most history entries kept.
const HISTORY_MAX: usize = 1000;

/// Command line of `dpctl`.
#[derive(Debug, Parser)]
#[command(
    name = "dpctl",
    version,
    about = "Control a running dataplane daemon (vppctl style)",
    long_about = "Runs COMMAND on the dataplane daemon and prints its output; \
                  without COMMAND, starts an interactive session \
                  (TAB completes, `?` lists the next words, Ctrl-D or `quit` leaves)."
)]
pub struct Opts {
    /// The daemon's CLI socket.
    #[arg(short = 's', long = "socket", value_name = "SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Command to run once (words are joined with spaces); none for an interactive session.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// Runs `dpctl` with the process arguments; returns the exit status.
pub fn main() -> i32 {
    let opts = Opts::parse();
    if opts.command.is_empty() {
        use std::io::IsTerminal;
        if io::stdin().is_terminal() {
            interactive(&opts.socket)
        } else {
            piped(
                &opts.socket,
                &mut io::stdin().lock(),
                &mut io::stdout().lock(),
                &mut io::stderr().lock(),
            )
        }
    } else {
        let line = opts.command.join(" ");
        one_shot(
            &opts.socket,
            &line,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        )
    }
}

/// Commands from a pipe or a file (`dpctl < setup.cli`, `echo show errors | dpctl`): each line
/// runs as it arrives (a `{` block may span lines), every failure is reported on `err` and the
/// rest still runs; a line that is not UTF-8 is reported and skipped; `quit`/`exit` stop.
/// Returns 0 if everything ran, 1 if anything failed.
pub fn piped(
    socket: &Path,
    input: &mut dyn io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut status = 0;
    // Connect first, so that no daemon is an error even with nothing to send.
    let mut client = match Client::connect(socket) {
        Ok(c) => Some(c),
        Err(e) => {
            let _ = writeln!(err, "{}", connect_error(socket, &e));
            return 1;
        }
    };
    let mut pending = String::new();
    let mut lines = io::BufRead::split(input, b'\n').enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let raw = match raw {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(err, "dpctl: cannot read the input: {e}");
                return 1;
            }
        };
        match String::from_utf8(raw) {
            Ok(l) => {
                pending.push_str(&l);
                pending.push('\n');
            }
            Err(_) => {
                let _ = writeln!(err, "dpctl: line {}: not valid UTF-8, skipped", i + 1);
                status = 1;
            }
        }
        let depth = pending.matches('{').count() as i64 - pending.matches('}').count() as i64;
        if depth > 0 && lines.peek().is_some() {
            continue;
        }
        for cmd in split_commands(&std::mem::take(&mut pending)) {
            if cmd == "quit" || cmd == "exit" || cmd == "q" {
                return status;
            }
            if client.is_none() {
                match Client::connect(socket) {
                    Ok(c) => client = Some(c),
                    Err(e) => {
                        let _ = writeln!(err, "{}", connect_error(socket, &e));
                        return 1;
                    }
                }
            }
            let Some(c) = client.as_mut() else { return 1 };
            let mut w = LineEnd::new(out);
            let r = c.exec_to(&cmd, &mut w);
            let _ = w.finish();
            if let Err(e) = r {
                let _ = writeln!(err, "{}", error_line(socket, &e));
                status = 1;
                if e.is_connection() {
                    client = None;
                }
            }
        }
    }
    status
}

/// The one-line message for a failed connection.
pub fn connect_error(socket: &Path, e: &io::Error) -> String {
    format!("cannot connect to {}: {e}", socket.display())
}

/// Runs one command on the daemon at `socket`: output to `out`, a one-line error
/// to `err`. Returns the exit status: 0 on success, 1 on any failure.
pub fn one_shot(socket: &Path, line: &str, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut client = match Client::connect(socket) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{}", connect_error(socket, &e));
            return 1;
        }
    };
    let mut w = LineEnd::new(out);
    let r = client.exec_to(line, &mut w);
    let _ = w.finish();
    match r {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{}", error_line(socket, &e));
            1
        }
    }
}

/// The line printed for a failed request.
fn error_line(socket: &Path, e: &ClientError) -> String {
    match e {
        ClientError::Command(m) => m.clone(),
        ClientError::Io(e) => format!("connection to {} lost: {e}", socket.display()),
    }
}

/// A writer that remembers whether the output ended with a newline, so that
/// [`LineEnd::finish`] can terminate the last line.
struct LineEnd<'a> {
    inner: &'a mut dyn Write,
    /// Something was written and the last byte was not `\n`.
    open: bool,
}

impl<'a> LineEnd<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        LineEnd { inner, open: false }
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.open {
            self.inner.write_all(b"\n")?;
            self.open = false;
        }
        self.inner.flush()
    }
}

impl Write for LineEnd<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if n > 0 {
            self.open = buf[n - 1] != b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The history file: `$DPCTL_HISTORY` if set and not empty, else `$HOME/.dpctl_history`.
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os(HISTORY_ENV) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| Path::new(&h).join(".dpctl_history")),
    }
}

/// Byte offset where the word being typed at the end of `line` starts (the
/// length of `line` after whitespace).
pub fn word_start(line: &str) -> usize {
    line.rfind(char::is_whitespace)
        .map(|i| i + line[i..].chars().next().map_or(1, char::len_utf8))
        .unwrap_or(0)
}

/// Splits what the editor returned (several lines when text was pasted) into
/// command lines: blank lines and `#` comments are dropped, and a line whose
/// `{` are not closed yet continues on the next lines (joined with a space),
/// as in `exec` scripts.
pub fn split_commands(text: &str) -> Vec<String> {
    let mut cmds = Vec::new();
    let mut cur = String::new();
    let mut depth: i64 = 0;
    for l in text.lines().map(str::trim) {
        if cur.is_empty() && (l.is_empty() || l.starts_with('#')) {
            continue;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(l);
        depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
        if depth <= 0 {
            cmds.push(std::mem::take(&mut cur));
            depth = 0;
        }
    }
    if !cur.is_empty() {
        cmds.push(cur);
    }
    cmds
}

/// A connection that is re-established on demand.
struct Session {
    socket: PathBuf,
    client: Option<Client>,
}

impl Session {
    /// Runs `f` on the connection, connecting first if needed. A connection that
    /// turns out to be dead before the request is sent (the daemon restarted) is
    /// replaced once; after any connection error the next call reconnects.
    fn with<T>(
        &mut self,
        mut f: impl FnMut(&mut Client) -> Result<T, ClientError>,
    ) -> Result<T, String> {
        let mut retried = false;
        loop {
            let fresh = self.client.is_none();
            if fresh {
                let c =
                    Client::connect(&self.socket).map_err(|e| connect_error(&self.socket, &e))?;
                self.client = Some(c);
            }
            let Some(c) = self.client.as_mut() else {
                continue;
            };
            match f(c) {
                Ok(v) => return Ok(v),
                Err(e @ ClientError::Command(_)) => return Err(error_line(&self.socket, &e)),
                Err(ClientError::Io(e)) => {
                    self.client = None;
                    let unsent = matches!(
                        e.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected
                    );
                    if fresh || retried || !unsent {
                        return Err(error_line(&self.socket, &ClientError::Io(e)));
                    }
                    retried = true;
                }
            }
        }
    }
}

type Shared = Arc<Mutex<Session>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Session> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// rustyline helper: TAB completion from the daemon.
struct DpHelper {
    session: Shared,
}

impl Completer for DpHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = word_start(before);
        let list = lock(&self.session)
            .with(|c| c.complete(before))
            .unwrap_or_default();
        let pairs = list
            .into_iter()
            .map(|c| Pair {
                replacement: format!("{} ", c.word),
                display: c.word,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for DpHelper {
    type Hint = String;
}
impl Highlighter for DpHelper {}
impl Validator for DpHelper {}
impl Helper for DpHelper {}

/// `?`: prints the possible next words (the daemon's answer to `LINE?`) below
/// the line, then repaints the prompt and the line unchanged.
struct QuestionHandler {
    session: Shared,
}

impl ConditionalEventHandler for QuestionHandler {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let before = ctx.line().get(..ctx.pos()).unwrap_or(ctx.line());
        let text = match lock(&self.session).with(|c| c.exec(&format!("{before}?"))) {
            Ok(t) => t,
            Err(e) => e,
        };
        let mut out = io::stdout().lock();
        let _ = write!(out, "\n{}\n", text.trim_end_matches('\n'));
        let _ = out.flush();
        Some(Cmd::Repaint)
    }
}

/// The interactive session on the daemon at `socket`; returns the exit status
/// (1 if the daemon cannot be reached at start, else 0).
pub fn interactive(socket: &Path) -> i32 {
    let client = match Client::connect(socket) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", connect_error(socket, &e));
            return 1;
        }
    };
    let session: Shared = Arc::new(Mutex::new(Session {
        socket: socket.to_path_buf(),
        client: Some(client),
    }));
    let mut ed = match make_editor(&session) {
        Ok(ed) => ed,
        Err(e) => {
            eprintln!("dpctl: cannot start the line editor: {e}");
            return 1;
        }
    };
    let history = history_path();
    if let Some(h) = &history {
        let _ = ed.load_history(h);
    }
    loop {
        match ed.readline(PROMPT) {
            Ok(text) => {
                for line in split_commands(&text) {
                    let _ = ed.add_history_entry(line.as_str());
                    if let Some(h) = &history {
                        let _ = ed.save_history(h);
                    }
                    if line == "quit" || line == "exit" || line == "q" {
                        return 0;
                    }
                    let mut stdout = io::stdout().lock();
                    let mut w = LineEnd::new(&mut stdout);
                    let r = lock(&session).with(|c| c.exec_to(&line, &mut w));
                    let _ = w.finish();
                    drop(stdout);
                    if let Err(e) = r {
                        // Stop a pasted block at its first failing command.
                        eprintln!("{e}");
                        break;
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("dpctl: {e}");
                return 1;
            }
        }
    }
    0
}

fn make_editor(session: &Shared) -> rustyline::Result<Editor<DpHelper, FileHistory>> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .history_ignore_space(false)
        .max_history_size(HISTORY_MAX)?
        .build();
    let mut ed = Editor::with_config(config)?;
    ed.set_helper(Some(DpHelper {
        session: session.clone(),
    }));
    ed.bind_sequence(
        KeyEvent::new('?', Modifiers::NONE),
        EventHandler::Conditional(Box::new(QuestionHandler {
            session: session.clone(),
        })),
    );
    Ok(ed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_starts() {
        assert_eq!(word_start(""), 0);
        assert_eq!(word_start("sh"), 0);
        assert_eq!(word_start("show "), 5);
        assert_eq!(word_start("show in"), 5);
        assert_eq!(word_start("show\u{3000}in"), "show\u{3000}".len());
    }

    #[test]
    fn pasted_text_splits_into_commands() {
        assert_eq!(split_commands("  show int  "), ["show int"]);
        assert!(split_commands("").is_empty());
        assert!(split_commands(" \n# comment\n").is_empty());
        assert_eq!(
            split_commands("set a 1\n\n# c\nshow a\r\npg new {\n  name x\n  limit 1\n}\nshow b"),
            ["set a 1", "show a", "pg new { name x limit 1 }", "show b"]
        );
        assert_eq!(split_commands("x }\ny {"), ["x }", "y {"]);
    }

    #[test]
    fn line_end_terminates_output() {
        let mut v = Vec::new();
        let mut w = LineEnd::new(&mut v);
        w.write_all(b"a\nb").unwrap();
        w.finish().unwrap();
        assert_eq!(v, b"a\nb\n");
        let mut v = Vec::new();
        let mut w = LineEnd::new(&mut v);
        w.write_all(b"a\n").unwrap();
        w.finish().unwrap();
        assert_eq!(v, b"a\n");
        let mut v = Vec::new();
        LineEnd::new(&mut v).finish().unwrap();
        assert!(v.is_empty());
    }

    #[test]
    fn opts_parse() {
        let o = Opts::try_parse_from(["dpctl"]).unwrap();
        assert_eq!(o.socket, Path::new(DEFAULT_SOCKET));
        assert!(o.command.is_empty());
        let o = Opts::try_parse_from(["dpctl", "-s", "/tmp/x", "show", "-v", "int"]).unwrap();
        assert_eq!(o.socket, Path::new("/tmp/x"));
        assert_eq!(o.command.join(" "), "show -v int");
    }

    #[test]
    fn one_shot_without_daemon() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let sock = Path::new("/nonexistent/dpctl-test.sock");
        assert_eq!(one_shot(sock, "show", &mut out, &mut err), 1);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with("cannot connect to /nonexistent/dpctl-test.sock: "),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
        assert!(out.is_empty());
    }
}
