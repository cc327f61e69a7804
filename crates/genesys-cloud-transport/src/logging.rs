//! HTTP logging as the official SDKs do it (levels trace/debug/error/none, text or JSON,
//! console and/or file, bodies off by default), with secrets always redacted, plus `tracing`
//! events. Settings live in a [`LogHandle`] and can change while the client runs.

use crate::body::Body;
use crate::layers::{clone_request, meta, SdkService};
use arc_swap::ArcSwap;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::error::CORRELATION_ID_HEADER;
use genesys_cloud_core::http::{HeaderMap, Request, Response};
use genesys_cloud_core::redact::REDACTED;
use genesys_cloud_core::{Error, OperationMeta};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};

pub use genesys_cloud_config::{LogFormat, LogLevel};

/// Logging settings: the `[logging]` section of the configuration.
pub use genesys_cloud_config::Logging as LogSettings;

/// Shared, swappable logging settings: every request reads them once, so a change applies
/// from the next request on.
///
/// Lines are written by a thread of their own (started with the first line), fed through a
/// bounded queue: a request never waits for a file or the console. When the queue is full
/// ([`LOG_QUEUE_LINES`] lines or [`LOG_QUEUE_BYTES`] bytes: a stalled disk, a console nobody
/// reads), new lines are dropped and counted, and the writer says how many in a line of its
/// own once it catches up ([`dropped_lines`](Self::dropped_lines) counts them too). The last
/// handle's drop (the client's) waits up to [`LOG_DROP_WAIT`] for the queued lines to be
/// written; [`flush`](Self::flush) waits for them on demand.
#[derive(Clone)]
pub struct LogHandle {
    settings: Arc<ArcSwap<LogSettings>>,
    writer: Arc<Writer>,
}

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogHandle").field(&*self.settings.load()).finish()
    }
}

/// The most lines queued for the writer: past it, lines are dropped and counted.
pub const LOG_QUEUE_LINES: usize = 8192;
/// The most bytes of lines queued for the writer (a line can hold a whole body): past it,
/// lines are dropped and counted.
pub const LOG_QUEUE_BYTES: usize = 64 << 20;
/// How long the last handle's drop waits for the queued lines to be written. A writer still
/// stuck then (a file on a hung disk) is left to finish on its own.
pub const LOG_DROP_WAIT: Duration = Duration::from_secs(2);

/// What the writer thread is told.
enum Message {
    /// A line, and how many lines were dropped just before it.
    Line {
        console: bool,
        file: Option<PathBuf>,
        line: String,
        dropped_before: u64,
    },
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The writer thread and its queue, started with the first line.
#[derive(Default)]
struct Writer {
    started: Mutex<Option<Started>>,
    /// What the queue holds and what it dropped, shared with the thread.
    queue: Arc<QueueCounts>,
}

struct Started {
    tx: std::sync::mpsc::SyncSender<Message>,
    /// Disconnected when the thread ends.
    ended: std::sync::mpsc::Receiver<()>,
    thread: std::thread::JoinHandle<()>,
}

#[derive(Default)]
struct QueueCounts {
    bytes: AtomicUsize,
    /// Dropped since the writer last said so.
    dropped: AtomicU64,
    /// Dropped in all.
    dropped_total: AtomicU64,
}

impl QueueCounts {
    fn drop_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
    }
}

impl Writer {
    /// Queues `message` without waiting; a line that does not fit is dropped and counted.
    fn send(&self, mut message: Message) -> bool {
        let mut started = self.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if started.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel(LOG_QUEUE_LINES);
            let (signal, ended) = std::sync::mpsc::channel();
            let queue = self.queue.clone();
            let spawned = std::thread::Builder::new().name("genesys-cloud-log".into()).spawn(move || {
                write_lines(rx, &queue);
                drop(signal);
            });
            match spawned {
                Ok(thread) => *started = Some(Started { tx, ended, thread }),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the log writer thread");
                    return false;
                }
            }
        }
        let Some(writer) = started.as_ref() else { return false };
        let size = match &message {
            Message::Line { line, .. } => line.len(),
            Message::Flush(_) => 0,
        };
        if size > 0 && self.queue.bytes.load(Ordering::Relaxed) + size > LOG_QUEUE_BYTES {
            self.queue.drop_one();
            return false;
        }
        // Counted before it is queued: the writer subtracts it once it takes it. The lines
        // dropped since the last one queued go with it, so the writer tells of them where
        // they were lost.
        self.queue.bytes.fetch_add(size, Ordering::Relaxed);
        let mut before = 0;
        if let Message::Line { dropped_before, .. } = &mut message {
            before = self.queue.dropped.swap(0, Ordering::Relaxed);
            *dropped_before = before;
        }
        let sent = writer.tx.try_send(message);
        if sent.is_err() {
            self.queue.bytes.fetch_sub(size, Ordering::Relaxed);
            self.queue.dropped.fetch_add(before, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => true,
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                self.queue.drop_one();
                false
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => false,
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let started = self.started.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some(Started { tx, ended, thread }) = started {
            // The queue closes; the thread writes what is queued, then ends. It is waited
            // for a bounded time: a writer stuck on a hung file is left behind.
            drop(tx);
            match ended.recv_timeout(LOG_DROP_WAIT) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    tracing::warn!("the log writer did not finish within {LOG_DROP_WAIT:?}; queued lines may be lost")
                }
                _ => {
                    let _ = thread.join();
                }
            }
        }
    }
}

