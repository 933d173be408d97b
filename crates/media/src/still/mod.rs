//! Still photos from recorded video (EXP-01, EXP-02, EXP-03): decode the frame shown at an instant, burn
//! in the camera name and the frame's date and time, and encode JPEG, BMP, GIF or PNG.
//!
//! Decoding starts at the last key frame at or before the chosen frame and runs up to it (OpenH264,
//! software, H.264 only). The stamped time is the chosen frame's own time (segment start plus the
//! durations before it), not the requested instant, so the caption never claims more precision than the
//! recording has. The caption sits in the top-left corner on a dark box, scaled to about 1/40 of the
//! picture height. Resolution metadata (EXP-02) is written as JFIF density for JPEG and pixels per metre
//! for BMP when [`StillOptions::dpi`] is set; GIF has no such field.

pub mod font;

use crate::segment::{Codec, SampleEntry, SampleIndex, SegmentError, SegmentReader, h264};
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;
use std::path::Path;
use thiserror::Error;

/// Output image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StillFormat {
    /// JPEG (`.jpg`).
    Jpeg,
    /// Windows bitmap (`.bmp`), 24-bit.
    Bmp,
    /// GIF (`.gif`), 256-colour palette.
    Gif,
    /// PNG (`.png`).
    Png,
}

impl StillFormat {
    /// File name extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            StillFormat::Jpeg => "jpg",
            StillFormat::Bmp => "bmp",
            StillFormat::Gif => "gif",
            StillFormat::Png => "png",
        }
    }

    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            StillFormat::Jpeg => "image/jpeg",
            StillFormat::Bmp => "image/bmp",
            StillFormat::Gif => "image/gif",
            StillFormat::Png => "image/png",
        }
    }
}

/// How to render a still.
#[derive(Debug, Clone)]
pub struct StillOptions {
    /// Output format.
    pub format: StillFormat,
    /// JPEG quality 1–100.
    pub jpeg_quality: u8,
    /// Resolution to record in the file (JPEG JFIF density, BMP pixels per metre); `None` leaves the
    /// encoder default. The Ohio profile asks for 9600.
    pub dpi: Option<u16>,
    /// Time zone for the burned-in date and time (the site's zone).
    pub time_zone: TimeZone,
    /// Burn in the caption.
    pub caption: bool,
}

impl Default for StillOptions {
    fn default() -> Self {
        StillOptions {
            format: StillFormat::Jpeg,
            jpeg_quality: 90,
            dpi: None,
            time_zone: TimeZone::UTC,
            caption: true,
        }
    }
}

/// A rendered still.
#[derive(Debug, Clone)]
pub struct Still {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// Format of `bytes`.
    pub format: StillFormat,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Recorded time of the frame shown.
    pub frame_time: Timestamp,
    /// Index of the frame shown within its segment.
    pub frame_index: usize,
    /// Frames decoded to produce it (key frame up to the shown frame).
    pub frames_decoded: usize,
}

