//! Strongroom media: everything that touches recorded video bytes after the recorder has received them.
//!
//! - [`segment`]: the on-disk segment format (AVCC access units back to back), its compact frame index,
//!   a durable writer and a reader, plus H.264 Annex B / AVCC / avcC helpers.
#![forbid(unsafe_code)]

pub mod segment;