type OpenFile = Option<(PathBuf, Option<std::io::BufWriter<std::fs::File>>)>;

/// The writer thread: appends each line to its file (kept open while the path stays the
/// same) or the console, and flushes whenever the queue is empty. Lines the queue dropped
/// are told in a line of their own, where the next line goes.
fn write_lines(rx: std::sync::mpsc::Receiver<Message>, queue: &QueueCounts) {
    let mut open: OpenFile = None;
    let mut last_target: Option<(bool, Option<PathBuf>)> = None;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line { console, file, line, dropped_before } => {
                    queue.bytes.fetch_sub(line.len(), Ordering::Relaxed);
                    tell_dropped(dropped_before, console, file.as_ref(), &mut open);
                    write_line(console, file.as_ref(), &line, &mut open);
                    last_target = Some((console, file));
                }
                Message::Flush(done) => {
                    flush(&mut open);
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        // Lines dropped since the last one queued: told once the queue is drained.
        if let Some((console, file)) = &last_target {
            tell_dropped(queue.dropped.swap(0, Ordering::Relaxed), *console, file.as_ref(), &mut open);
        }
        flush(&mut open);
    }
    flush(&mut open);
}

fn flush(open: &mut OpenFile) {
    if let Some((_, Some(f))) = open {
        let _ = f.flush();
    }
}

/// Writes how many lines were dropped, if any.
fn tell_dropped(dropped: u64, console: bool, file: Option<&PathBuf>, open: &mut OpenFile) {
    if dropped > 0 {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = format!("{now} WARN genesys-cloud-rs {dropped} log lines dropped: the log queue was full");
        write_line(console, file, &line, open);
    }
}

fn write_line(console: bool, file: Option<&PathBuf>, line: &str, open: &mut OpenFile) {
    if console {
        eprintln!("{line}");
    }
    if let Some(path) = file {
        if open.as_ref().is_none_or(|(p, _)| p != path) {
            flush(open);
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
            if let Err(e) = &file {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the log file");
            }
            *open = Some((path.clone(), file.ok().map(std::io::BufWriter::new)));
        }
        if let Some((_, Some(f))) = open {
            let _ = writeln!(f, "{line}");
        }
    }
}

