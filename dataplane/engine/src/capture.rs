//! `pcap trace rx tx [max N] [intfc IF|any] [file NAME]`: capture received and transmitted frames
//! of one or all interfaces into a pcap file (written by `pcap trace off`), as VPP's pcap trace.
//! Frames are copied only while a capture is on; `max` bounds the memory it takes.

use std::path::PathBuf;

/// An active capture (per thread).
#[derive(Debug, Clone)]
pub struct Capture {
    /// Capture received frames.
    pub rx: bool,
    /// Capture transmitted frames.
    pub tx: bool,
    /// Stop after this many frames.
    pub max: u32,
    /// Only this interface (None: any).
    pub sw_if_index: Option<u32>,
    /// Output file.
    pub file: PathBuf,
    /// Frames so far: (time ns, bytes).
    pub frames: Vec<(u64, Vec<u8>)>,
}

impl Capture {
    /// Record a frame seen on `sw_if_index` if the capture wants it.
    #[inline]
    pub fn offer(&mut self, is_rx: bool, sw_if_index: u32, now_ns: u64, frame: &[u8]) {
        if (is_rx && !self.rx) || (!is_rx && !self.tx) {
            return;
        }
        if self.sw_if_index.is_some_and(|s| s != sw_if_index) {
            return;
        }
        if self.frames.len() as u32 >= self.max {
            return;
        }
        self.frames.push((now_ns, frame.to_vec()));
    }

    /// True once `max` frames were captured.
    pub fn is_full(&self) -> bool {
        self.frames.len() as u32 >= self.max
    }
}

/// The default file VPP uses for a capture direction.
pub fn default_file(rx: bool, tx: bool) -> PathBuf {
    PathBuf::from(match (rx, tx) {
        (true, false) => "/tmp/rx.pcap",
        (false, true) => "/tmp/tx.pcap",
        _ => "/tmp/rxandtx.pcap",
    })
}
