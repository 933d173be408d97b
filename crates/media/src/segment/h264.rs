//! H.264 byte-stream helpers: Annex B (start codes) to AVCC (4-byte length prefixes), walking AVCC NAL
//! units, and building or parsing the `avcC` decoder configuration record (ISO/IEC 14496-15 §5.3.3).
//!
//! Segment files always hold AVCC with 4-byte lengths, and every [`super::SampleEntry`] for H.264 carries
//! an `avcC` record with `lengthSizeMinusOne = 3`.

use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::rbsp::{BitReader, decode_nal};
use thiserror::Error;

/// NAL unit type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// Errors in H.264 bitstream helpers.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum H264Error {
    /// A length prefix points past the end of the frame, or a NAL is empty.
    #[error("malformed AVCC data at byte {0}")]
    BadAvcc(usize),
    /// A NAL unit is too large for a 4-byte length prefix.
    #[error("NAL unit of {0} bytes is too large")]
    NalTooLarge(usize),
    /// The avcC record is malformed.
    #[error("malformed avcC record: {0}")]
    BadAvcC(&'static str),
    /// The SPS could not be parsed.
    #[error("cannot parse SPS: {0}")]
    BadSps(String),
    /// A parameter set is missing.
    #[error("missing {0}")]
    Missing(&'static str),
}

/// Iterates the NAL units of an Annex B byte stream (split on `00 00 01` / `00 00 00 01`), without start
/// codes and without trailing zero bytes. Bytes before the first start code are ignored.
pub fn annexb_nals(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| s - 3)
        .chain(std::iter::once(stream.len()))
        .collect();
    starts.into_iter().zip(ends).filter_map(move |(s, e)| {
        let mut nal = &stream[s..e];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        (!nal.is_empty()).then_some(nal)
    })
}

/// Groups the NAL units of an Annex B stream into access units (frames), in stream order.
///
/// A new access unit starts at an access unit delimiter, SPS, PPS or SEI that follows a slice, or at a
/// slice whose `first_mb_in_slice` is 0 (ITU-T H.264 §7.4.1.2.3, simplified for the streams cameras and
/// encoders produce).
pub fn annexb_access_units(stream: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut units: Vec<Vec<&[u8]>> = Vec::new();
    let mut current: Vec<&[u8]> = Vec::new();
    let mut has_slice = false;
    for nal in annexb_nals(stream) {
        let t = nal_type(nal);
        let is_slice = (1..=5).contains(&t);
        let first_mb_zero = nal.get(1).is_some_and(|b| b & 0x80 != 0);
        let starts_new = has_slice && ((is_slice && first_mb_zero) || matches!(t, 6..=9 | 14 | 15));
        if starts_new {
            units.push(std::mem::take(&mut current));
            has_slice = false;
        }
        has_slice |= is_slice;
        current.push(nal);
    }
    if !current.is_empty() {
        units.push(current);
    }
    units
}

/// Appends `nal` to `out` in AVCC form (4-byte big-endian length, then the NAL).
pub fn push_avcc_nal(out: &mut Vec<u8>, nal: &[u8]) -> Result<(), H264Error> {
    let len = u32::try_from(nal.len()).map_err(|_| H264Error::NalTooLarge(nal.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(nal);
    Ok(())
}

/// Converts an Annex B access unit to AVCC, appending to `out`.
pub fn annexb_to_avcc(annexb: &[u8], out: &mut Vec<u8>) -> Result<(), H264Error> {
    for nal in annexb_nals(annexb) {
        push_avcc_nal(out, nal)?;
    }
    Ok(())
}

/// Iterates the NAL units of an AVCC access unit (4-byte lengths). Yields an error once and stops if a
/// length is zero or overruns the buffer.
pub fn avcc_nals(avcc: &[u8]) -> impl Iterator<Item = Result<&[u8], H264Error>> {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos == avcc.len() {
            return None;
        }
        let nal = avcc
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .filter(|&len| len > 0)
            .and_then(|len| avcc.get(pos + 4..pos + 4 + len));
        match nal {
            Some(nal) => {
                pos += 4 + nal.len();
                Some(Ok(nal))
            }
            None => {
                failed = true;
                Some(Err(H264Error::BadAvcc(pos)))
            }
        }
    })
}

