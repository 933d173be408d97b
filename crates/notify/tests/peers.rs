//! Channels and the dispatcher against real third-party peers: aiosmtpd (`smtp_sink.py`) and a
//! Twilio-style HTTP provider (`webhook_sink.py`). Real mail and real form POSTs on 127.0.0.1;
//! assertions are on what the peers printed.
mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use strongroom_domain::site::{Chain, ChainStep, Channel as Kind, Contact, Notify as SiteNotify};
use strongroom_domain::{Actor, Clock, Fact, SystemClock};
use strongroom_notify::outbox::ItemState;
use strongroom_notify::{
    Channel, ChannelRule, Channels, Delivery, Dispatcher, DispatcherConfig, Escalator,
    EscalatorConfig, MemoryOutbox, Notifier, Receipt, RetryPolicy, SendError, SiteIdentity,
    SmtpChannel, SmtpConfig, VecSink, WebhookAuth, WebhookChannel, WebhookConfig, facts,
};
use support::peer::{Peer, locate, skip};

const WAIT: Duration = Duration::from_secs(10);

fn delivery(id: &str, channel: Kind, address: &str, message: &str) -> Delivery {
    Delivery {
        id: id.into(),
        incident_id: "inc-1".into(),
        chain_id: "alarms".into(),
        step_index: 0,
        contact: "manager".into(),
        contact_name: "Manager".into(),
        channel,
        address: address.into(),
        subject: "[Test site] holdup".into(),
        message: message.into(),
        trigger_kind: "alarm.raised".into(),
        onset_ms: 0,
        triggered_ms: 0,
        due_ms: 0,
        silent: false,
    }
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn start(script: &str, any_python: bool, args: &[&str]) -> Option<Peer> {
    let (python, path) = match locate(script, any_python) {
        Ok(p) => p,
        Err(reason) => {
            skip(&reason);
            return None;
        }
    };
    match Peer::start(&python, &path, 60, args) {
        Ok(p) => Some(p),
        Err(reason) => {
            skip(&reason);
            None
        }
    }
}

fn contact(id: &str, name: &str, phone: &str, email: Option<&str>) -> Contact {
    Contact {
        id: id.into(),
        name: name.into(),
        phone: Some(phone.into()),
        email: email.map(Into::into),
        monitoring: false,
    }
}

/// A chain step taken at once.
fn step(contact: &str, channel: Kind) -> ChainStep {
    ChainStep {
        contact: contact.into(),
        channel,
        after_s: 0,
    }
}

fn smtp_config(port: u16, from: &str) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: from.into(),
        starttls: false,
        timeout_ms: 5_000,
    }
}

/// Waits for the provider's request to the endpoint whose path ends with `endpoint`.
fn wait_request(provider: &mut Peer, endpoint: &str) -> Option<Value> {
    provider.wait_for(WAIT, |v| {
        v["path"].as_str().is_some_and(|p| p.ends_with(endpoint))
    })
}

/// Sends `d` through a webhook channel to the provider on `port`, authenticated with `token`; the
/// provider must accept it with an id starting with `id_prefix` ("SM" for SMS, "CA" for calls).
async fn send_accepted(port: u16, token: &str, d: &Delivery, id_prefix: &str) -> Receipt {
    let wh = WebhookChannel::new(webhook_config(port, token), clock()).expect("webhook channel");
    let r = wh.send(d).await.expect("provider accepts");
    assert!(
        r.provider_id
            .as_deref()
            .is_some_and(|s| s.starts_with(id_prefix)),
        "{r:?}"
    );
    r
}

fn webhook_config(port: u16, token: &str) -> WebhookConfig {
    WebhookConfig {
        sms_url: format!("http://127.0.0.1:{port}/2010-04-01/Accounts/AC123/Messages.json"),
        voice_url: format!("http://127.0.0.1:{port}/2010-04-01/Accounts/AC123/Calls.json"),
        from: "+15550009999".into(),
        auth: WebhookAuth::from_token(token),
        voice_audio_url: None,
        timeout_ms: 5_000,
    }
}

