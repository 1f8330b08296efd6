//! `pcap trace [rx] [tx] [drop] [max N] [intfc IF|any] [file NAME]`: capture received, transmitted
//! and dropped frames of one or all interfaces into a pcap file (written by `pcap trace off`), as
//! VPP's pcap trace. Frames are copied only while a capture is on; `max` bounds the memory it
//! takes. In live mode the file carries wall-clock times; a replay keeps its input's times.

use std::path::PathBuf;

/// An active capture (per thread).
#[derive(Debug, Clone)]
pub struct Capture {
    /// Capture received frames.
    pub rx: bool,
    /// Capture transmitted frames.
    pub tx: bool,
    /// Capture dropped frames (from their Ethernet header, as received).
    pub drop: bool,
    /// Added to the graph clock for the file's timestamps (live mode: wall clock at clock 0).
    pub ts_offset_ns: u64,
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

    /// Record a frame dropped on its way from `sw_if_index` (`pcap trace drop`).
    #[inline]
    pub fn offer_drop(&mut self, sw_if_index: u32, now_ns: u64, frame: &[u8]) {
        if !self.drop || self.sw_if_index.is_some_and(|s| s != sw_if_index) || self.is_full() {
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
        (false, false) => "/tmp/drop.pcap",
        _ => "/tmp/rxandtx.pcap",
    })
}
