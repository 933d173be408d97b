//! Helpers shared by the integration tests (`tests/pipeline.rs`) and the benchmarks
//! (`benches/media.rs`, which includes this file by path): finding the external tools, and turning
//! an Annex B H.264 stream made by ffmpeg into a sample entry and segment files.

use std::path::Path;
use std::process::Command;
use strongroom_media::segment::{SampleEntry, SegmentSummary, SegmentWriter, h264};

/// Whether `tool` (ffmpeg, ffprobe) runs here.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The decoder configuration from the SPS and PPS in the stream's first access unit (where the
/// encoder puts them).
pub fn sample_entry_from_first_access_unit(access_units: &[Vec<&[u8]>]) -> SampleEntry {
    let first = &access_units[0];
    let sps = first
        .iter()
        .find(|n| h264::nal_type(n) == h264::NAL_SPS)
        .unwrap();
    let pps = first
        .iter()
        .find(|n| h264::nal_type(n) == h264::NAL_PPS)
        .unwrap();
    SampleEntry::h264_from_parameter_sets(sps, pps).unwrap()
}

/// Writes `access_units` as one durable segment file at `path`: each one as an AVCC frame without
/// its parameter sets (those live in the [`SampleEntry`]), lasting `frame_duration_90k`, a key
/// frame where it holds an IDR slice.
pub fn write_segment(
    path: &Path,
    access_units: &[Vec<&[u8]>],
    frame_duration_90k: u32,
) -> SegmentSummary {
    let mut w = SegmentWriter::create(path).unwrap();
    for au in access_units {
        let mut avcc = Vec::new();
        for nal in au
            .iter()
            .filter(|n| !matches!(h264::nal_type(n), h264::NAL_SPS | h264::NAL_PPS))
        {
            h264::push_avcc_nal(&mut avcc, nal).unwrap();
        }
        w.append_frame(&avcc, frame_duration_90k, h264::avcc_is_idr(&avcc))
            .unwrap();
    }
    w.finish().unwrap()
}
