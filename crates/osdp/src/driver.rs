//! tokio IO driver: runs a [`ControlPanel`] over any `AsyncRead + AsyncWrite` byte stream
//! (a serial/pty device opened with [`open_tty`], or a TCP stream).
//!
//! [`spawn`] returns a [`Driver`]: an event receiver (`mpsc`), a cloneable [`DriverHandle`] to
//! queue LED/buzzer/output/KEYSET commands, and the task's join handle. The driver is the only
//! place that reads the clock; it passes `Instant::now()` into the sans-IO state machine.
//! When the stream fails or closes, the driver reports every online reader offline and ends
//! with an error: reopening the device is the caller's job.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::cp::{ControlPanel, CpEvent, ReaderCommand};

/// Why the driver stopped.
#[derive(Debug, Error)]
pub enum DriverError {
    /// Reading or writing the stream failed.
    #[error("I/O error on the OSDP line: {0}")]
    Io(#[from] io::Error),
    /// The stream reached end of file (peer closed the connection).
    #[error("OSDP line closed by the peer")]
    Closed,
}

/// Error sending a command to a stopped driver.
#[derive(Debug, Error)]
#[error("OSDP driver has stopped")]
pub struct DriverStopped;

/// Cloneable handle to queue commands.
#[derive(Debug, Clone)]
pub struct DriverHandle {
    commands: mpsc::Sender<(u8, ReaderCommand)>,
}

impl DriverHandle {
    /// Queue a command for the reader at `address`.
    pub async fn send(&self, address: u8, command: ReaderCommand) -> Result<(), DriverStopped> {
        self.commands
            .send((address, command))
            .await
            .map_err(|_| DriverStopped)
    }

    /// Queue a command without waiting (fails if the driver is stopped or its inbox is full).
    pub fn try_send(&self, address: u8, command: ReaderCommand) -> Result<(), DriverStopped> {
        self.commands
            .try_send((address, command))
            .map_err(|_| DriverStopped)
    }
}

/// A running driver.
#[derive(Debug)]
pub struct Driver {
    /// Handle to send commands.
    pub handle: DriverHandle,
    /// Events from the readers.
    pub events: mpsc::Receiver<CpEvent>,
    /// The driver task; ends with the reason it stopped.
    pub task: JoinHandle<Result<(), DriverError>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Driver {
    /// Ask the driver to stop and wait for it.
    pub async fn shutdown(mut self) -> Result<(), DriverError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(DriverError::Io(io::Error::other(e))),
        }
    }
}

/// Start the driver on `io`.
pub fn spawn<T>(io: T, cp: ControlPanel) -> Driver
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(256);
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(io, cp, cmd_rx, ev_tx, stop_rx));
    Driver {
        handle: DriverHandle { commands: cmd_tx },
        events: ev_rx,
        task,
        shutdown: Some(stop_tx),
    }
}

async fn run<T>(
    io: T,
    mut cp: ControlPanel,
    mut cmd_rx: mpsc::Receiver<(u8, ReaderCommand)>,
    ev_tx: mpsc::Sender<CpEvent>,
    mut stop_rx: oneshot::Receiver<()>,
) -> Result<(), DriverError>
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut buf = vec![0u8; 1024];
    let mut commands_open = true;
    let result = loop {
        let now = Instant::now();
        let mut wrote = false;
        let mut write_err = None;
        while let Some(bytes) = cp.poll_transmit(now) {
            if let Err(e) = wr.write_all(&bytes).await {
                write_err = Some(e);
                break;
            }
            wrote = true;
        }
        if let Some(e) = write_err {
            break Err(DriverError::Io(e));
        }
        if wrote && let Err(e) = wr.flush().await {
            break Err(DriverError::Io(e));
        }
        while let Some(ev) = cp.poll_event() {
            if ev_tx.send(ev).await.is_err() {
                // Nobody listens any more: stop.
                return Ok(());
            }
        }
        let deadline = cp
            .poll_timeout(now)
            .unwrap_or_else(|| now + Duration::from_secs(1));
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) => break Err(DriverError::Closed),
                Ok(n) => cp.handle_input(&buf[..n], Instant::now()),
                Err(e) => break Err(DriverError::Io(e)),
            },
            c = cmd_rx.recv(), if commands_open => match c {
                Some((address, command)) => {
                    if let Err(e) = cp.submit(address, command.clone()) {
                        let _ = ev_tx
                            .send(CpEvent::CommandFailed {
                                address,
                                command: command.kind(),
                                reason: e.to_string(),
                            })
                            .await;
                    }
                }
                None => commands_open = false,
            },
            _ = &mut stop_rx => break Ok(()),
            _ = sleep => {}
        }
    };
    // Report every reader offline (and its Secure Channel down) when the line is gone.
    if result.is_err() {
        cp.line_down(Instant::now());
    }
    while let Some(ev) = cp.poll_event() {
        let _ = ev_tx.send(ev).await;
    }
    result
}