impl LogHandle {
    /// A handle with these settings.
    pub fn new(settings: LogSettings) -> Self {
        Self { settings: Arc::new(ArcSwap::from_pointee(settings)), writer: Arc::default() }
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<LogSettings> {
        self.settings.load_full()
    }

    /// Replaces the settings; the next request uses them.
    pub fn set(&self, settings: LogSettings) {
        self.settings.store(Arc::new(settings));
    }

    /// How many lines were dropped so far because the queue was full.
    pub fn dropped_lines(&self) -> u64 {
        self.writer.queue.dropped_total.load(Ordering::Relaxed)
    }

    /// Waits until every line logged so far is written to its file (at most 5 s). It blocks:
    /// call it outside async code, or from `spawn_blocking`.
    pub fn flush(&self) {
        let started = self.writer.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some();
        if !started {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        let mut flush = Message::Flush(done);
        // The queue may be full: the flush waits its turn, within the same 5 s.
        loop {
            let writer = self.writer.started.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(w) = writer.as_ref() else { return };
            match w.tx.try_send(flush) {
                Ok(()) => break,
                Err(std::sync::mpsc::TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    flush = back;
                    drop(writer);
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = wait.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
    }

    fn write(&self, settings: &Arc<LogSettings>, line: String) {
        if !settings.to_console && settings.file.is_none() {
            return;
        }
        let file = settings.file.clone();
        self.writer.send(Message::Line { console: settings.to_console, file, line, dropped_before: 0 });
    }
}

/// Headers whose values are never logged.
const REDACTED_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie"];

fn headers_json(h: &HeaderMap) -> serde_json::Map<String, serde_json::Value> {
    h.iter()
        .map(|(k, v)| {
            let value = if REDACTED_HEADERS.contains(&k.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (k.as_str().to_owned(), serde_json::Value::String(value))
        })
        .collect()
}

/// A body as logged: a token request's or answer's not at all, any other's with the values
/// of its secret-looking fields masked ([`genesys_cloud_core::redact`]).
fn body_text(body: &Bytes, secret: bool) -> String {
    if secret {
        return REDACTED.into();
    }
    let text = String::from_utf8_lossy(body);
    genesys_cloud_core::redact::redact_body(&text).into_owned()
}

/// Logs each attempt as it leaves for the network.
#[derive(Clone, Debug)]
pub struct LoggingLayer {
    handle: LogHandle,
}

impl LoggingLayer {
    /// Logs with the settings of `handle`.
    pub fn new(handle: LogHandle) -> Self {
        Self { handle }
    }
}

impl<S> Layer<S> for LoggingLayer {
    type Service = Logging<S>;
    fn layer(&self, inner: S) -> Logging<S> {
        Logging { inner, handle: self.handle.clone() }
    }
}

/// The service of [`LoggingLayer`].
#[derive(Clone, Debug)]
pub struct Logging<S> {
    inner: S,
    handle: LogHandle,
}

impl<S: SdkService> Service<Request<Body>> for Logging<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let attempt = crate::layers::attempt(&req).max(1);
        let log = AttemptLog::start(&self.handle, &req, meta(&req), attempt);
        // Nothing to finish when neither the HTTP log nor a subscriber wants the attempt.
        let log = log.started.is_some().then(|| Box::new((log, self.handle.clone())));
        Logged { inner: self.inner.call(req), log }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Logging`]: the attempt, then its log line.
    pub struct Logged<F> {
        #[pin]
        inner: F,
        log: Option<Box<(AttemptLog, LogHandle)>>,
    }
}

impl<F: std::future::Future<Output = Result<Response<Body>, Error>>> std::future::Future for Logged<F> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Some(log) = this.log.take() {
            let (log, handle) = *log;
            log.finish(&handle, &result);
        }
        Poll::Ready(result)
    }
}

/// One attempt's log, from before it leaves to its answer. When neither the HTTP log nor a
/// `tracing` subscriber wants it, it reads no clock and copies nothing.
pub(crate) struct AttemptLog {
    meta: Option<&'static OperationMeta>,
    attempt: u32,
    /// The settings and a copy of the request, when the HTTP log is on (boxed: the log lives
    /// in every attempt's future, and is mostly off).
    http: Option<Box<(Arc<LogSettings>, Request<Body>)>>,
    started: Option<Instant>,
}

impl AttemptLog {
    /// Before `req` (attempt number `attempt` of operation `meta`) goes out.
    pub(crate) fn start(
        handle: &LogHandle,
        req: &Request<Body>,
        meta: Option<&'static OperationMeta>,
        attempt: u32,
    ) -> Self {
        let settings = handle.settings.load();
        let http = (settings.level != LogLevel::None)
            .then(|| Box::new((arc_swap::Guard::into_inner(settings), clone_request(req))));
        let traced = tracing::enabled!(target: "genesys_cloud::http", tracing::Level::DEBUG);
        let started = (http.is_some() || traced).then(Instant::now);
        Self { meta, attempt, http, started }
    }

    /// After the answer (or the error) came back.
    pub(crate) fn finish(self, handle: &LogHandle, result: &Result<Response<Body>, Error>) {
        let Some(started) = self.started else { return };
        let elapsed = started.elapsed();
        let (meta, attempt) = (self.meta, self.attempt);
        let op = meta.map_or("raw", |m| m.operation_id);
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        let correlation =
            result.as_ref().ok().and_then(|r| r.headers().get(CORRELATION_ID_HEADER)).and_then(|v| v.to_str().ok());
        tracing::debug!(
            target: "genesys_cloud::http",
            operation = op,
            path_template = meta.map_or("", |m| m.path_template),
            status = status.unwrap_or(0),
            attempt,
            correlation_id = correlation.unwrap_or(""),
            elapsed_ms = elapsed.as_millis() as u64,
            error = result.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
            "http attempt"
        );
        if let Some(http) = self.http {
            let (settings, req) = *http;
            let failed = !matches!(result, Ok(r) if r.status().is_success());
            if settings.level != LogLevel::Error || failed {
                // Token requests carry secrets in both bodies: never logged.
                let secret_bodies = op == genesys_cloud_auth::TOKEN_OPERATION.operation_id;
                let line = entry(&settings, &req, result, (op, attempt), correlation, elapsed, secret_bodies);
                handle.write(&settings, line);
            }
        }
    }
}

fn entry(
    s: &LogSettings,
    req: &Request<Body>,
    result: &Result<Response<Body>, Error>,
    (op, attempt): (&str, u32),
    correlation: Option<&str>,
    elapsed: std::time::Duration,
    secret_bodies: bool,
) -> String {
    let headers = s.level != LogLevel::Debug;
    let level = match s.level {
        LogLevel::Trace => "TRACE",
        LogLevel::Debug => "DEBUG",
        _ => "ERROR",
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut v = serde_json::Map::new();
    v.insert("timestamp".into(), now.clone().into());
    v.insert("level".into(), level.into());
    v.insert("operation".into(), op.into());
    v.insert("attempt".into(), attempt.into());
    v.insert("method".into(), req.method().as_str().into());
    v.insert("url".into(), req.uri().to_string().into());
    v.insert("durationMs".into(), (elapsed.as_millis() as u64).into());
    if headers {
        v.insert("requestHeaders".into(), headers_json(req.headers()).into());
    }
    if s.request_body && !req.body().is_empty() {
        v.insert("requestBody".into(), body_text(req.body().bytes(), secret_bodies).into());
    }
    match result {
        Ok(r) => {
            v.insert("status".into(), r.status().as_u16().into());
            if headers {
                v.insert("responseHeaders".into(), headers_json(r.headers()).into());
            }
            if s.response_body && !r.body().is_empty() {
                v.insert("responseBody".into(), body_text(r.body().bytes(), secret_bodies).into());
            }
        }
        Err(e) => {
            v.insert("error".into(), e.to_string().into());
        }
    }
    v.insert("correlationId".into(), correlation.map_or(serde_json::Value::Null, |c| c.into()));
    match s.format {
        LogFormat::Json => serde_json::Value::Object(v).to_string(),
        LogFormat::Text => {
            let mut out =
                format!("{now} {level} genesys-cloud-rs {} {} ({op}, attempt {attempt})", req.method(), req.uri());
            match result {
                Ok(r) => {
                    let _ = write!(out, " -> {}", r.status());
                }
                Err(e) => {
                    let _ = write!(out, " -> error: {e}");
                }
            }
            let _ = write!(out, " in {} ms; correlation id: {}", elapsed.as_millis(), correlation.unwrap_or("-"));
            for (key, label) in [
                ("requestHeaders", "request headers"),
                ("requestBody", "request body"),
                ("responseHeaders", "response headers"),
                ("responseBody", "response body"),
            ] {
                if let Some(x) = v.get(key) {
                    let shown = match x {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let _ = write!(out, "\n  {label}: {shown}");
                }
            }
            out
        }
    }
}

/// The span of one logical call.
fn call_span(meta: Option<&'static OperationMeta>, method: &genesys_cloud_core::http::Method) -> tracing::Span {
    tracing::debug_span!(
        "genesys_cloud.call",
        operation = meta.map_or("raw", |m| m.operation_id),
        method = %method,
        path_template = meta.map_or("", |m| m.path_template),
    )
}

/// Opens a `tracing` span per logical call (operation id, method, path template), so every
/// event of the call (attempts, retries, the token refresh) nests under it. No subscriber is
/// installed: events go wherever the application's subscriber sends them.
#[derive(Clone, Debug, Default)]
pub struct SpanLayer;

impl<S> Layer<S> for SpanLayer {
    type Service = Spanned<S>;
    fn layer(&self, inner: S) -> Spanned<S> {
        Spanned { inner }
    }
}

/// The service of [`SpanLayer`].
#[derive(Clone, Debug)]
pub struct Spanned<S> {
    inner: S,
}

impl<S: SdkService> Service<Request<Body>> for Spanned<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = futures_util::future::Either<S::Future, tracing::instrument::Instrumented<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let span = call_span(meta(&req), req.method());
        let call = self.inner.call(req);
        if span.is_disabled() {
            futures_util::future::Either::Left(call)
        } else {
            use tracing::Instrument as _;
            futures_util::future::Either::Right(call.instrument(span))
        }
    }
}
