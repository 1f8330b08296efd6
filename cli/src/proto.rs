//! The frame format shared by [`crate::server`] and [`crate::client`]; see the
//! [`crate::server`] module docs for the protocol description.

use std::io::{self, Write};

/// Largest payload of one frame, in either direction (1 MiB).
pub const MAX_FRAME: usize = 1 << 20;

/// Largest header (`KIND LEN\n`) accepted; anything longer is garbage.
const MAX_HEADER: usize = 32;

/// Output is sent in `OUT` frames of at most this many bytes.
pub(crate) const OUT_CHUNK: usize = 64 * 1024;

/// The kind of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Client → server: run a command line.
    Exec,
    /// Client → server: complete a partial line.
    Complete,
    /// Client → server: "I speak frames" (sent on connect; no response), so that a silent
    /// dpctl is not taken for a telnet client.
    Hello,
    /// Server → client: a chunk of output.
    Out,
    /// Server → client: the request succeeded (payload must be empty).
    End,
    /// Server → client: the request failed; payload is a one-line message.
    Err,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Exec => "EXEC",
            Kind::Complete => "COMPLETE",
            Kind::Hello => "HELLO",
            Kind::Out => "OUT",
            Kind::End => "END",
            Kind::Err => "ERR",
        }
    }

    fn parse(s: &[u8]) -> Option<Kind> {
        Some(match s {
            b"EXEC" => Kind::Exec,
            b"COMPLETE" => Kind::Complete,
            b"HELLO" => Kind::Hello,
            b"OUT" => Kind::Out,
            b"END" => Kind::End,
            b"ERR" => Kind::Err,
            _ => return None,
        })
    }
}

/// One decoded frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub kind: Kind,
    pub payload: Vec<u8>,
}

/// Incremental frame decoder: bytes go in with [`Decoder::push`], whole frames
/// come out of [`Decoder::next_frame`]. Never panics on any input.
#[derive(Debug)]
pub(crate) struct Decoder {
    buf: Vec<u8>,
    /// Kinds this side accepts; anything else is a protocol error.
    accept: &'static [Kind],
}

impl Decoder {
    /// A decoder that accepts only frames of the given kinds.
    pub fn new(accept: &'static [Kind]) -> Self {
        Decoder {
            buf: Vec::new(),
            accept,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// True when no partial frame is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or a
    /// one-line description of the protocol violation.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        let Some(nl) = self.buf.iter().take(MAX_HEADER).position(|&b| b == b'\n') else {
            if self.buf.len() >= MAX_HEADER {
                return Err("bad frame header: no newline within 32 bytes".into());
            }
            // Reject an obviously wrong header early, without waiting for a newline.
            if let Some(sp) = self.buf.iter().position(|&b| b == b' ') {
                self.parse_kind(&self.buf[..sp])?;
            } else if !self.buf.iter().all(u8::is_ascii_uppercase) {
                return Err("bad frame header: expected `KIND LEN`".into());
            }
            return Ok(None);
        };
        let header = &self.buf[..nl];
        let Some(sp) = header.iter().position(|&b| b == b' ') else {
            return Err("bad frame header: expected `KIND LEN`".into());
        };
        let kind = self.parse_kind(&header[..sp])?;
        let len = &header[sp + 1..];
        if len.is_empty() || len.len() > 10 || !len.iter().all(u8::is_ascii_digit) {
            return Err("bad frame header: length is not a decimal number".into());
        }
        // At most 10 ASCII digits: always valid UTF-8 and fits in u64.
        let len: u64 = std::str::from_utf8(len)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if len > MAX_FRAME as u64 {
            return Err(format!("frame too long: {len} bytes (at most {MAX_FRAME})"));
        }
        let len = len as usize;
        if kind == Kind::End && len != 0 {
            return Err("bad frame header: END must have length 0".into());
        }
        let start = nl + 1;
        if self.buf.len() < start + len {
            return Ok(None);
        }
        let payload = self.buf[start..start + len].to_vec();
        self.buf.drain(..start + len);
        Ok(Some(Frame { kind, payload }))
    }

    fn parse_kind(&self, word: &[u8]) -> Result<Kind, String> {
        match Kind::parse(word) {
            Some(k) if self.accept.contains(&k) => Ok(k),
            _ => Err(format!(
                "bad frame header: unexpected kind `{}`",
                crate::snippet(&String::from_utf8_lossy(&word[..word.len().min(16)]))
            )),
        }
    }
}

/// Writes one frame (header and payload) without flushing.
pub(crate) fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let mut v = Vec::with_capacity(payload.len() + 16);
    v.extend_from_slice(kind.name().as_bytes());
    v.push(b' ');
    v.extend_from_slice(payload.len().to_string().as_bytes());
    v.push(b'\n');
    v.extend_from_slice(payload);
    w.write_all(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &[Kind] = &[Kind::Exec, Kind::Complete];
    const CLIENT: &[Kind] = &[Kind::Out, Kind::End, Kind::Err];

    #[test]
    fn roundtrip_byte_by_byte() {
        let mut wire = Vec::new();
        write_frame(&mut wire, Kind::Exec, b"show int").unwrap();
        write_frame(&mut wire, Kind::Complete, b"").unwrap();
        write_frame(&mut wire, Kind::Exec, "a\nb\u{e9}".as_bytes()).unwrap();
        let mut d = Decoder::new(SERVER);
        let mut got = Vec::new();
        for b in &wire {
            d.push(&[*b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert!(d.is_empty());
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].kind, Kind::Exec);
        assert_eq!(got[0].payload, b"show int");
        assert_eq!(got[1].kind, Kind::Complete);
        assert!(got[1].payload.is_empty());
        assert_eq!(got[2].payload, "a\nb\u{e9}".as_bytes());
    }

    #[test]
    fn rejects_garbage() {
        let cases: &[&[u8]] = &[
            b"HELLO 3\nabc",
            b"OUT 3\nabc",
            b"EXEC\n",
            b"EXEC -1\n",
            b"EXEC 1x\n",
            b"EXEC 99999999999\n",
            b"EXEC 1048577\n",
            b"exec 1\n",
            b"\x00\x01\x02",
            &[b'A'; 40],
        ];
        for c in cases {
            let mut d = Decoder::new(SERVER);
            d.push(c);
            assert!(d.next_frame().is_err(), "{:?}", String::from_utf8_lossy(c));
        }
        let mut d = Decoder::new(CLIENT);
        d.push(b"END 1\nx");
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn max_frame_ok_and_partial_waits() {
        let mut d = Decoder::new(SERVER);
        d.push(format!("EXEC {MAX_FRAME}\n").as_bytes());
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&vec![b'x'; MAX_FRAME - 1]);
        assert_eq!(d.next_frame(), Ok(None));
        assert!(!d.is_empty());
        d.push(b"x");
        assert_eq!(d.next_frame().unwrap().unwrap().payload.len(), MAX_FRAME);
        let mut d = Decoder::new(SERVER);
        d.push(b"EXE");
        assert_eq!(d.next_frame(), Ok(None));
    }
}