/// Checks that `avcc` is a non-empty sequence of well-formed 4-byte-length-prefixed NAL units.
pub fn validate_avcc(avcc: &[u8]) -> Result<(), H264Error> {
    if avcc.is_empty() {
        return Err(H264Error::BadAvcc(0));
    }
    avcc_nals(avcc).try_for_each(|n| n.map(drop))
}

/// NAL unit type (low five bits of the header byte).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1f)
}

/// True if the AVCC access unit contains an IDR slice.
pub fn avcc_is_idr(avcc: &[u8]) -> bool {
    avcc_nals(avcc).any(|n| n.is_ok_and(|n| nal_type(n) == NAL_IDR))
}

/// Facts read from an SPS.
#[derive(Debug, Clone, PartialEq)]
pub struct SpsInfo {
    /// Coded width after cropping, pixels.
    pub width: u32,
    /// Coded height after cropping, pixels.
    pub height: u32,
    /// Frame rate from VUI timing info, if present.
    pub fps: Option<f64>,
}

/// Parses an SPS NAL unit (with its header byte) for dimensions and frame rate.
pub fn parse_sps(sps: &[u8]) -> Result<SpsInfo, H264Error> {
    if nal_type(sps) != NAL_SPS {
        return Err(H264Error::BadSps("not an SPS NAL unit".into()));
    }
    let rbsp = decode_nal(sps).map_err(|e| H264Error::BadSps(e.to_string()))?;
    let parsed = SeqParameterSet::from_bits(BitReader::new(&rbsp[..]))
        .map_err(|e| H264Error::BadSps(format!("{e:?}")))?;
    let (width, height) = parsed
        .pixel_dimensions()
        .map_err(|e| H264Error::BadSps(format!("{e:?}")))?;
    Ok(SpsInfo {
        width,
        height,
        fps: parsed.fps(),
    })
}

/// Builds an `avcC` record (4-byte NAL lengths) from one SPS and one PPS NAL unit (with header bytes).
pub fn build_avcc_config(sps: &[u8], pps: &[u8]) -> Result<Vec<u8>, H264Error> {
    if sps.len() < 4 || nal_type(sps) != NAL_SPS {
        return Err(H264Error::Missing("SPS"));
    }
    if pps.is_empty() || nal_type(pps) != NAL_PPS {
        return Err(H264Error::Missing("PPS"));
    }
    let sps_len = u16::try_from(sps.len()).map_err(|_| H264Error::NalTooLarge(sps.len()))?;
    let pps_len = u16::try_from(pps.len()).map_err(|_| H264Error::NalTooLarge(pps.len()))?;
    let mut out = Vec::with_capacity(16 + sps.len() + pps.len());
    out.extend_from_slice(&[1, sps[1], sps[2], sps[3], 0xff, 0xe1]);
    out.extend_from_slice(&sps_len.to_be_bytes());
    out.extend_from_slice(sps);
    out.push(1);
    out.extend_from_slice(&pps_len.to_be_bytes());
    out.extend_from_slice(pps);
    // High profiles carry chroma format and bit depths (ISO/IEC 14496-15 §5.3.3.1.2).
    if matches!(sps[1], 100 | 110 | 122 | 144 | 244) {
        let rbsp = decode_nal(sps).map_err(|e| H264Error::BadSps(e.to_string()))?;
        let parsed = SeqParameterSet::from_bits(BitReader::new(&rbsp[..]))
            .map_err(|e| H264Error::BadSps(format!("{e:?}")))?;
        let c = &parsed.chroma_info;
        out.push(0xfc | (c.chroma_format.to_u32() as u8 & 3));
        out.push(0xf8 | (c.bit_depth_luma_minus8 & 7));
        out.push(0xf8 | (c.bit_depth_chroma_minus8 & 7));
        out.push(0);
    }
    Ok(out)
}

/// The parameter sets inside an `avcC` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// NAL length size in bytes (1, 2 or 4).
    pub length_size: u8,
    /// SPS NAL units.
    pub sps: Vec<Vec<u8>>,
    /// PPS NAL units.
    pub pps: Vec<Vec<u8>>,
}

