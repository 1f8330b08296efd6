//! [`Args`]: the unformat-style argument cursor handed to command handlers.

use std::net::Ipv4Addr;

use crate::{snippet, CliError};

/// What kind of token a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A plain whitespace separated word.
    Word,
    /// A lone `,`.
    Comma,
    /// A balanced `{ ... }` group, braces included.
    Block,
}

/// One token: a byte range of the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Splits `s` into tokens: words, `,` and balanced `{ ... }` groups.
fn tokenize(s: &str) -> Result<Vec<Token>, CliError> {
    let mut toks = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        match c {
            ',' => {
                it.next();
                toks.push(Token {
                    start: i,
                    end: i + 1,
                    kind: Kind::Comma,
                });
            }
            '}' => return Err(CliError::new("unbalanced `}`")),
            '{' => {
                let mut depth = 0usize;
                let mut end = None;
                for (j, d) in it.by_ref() {
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                match end {
                    Some(end) => toks.push(Token {
                        start: i,
                        end,
                        kind: Kind::Block,
                    }),
                    None => return Err(CliError::new("unbalanced `{`")),
                }
            }
            _ => {
                let mut end = s.len();
                while let Some(&(j, d)) = it.peek() {
                    if d.is_whitespace() || matches!(d, ',' | '{' | '}') {
                        end = j;
                        break;
                    }
                    it.next();
                }
                toks.push(Token {
                    start: i,
                    end,
                    kind: Kind::Word,
                });
            }
        }
    }
    Ok(toks)
}

/// Parses an unsigned number: decimal digits, or `0x`/`0X` followed by hex digits.
fn parse_uint(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok()
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

fn parse_u16(s: &str) -> Option<u16> {
    parse_uint(s).and_then(|v| u16::try_from(v).ok())
}

fn parse_prefix(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = s.split_once('/')?;
    let addr = addr.parse().ok()?;
    if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    (len <= 32).then_some((addr, len))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let hex_ok = |p: &str, min: usize, max: usize| {
        (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let sep = if s.contains(':') {
        Some(':')
    } else if s.contains('-') {
        Some('-')
    } else {
        None
    };
    if let Some(sep) = sep {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 6 {
            return None;
        }
        for (m, p) in mac.iter_mut().zip(&parts) {
            if !hex_ok(p, 1, 2) {
                return None;
            }
            *m = u8::from_str_radix(p, 16).ok()?;
        }
        Some(mac)
    } else {
        // VPP / Cisco form: 02fe.163f.5f0f
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        for (i, p) in parts.iter().enumerate() {
            if !hex_ok(p, 4, 4) {
                return None;
            }
            let v = u16::from_str_radix(p, 16).ok()?;
            mac[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
        }
        Some(mac)
    }
}

fn parse_range_u16(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (parse_u16(lo)?, parse_u16(hi)?);
            (lo <= hi).then_some((lo, hi))
        }
        None => parse_u16(s).map(|v| (v, v)),
    }
}

fn parse_ip4_range(s: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi): (Ipv4Addr, Ipv4Addr) = (lo.parse().ok()?, hi.parse().ok()?);
            (u32::from(lo) <= u32::from(hi)).then_some((lo, hi))
        }
        None => s.parse().ok().map(|a| (a, a)),
    }
}

fn parse_ip4_port(s: &str) -> Option<(Ipv4Addr, u16)> {
    let (addr, port) = s.split_once(':')?;
    Some((addr.parse().ok()?, parse_u16(port)?))
}

/// The unformat-style argument cursor handed to command handlers (VPP's `unformat_input_t`).
///
/// The input is split into tokens: whitespace separated words, a lone `,` (so
/// comma separated lists such as ACL rules work without spaces), and balanced
/// `{ ... }` groups, which are single tokens that can be opened with
/// [`Args::block`]. The typed parsers (`u32`, `ip4`, `mac`, ...) consume one
/// token on success and consume nothing on failure, so a handler can try
/// alternatives, like VPP's `unformat`.
#[derive(Clone, Debug)]
pub struct Args {
    src: String,
    toks: Vec<Token>,
    pos: usize,
}

