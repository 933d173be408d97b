//! `strongroom-osdp`: an OSDP v2 Control Panel (CP) with Secure Channel, in pure Rust.
//!
//! * [`packet`]: sans-IO framing (SOM, address, length, control, security block, MAC, CRC) and a
//!   streaming decoder that resynchronises after garbage.
//! * [`message`]: command/reply codes and typed payloads (LED, buzzer, RAW card data, keypad ...).
//! * [`secure`]: Secure Channel handshake, session keys, MAC chaining and AES-CBC data encryption.
//! * [`cp`]: the CP session state machine, sans-IO, with an injected clock.
//! * [`driver`]: a tokio task running the state machine over any byte stream (pty, serial, TCP).
//! * [`sim`]: a minimal simulated PD (reader) for tests and benchmarks.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cp;
pub mod driver;
pub mod message;
pub mod packet;
pub mod secure;
pub mod sim;
