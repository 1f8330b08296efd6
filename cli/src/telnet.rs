//! The CLI socket as VPP's: plain text and telnet clients (`vppctl`, `socat`, `nc -U`).
//!
//! [`crate::server`] picks the protocol from a connection's first bytes: `dpctl` frames start
//! with an upper-case kind (`EXEC`, `COMPLETE`, `HELLO`); anything else is text. A client that
//! says nothing for [`NEGOTIATE_AFTER`] is greeted as VPP greets every CLI connection, with the
//! telnet options that put it in character mode and ask for its terminal type:
//!
//! - terminal type `vppctl` (VPP's `vppctl COMMAND`): a non-interactive session, no prompt and
//!   no echo; every response ends with a NUL byte (vppctl counts them); a command ended by a
//!   NUL (how vppctl sends its argument) closes the session once answered;
//! - any other terminal type (a telnet client, interactive vppctl): the server echoes, edits
//!   the line (backspace, Ctrl-C, Ctrl-D on an empty line) and prompts, with CRLF line ends;
//! - plain text (`echo 'show version' | socat - UNIX-CONNECT:...`): each line runs, its output
//!   follows, nothing else is added.
//!
//! `quit`, `exit` and `q` close the session. Nothing here panics, whatever the bytes.

use crate::stream::Stream;
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A silent client is greeted (telnet negotiation) after this long.
pub const NEGOTIATE_AFTER: Duration = Duration::from_millis(100);

/// Longest command line kept; longer ones are refused with a message.
const MAX_LINE: usize = 64 * 1024;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const TELOPT_ECHO: u8 = 1;
const TELOPT_SGA: u8 = 3;
const TELOPT_TTYPE: u8 = 24;
const TELOPT_NAWS: u8 = 31;
const TELOPT_LINEMODE: u8 = 34;

/// What VPP sends a new CLI connection: character mode, server echo, no go-ahead, and "tell
/// me your terminal type and window size".
pub const GREETING: &[u8] = &[
    IAC,
    WONT,
    TELOPT_LINEMODE,
    IAC,
    DONT,
    TELOPT_LINEMODE,
    IAC,
    WILL,
    TELOPT_SGA,
    IAC,
    DO,
    TELOPT_SGA,
    IAC,
    WILL,
    TELOPT_ECHO,
    IAC,
    DONT,
    TELOPT_ECHO,
    IAC,
    DO,
    TELOPT_TTYPE,
    IAC,
    SB,
    TELOPT_TTYPE,
    1,
    IAC,
    SE,
    IAC,
    DO,
    TELOPT_NAWS,
    IAC,
    SB,
    TELOPT_NAWS,
    1,
    IAC,
    SE,
];

/// How the session talks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// No telnet: lines in, output out.
    Plain,
    /// Telnet, terminal type not known yet: lines are buffered as in `Plain`.
    Negotiating,
    /// Telnet with terminal type `vppctl`: NUL after each response.
    Vppctl,
    /// Telnet with a real terminal: echo, prompt, CRLF.
    Interactive,
}

/// Telnet parser state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tn {
    Data,
    Iac,
    /// After WILL/WONT/DO/DONT: the option byte.
    Opt,
    /// In a subnegotiation, collecting until IAC SE.
    Sb,
    SbIac,
}

/// One text session: the protocol state machine, separate from the socket so that it can be
/// driven (and tested) with any bytes.
pub struct Session {
    style: Style,
    tn: Tn,
    sb: Vec<u8>,
    line: Vec<u8>,
    overlong: bool,
    prompt: String,
    /// The last byte was a CR (an LF or NUL right after it is the same line end).
    after_cr: bool,
    /// Set when the session must end after the current output.
    pub closing: bool,
}

/// What the session wants done with a complete line.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Run this command line; then call [`Session::respond`].
    Run(String),
    /// Nothing to run (the session wrote what it had to).
    None,
}