/// Parses an `avcC` record.
pub fn parse_avcc_config(rec: &[u8]) -> Result<AvcConfig, H264Error> {
    let short = H264Error::BadAvcC("truncated");
    if rec.len() < 7 {
        return Err(short);
    }
    if rec[0] != 1 {
        return Err(H264Error::BadAvcC("version is not 1"));
    }
    let length_size = (rec[4] & 3) + 1;
    if length_size == 3 {
        return Err(H264Error::BadAvcC("length size 3"));
    }
    let mut pos = 5usize;
    let read_sets = |count: usize, pos: &mut usize| -> Result<Vec<Vec<u8>>, H264Error> {
        let mut sets = Vec::with_capacity(count.min(32));
        for _ in 0..count {
            let len_bytes = rec
                .get(*pos..*pos + 2)
                .ok_or(H264Error::BadAvcC("truncated"))?;
            let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            let set = rec
                .get(*pos + 2..*pos + 2 + len)
                .ok_or(H264Error::BadAvcC("truncated"))?;
            sets.push(set.to_vec());
            *pos += 2 + len;
        }
        Ok(sets)
    };
    let sps_count = usize::from(rec[pos] & 0x1f);
    pos += 1;
    let sps = read_sets(sps_count, &mut pos)?;
    let pps_count = usize::from(*rec.get(pos).ok_or(H264Error::BadAvcC("truncated"))?);
    pos += 1;
    let pps = read_sets(pps_count, &mut pos)?;
    Ok(AvcConfig {
        length_size,
        sps,
        pps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 1280x720 High-profile SPS and a PPS as written by x264.
    const SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03,
        0x00, 0x10, 0x00, 0x00, 0x03, 0x01, 0xe0, 0xf1, 0x83, 0x19, 0x60,
    ];
    const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

    #[test]
    fn annexb_split_and_convert() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0,
        ];
        let nals: Vec<&[u8]> = annexb_nals(&stream).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        let mut avcc = Vec::new();
        annexb_to_avcc(&stream, &mut avcc).unwrap();
        assert_eq!(
            avcc,
            [
                0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 3, 0x65, 4, 5
            ]
        );
        assert!(validate_avcc(&avcc).is_ok());
        assert!(avcc_is_idr(&avcc));
        assert_eq!(avcc_nals(&avcc).count(), 3);
    }

    #[test]
    fn access_units_split_at_first_slice() {
        // SPS, PPS, IDR (first_mb 0), P (first_mb 0), second slice of P (first_mb != 0), AUD, P.
        let stream = [
            0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x41, 0x9a, 0, 0,
            1, 0x41, 0x20, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9b,
        ];
        let aus = annexb_access_units(&stream);
        let types: Vec<Vec<u8>> = aus
            .iter()
            .map(|au| au.iter().map(|n| nal_type(n)).collect())
            .collect();
        assert_eq!(types, vec![vec![7, 8, 5], vec![1, 1], vec![9, 1]]);
    }

    #[test]
    fn avcc_rejects_overrun_and_empty() {
        assert_eq!(validate_avcc(&[]), Err(H264Error::BadAvcc(0)));
        assert_eq!(
            validate_avcc(&[0, 0, 0, 5, 1, 2]),
            Err(H264Error::BadAvcc(0))
        );
        assert_eq!(
            validate_avcc(&[0, 0, 0, 1, 0x41, 0, 0, 0, 0]),
            Err(H264Error::BadAvcc(5))
        );
        assert_eq!(validate_avcc(&[0, 0, 0]), Err(H264Error::BadAvcc(0)));
        assert!(!avcc_is_idr(&[0, 0, 0, 1, 0x41]));
    }

    #[test]
    fn sps_and_avcc_config() {
        let info = parse_sps(SPS).unwrap();
        assert_eq!((info.width, info.height), (1280, 720));
        assert_eq!(info.fps, Some(15.0));
        let rec = build_avcc_config(SPS, PPS).unwrap();
        assert_eq!(&rec[..6], &[1, 0x64, 0x00, 0x1f, 0xff, 0xe1]);
        let parsed = parse_avcc_config(&rec).unwrap();
        assert_eq!(parsed.length_size, 4);
        assert_eq!(parsed.sps, vec![SPS.to_vec()]);
        assert_eq!(parsed.pps, vec![PPS.to_vec()]);
        assert!(parse_avcc_config(&rec[..10]).is_err());
        assert_eq!(build_avcc_config(PPS, SPS), Err(H264Error::Missing("SPS")));
    }
}