/// Errors producing a still.
#[derive(Debug, Error)]
pub enum StillError {
    /// The instant is outside the segment.
    #[error("no frame at that instant in this segment")]
    NoFrame,
    /// No key frame precedes the instant in the segment.
    #[error("no key frame before frame {0}")]
    NoKeyFrame(usize),
    /// Only H.264 can be decoded.
    #[error("stills are not supported for {0:?}")]
    UnsupportedCodec(Codec),
    /// The decoder configuration is unusable.
    #[error(transparent)]
    Config(#[from] h264::H264Error),
    /// Reading the segment failed.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// The decoder rejected the data.
    #[error("H.264 decode failed: {0}")]
    Decode(String),
    /// The decoder produced no picture.
    #[error("decoder produced no picture")]
    NoPicture,
    /// Encoding the image failed.
    #[error("image encoding failed: {0}")]
    Encode(#[from] image::ImageError),
}

/// Where to find a recorded segment and when it starts.
#[derive(Debug, Clone, Copy)]
pub struct StillSource<'a> {
    /// Decoder configuration.
    pub entry: &'a SampleEntry,
    /// Frame index.
    pub index: &'a SampleIndex,
    /// Segment file.
    pub path: &'a Path,
    /// Wall-clock time of the segment's first frame.
    pub start: Timestamp,
}

/// Renders the frame shown at `at` (must fall within the segment) with a caption naming `camera_name`.
pub fn still_at(
    src: StillSource<'_>,
    at: Timestamp,
    camera_name: &str,
    opts: &StillOptions,
) -> Result<Still, StillError> {
    let offset = at.duration_since(src.start);
    if offset.is_negative() {
        return Err(StillError::NoFrame);
    }
    let offset_90k = u64::try_from(offset.as_nanos() * 9 / 100_000).unwrap_or(u64::MAX);
    let target = src.index.frame_at(offset_90k).ok_or(StillError::NoFrame)?;
    let key = src
        .index
        .key_frame_before(target)
        .ok_or(StillError::NoKeyFrame(target))?;
    let start_90k: u64 = src.index.frames[..target]
        .iter()
        .map(|f| u64::from(f.duration_90k))
        .sum();
    let frame_time = src
        .start
        .checked_add(jiff::SignedDuration::from_nanos(
            (start_90k as i64).saturating_mul(100_000) / 9,
        ))
        .map_err(|_| StillError::NoFrame)?;

    let mut reader = SegmentReader::open(src.path)?;
    let mut buf = Vec::new();
    let mut frames = Vec::with_capacity(target - key + 1);
    for f in &src.index.frames[key..=target] {
        reader.read_frame(f, &mut buf)?;
        frames.push(std::mem::take(&mut buf));
    }
    let mut img = decode_frames(src.entry, frames.iter().map(Vec::as_slice))?;
    if opts.caption {
        let when = frame_time.to_zoned(opts.time_zone.clone());
        let caption = format!(
            "{}  {}",
            camera_name,
            when.strftime("%Y-%m-%d %H:%M:%S%.3f %Z")
        );
        burn_caption(&mut img, &caption);
    }
    let (width, height) = img.dimensions();
    let bytes = encode(&img, opts)?;
    Ok(Still {
        bytes,
        format: opts.format,
        width,
        height,
        frame_time,
        frame_index: target,
        frames_decoded: frames.len(),
    })
}

/// Decodes a run of AVCC access units that starts with a key frame and returns the last picture as RGB.
/// Use it for live stills too (the recorder's frames since the last key frame).
pub fn decode_frames<'a>(
    entry: &SampleEntry,
    frames: impl IntoIterator<Item = &'a [u8]>,
) -> Result<RgbImage, StillError> {
    if entry.codec != Codec::H264 {
        return Err(StillError::UnsupportedCodec(entry.codec));
    }
    let config = h264::parse_avcc_config(&entry.decoder_config)?;
    if config.length_size != 4 {
        return Err(StillError::Config(h264::H264Error::BadAvcC(
            "NAL length size is not 4",
        )));
    }
    let decode_err = |e: openh264::Error| StillError::Decode(e.to_string());
    let mut decoder = Decoder::new().map_err(decode_err)?;
    let mut annexb = Vec::new();
    for ps in config.sps.iter().chain(&config.pps) {
        annexb.extend_from_slice(&[0, 0, 0, 1]);
        annexb.extend_from_slice(ps);
    }
    decoder.decode(&annexb).map_err(decode_err)?;
    let mut last: Option<RgbImage> = None;
    for frame in frames {
        annexb.clear();
        for nal in h264::avcc_nals(frame) {
            annexb.extend_from_slice(&[0, 0, 0, 1]);
            annexb.extend_from_slice(nal?);
        }
        if let Some(yuv) = decoder.decode(&annexb).map_err(decode_err)? {
            last = Some(to_rgb(&yuv));
        } else {
            last = None;
        }
    }
    if last.is_none() {
        last = decoder
            .flush_remaining()
            .map_err(decode_err)?
            .last()
            .map(to_rgb);
    }
    last.ok_or(StillError::NoPicture)
}

