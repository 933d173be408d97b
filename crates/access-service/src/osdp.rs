//! The OSDP reader adapter: one driver per channel (several readers may share a multi-drop line)
//! started, restarted and stopped by a supervisor as the site file says, reconnecting with
//! backoff. Card reads and keypad keys become presentations (the keypad grammar is
//! `strongroom_access::keypad`); link changes become `device.state` facts with the health facts
//! of `strongroom_access::link`; decisions light the reader's LED.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strongroom_access::keypad::{self, PinPad, Submitted};
use strongroom_access::link::{LinkState, link_facts, read_refused};
use strongroom_access::{ReaderFeedback, Source};
use strongroom_domain::site::SiteConfig;
use strongroom_osdp::cp::{
    ControlPanel, CpConfig, CpEvent, ReaderCommand, ReaderConfig, ReaderKey,
};
use strongroom_osdp::driver;
use strongroom_osdp::message::{BuzzerCommand, LedCommand};

use crate::secret::{load_scbk, resolve};
use crate::service::AccessService;
use crate::views::ReaderLinkView;

/// How long a card read at a keypad reader waits for its PIN (and typed digits for the rest).
const PIN_WAIT: Duration = Duration::from_secs(10);

/// An OSDP reader's link, for the door screen and for driving its LED.
#[derive(Debug, Clone)]
pub(crate) struct ReaderLink {
    channel: String,
    address: u8,
    commissioned: bool,
    /// `connecting`, `online`, `offline`, `trouble`, `tamper`.
    state: String,
    secure: bool,
    since_ms: i64,
    detail: Option<String>,
    handle: Option<driver::DriverHandle>,
}

impl ReaderLink {
    /// What the API shows of it.
    pub(crate) fn view(&self) -> ReaderLinkView {
        ReaderLinkView {
            channel: self.channel.clone(),
            address: self.address,
            commissioned: self.commissioned,
            state: self.state.clone(),
            secure: self.secure,
            since_ms: self.since_ms,
            detail: self.detail.clone(),
        }
    }
}

/// One OSDP line and the readers on it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineSpec {
    channel: String,
    /// (reader id, address, SCBK file)
    readers: Vec<(String, u8, Option<PathBuf>)>,
}

fn line_specs(config: &SiteConfig, data_dir: &Path) -> BTreeMap<String, LineSpec> {
    let mut lines: BTreeMap<String, LineSpec> = BTreeMap::new();
    for r in &config.readers {
        let Some(link) = &r.osdp else { continue };
        lines
            .entry(link.channel.clone())
            .or_insert_with(|| LineSpec {
                channel: link.channel.clone(),
                readers: Vec::new(),
            })
            .readers
            .push((
                r.id.clone(),
                link.address,
                link.scbk_file.as_deref().map(|f| resolve(data_dir, f)),
            ));
    }
    lines
}

