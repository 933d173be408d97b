//! The live tap: retina's opener wrapped so that every frame a camera sends is also kept in
//! [`LiveFrames`] (its frames since the last key frame), which is what a live still decodes.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strongroom_domain::Clock;
use strongroom_video::source::{
    CameraConfig, Frame, FrameStream, H264Params, Opener, RetinaOpener, SourceError,
};

/// Frames since the last key frame of one camera.
#[derive(Default)]
struct LiveGop {
    params: Option<Arc<H264Params>>,
    frames: Vec<Vec<u8>>,
    bytes: usize,
    last_ms: i64,
}

/// Every camera's current group of pictures.
#[derive(Default)]
pub(crate) struct LiveFrames {
    cams: Mutex<HashMap<String, LiveGop>>,
}

/// A GOP larger than this is dropped until the next key frame (bounds memory per camera).
const LIVE_MAX_BYTES: usize = 32 << 20;

impl LiveFrames {
    pub(crate) fn push(&self, camera: &str, f: &Frame, now_ms: i64) {
        let mut cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        let g = cams.entry(camera.to_owned()).or_default();
        if let Some(p) = &f.new_params {
            g.params = Some(p.clone());
        }
        if f.is_key {
            g.frames.clear();
            g.bytes = 0;
        } else if g.frames.is_empty() {
            return; // wait for a key frame
        }
        if g.bytes + f.data.len() > LIVE_MAX_BYTES {
            g.frames.clear();
            g.bytes = 0;
            return;
        }
        g.bytes += f.data.len();
        g.frames.push(f.data.clone());
        g.last_ms = now_ms;
    }

    /// The camera's parameter sets, frames since the last key frame and the last arrival time.
    pub(crate) fn snapshot(&self, camera: &str) -> Option<(Arc<H264Params>, Vec<Vec<u8>>, i64)> {
        let cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        let g = cams.get(camera)?;
        let p = g.params.clone()?;
        if g.frames.is_empty() {
            return None;
        }
        Some((p, g.frames.clone(), g.last_ms))
    }

    pub(crate) fn last_ms(&self, camera: &str) -> Option<i64> {
        let cams = self.cams.lock().unwrap_or_else(|p| p.into_inner());
        cams.get(camera).map(|g| g.last_ms).filter(|t| *t > 0)
    }
}

/// Retina's opener, with every received frame also handed to [`LiveFrames`].
pub(crate) struct TapOpener {
    pub(crate) inner: RetinaOpener,
    pub(crate) live: Arc<LiveFrames>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// A camera stream that hands every frame to [`LiveFrames`] too.
pub(crate) struct TapStream<S> {
    inner: S,
    camera: String,
    live: Arc<LiveFrames>,
    clock: Arc<dyn Clock>,
}

impl Opener for TapOpener {
    type Stream = TapStream<<RetinaOpener as Opener>::Stream>;

    async fn open(&self, camera: &CameraConfig) -> Result<Self::Stream, SourceError> {
        let inner = self.inner.open(camera).await?;
        Ok(TapStream {
            inner,
            camera: camera.key.clone(),
            live: self.live.clone(),
            clock: self.clock.clone(),
        })
    }
}

impl<S: FrameStream> FrameStream for TapStream<S> {
    async fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        let f = self.inner.next_frame().await?;
        if let Some(f) = &f {
            self.live.push(&self.camera, f, self.clock.now_ms());
        }
        Ok(f)
    }
}