impl Session {
    /// A session; `greeted` if the server sent [`GREETING`] (or the client started with
    /// telnet), so telnet bytes are expected.
    pub fn new(greeted: bool, prompt: &str) -> Self {
        Session {
            style: if greeted {
                Style::Negotiating
            } else {
                Style::Plain
            },
            tn: Tn::Data,
            sb: Vec::new(),
            line: Vec::new(),
            overlong: false,
            prompt: prompt.to_string(),
            after_cr: false,
            closing: false,
        }
    }

    /// Feed received bytes; bytes to send back go to `out`, complete command lines to `lines`.
    pub fn input(&mut self, data: &[u8], out: &mut Vec<u8>, lines: &mut Vec<(String, bool)>) {
        for &b in data {
            if self.closing {
                return;
            }
            match self.tn {
                Tn::Data if b == IAC && self.style != Style::Plain => self.tn = Tn::Iac,
                Tn::Data => self.data_byte(b, out, lines),
                Tn::Iac => {
                    self.tn = match b {
                        WILL | WONT | DO | DONT => Tn::Opt,
                        SB => {
                            self.sb.clear();
                            Tn::Sb
                        }
                        // IAC IAC is a literal 255.
                        IAC => {
                            self.data_byte(IAC, out, lines);
                            Tn::Data
                        }
                        _ => Tn::Data,
                    }
                }
                Tn::Opt => self.tn = Tn::Data,
                Tn::Sb if b == IAC => self.tn = Tn::SbIac,
                Tn::Sb => {
                    if self.sb.len() < 256 {
                        self.sb.push(b);
                    }
                }
                Tn::SbIac if b == SE => {
                    self.tn = Tn::Data;
                    self.subnegotiation(out);
                }
                Tn::SbIac => {
                    if self.sb.len() < 256 {
                        self.sb.push(b);
                    }
                    self.tn = Tn::Sb;
                }
            }
        }
    }

    fn subnegotiation(&mut self, out: &mut Vec<u8>) {
        // TTYPE IS <name>
        if self.sb.len() >= 2 && self.sb[0] == TELOPT_TTYPE && self.sb[1] == 0 {
            let name = String::from_utf8_lossy(&self.sb[2..]).to_ascii_lowercase();
            if self.style == Style::Negotiating {
                if name == "vppctl" {
                    self.style = Style::Vppctl;
                } else {
                    self.style = Style::Interactive;
                    out.extend_from_slice(self.prompt.as_bytes());
                }
            }
        }
    }

