//! ANSI/SIA DC-09 alarm transport for Strongroom: a sans-IO codec (frames, AES, Contact ID, SIA DCS),
//! a receiver core with replay and clock-window policy, a supervision state machine, and tokio
//! adapters for a receiver (panels → us) and a sender (us → central station).
//!
//! Layering: [`frame`], [`crypto`], [`cid`], [`dcs`], [`signal`], [`decoder`], [`engine`] and
//! [`supervisor`] never do IO and never read the clock (callers pass `now`). [`receiver`] and
//! [`sender`] own sockets and take a [`clock::Clock`].
#![forbid(unsafe_code)]

pub mod cid;
pub mod clock;
pub mod crypto;
pub mod dcs;
pub mod decoder;
pub mod engine;
pub mod frame;
pub mod queue;
pub mod receiver;
pub mod sender;
pub mod signal;
pub mod supervisor;
pub mod timestamp;

pub use crypto::AesKey;
pub use decoder::FrameDecoder;
pub use engine::{AccountPolicy, Outcome, ReceiverCore, Rejection, TimeWindow};
pub use frame::{Body, Content, Frame, Header, MessageKind};
pub use signal::{AlarmSignal, Protocol, Qualifier};
pub use supervisor::{SupervisionEvent, Supervisor};