/// Whether every OSDP reader's Secure Channel key in `config` can be read.
pub(crate) fn check_keys(config: &SiteConfig, data_dir: &Path) -> Result<(), String> {
    for spec in line_specs(config, data_dir).values() {
        for (reader, _, scbk) in &spec.readers {
            if let Some(path) = scbk {
                load_scbk(path).map_err(|e| format!("reader {reader}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// The line tasks a supervisor runs; aborted with it.
struct Lines(BTreeMap<String, (LineSpec, tokio::task::JoinHandle<()>)>);

impl Drop for Lines {
    fn drop(&mut self) {
        for (_, task) in self.0.values() {
            task.abort();
        }
    }
}

/// Starts, restarts and stops one driver task per OSDP line as the configuration in force says.
pub(crate) async fn supervisor(rt: Arc<AccessService>) {
    let mut running = Lines(BTreeMap::new());
    loop {
        let wanted = line_specs(&rt.config(), &rt.data_dir);
        running.0.retain(|ch, (spec, task)| {
            let keep = wanted.get(ch) == Some(spec) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        if let Ok(mut links) = rt.links.lock() {
            links.retain(|_, l| wanted.contains_key(&l.channel));
        }
        for (ch, spec) in wanted {
            if running.0.contains_key(&ch) {
                continue;
            }
            let task = tokio::spawn(run_line(rt.clone(), spec.clone()));
            running.0.insert(ch, (spec, task));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

enum Line {
    Tty(driver::TtyStream),
    Tcp(tokio::net::TcpStream),
}

async fn open_line(channel: &str, data_dir: &Path) -> Result<Line, String> {
    if let Some(path) = channel
        .strip_prefix("pty:")
        .or_else(|| channel.strip_prefix("serial:"))
    {
        // Serial line settings (speed, raw mode) must be set beforehand (stty, udev rule).
        let p = resolve(data_dir, path);
        return driver::open_tty(&p)
            .map(Line::Tty)
            .map_err(|e| format!("cannot open {}: {e}", p.display()));
    }
    if let Some(addr) = channel.strip_prefix("tcp:") {
        let s = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        return Ok(Line::Tcp(s));
    }
    Err(format!(
        "bad OSDP channel {channel:?}: expected pty:PATH, serial:DEVICE or tcp:HOST:PORT"
    ))
}

/// The readers of a line with their keys; a reader whose key file is unusable is reported in
/// trouble and left out.
async fn line_readers(
    rt: &AccessService,
    spec: &LineSpec,
) -> (Vec<ReaderConfig>, HashMap<u8, (String, bool)>) {
    let now = rt.clock.now_ms();
    let mut configs = Vec::new();
    let mut by_address = HashMap::new();
    for (reader, address, scbk) in &spec.readers {
        let key = match scbk {
            Some(p) => match load_scbk(p) {
                Ok(k) => ReaderKey::Commissioned(k),
                Err(e) => {
                    tracing::error!(reader, error = %e, "reader not started");
                    insert_link(rt, reader, &spec.channel, *address, true, now);
                    rt.reader_state(reader, "trouble", false, Some(e)).await;
                    continue;
                }
            },
            None => ReaderKey::Clear,
        };
        let commissioned = matches!(key, ReaderKey::Commissioned(_));
        insert_link(rt, reader, &spec.channel, *address, commissioned, now);
        by_address.insert(*address, (reader.clone(), commissioned));
        configs.push(ReaderConfig {
            address: *address,
            key,
        });
    }
    (configs, by_address)
}

/// Runs one OSDP line forever: open, drive, report, reconnect with backoff (a line that cannot
/// be configured, say for a bad key file, is retried every 30 s).
async fn run_line(rt: Arc<AccessService>, spec: LineSpec) {
    const RETRY_CONFIG: Duration = Duration::from_secs(30);
    let mut backoff = Duration::from_secs(1);
    loop {
        let (configs, by_address) = line_readers(&rt, &spec).await;
        if configs.is_empty() {
            tokio::time::sleep(RETRY_CONFIG).await;
            continue;
        }
        let cp = match ControlPanel::new(CpConfig::default(), configs) {
            Ok(cp) => cp,
            Err(e) => {
                for (reader, _) in by_address.values() {
                    rt.reader_state(reader, "trouble", false, Some(e.to_string()))
                        .await;
                }
                tokio::time::sleep(RETRY_CONFIG).await;
                continue;
            }
        };
        let mut drv = match open_line(&spec.channel, &rt.data_dir).await {
            Ok(Line::Tty(t)) => driver::spawn(t, cp),
            Ok(Line::Tcp(t)) => driver::spawn(t, cp),
            Err(e) => {
                for (reader, _) in by_address.values() {
                    rt.reader_state(reader, "offline", false, Some(e.clone()))
                        .await;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        set_handles(&rt, &by_address, Some(&drv.handle));
        let session_start = Instant::now();
        let mut pads: HashMap<u8, PinPad<tokio::time::Instant>> = HashMap::new();
        loop {
            let next_deadline = pads.values().filter_map(PinPad::next_deadline).min();
            let sleep = async {
                match next_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                ev = drv.events.recv() => {
                    let Some(ev) = ev else { break };
                    handle_event(&rt, &by_address, &mut pads, ev).await;
                }
                () = sleep => {
                    let now = tokio::time::Instant::now();
                    let mut due = Vec::new();
                    for (a, pad) in &mut pads {
                        if let Some(s) = pad.expire(now) {
                            due.push((*a, s));
                        }
                    }
                    pads.retain(|_, p| !p.is_idle());
                    for (a, s) in due {
                        if let Some((reader, _)) = by_address.get(&a) {
                            submit(&rt, reader, s).await;
                        }
                    }
                }
            }
        }
        let end = drv.task.await;
        set_handles(&rt, &by_address, None);
        let reason = match end {
            Ok(Ok(())) => "driver stopped".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("driver task failed: {e}"),
        };
        for (reader, _) in by_address.values() {
            rt.reader_state(reader, "offline", false, Some(reason.clone()))
                .await;
        }
        if session_start.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_secs(1);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

fn set_handles(
    rt: &AccessService,
    by_address: &HashMap<u8, (String, bool)>,
    handle: Option<&driver::DriverHandle>,
) {
    if let Ok(mut links) = rt.links.lock() {
        for (reader, _) in by_address.values() {
            if let Some(l) = links.get_mut(reader) {
                l.handle = handle.cloned();
            }
        }
    }
}

/// Registers a reader's link (keeping the state it last reported, so reports stay changes).
fn insert_link(
    rt: &AccessService,
    reader: &str,
    channel: &str,
    address: u8,
    commissioned: bool,
    now: i64,
) {
    if let Ok(mut m) = rt.links.lock() {
        m.entry(reader.to_owned())
            .and_modify(|l| {
                l.channel = channel.to_owned();
                l.address = address;
                l.commissioned = commissioned;
            })
            .or_insert_with(|| ReaderLink {
                channel: channel.to_owned(),
                address,
                commissioned,
                state: "connecting".into(),
                secure: false,
                since_ms: now,
                detail: None,
                handle: None,
            });
    }
}

/// Hands a keypad's or card reader's presentation to the decision.
async fn submit(rt: &AccessService, reader: &str, s: Submitted) {
    let _ = rt.present(reader, s.card, s.pin, Source::Osdp).await;
}

fn address_of(ev: &CpEvent) -> u8 {
    match ev {
        CpEvent::ReaderOnline { address }
        | CpEvent::ReaderOffline { address }
        | CpEvent::Identified { address, .. }
        | CpEvent::SecureChannelUp { address, .. }
        | CpEvent::SecureChannelDown { address, .. }
        | CpEvent::SecureChannelFailed { address, .. }
        | CpEvent::CardRead { address, .. }
        | CpEvent::Keypad { address, .. }
        | CpEvent::Tamper { address, .. }
        | CpEvent::Power { address, .. }
        | CpEvent::CommandAcked { address, .. }
        | CpEvent::CommandNaked { address, .. }
        | CpEvent::CommandFailed { address, .. }
        | CpEvent::KeyChanged { address }
        | CpEvent::ProtocolError { address, .. } => *address,
    }
}

async fn handle_event(
    rt: &AccessService,
    by_address: &HashMap<u8, (String, bool)>,
    pads: &mut HashMap<u8, PinPad<tokio::time::Instant>>,
    ev: CpEvent,
) {
    let address = address_of(&ev);
    let Some((reader, commissioned)) = by_address.get(&address) else {
        tracing::warn!(address, "event from an OSDP address not in the site file");
        return;
    };
    let (reader, commissioned) = (reader.as_str(), *commissioned);
    let link = |f: fn(&ReaderLink) -> bool| {
        rt.links
            .lock()
            .ok()
            .and_then(|m| m.get(reader).map(f))
            .unwrap_or(false)
    };
    match ev {
        CpEvent::ReaderOnline { .. } => rt.reader_state(reader, "online", false, None).await,
        CpEvent::ReaderOffline { .. } => {
            pads.remove(&address);
            let why = Some("reader stopped answering".into());
            rt.reader_state(reader, "offline", false, why).await;
        }
        CpEvent::SecureChannelUp { install_key, .. } => {
            let detail = install_key.then(|| "install-mode key (SCBK-D)".to_owned());
            rt.reader_state(reader, "online", true, detail).await;
        }
        CpEvent::SecureChannelDown { reason, .. } => {
            // A reader that went offline lost its channel with it: offline says it all.
            if !link(|l| l.state == "offline") {
                let why = Some(format!("secure channel down: {reason}"));
                rt.reader_state(reader, "trouble", false, why).await;
            }
        }
        CpEvent::SecureChannelFailed { reason, .. } => {
            let why = Some(format!("secure channel failed: {reason}"));
            rt.reader_state(reader, "trouble", false, why).await;
        }
        CpEvent::Tamper { active, .. } => {
            let state = if active { "tamper" } else { "online" };
            let why = active.then(|| "tamper switch".to_owned());
            rt.reader_state(reader, state, link(|l| l.secure), why)
                .await;
        }
        CpEvent::Power { failure, .. } => {
            let state = if failure { "trouble" } else { "online" };
            let why = failure.then(|| "power failure".to_owned());
            rt.reader_state(reader, state, link(|l| l.secure), why)
                .await;
        }
        CpEvent::CardRead {
            bit_count,
            data,
            wiegand26,
            secure,
            ..
        } => {
            if commissioned && !secure {
                rt.refuse_read(reader, "not_secure").await;
                return;
            }
            let w26 = wiegand26.map(|w| keypad::Wiegand26 {
                facility: w.facility,
                number: w.number,
                parity_ok: w.parity_ok,
            });
            let card = keypad::card_number(bit_count, &data, w26);
            let needs_pin = rt.card_needs_pin(reader, &card).await;
            let deadline = tokio::time::Instant::now() + PIN_WAIT;
            let pad = pads.entry(address).or_default();
            if let Some(s) = pad.card_read(card, needs_pin, deadline) {
                submit(rt, reader, s).await;
            }
        }
        CpEvent::Keypad {
            digits: keys,
            secure,
            ..
        } => {
            if commissioned && !secure {
                pads.remove(&address);
                rt.refuse_read(reader, "not_secure").await;
                return;
            }
            let deadline = tokio::time::Instant::now() + PIN_WAIT;
            let submitted = pads.entry(address).or_default().keys(&keys, deadline);
            for s in submitted {
                submit(rt, reader, s).await;
            }
        }
        CpEvent::CommandNaked {
            command, reason, ..
        } => {
            tracing::warn!(reader, ?command, ?reason, "reader refused a command");
        }
        CpEvent::CommandFailed {
            command, reason, ..
        } => {
            tracing::warn!(reader, ?command, %reason, "reader command dropped");
        }
        CpEvent::ProtocolError { detail, .. } => {
            tracing::warn!(reader, %detail, "OSDP protocol error");
        }
        CpEvent::Identified { .. } | CpEvent::CommandAcked { .. } | CpEvent::KeyChanged { .. } => {}
    }
}

impl AccessService {
    /// Drives an OSDP reader's LED (and a short beep on refusals); a no-op for other readers.
    pub(crate) fn show(&self, reader: &str, feedback: ReaderFeedback) {
        let led = match feedback {
            ReaderFeedback::Granted => LedCommand::grant(),
            ReaderFeedback::Denied => LedCommand::deny(),
            ReaderFeedback::None => return,
        };
        let target = self.links.lock().ok().and_then(|m| {
            m.get(reader)
                .and_then(|l| Some((l.handle.clone()?, l.address)))
        });
        if let Some((handle, address)) = target {
            if handle.try_send(address, ReaderCommand::Led(led)).is_err() {
                tracing::warn!(reader, "LED command not queued (reader line down)");
            }
            if feedback == ReaderFeedback::Denied {
                let _ = handle.try_send(address, ReaderCommand::Buzzer(BuzzerCommand::beep()));
            }
        }
    }

    /// Journals a reader's link state (`device.state`), once per change, with health facts for the
    /// alerts (down, up again, Secure Channel lost).
    async fn reader_state(&self, reader: &str, state: &str, secure: bool, detail: Option<String>) {
        let now = self.clock.now_ms();
        let next = LinkState {
            state: state.to_owned(),
            secure,
            detail,
        };
        let previous = {
            let Ok(mut m) = self.links.lock() else { return };
            let Some(l) = m.get_mut(reader) else { return };
            let prev = LinkState {
                state: l.state.clone(),
                secure: l.secure,
                detail: l.detail.clone(),
            };
            if prev == next {
                return;
            }
            l.state = state.to_owned();
            l.secure = secure;
            l.since_ms = now;
            l.detail.clone_from(&next.detail);
            prev
        };
        let door = self
            .config()
            .readers
            .iter()
            .find(|r| r.id == reader)
            .map(|r| r.door.clone())
            .unwrap_or_default();
        let facts = link_facts(reader, &door, &previous, &next, now);
        if let Err(e) = self.journal.append(facts).await {
            tracing::error!(reader, error = %e, "cannot journal reader state");
        }
    }

    /// Journals a read refused before any decision; the reader shows a refusal.
    async fn refuse_read(&self, reader: &str, reason: &str) {
        let door = self
            .read(|s, _| {
                s.reader(reader)
                    .and_then(|r| s.door_at(r.door))
                    .map(|d| d.id.clone())
            })
            .await
            .unwrap_or_default();
        let f = read_refused(reader, &door, reason, self.clock.now_ms());
        if let Err(e) = self.journal.append_one(f).await {
            tracing::error!(reader, error = %e, "cannot journal a refused read");
        }
        self.show(reader, ReaderFeedback::Denied);
    }
}
