//! `strongroom-osdp`: an OSDP v2 Control Panel (CP) with Secure Channel, in pure Rust.
//!
//! * [`packet`]: sans-IO framing (SOM, address, length, control, security block, MAC, CRC) and a
//!   streaming decoder that resynchronises after garbage.
//! * [`message`]: command/reply codes and typed payloads (LED, buzzer, RAW card data, keypad ...).
//! * [`secure`]: Secure Channel handshake, session keys, MAC chaining and AES-CBC data encryption.
//! * [`cp`]: the CP session state machine, sans-IO, with an injected clock.
//! * [`driver`]: a tokio task running the state machine over any byte stream (pty, serial, TCP).
//! * [`sim`]: a minimal simulated PD (reader) for tests and benchmarks.
//!
//! # Wiring
//!
//! ```no_run
//! use strongroom_osdp::cp::{ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey};
//! use strongroom_osdp::driver;
//! use strongroom_osdp::message::LedCommand;
//!
//! # async fn run(scbk: [u8; 16]) -> std::io::Result<()> {
//! let cp = ControlPanel::new(
//!     CpConfig::default(),
//!     vec![ReaderConfig { address: 101, key: ReaderKey::Commissioned(scbk) }],
//! )
//! .map_err(std::io::Error::other)?;
//! let mut drv = driver::spawn(driver::open_tty("/dev/ttyUSB0")?, cp);
//! while let Some(ev) = drv.events.recv().await {
//!     match ev {
//!         CpEvent::CardRead { address, wiegand26: Some(w), secure: true, .. } => {
//!             // decide (facility w.facility, number w.number), then:
//!             let _ = drv.handle.send(address, ReaderCommand::Led(LedCommand::grant())).await;
//!         }
//!         CpEvent::SecureChannelDown { .. } => { /* raise an alert */ }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cp;
pub mod driver;
pub mod message;
pub mod packet;
pub mod secure;
pub mod sim;
