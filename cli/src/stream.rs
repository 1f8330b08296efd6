//! The CLI's two transports, as VPP's `cli-listen` has them: a unix socket (a path, the
//! default) or TCP (`HOST:PORT`, e.g. `localhost:5002`). The server and the client only see a
//! [`Stream`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a CLI server listens or a client connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket path.
    Unix(PathBuf),
    /// `HOST:PORT` (host as given: a name or an address; empty means 127.0.0.1).
    Tcp(String),
}

impl Endpoint {
    /// VPP's rule: a value that is `HOST:PORT` (a port number after the last `:`, no `/`) is
    /// TCP; anything else is a socket path.
    pub fn parse(s: &Path) -> Endpoint {
        let text = s.to_string_lossy();
        match text.rsplit_once(':') {
            Some((host, port))
                if !text.contains('/')
                    && !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let host = if host.is_empty() { "127.0.0.1" } else { host };
                Endpoint::Tcp(format!("{host}:{port}"))
            }
            _ => Endpoint::Unix(s.to_path_buf()),
        }
    }

    /// The TCP address to bind or connect to (the first the host resolves to), or a one-line
    /// error naming the problem (a port over 65535, a host that does not resolve).
    pub fn tcp_addr(hostport: &str) -> io::Result<SocketAddr> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("`{hostport}` is not HOST:PORT")))?;
        let port: u16 = port.parse().map_err(|_| {
            bad(format!(
                "port {port} in `{hostport}` is not a TCP port (1-65535)"
            ))
        })?;
        // `[::1]:5002` and `localhost:5002` alike.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| bad(format!("cannot resolve `{host}`: {e}")))?
            .collect();
        // IPv4 first: `localhost` is 127.0.0.1 for the clients users have.
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| bad(format!("`{host}` has no address")))
    }
}

/// A connected CLI stream.
#[derive(Debug)]
pub enum Stream {
    /// Over a unix socket.
    Unix(UnixStream),
    /// Over TCP.
    Tcp(TcpStream),
}

impl Stream {
    /// Connect to `e`.
    pub fn connect(e: &Endpoint) -> io::Result<Stream> {
        match e {
            Endpoint::Unix(p) => UnixStream::connect(p).map(Stream::Unix),
            Endpoint::Tcp(hp) => {
                let s = TcpStream::connect(Endpoint::tcp_addr(hp)?)?;
                // Requests and answers are small and interactive.
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
        }
    }

    /// A second handle to the same connection.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.shutdown(how),
            Stream::Tcp(s) => s.shutdown(how),
        }
    }

    /// Read timeout.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(d),
            Stream::Tcp(s) => s.set_read_timeout(d),
        }
    }

    /// Write timeout.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_write_timeout(d),
            Stream::Tcp(s) => s.set_write_timeout(d),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// A listening CLI socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    pub(crate) fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Listener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), None)),
            Listener::Tcp(l) => l.accept().map(|(s, a)| {
                let _ = s.set_nodelay(true);
                (Stream::Tcp(s), Some(a))
            }),
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
        })
    }

    /// Make a blocked `accept()` return (shutdown(2) on the listening socket, which Linux
    /// honours); false if that failed and the caller must connect to wake it.
    pub(crate) fn wake(self) -> bool {
        use std::os::fd::OwnedFd;
        match self {
            Listener::Unix(l) => UnixStream::from(OwnedFd::from(l))
                .shutdown(Shutdown::Both)
                .is_ok(),
            Listener::Tcp(l) => TcpStream::from(OwnedFd::from(l))
                .shutdown(Shutdown::Both)
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_host_ports_as_vpp_tells_them_apart() {
        let e = |s: &str| Endpoint::parse(Path::new(s));
        assert_eq!(
            e("/run/vpp/cli.sock"),
            Endpoint::Unix("/run/vpp/cli.sock".into())
        );
        assert_eq!(e("cli.sock"), Endpoint::Unix("cli.sock".into()));
        assert_eq!(e("./a:5002"), Endpoint::Unix("./a:5002".into()));
        assert_eq!(e("localhost:5002"), Endpoint::Tcp("localhost:5002".into()));
        assert_eq!(e(":5002"), Endpoint::Tcp("127.0.0.1:5002".into()));
        assert_eq!(e("0.0.0.0:5002"), Endpoint::Tcp("0.0.0.0:5002".into()));
        assert_eq!(e("[::1]:5002"), Endpoint::Tcp("[::1]:5002".into()));
        assert_eq!(
            Endpoint::tcp_addr("localhost:5002").unwrap(),
            "127.0.0.1:5002".parse().unwrap()
        );
        let err = Endpoint::tcp_addr("localhost:70000")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "port 70000 in `localhost:70000` is not a TCP port (1-65535)"
        );
    }
}
