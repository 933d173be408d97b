//! Where frames come from: the [`Opener`] / [`FrameStream`] traits (so tests can inject fake cameras)
//! and their RTSP implementation on retina ([`RetinaOpener`]: RTSP over TCP, H.264, credentials).
//!
//! Frames are handed over exactly as received (AVCC, 4-byte NAL lengths): nothing is decoded or
//! transcoded here.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use retina::client::{
    Credentials, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions,
    TcpTransportOptions, Transport,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoParametersCodec};
use thiserror::Error;
use url::Url;

/// One camera the recorder records. The server builds these from its site model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// The server's stable camera key (e.g. its camera id); `video_camera_stream.camera_key`.
    pub key: String,
    /// RTSP URL (without credentials).
    pub url: Url,
    /// RTSP user name, if the camera needs one.
    pub username: Option<String>,
    /// RTSP password.
    pub password: Option<String>,
}

/// H.264 parameter sets (NAL units with their header byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H264Params {
    /// Sequence parameter set.
    pub sps: Vec<u8>,
    /// Picture parameter set.
    pub pps: Vec<u8>,
}

/// One received access unit.
#[derive(Debug, Clone)]
pub struct Frame {
    /// NAL units in AVCC form (4-byte big-endian lengths).
    pub data: Vec<u8>,
    /// Presentation time in 90 kHz ticks since an arbitrary, per-session origin (RTP time).
    pub pts_90k: i64,
    /// True for a random access point (IDR).
    pub is_key: bool,
    /// RTP packets lost just before this frame.
    pub loss: u16,
    /// The parameter sets in force, set on the first frame of a session and whenever they change.
    pub new_params: Option<Arc<H264Params>>,
    /// The camera's own wall-clock time for this frame (90 kHz since the Unix epoch), when the
    /// camera has mapped its RTP clock to NTP time in an RTCP sender report.
    pub camera_time_90k: Option<i64>,
}

/// Converts a 64-bit NTP timestamp (seconds since 1900 . fraction) to 90 kHz ticks since 1970.
pub fn ntp_to_90k(ntp: u64) -> i64 {
    const NTP_UNIX_OFFSET_SECS: i64 = 2_208_988_800;
    let secs = (ntp >> 32) as i64 - NTP_UNIX_OFFSET_SECS;
    let frac_90k = (((ntp & 0xffff_ffff) * 90_000) >> 32) as i64;
    secs * 90_000 + frac_90k
}

/// Errors opening or reading a stream.
#[derive(Debug, Error)]
pub enum SourceError {
    /// RTSP/RTP failure (connect, describe, setup, play, read).
    #[error("rtsp: {0}")]
    Rtsp(String),
    /// The camera offers no H.264 video stream.
    #[error("no H.264 video stream in the presentation")]
    NoH264,
    /// The stream has no usable parameter sets.
    #[error("no H.264 parameter sets")]
    NoParams,
}

/// A live stream of access units.
pub trait FrameStream: Send + 'static {
    /// The next frame; `Ok(None)` when the camera ended the stream cleanly.
    fn next_frame(&mut self) -> impl Future<Output = Result<Option<Frame>, SourceError>> + Send;
}

/// Opens streams for cameras. One opener serves all cameras.
pub trait Opener: Send + Sync + 'static {
    /// The stream type.
    type Stream: FrameStream;
    /// Connects to `camera` and starts playing.
    fn open(
        &self,
        camera: &CameraConfig,
    ) -> impl Future<Output = Result<Self::Stream, SourceError>> + Send;
}

/// Opens RTSP sessions with retina (TCP interleaved transport, AVCC frames).
#[derive(Clone, Default)]
pub struct RetinaOpener {
    group: Arc<SessionGroup>,
}

impl RetinaOpener {
    /// A new opener; all its sessions share one retina session group (for clean teardown).
    pub fn new() -> Self {
        Self::default()
    }
}

fn rtsp(e: retina::Error) -> SourceError {
    SourceError::Rtsp(e.to_string())
}

impl Opener for RetinaOpener {
    type Stream = RetinaStream;