/// SMS and voice through the provider on `port` (Basic auth), email through `email` if any.
fn provider_channels(
    port: u16,
    clock: &Arc<dyn Clock>,
    email: Option<Arc<dyn Channel>>,
) -> Channels {
    let wh: Arc<dyn Channel> = Arc::new(
        WebhookChannel::new(webhook_config(port, "AC123:secret"), clock.clone()).expect("wh"),
    );
    Channels {
        email,
        sms: Some(wh.clone()),
        voice: Some(wh),
    }
}

fn test_site(address: &str) -> SiteIdentity {
    SiteIdentity {
        name: "Test site".into(),
        address: address.into(),
        ..SiteIdentity::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_mail_reaches_the_sink_and_550_is_permanent() {
    let Some(mut sink) = start("smtp_sink.py", false, &["--reject-rcpt", "gone@site.test"]) else {
        return;
    };
    let cfg = smtp_config(sink.port, "Strongroom <strongroom@site.test>");
    let smtp = SmtpChannel::new(&cfg, clock()).expect("smtp channel");
    let d = delivery(
        "inc-1/alarms/0",
        Kind::Email,
        "manager@site.test",
        "Camera 3 lost its stream at 10:00.\nIncident inc-1.",
    );
    let r = smtp.send(&d).await.expect("mail accepted");
    assert!(r.response.starts_with("250"), "{r:?}");
    assert!(r.accepted_ms >= r.sent_ms);
    let mail = sink
        .wait_for(WAIT, |v| v.get("rcpt_to").is_some())
        .expect("sink printed the mail");
    assert_eq!(mail["rcpt_to"], serde_json::json!(["manager@site.test"]));
    assert_eq!(mail["mail_from"], "strongroom@site.test");
    assert_eq!(mail["subject"], "[Test site] holdup");
    let body = mail["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("Camera 3 lost its stream at 10:00."),
        "{body:?}"
    );

    // 550 at RCPT: permanent, recorded once, never retried.
    let bad = delivery("inc-2/alarms/0", Kind::Email, "gone@site.test", "x");
    match smtp.send(&bad).await {
        Err(SendError::Permanent(msg)) => assert!(msg.contains("550"), "{msg}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let outbox = Arc::new(MemoryOutbox::new());
    let facts_sink = Arc::new(VecSink::default());
    let channels = Channels {
        email: Some(Arc::new(smtp)),
        ..Channels::default()
    };
    let disp = Dispatcher::new(
        outbox.clone(),
        Arc::new(channels),
        facts_sink.clone(),
        clock(),
        DispatcherConfig::default(),
    );
    use strongroom_notify::Outbox;
    let mut bad = bad;
    bad.due_ms = SystemClock.now_ms();
    outbox.enqueue(bad).await.expect("enqueue");
    assert_eq!(disp.run_once().await.expect("run"), 1);
    assert_eq!(disp.run_once().await.expect("run"), 0, "no retry after 550");
    let item = outbox
        .get("inc-2/alarms/0")
        .await
        .expect("get")
        .expect("item");
    assert_eq!((item.state, item.attempts), (ItemState::Failed, 1));
    let f = facts_sink.facts().pop().expect("fact");
    assert_eq!(f.kind, facts::FAILED);
    assert_eq!(f.payload["permanent"], true);
    assert_eq!(f.payload["final"], true);
    // The sink saw exactly one mail (the rejected one never reached DATA).
    assert_eq!(
        sink.drain()
            .iter()
            .filter(|v| v.get("rcpt_to").is_some())
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_and_voice_posts_reach_the_provider() {
    let Some(mut sink) = start("webhook_sink.py", true, &[]) else {
        return;
    };
    let sms = delivery(
        "inc-1/alarms/0",
        Kind::Sms,
        "+12175550100",
        "Holdup at Test site",
    );
    let r = send_accepted(sink.port, "AC123:secret", &sms, "SM").await;
    assert_eq!(r.response, "201 queued");
    let req = wait_request(&mut sink, "/Messages.json").expect("sms request");
    assert_eq!(req["method"], "POST");
    assert_eq!(req["basic_user"], "AC123");
    assert_eq!(req["body"]["To"], "+12175550100");
    assert_eq!(req["body"]["From"], "+15550009999");
    assert_eq!(req["body"]["Body"], "Holdup at Test site");

    // Voice dialer: a call to the agency with the spoken message, bearer token.
    let call = delivery(
        "inc-1/alarms/1",
        Kind::Voice,
        "+12175550911",
        "Automated alarm from Test site, 1 Main St. Holdup alarm. Please dispatch.",
    );
    send_accepted(sink.port, "tok-123", &call, "CA").await;
    let req = wait_request(&mut sink, "/Calls.json").expect("voice request");
    assert_eq!(req["bearer"], "tok-123");
    assert_eq!(req["body"]["To"], "+12175550911");
    let twiml = req["body"]["Twiml"].as_str().unwrap_or_default();
    assert!(twiml.starts_with("<Response>"), "{twiml}");
    assert!(
        twiml.contains("1 Main St. Holdup alarm. Please dispatch."),
        "{twiml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_503_is_retried_and_il_failure_reaches_people_by_phone_only() {
    // Every 2nd request answers 503.
    let Some(mut hooks) = start("webhook_sink.py", true, &["--fail-every", "2"]) else {
        return;
    };
    let Some(mut mail) = start("smtp_sink.py", false, &[]) else {
        return;
    };
    let clock = clock();
    let notify = SiteNotify {
        smtp: None,
        webhook: None,
        contacts: vec![
            contact(
                "manager",
                "Store security manager",
                "+12175550100",
                Some("security@site.test"),
            ),
            contact("owner", "Owner", "+12175550101", None),
        ],
        chains: vec![Chain {
            id: "failures".into(),
            applies_to: vec!["health.*".into()],
            steps: vec![
                step("manager", Kind::Email),
                step("manager", Kind::Sms),
                step("owner", Kind::Sms),
            ],
        }],
    };
    let escalator = Escalator::new(EscalatorConfig {
        notify,
        channel_rules: vec![ChannelRule::il_failures()],
        site: test_site("1 Main St"),
        ..EscalatorConfig::default()
    });
    let smtp = SmtpChannel::new(
        &smtp_config(mail.port, "strongroom@site.test"),
        clock.clone(),
    )
    .expect("smtp");
    let channels = provider_channels(hooks.port, &clock, Some(Arc::new(smtp)));
    let outbox = Arc::new(MemoryOutbox::new());
    let facts_sink = Arc::new(VecSink::default());
    let disp = Arc::new(Dispatcher::new(
        outbox.clone(),
        Arc::new(channels),
        facts_sink.clone(),
        clock.clone(),
        DispatcherConfig {
            retry: RetryPolicy {
                base_ms: 100,
                max_delay_ms: 1_000,
                max_attempts: 5,
            },
            ..DispatcherConfig::default()
        },
    ));
    let notifier = Arc::new(Notifier::new(
        escalator,
        outbox.clone(),
        facts_sink.clone(),
        clock.clone(),
        disp.waker(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let d_task = tokio::spawn(disp.clone().run(stop_rx.clone()));
    let t_task = tokio::spawn(notifier.clone().run_timer(stop_rx));

    let onset_ms = clock.now_ms() - 2_000;
    let fact = Fact::new(
        "health.camera_down",
        Actor::Device("cam-3".into()),
        onset_ms,
    );
    let out = notifier.on_fact(&fact).await.expect("trigger");
    assert_eq!(out.scheduled, 2);
    assert_eq!(out.suppressed.len(), 1, "IL: the email step does not count");

    // Both SMS arrive; one of the first two requests was answered 503 and retried.
    let sent_to = |v: &Value, to: &str| v["answered"] == 201 && v["body"]["To"] == to;
    assert!(
        hooks
            .wait_for(WAIT, |v| sent_to(v, "+12175550100"))
            .is_some(),
        "manager SMS"
    );
    assert!(
        hooks
            .wait_for(WAIT, |v| sent_to(v, "+12175550101"))
            .is_some(),
        "owner SMS"
    );
    let seen = hooks.drain().to_vec();
    let requests: Vec<_> = seen.iter().filter(|v| v.get("n").is_some()).collect();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests.iter().filter(|v| v["answered"] == 503).count(), 1);

    // Outcome recorded: both sent, one after two attempts; facts prove the latency.
    let deadline = tokio::time::Instant::now() + WAIT;
    let sent = loop {
        let sent: Vec<_> = facts_sink
            .facts()
            .into_iter()
            .filter(|f| f.kind == facts::SENT)
            .collect();
        if sent.len() == 2 {
            break sent;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "facts: {:?}",
            facts_sink.facts()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let attempts: Vec<_> = sent
        .iter()
        .map(|f| f.payload["attempts"].as_i64().unwrap_or(0))
        .collect();
    assert!(
        attempts.contains(&1) && attempts.contains(&2),
        "{attempts:?}"
    );
    for f in &sent {
        assert_eq!(f.payload["onset_ms"], onset_ms);
        let latency = f.payload["onset_to_accepted_ms"]
            .as_i64()
            .unwrap_or(i64::MAX);
        assert!((2_000..300_000).contains(&latency), "latency {latency}");
        assert!(
            f.payload["provider_id"]
                .as_str()
                .is_some_and(|s| s.starts_with("SM"))
        );
        assert!(f.validate().is_ok());
    }
    let failed: Vec<_> = facts_sink
        .facts()
        .into_iter()
        .filter(|f| f.kind == facts::FAILED)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].payload["final"], false);
    assert!(
        facts_sink
            .facts()
            .iter()
            .any(|f| f.kind == facts::SUPPRESSED)
    );
    // No email was sent for the IL failure.
    assert!(mail.drain().iter().all(|v| v.get("rcpt_to").is_none()));

    stop_tx.send(true).ok();
    let _ = d_task.await;
    let _ = t_task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_holdup_dials_the_agency_and_nobody_else() {
    let Some(mut hooks) = start("webhook_sink.py", true, &[]) else {
        return;
    };
    let clock = clock();
    let notify = SiteNotify {
        smtp: None,
        webhook: None,
        contacts: vec![
            contact("manager", "Store security manager", "+12175550100", None),
            contact("psap", "Springfield PD dispatch", "+12175550911", None),
        ],
        chains: vec![Chain {
            id: "alarms".into(),
            applies_to: vec!["alarm.*".into()],
            steps: vec![step("manager", Kind::Sms), step("psap", Kind::Voice)],
        }],
    };
    let escalator = Escalator::new(EscalatorConfig {
        notify,
        monitoring_contacts: ["psap".to_owned()].into(),
        site: test_site("1 Main St, Columbus OH"),
        ..EscalatorConfig::default()
    });
    let channels = provider_channels(hooks.port, &clock, None);
    let outbox = Arc::new(MemoryOutbox::new());
    let facts_sink = Arc::new(VecSink::default());
    let disp = Dispatcher::new(
        outbox.clone(),
        Arc::new(channels),
        facts_sink.clone(),
        clock.clone(),
        DispatcherConfig::default(),
    );
    let notifier = Notifier::new(
        escalator,
        outbox.clone(),
        facts_sink.clone(),
        clock.clone(),
        disp.waker(),
    );
    let fact = Fact::new(
        "alarm.raised",
        Actor::Device("holdup-1".into()),
        clock.now_ms(),
    )
    .with("alarm_type", "holdup")
    .with("visibility", "monitoring");
    let out = notifier.on_fact(&fact).await.expect("trigger");
    assert_eq!((out.scheduled, out.suppressed.len()), (1, 1));
    assert_eq!(disp.run_once().await.expect("run"), 1);
    let call = wait_request(&mut hooks, "/Calls.json").expect("the dialer called the agency");
    assert_eq!(call["body"]["To"], "+12175550911");
    let twiml = call["body"]["Twiml"].as_str().unwrap_or_default();
    assert!(
        twiml.contains("1 Main St, Columbus OH") && twiml.contains("holdup alarm"),
        "{twiml}"
    );
    // The manager's step never existed, and nothing else reached the provider.
    use strongroom_notify::Outbox;
    assert_eq!(outbox.next_due_ms().await.expect("next"), None);
    assert_eq!(outbox.items().expect("items").len(), 1);
    assert!(
        hooks
            .drain()
            .iter()
            .all(|v| v["body"]["To"] != "+12175550100")
    );
    // Every fact about it is restricted to monitoring roles.
    assert!(
        facts_sink
            .facts()
            .iter()
            .all(|f| f.payload["visibility"] == "monitoring")
    );
}