fn to_rgb(yuv: &DecodedYUV<'_>) -> RgbImage {
    let (w, h) = yuv.dimensions();
    let mut rgb = vec![0u8; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    RgbImage::from_raw(w as u32, h as u32, rgb).unwrap_or_default()
}

/// Draws `text` in the top-left corner: white on a black box, sized to the picture.
pub fn burn_caption(img: &mut RgbImage, text: &str) {
    let (w, h) = img.dimensions();
    let scale = (h / 240).max(1);
    let pad = 2 * scale;
    let (tw, th) = font::text_size(text, scale);
    let box_w = (tw + 2 * pad).min(w);
    let box_h = (th + 2 * pad).min(h);
    for y in 0..box_h {
        for x in 0..box_w {
            let p = img.get_pixel_mut(x, y);
            // Darken rather than blank, so the box hides little of the scene.
            *p = Rgb([p[0] / 4, p[1] / 4, p[2] / 4]);
        }
    }
    font::render(text, pad, pad, scale, |x, y| {
        if x < w && y < h {
            img.put_pixel(x, y, Rgb([255, 255, 255]));
        }
    });
}

/// Encodes an RGB image in the requested format.
pub fn encode(img: &RgbImage, opts: &StillOptions) -> Result<Vec<u8>, StillError> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    match opts.format {
        StillFormat::Jpeg => {
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out,
                opts.jpeg_quality.clamp(1, 100),
            );
            if let Some(dpi) = opts.dpi {
                enc.set_pixel_density(image::codecs::jpeg::PixelDensity {
                    density: (dpi, dpi),
                    unit: image::codecs::jpeg::PixelDensityUnit::Inches,
                });
            }
            enc.write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)?;
        }
        StillFormat::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut out).write_image(
                img.as_raw(),
                w,
                h,
                ExtendedColorType::Rgb8,
            )?;
            if let Some(dpi) = opts.dpi {
                // BITMAPINFOHEADER biXPelsPerMeter / biYPelsPerMeter at file offsets 38 and 42.
                let ppm = ((f64::from(dpi) / 0.0254).round() as i32).to_le_bytes();
                if out.len() >= 46 {
                    out[38..42].copy_from_slice(&ppm);
                    out[42..46].copy_from_slice(&ppm);
                }
            }
        }
        StillFormat::Gif => {
            let mut enc = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 30);
            enc.encode(img.as_raw(), w, h, ExtendedColorType::Rgb8)?;
        }
        StillFormat::Png => {
            image::codecs::png::PngEncoder::new(&mut out).write_image(
                img.as_raw(),
                w,
                h,
                ExtendedColorType::Rgb8,
            )?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
        })
    }

    #[test]
    fn caption_is_burned_in_top_left_only() {
        let mut img = gradient(320, 240);
        let before = img.clone();
        burn_caption(&mut img, "CAM 1  2026-11-21 20:00:00");
        assert_eq!(img.get_pixel(319, 239), before.get_pixel(319, 239));
        let white = (0..20)
            .flat_map(|y| (0..200).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 == [255; 3]);
        assert!(white.count() > 100);
    }

    #[test]
    fn formats_round_trip_with_density() {
        let img = gradient(64, 48);
        for format in [
            StillFormat::Jpeg,
            StillFormat::Bmp,
            StillFormat::Gif,
            StillFormat::Png,
        ] {
            let opts = StillOptions {
                format,
                dpi: Some(9600),
                ..StillOptions::default()
            };
            let bytes = encode(&img, &opts).unwrap();
            let back = image::load_from_memory(&bytes).unwrap();
            assert_eq!((back.width(), back.height()), (64, 48), "{format:?}");
            match format {
                // JFIF APP0: units=1 (dpi), X density, Y density.
                StillFormat::Jpeg => {
                    let app0 = bytes.windows(5).position(|w| w == b"JFIF\0").unwrap();
                    assert_eq!(bytes[app0 + 7..app0 + 12], [1, 0x25, 0x80, 0x25, 0x80]);
                }
                StillFormat::Bmp => assert_eq!(
                    i32::from_le_bytes(bytes[38..42].try_into().unwrap()),
                    377_953
                ),
                _ => {}
            }
        }
    }

    #[test]
    fn rejects_h265() {
        let entry = SampleEntry {
            codec: Codec::H265,
            width: 1,
            height: 1,
            decoder_config: vec![],
        };
        assert!(matches!(
            decode_frames(&entry, []),
            Err(StillError::UnsupportedCodec(Codec::H265))
        ));
    }
}
