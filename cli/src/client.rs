//! Client side of the CLI socket protocol (see [`crate::server`]), used by `dpctl`.
//!
//! ```no_run
//! let mut c = cli::client::Client::connect("/run/dataplane/cli.sock".as_ref()).unwrap();
//! println!("{}", c.exec("show interface").unwrap());
//! for w in c.complete("show ").unwrap() {
//!     println!("{:<12} {}", w.word, w.help);
//! }
//! ```

use crate::stream::{Endpoint, Stream};
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::path::Path;

use crate::proto::{write_frame, Decoder, Kind, MAX_FRAME};
use crate::Completion;

/// Why a request failed.
#[derive(Debug)]
pub enum ClientError {
    /// The daemon ran the request and reported this one-line error; the
    /// connection is still usable.
    Command(String),
    /// The connection failed or the daemon broke the protocol; reconnect.
    Io(io::Error),
}

impl ClientError {
    /// True for a broken connection (as opposed to a command error).
    pub fn is_connection(&self) -> bool {
        matches!(self, ClientError::Io(_))
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Command(m) => f.write_str(m),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// A connection to the daemon's CLI socket; requests run one at a time.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    dec: Decoder,
}

impl Client {
    /// Connects to the CLI socket at `path` (or to `HOST:PORT` over TCP, as `cli-listen`).
    pub fn connect(path: &Path) -> io::Result<Client> {
        let mut stream = Stream::connect(&Endpoint::parse(path))?;
        // Say at once that frames follow (the server greets silent clients as telnet ones).
        crate::proto::write_frame(&mut stream, Kind::Hello, b"")?;
        Ok(Client {
            stream,
            dec: Decoder::new(&[Kind::Out, Kind::End, Kind::Err]),
        })
    }

    /// Runs a command line, writing its output to `out` as it arrives.
    pub fn exec_to(&mut self, line: &str, out: &mut dyn Write) -> Result<(), ClientError> {
        self.request(Kind::Exec, line, out)
    }

    /// Runs a command line and returns its output (lossily decoded as UTF-8).
    pub fn exec(&mut self, line: &str) -> Result<String, ClientError> {
        let mut out = Vec::new();
        self.request(Kind::Exec, line, &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The possible next words of a partial line, with their help.
    pub fn complete(&mut self, line: &str) -> Result<Vec<Completion>, ClientError> {
        let mut out = Vec::new();
        self.request(Kind::Complete, line, &mut out)?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (w, h) = l.split_once('\t').unwrap_or((l, ""));
                Completion {
                    word: w.to_string(),
                    help: h.to_string(),
                }
            })
            .collect())
    }

    fn request(&mut self, kind: Kind, line: &str, out: &mut dyn Write) -> Result<(), ClientError> {
        if line.len() > MAX_FRAME {
            return Err(ClientError::Command(format!(
                "command line too long ({} bytes, at most {MAX_FRAME})",
                line.len()
            )));
        }
        write_frame(&mut self.stream, kind, line.as_bytes())?;
        self.stream.flush()?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let frame = self.dec.next_frame().map_err(|m| {
                io::Error::new(ErrorKind::InvalidData, format!("protocol error: {m}"))
            })?;
            match frame {
                Some(f) => match f.kind {
                    Kind::Out => out.write_all(&f.payload)?,
                    Kind::End => return Ok(()),
                    _ => {
                        return Err(ClientError::Command(
                            String::from_utf8_lossy(&f.payload).into_owned(),
                        ))
                    }
                },
                None => {
                    let n = match self.stream.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if n == 0 {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "the daemon closed the connection",
                        )
                        .into());
                    }
                    self.dec.push(&buf[..n]);
                }
            }
        }
    }
}