/// A tty/pty device opened as a non-blocking file (twice: one descriptor to read, one to
/// write) and driven by the tokio reactor. Line settings (baud rate, raw mode) are not touched:
/// configure the port beforehand (socat's `raw,echo=0` does it for a pty pair).
#[derive(Debug)]
pub struct TtyStream {
    rx: pipe::Receiver,
    tx: pipe::Sender,
}

fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Open a serial or pty device for the driver.
pub fn open_tty(path: impl AsRef<Path>) -> io::Result<TtyStream> {
    let path = path.as_ref();
    let rx = pipe::Receiver::from_file_unchecked(open_nonblocking(path)?)?;
    let tx = pipe::Sender::from_file_unchecked(open_nonblocking(path)?)?;
    Ok(TtyStream { rx, tx })
}

impl AsyncRead for TtyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.rx).poll_read(cx, buf)
    }
}

impl AsyncWrite for TtyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tx).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tx).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tx).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cp::{CpConfig, ReaderConfig, ReaderKey};
    use crate::message::LedCommand;
    use crate::sim::SimPd;

    /// A Control Panel serving one reader at `address`, commissioned with `key`.
    fn one_reader_panel(address: u8, key: [u8; 16]) -> ControlPanel {
        ControlPanel::new(
            CpConfig::default(),
            vec![ReaderConfig {
                address,
                key: ReaderKey::Commissioned(key),
            }],
        )
        .unwrap()
    }

    /// Driver over an in-memory duplex stream with the simulated PD on the other end.
    #[tokio::test]
    async fn driver_delivers_card_and_led_over_duplex() {
        let key = [0x5A; 16];
        let (cp_io, mut pd_io) = tokio::io::duplex(4096);
        let cp = one_reader_panel(3, key);
        let mut driver = spawn(cp_io, cp);
        let mut pd = SimPd::new(3, key);
        pd.present_card(7, 4242);
        let pd_task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut leds = 0;
            loop {
                let n = match pd_io.read(&mut buf).await {
                    Ok(0) | Err(_) => return leds,
                    Ok(n) => n,
                };
                for reply in pd.handle_input(&buf[..n]) {
                    if pd_io.write_all(&reply).await.is_err() {
                        return leds;
                    }
                }
                leds += pd
                    .take_received()
                    .iter()
                    .filter(|r| r.code == 0x69 && r.secure)
                    .count();
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut card = None;
        let mut acked = false;
        while !(card.is_some() && acked) {
            let ev = tokio::time::timeout_at(deadline, driver.events.recv())
                .await
                .expect("events before deadline")
                .expect("driver running");
            match ev {
                CpEvent::CardRead {
                    wiegand26, secure, ..
                } => {
                    assert!(secure);
                    card = wiegand26;
                    driver
                        .handle
                        .send(3, ReaderCommand::Led(LedCommand::grant()))
                        .await
                        .unwrap();
                }
                CpEvent::CommandAcked { .. } => acked = true,
                _ => {}
            }
        }
        let w = card.unwrap();
        assert_eq!((w.facility, w.number), (7, 4242));
        driver.shutdown().await.unwrap();
        assert_eq!(pd_task.await.unwrap(), 1);
    }

    /// The line closing (TCP peer gone) ends the driver and reports the reader offline and
    /// its Secure Channel down.
    #[tokio::test]
    async fn line_closed_reports_offline_and_secure_channel_down() {
        let key = [0x5B; 16];
        let (cp_io, mut pd_io) = tokio::io::duplex(4096);
        let cp = one_reader_panel(4, key);
        let mut driver = spawn(cp_io, cp);
        let (secure_tx, secure_rx) = oneshot::channel::<()>();
        let pd_task = tokio::spawn(async move {
            let mut pd = SimPd::new(4, key);
            let mut buf = [0u8; 512];
            let mut secure_tx = Some(secure_tx);
            loop {
                let n = match pd_io.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                for reply in pd.handle_input(&buf[..n]) {
                    if pd_io.write_all(&reply).await.is_err() {
                        return;
                    }
                }
                if pd.is_secure()
                    && let Some(tx) = secure_tx.take()
                {
                    let _ = tx.send(());
                    return; // drops pd_io: the line closes
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(5), secure_rx)
            .await
            .unwrap()
            .unwrap();
        pd_task.await.unwrap();
        let mut seen = Vec::new();
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_secs(5), driver.events.recv()).await
        {
            seen.push(ev);
        }
        assert!(
            seen.contains(&CpEvent::ReaderOffline { address: 4 }),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .any(|e| matches!(e, CpEvent::SecureChannelDown { address: 4, .. })),
            "{seen:?}"
        );
        let end = driver.task.await.unwrap();
        assert!(
            matches!(end, Err(DriverError::Closed | DriverError::Io(_))),
            "{end:?}"
        );
    }
}