    fn data_byte(&mut self, b: u8, out: &mut Vec<u8>, lines: &mut Vec<(String, bool)>) {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        if self.style == Style::Interactive {
            match b {
                b'\r' => {
                    self.after_cr = true;
                    out.extend_from_slice(b"\r\n");
                    self.end_line(false, lines);
                }
                b'\n' | 0 if after_cr => {}
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.end_line(false, lines);
                }
                // Backspace / DEL: erase one character.
                8 | 127 if self.line.pop().is_some() => out.extend_from_slice(b"\x08 \x08"),
                8 | 127 => {}
                // Ctrl-C: drop the line.
                3 => {
                    self.line.clear();
                    self.overlong = false;
                    out.extend_from_slice(b"^C\r\n");
                    out.extend_from_slice(self.prompt.as_bytes());
                }
                // Ctrl-D on an empty line: leave.
                4 if self.line.is_empty() => self.closing = true,
                b if b >= 0x20 => {
                    self.push(b);
                    out.push(b);
                }
                _ => {}
            }
            return;
        }
        match b {
            b'\n' | 0 if after_cr => {}
            b'\r' => {
                self.after_cr = true;
                self.end_line(false, lines);
            }
            b'\n' => self.end_line(false, lines),
            // vppctl ends its one command with a NUL.
            0 => self.end_line(true, lines),
            b => self.push(b),
        }
    }

    fn push(&mut self, b: u8) {
        if self.line.len() < MAX_LINE {
            self.line.push(b);
        } else {
            self.overlong = true;
        }
    }

    fn end_line(&mut self, last: bool, lines: &mut Vec<(String, bool)>) {
        let raw = std::mem::take(&mut self.line);
        let line = if std::mem::take(&mut self.overlong) {
            format!("\u{0}overlong {}", raw.len())
        } else {
            String::from_utf8_lossy(&raw).trim().to_string()
        };
        lines.push((line, last));
    }

    /// What to do with a line [`Session::input`] produced; `out` gets what is answered at once.
    pub fn line(&mut self, line: &str, out: &mut Vec<u8>) -> Action {
        if let Some(n) = line.strip_prefix("\u{0}overlong ") {
            self.write(
                &format!("line too long ({n} bytes; at most {MAX_LINE})"),
                out,
            );
            self.after_output(out);
            return Action::None;
        }
        match line {
            "" => {
                if self.style == Style::Interactive {
                    out.extend_from_slice(self.prompt.as_bytes());
                }
                Action::None
            }
            "quit" | "exit" | "q" => {
                self.closing = true;
                Action::None
            }
            l => Action::Run(l.to_string()),
        }
    }

    /// Write a command's output (or its one-line error) and what follows it.
    pub fn respond(&mut self, output: &str, error: Option<&str>, out: &mut Vec<u8>) {
        self.write(output, out);
        if let Some(e) = error {
            self.write(e, out);
        }
        self.after_output(out);
    }

    fn write(&self, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        let text = text.trim_end_matches('\n');
        if self.style == Style::Interactive {
            for l in text.split('\n') {
                out.extend_from_slice(l.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        } else {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
    }

    fn after_output(&self, out: &mut Vec<u8>) {
        match self.style {
            Style::Interactive => out.extend_from_slice(self.prompt.as_bytes()),
            Style::Vppctl => out.push(0),
            Style::Plain | Style::Negotiating => {}
        }
    }
}

/// Serve a text connection: `first` holds what the client sent before the protocol was
/// chosen, `greet` says whether to send [`GREETING`]. Requests go to the main thread through
/// `run` (None when the daemon is stopping).
pub(crate) fn serve(
    mut stream: Stream,
    first: &[u8],
    greet: bool,
    prompt: &str,
    idle_timeout: Duration,
    stop: &std::sync::atomic::AtomicBool,
    run: &dyn Fn(String) -> Option<(String, Option<String>)>,
) {
    let mut last_seen = std::time::Instant::now();
    let mut s = Session::new(greet || first.first() == Some(&IAC), prompt);
    let mut out = Vec::new();
    if greet {
        out.extend_from_slice(GREETING);
    }
    let mut pending = first.to_vec();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut lines = Vec::new();
        s.input(&pending, &mut out, &mut lines);
        pending.clear();
        for (line, last) in lines {
            if s.closing {
                break;
            }
            if let Action::Run(cmd) = s.line(&line, &mut out) {
                if flush(&mut stream, &mut out).is_err() {
                    return;
                }
                match run(cmd) {
                    Some((o, e)) => s.respond(&o, e.as_deref(), &mut out),
                    None => {
                        s.respond("", Some("the daemon is shutting down"), &mut out);
                        s.closing = true;
                    }
                }
            }
            if last {
                s.closing = true;
            }
        }
        if flush(&mut stream, &mut out).is_err() || s.closing {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                // EOF: a last line without its newline still runs.
                if !s.line.is_empty() {
                    pending.push(b'\n');
                    let mut lines = Vec::new();
                    s.input(&pending, &mut out, &mut lines);
                    for (line, _) in lines {
                        if let Action::Run(cmd) = s.line(&line, &mut out) {
                            if let Some((o, e)) = run(cmd) {
                                s.respond(&o, e.as_deref(), &mut out);
                            }
                        }
                    }
                    let _ = flush(&mut stream, &mut out);
                }
                return;
            }
            Ok(n) => {
                last_seen = std::time::Instant::now();
                pending.extend_from_slice(&buf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if last_seen.elapsed() > idle_timeout {
                    out.extend_from_slice(
                        format!("idle for {} s: closing\n", idle_timeout.as_secs()).as_bytes(),
                    );
                    let _ = flush(&mut stream, &mut out);
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

fn flush(stream: &mut Stream, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out)?;
        out.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut Session, bytes: &[u8]) -> (Vec<u8>, Vec<(String, bool)>) {
        let (mut out, mut lines) = (Vec::new(), Vec::new());
        s.input(bytes, &mut out, &mut lines);
        (out, lines)
    }

    #[test]
    fn vppctl_one_shot() {
        let mut s = Session::new(true, "vpp# ");
        // vppctl answers the TTYPE request with "vppctl", then sends "show version " and a NUL.
        let mut msg = vec![IAC, SB, TELOPT_TTYPE, 0];
        msg.extend_from_slice(b"vppctl");
        msg.extend_from_slice(&[IAC, SE]);
        msg.extend_from_slice(b"show version \0");
        let (out, lines) = feed(&mut s, &msg);
        assert!(out.is_empty(), "no prompt for vppctl: {out:?}");
        assert_eq!(lines, vec![("show version".to_string(), true)]);
        let mut out = Vec::new();
        assert_eq!(
            s.line("show version", &mut out),
            Action::Run("show version".into())
        );
        s.respond("dataplane v0.1.0", None, &mut out);
        assert_eq!(out, b"dataplane v0.1.0\n\0");
    }

    #[test]
    fn interactive_telnet_echoes_edits_and_prompts() {
        let mut s = Session::new(true, "vpp# ");
        let mut msg = vec![IAC, WILL, TELOPT_TTYPE, IAC, SB, TELOPT_TTYPE, 0];
        msg.extend_from_slice(b"XTERM");
        msg.extend_from_slice(&[IAC, SE, IAC, SB, TELOPT_NAWS, 0, 80, 0, 24, IAC, SE]);
        let (out, _) = feed(&mut s, &msg);
        assert_eq!(out, b"vpp# ");
        let (out, lines) = feed(&mut s, b"shox\x7fw errors\r\0");
        assert_eq!(out, b"shox\x08 \x08w errors\r\n");
        assert_eq!(lines, vec![("show errors".to_string(), false)]);
        let mut out = Vec::new();
        s.respond("a\nb", Some("bad"), &mut out);
        assert_eq!(out, b"a\r\nb\r\nbad\r\nvpp# ");
        let (out, _) = feed(&mut s, b"half\x03");
        assert_eq!(out, b"half^C\r\nvpp# ");
        feed(&mut s, b"\x04");
        assert!(s.closing);
    }

    #[test]
    fn plain_text_lines() {
        let mut s = Session::new(false, "vpp# ");
        let (out, lines) = feed(&mut s, b"show version\r\n\nshow errors\n");
        assert!(out.is_empty());
        assert_eq!(
            lines,
            vec![
                ("show version".to_string(), false),
                (String::new(), false),
                ("show errors".to_string(), false)
            ]
        );
        let mut out = Vec::new();
        assert_eq!(s.line("", &mut out), Action::None);
        assert!(out.is_empty());
        assert_eq!(s.line("q", &mut out), Action::None);
        assert!(s.closing);
    }

    #[test]
    fn any_bytes_never_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for greeted in [false, true] {
            let mut s = Session::new(greeted, "> ");
            for _ in 0..2000 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let n = (seed % 64) as usize;
                let bytes: Vec<u8> = (0..n).map(|i| (seed >> (i % 8)) as u8).collect();
                let (mut out, lines) = feed(&mut s, &bytes);
                for (l, _) in lines {
                    if let Action::Run(_) = s.line(&l, &mut out) {
                        s.respond("x", None, &mut out);
                    }
                }
                s.closing = false;
            }
        }
        let mut s = Session::new(false, "> ");
        let (mut out, lines) = feed(&mut s, &vec![b'a'; MAX_LINE + 10]);
        assert!(lines.is_empty());
        let (_, lines) = feed(&mut s, b"\n");
        assert_eq!(s.line(&lines[0].0, &mut out), Action::None);
        assert!(String::from_utf8_lossy(&out).starts_with("line too long"));
    }
}
