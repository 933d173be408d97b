//! Strongroom media: everything that touches recorded video bytes after the recorder has received them.
//!
//! - [`segment`]: the on-disk segment format (AVCC access units back to back), its compact frame index,
//!   a durable writer and a reader, plus H.264 Annex B / AVCC / avcC helpers.
//! - [`mp4`]: progressive MP4 for any list of segments, streamed with constant memory (byte ranges too).
//! - [`evidence`]: signed evidence bundles (MP4 + manifest + Ed25519 signature + site key) and their
//!   offline verifier.
//! - [`still`]: decode the frame at an instant (OpenH264), burn in camera name and time, encode
//!   JPEG/BMP/GIF/PNG.
//! - [`hashing`]: one-pass SHA-256 of a stream and of byte ranges of it, on two threads.
#![forbid(unsafe_code)]

pub mod evidence;
pub mod hashing;
pub mod mp4;
pub mod segment;
pub mod still;