impl Args {
    /// Tokenizes `input`; fails with "unbalanced `{`" / "unbalanced `}`" if braces do not balance.
    pub fn new(input: &str) -> Result<Self, CliError> {
        Ok(Args {
            src: input.to_string(),
            toks: tokenize(input)?,
            pos: 0,
        })
    }

    fn text(&self, t: &Token) -> &str {
        &self.src[t.start..t.end]
    }

    fn cur(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    /// The leading plain words (stopping at the first `,` or `{...}`), from the cursor on.
    pub(crate) fn leading_words(&self) -> Vec<&str> {
        self.toks[self.pos.min(self.toks.len())..]
            .iter()
            .take_while(|t| t.kind == Kind::Word)
            .map(|t| self.text(t))
            .collect()
    }

    /// Number of tokens left.
    pub(crate) fn tokens_left(&self) -> usize {
        self.toks.len().saturating_sub(self.pos)
    }

    /// Skips `n` tokens.
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.toks.len());
    }

    /// True if no tokens remain.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// The next token without consuming it (a `{...}` group is returned with its braces).
    pub fn peek(&self) -> Option<&str> {
        self.cur().map(|t| self.text(t))
    }

    /// Consumes and returns the next token, whatever it is (word, `,` or `{...}` group).
    pub fn next_word(&mut self) -> Option<String> {
        let w = self.peek()?.to_string();
        self.pos += 1;
        Some(w)
    }

    /// The rest of the input from the cursor, as originally typed (spacing kept,
    /// trailing whitespace trimmed); does not consume. Empty if nothing remains.
    pub fn remaining(&self) -> String {
        match self.cur() {
            Some(t) => self.src[t.start..].trim_end().to_string(),
            None => String::new(),
        }
    }

    /// Like [`Args::remaining`], but consumes everything.
    pub fn take_rest(&mut self) -> String {
        let r = self.remaining();
        self.pos = self.toks.len();
        r
    }

    /// The cursor position, to [`Args::rewind`] to later.
    pub fn mark(&self) -> usize {
        self.pos
    }

    /// Moves the cursor back (or forward) to a position from [`Args::mark`].
    pub fn rewind(&mut self, mark: usize) {
        self.pos = mark.min(self.toks.len());
    }

    /// Consumes the next token if it equals `kw` exactly (case-sensitive); `","` matches a comma.
    pub fn keyword(&mut self, kw: &str) -> bool {
        if self.peek() == Some(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Error for "expected WHAT" at the cursor.
    fn expected(&self, what: &str) -> CliError {
        match self.peek() {
            Some(t) => CliError::new(format!("expected {what}, got `{}`", snippet(t))),
            None => CliError::new(format!("expected {what}, got end of input")),
        }
    }

    /// Parses the next word with `f`; consumes it only on success.
    fn parse_with<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, CliError> {
        let v = match self.cur() {
            Some(t) if t.kind == Kind::Word => f(self.text(t)),
            _ => None,
        };
        match v {
            Some(v) => {
                self.pos += 1;
                Ok(v)
            }
            None => Err(self.expected(what)),
        }
    }

    /// Parses a `u64`: decimal or `0x` hex.
    pub fn u64(&mut self) -> Result<u64, CliError> {
        self.parse_with("u64 number", parse_uint)
    }

    /// Parses a `u32`: decimal or `0x` hex.
    pub fn u32(&mut self) -> Result<u32, CliError> {
        self.parse_with("u32 number", |s| {
            parse_uint(s).and_then(|v| v.try_into().ok())
        })
    }

    /// Parses a `u16`: decimal or `0x` hex.
    pub fn u16(&mut self) -> Result<u16, CliError> {
        self.parse_with("u16 number (0-65535)", parse_u16)
    }

    /// Parses a `u8`: decimal or `0x` hex.
    pub fn u8(&mut self) -> Result<u8, CliError> {
        self.parse_with("u8 number (0-255)", |s| {
            parse_uint(s).and_then(|v| v.try_into().ok())
        })
    }

    /// Parses an IPv4 address, e.g. `10.1.1.1`.
    pub fn ip4(&mut self) -> Result<Ipv4Addr, CliError> {
        self.parse_with("IPv4 address", |s| s.parse().ok())
    }

    /// Parses an IPv4 prefix `a.b.c.d/len` (len 0..=32); host bits are kept as typed.
    pub fn ip4_prefix(&mut self) -> Result<(Ipv4Addr, u8), CliError> {
        self.parse_with("IPv4 prefix (a.b.c.d/0-32)", parse_prefix)
    }

    /// Parses a MAC address: `02:fe:16:3f:5f:0f`, `02-fe-16-3f-5f-0f` or VPP's `02fe.163f.5f0f`.
    pub fn mac(&mut self) -> Result<[u8; 6], CliError> {
        self.parse_with("MAC address", parse_mac)
    }

    /// Parses a TCP/UDP port (0-65535), naming a number out of that range as such.
    pub fn port(&mut self) -> Result<u16, CliError> {
        self.out_of_range_port()?;
        self.parse_with("port (0-65535)", parse_u16)
    }

    /// A port if the next word is a number (see [`Args::port`]), None if it is not a number.
    pub fn opt_port(&mut self) -> Result<Option<u16>, CliError> {
        match self.peek() {
            Some(w) if parse_uint(w).is_some() => self.port().map(Some),
            _ => Ok(None),
        }
    }

    /// An error naming a number above 65535 where a port (or port range) is expected.
    fn out_of_range_port(&self) -> Result<(), CliError> {
        let Some(w) = self.peek() else { return Ok(()) };
        for part in w.split('-') {
            if let Some(v) = parse_uint(part).filter(|&v| v > 65535) {
                return Err(CliError::new(format!(
                    "port {v} is out of range: a port is 0-65535"
                )));
            }
        }
        Ok(())
    }

    /// Parses a port range `80` or `1000-2000` (inclusive; error if lo > hi).
    pub fn range_u16(&mut self) -> Result<(u16, u16), CliError> {
        self.out_of_range_port()?;
        self.parse_with("port range (N or LO-HI)", parse_range_u16)
    }

    /// Parses an IPv4 range `10.0.0.1` or `10.0.0.1-10.0.0.9` (inclusive; error if lo > hi).
    pub fn ip4_range(&mut self) -> Result<(Ipv4Addr, Ipv4Addr), CliError> {
        self.parse_with("IPv4 range (a.b.c.d or a.b.c.d-e.f.g.h)", parse_ip4_range)
    }

    /// Parses `a.b.c.d:port`, e.g. `10.104.221.85:80`.
    pub fn ip4_port(&mut self) -> Result<(Ipv4Addr, u16), CliError> {
        if let Some(v) = self
            .peek()
            .and_then(|w| w.split_once(':'))
            .and_then(|(_, p)| parse_uint(p))
            .filter(|&v| v > 65535)
        {
            return Err(CliError::new(format!(
                "port {v} is out of range: a port is 0-65535"
            )));
        }
        self.parse_with("IPv4 address:port", parse_ip4_port)
    }

    /// Consumes the next `{ ... }` group and returns its contents as a new `Args`.
    pub fn block(&mut self) -> Result<Args, CliError> {
        match self.cur() {
            Some(t) if t.kind == Kind::Block => {
                let inner = self.src[t.start + 1..t.end - 1].to_string();
                let args = Args::new(&inner)?;
                self.pos += 1;
                Ok(args)
            }
            _ => Err(self.expected("`{ ... }` block")),
        }
    }

    /// Ok if all input was consumed, else "unexpected input `rest`".
    pub fn expect_end(&self) -> Result<(), CliError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CliError::new(format!(
                "unexpected input `{}`",
                snippet(&self.remaining())
            )))
        }
    }

    /// The error for a handler's fallthrough: "unknown input `rest of line`".
    pub fn unknown(&self) -> CliError {
        if self.is_empty() {
            CliError::new("unknown input: unexpected end of line")
        } else {
            CliError::new(format!("unknown input `{}`", snippet(&self.remaining())))
        }
    }
}
