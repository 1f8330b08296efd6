//! Reading and writing pcap files (classic libpcap format, Ethernet link type), so that inputs can
//! be made with any tool and outputs open in tcpdump and tshark.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

/// One frame with its capture time in nanoseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Capture time (ns).
    pub ts_ns: u64,
    /// Frame bytes from the Ethernet header.
    pub data: Vec<u8>,
}

/// Read every frame of a pcap file. Errors name the file and say what is wrong.
pub fn read_pcap(path: &Path) -> Result<Vec<Frame>, String> {
    let f = File::open(path).map_err(|e| format!("cannot open pcap `{}`: {e}", path.display()))?;
    let mut r = PcapReader::new(BufReader::new(f))
        .map_err(|e| format!("`{}` is not a pcap file: {e}", path.display()))?;
    if r.header().datalink != DataLink::ETHERNET {
        return Err(format!(
            "`{}` has link type {:?}; expected Ethernet",
            path.display(),
            r.header().datalink
        ));
    }
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.map_err(|e| {
            format!(
                "`{}`: bad packet record after {} frames: {e}",
                path.display(),
                out.len()
            )
        })?;
        out.push(Frame {
            ts_ns: p.timestamp.as_nanos() as u64,
            data: p.data.into_owned(),
        });
    }
    Ok(out)
}

/// Write frames to a pcap file (microsecond timestamps, little endian, as tcpdump writes).
pub fn write_pcap<'a>(
    path: &Path,
    frames: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Result<(), String> {
    let f = File::create(path).map_err(|e| format!("cannot create `{}`: {e}", path.display()))?;
    let header = PcapHeader {
        snaplen: 65535,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::MicroSecond,
        endianness: Endianness::Little,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(BufWriter::new(f), header)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    for (ts, data) in frames {
        let ts = Duration::from_nanos(ts / 1000 * 1000);
        w.write_packet(&PcapPacket::new(ts, data.len() as u32, data))
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    w.into_writer()
        .flush()
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// A pcap file written as frames come (`packet-generator capture`): the header at once, every
/// frame when it is sent, flushed after each burst so the file is complete whenever it is read.
pub struct PcapSink {
    writer: BufWriter<File>,
    path: std::path::PathBuf,
    /// Frames still to write (`count N`; u64::MAX: no limit).
    left: u64,
    /// Frames written.
    written: u64,
    /// Added to the clock of each frame (the wall clock of a live forwarder).
    ts_offset_ns: u64,
}

impl std::fmt::Debug for PcapSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSink")
            .field("path", &self.path)
            .field("left", &self.left)
            .field("written", &self.written)
            .finish()
    }
}

impl PcapSink {
    /// Create `path` (which must not exist, as VPP's pg capture refuses to overwrite) and write
    /// the pcap header. `count`: frames to keep (None: all).
    pub fn create(path: &Path, count: Option<u64>, ts_offset_ns: u64) -> Result<Self, String> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("pcap file `{}` already exists", path.display())
                }
                _ => format!("cannot create pcap file `{}`: {e}", path.display()),
            })?;
        // The classic libpcap header (what `write_pcap` writes): magic, version 2.4, zone 0,
        // sigfigs 0, snaplen 65535, Ethernet. Written by hand: frames must reach the file as they
        // are sent, and `PcapWriter` cannot flush its writer.
        let mut writer = BufWriter::new(f);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        writer
            .write_all(&h)
            .and_then(|_| writer.flush())
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        Ok(PcapSink {
            writer,
            path: path.to_path_buf(),
            left: count.unwrap_or(u64::MAX),
            written: 0,
            ts_offset_ns,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// True once `count` frames were written (the capture is over).
    pub fn is_done(&self) -> bool {
        self.left == 0
    }

    /// Write one frame sent at `ts_ns`; false if the capture is over or the file cannot be
    /// written (the caller then drops the sink).
    pub fn write(&mut self, ts_ns: u64, data: &[u8]) -> bool {
        if self.left == 0 {
            return false;
        }
        let ts = ts_ns.saturating_add(self.ts_offset_ns);
        let (sec, usec) = (
            (ts / 1_000_000_000) as u32,
            (ts % 1_000_000_000 / 1000) as u32,
        );
        let len = data.len() as u32;
        let mut rec = [0u8; 16];
        for (i, v) in [sec, usec, len, len].into_iter().enumerate() {
            rec[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        if self
            .writer
            .write_all(&rec)
            .and_then(|_| self.writer.write_all(data))
            .is_err()
        {
            self.left = 0;
            return false;
        }
        self.left -= 1;
        self.written += 1;
        true
    }

    /// Push what was written to the file; false if that failed.
    pub fn flush(&mut self) -> bool {
        self.writer.flush().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("dp-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.pcap");
        let frames = [
            (1_500_000_000u64, vec![1u8, 2, 3]),
            (2_000_001_000, vec![4u8; 60]),
        ];
        write_pcap(&p, frames.iter().map(|(t, d)| (*t, d.as_slice()))).unwrap();
        let back = read_pcap(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].ts_ns, 1_500_000_000);
        assert_eq!(back[1].data, vec![4u8; 60]);
        std::fs::write(&p, b"garbage").unwrap();
        assert!(read_pcap(&p).unwrap_err().contains("is not a pcap file"));
        assert!(read_pcap(&dir.join("missing.pcap"))
            .unwrap_err()
            .contains("cannot open"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn sink_writes_as_it_goes_and_stops_at_count() {
        let dir = std::env::temp_dir().join(format!("dp-pcap-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cap.pcap");
        let _ = std::fs::remove_file(&p);
        let mut s = PcapSink::create(&p, Some(2), 0).unwrap();
        assert!(
            read_pcap(&p).unwrap().is_empty(),
            "a valid file from the start"
        );
        assert!(s.write(1_000_002_000, &[1, 2, 3]));
        assert!(s.flush());
        assert_eq!(
            read_pcap(&p).unwrap().len(),
            1,
            "flushed frames are in the file"
        );
        assert!(s.write(2_000_000_000, &[4; 60]));
        assert!(s.is_done());
        assert!(!s.write(3_000_000_000, &[5]));
        drop(s);
        let back = read_pcap(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].ts_ns, 1_000_002_000);
        assert_eq!(back[1].data, vec![4u8; 60]);
        assert!(PcapSink::create(&p, None, 0)
            .unwrap_err()
            .contains("already exists"));
        assert!(PcapSink::create(&dir.join("no/such/dir.pcap"), None, 0)
            .unwrap_err()
            .contains("cannot create pcap file"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
