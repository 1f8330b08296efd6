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
}