    async fn open(&self, camera: &CameraConfig) -> Result<RetinaStream, SourceError> {
        let creds = camera.username.as_ref().map(|u| Credentials {
            username: u.clone(),
            password: camera.password.clone().unwrap_or_default(),
        });
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent("strongroom".to_owned())
            .session_group(self.group.clone());
        let mut session = Session::describe(camera.url.clone(), options)
            .await
            .map_err(rtsp)?;
        let video_i = session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
            .ok_or(SourceError::NoH264)?;
        session
            .setup(
                video_i,
                SetupOptions::default()
                    .transport(Transport::Tcp(TcpTransportOptions::default()))
                    .frame_format(FrameFormat::MP4),
            )
            .await
            .map_err(rtsp)?;
        let playing = session.play(PlayOptions::default()).await.map_err(rtsp)?;
        let demuxed = playing.demuxed().map_err(rtsp)?;
        Ok(RetinaStream {
            demuxed,
            video_i,
            sent_params: None,
            sender_report: None,
        })
    }
}

/// A playing retina session, demuxed to frames.
pub struct RetinaStream {
    demuxed: retina::client::Demuxed,
    video_i: usize,
    sent_params: Option<Arc<H264Params>>,
    /// Latest sender report of the video stream: (camera NTP time, RTP time) in 90 kHz ticks.
    sender_report: Option<(i64, i64)>,
}

fn to_90k(ts: retina::Timestamp) -> i64 {
    let rate = i64::from(ts.clock_rate().get());
    if rate == 90_000 {
        ts.elapsed()
    } else {
        ts.elapsed().saturating_mul(90_000) / rate
    }
}

impl RetinaStream {
    fn current_params(&self) -> Option<H264Params> {
        let stream = self.demuxed.streams().get(self.video_i)?;
        match stream.parameters()? {
            ParametersRef::Video(v) => match v.codec_params() {
                VideoParametersCodec::H264 { sps, pps } => Some(H264Params {
                    sps: sps.to_vec(),
                    pps: pps.to_vec(),
                }),
                _ => None,
            },
            _ => None,
        }
    }
}

impl FrameStream for RetinaStream {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        loop {
            let item = match self.demuxed.next().await {
                None => return Ok(None),
                Some(r) => r.map_err(rtsp)?,
            };
            let f = match item {
                CodecItem::VideoFrame(f) => f,
                CodecItem::Rtcp(rtcp) => {
                    if rtcp.stream_id() == self.video_i
                        && let Some(rtp) = rtcp.rtp_timestamp()
                        && let Some(Ok(Some(sr))) = rtcp.pkts().next().map(|p| p.as_sender_report())
                    {
                        self.sender_report = Some((ntp_to_90k(sr.ntp_timestamp().0), to_90k(rtp)));
                    }
                    continue;
                }
                _ => continue,
            };
            if f.stream_id() != self.video_i {
                continue;
            }
            let mut new_params = None;
            if f.has_new_parameters() || self.sent_params.is_none() {
                let p = self.current_params().ok_or(SourceError::NoParams)?;
                if self.sent_params.as_deref() != Some(&p) {
                    let p = Arc::new(p);
                    self.sent_params = Some(p.clone());
                    new_params = Some(p);
                }
            }
            let pts_90k = to_90k(f.timestamp());
            let camera_time_90k = self
                .sender_report
                .map(|(ntp_90k, rtp_90k)| ntp_90k + (pts_90k - rtp_90k));
            let is_key = f.is_random_access_point();
            let loss = f.loss();
            return Ok(Some(Frame {
                data: f.into_data(),
                pts_90k,
                is_key,
                loss,
                new_params,
                camera_time_90k,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_conversion() {
        // 1970-01-01T00:00:00Z is NTP second 2_208_988_800.
        assert_eq!(ntp_to_90k(2_208_988_800u64 << 32), 0);
        // Half a second later.
        assert_eq!(ntp_to_90k((2_208_988_800u64 << 32) | 0x8000_0000), 45_000);
        assert_eq!(ntp_to_90k((2_208_988_810u64 << 32) | 0x4000_0000), 922_500);
    }
}
