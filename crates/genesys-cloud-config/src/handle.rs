//! Configuration snapshots behind `arc-swap`, and live reload with `notify`.

use crate::model::Config;
use crate::parse::{apply_env, apply_file, ConfigError};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// What happened on a reload, as listeners see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReloadEvent {
    /// A new snapshot is in force. A running client applies it from its next call: its hot
    /// settings (logging, retry, the attempt and call timeouts, reauthentication) changed,
    /// no cold one did.
    Reloaded(Arc<Config>),
    /// A new snapshot is in force, but it changes cold settings (named in `changed`, such as
    /// `region` or `proxy`): a running client cannot take those without a new connection
    /// pool or new credentials, so it keeps every setting it has, hot ones too, and a new
    /// client built from this snapshot is needed to apply them.
    NeedsNewClient {
        /// The new snapshot.
        config: Arc<Config>,
        /// The cold settings that differ from the snapshot before.
        changed: Vec<&'static str>,
    },
    /// The file is invalid; the last good snapshot stays in force.
    Rejected(ConfigError),
    /// The file was removed; the last good snapshot stays in force.
    Removed,
}

type Listener = Arc<dyn Fn(&ReloadEvent) + Send + Sync>;
type Override = Arc<dyn Fn(&mut Config) + Send + Sync>;

struct Inner {
    current: ArcSwap<Config>,
    path: Option<PathBuf>,
    env: HashMap<String, String>,
    overrides: Option<Override>,
    /// The listeners, each with the id its [`Listening`] guard removes it by.
    listeners: Mutex<(u64, Vec<(u64, Listener)>)>,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

/// A shared, swappable configuration. Each component reads one snapshot per call
/// ([`load`](ConfigHandle::load)), so a call never sees half of one configuration and half of
/// another. Cloning is cheap; the file watcher stops when the last clone is dropped.
#[derive(Clone)]
pub struct ConfigHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigHandle")
            .field("path", &self.inner.path)
            .field("config", &*self.inner.current.load())
            .field("watching", &self.is_watching())
            .finish()
    }
}

/// The default file: `~/.genesyscloudrust/config` (`%USERPROFILE%` on Windows).
pub fn default_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".genesyscloudrust").join("config"))
}

/// Builds a [`ConfigHandle`]. Precedence: code ([`ConfigBuilder::set`]) > environment >
/// file > defaults.
#[derive(Default)]
#[must_use = "a builder does nothing until it is built"]
pub struct ConfigBuilder {
    path: Option<PathBuf>,
    default_path: bool,
    env: Option<HashMap<String, String>>,
    overrides: Option<Override>,
    watch: Option<bool>,
    debounce: Option<Duration>,
}

impl std::fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigBuilder").field("path", &self.path).field("watch", &self.watch).finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Reads this file (INI or JSON, detected from the content). A missing file is allowed and
    /// is picked up when it appears.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Reads `GENESYS_CLOUD_CONFIG_PATH`, else `~/.genesyscloudrust/config`.
    pub fn default_path(mut self) -> Self {
        self.default_path = true;
        self
    }

    /// Uses these variables instead of the process environment (for tests and embedding).
    pub fn env_vars(mut self, vars: HashMap<String, String>) -> Self {
        self.env = Some(vars);
        self
    }

    /// Settings from code, applied last on every load.
    pub fn set(mut self, edit: impl Fn(&mut Config) + Send + Sync + 'static) -> Self {
        self.overrides = Some(Arc::new(edit));
        self
    }

    /// Turns the file watcher on or off (default: the file's `live_reload_config`, true).
    pub fn watch(mut self, on: bool) -> Self {
        self.watch = Some(on);
        self
    }

    /// How long the file must be quiet before a reload (default 100 ms).
    pub fn debounce(mut self, quiet: Duration) -> Self {
        self.debounce = Some(quiet);
        self
    }

    /// Loads the configuration (an invalid file is an error here) and starts the watcher.
    pub fn build(self) -> Result<ConfigHandle, ConfigError> {
        let env = self.env.unwrap_or_else(|| {
            crate::parse::ENV_VARS
                .iter()
                .filter_map(|(name, _)| std::env::var(name).ok().map(|v| ((*name).to_owned(), v)))
                .collect()
        });
        let path = self.path.or_else(|| {
            self.default_path
                .then(|| env.get("GENESYS_CLOUD_CONFIG_PATH").map(PathBuf::from).or_else(default_path))
                .flatten()
        });
        let first = compose(path.as_deref(), &env, self.overrides.as_ref())?;
        let watch = self.watch.unwrap_or(first.live_reload);
        let handle = ConfigHandle {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(first),
                path,
                env,
                overrides: self.overrides,
                listeners: Mutex::default(),
                watcher: Mutex::default(),
            }),
        };
        if watch {
            handle.start_watching(self.debounce.unwrap_or(Duration::from_millis(100)));
        }
        Ok(handle)
    }
}

/// Defaults, then the file (if present), then the environment, then code.
fn compose(
    path: Option<&Path>,
    env: &HashMap<String, String>,
    overrides: Option<&Override>,
) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    if let Some(p) = path {
        match std::fs::read_to_string(p) {
            Ok(text) => {
                let (read, unknown) = apply_file(&config, &text, Some(p))?;
                for key in unknown {
                    tracing::warn!(file = %p.display(), key = %key, "unknown configuration key ignored");
                }
                config = read;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ConfigError {
                    file: Some(p.to_path_buf()),
                    section: None,
                    key: None,
                    message: format!("cannot read: {e}"),
                })
            }
        }
    }
    apply_env(&mut config, &|name| env.get(name).cloned())?;
    if let Some(edit) = overrides {
        edit(&mut config);
    }
    Ok(config)
}

impl ConfigHandle {
    /// A builder.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A handle on fixed settings (no file, no environment, no watcher).
    pub fn fixed(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(config),
                path: None,
                env: HashMap::new(),
                overrides: None,
                listeners: Mutex::default(),
                watcher: Mutex::default(),
            }),
        }
    }

    /// The current snapshot. Take it once per call and use it throughout.
    pub fn load(&self) -> Arc<Config> {
        self.inner.current.load_full()
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Whether a watcher is running.
    pub fn is_watching(&self) -> bool {
        self.inner.watcher.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// Calls `listener` after every reload attempt (new snapshot, rejected file, removed file),
    /// until the returned guard is dropped (or, after [`Listening::detach`], for as long as
    /// the handle lives). A client built from this handle holds its own guard, so dropping the
    /// client removes its listener and frees what the listener kept (its token cache, its
    /// settings).
    pub fn on_change(&self, listener: impl Fn(&ReloadEvent) + Send + Sync + 'static) -> Listening {
        let mut listeners = self.inner.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        let id = listeners.0;
        listeners.0 += 1;
        listeners.1.push((id, Arc::new(listener)));
        Listening { inner: Arc::downgrade(&self.inner), id: Some(id) }
    }

    /// How many listeners are registered now.
    pub fn listener_count(&self) -> usize {
        self.inner.listeners.lock().unwrap_or_else(PoisonError::into_inner).1.len()
    }

    /// Re-reads the file now. An invalid file keeps the current snapshot and returns the error.
    pub fn reload(&self) -> Result<Arc<Config>, ConfigError> {
        reload(&self.inner)
    }

    fn start_watching(&self, quiet: Duration) {
        use notify::Watcher as _;
        let Some(path) = self.inner.path.clone() else { return };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(name) = path.file_name().map(|n| n.to_os_string()) else { return };
        let (tx, rx) = mpsc::channel::<()>();
        let watched = name.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                // Editors that save by writing a temp file and renaming it show up as events on
                // either name; any event naming our file counts.
                if event.paths.iter().any(|p| p.file_name() == Some(watched.as_os_str())) {
                    let _ = tx.send(());
                }
            }
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the configuration file watcher");
                return;
            }
        };
        // The directory, not recursively: never the whole home directory.
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the configuration directory");
            return;
        }
        *self.inner.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some(watcher);
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("genesys-cloud-config-watch".into())
            .spawn(move || debounce_loop(rx, weak, quiet))
            .ok();
    }
}

/// Waits for events, lets them settle, reloads; ends when the watcher (and so the sender)
/// is dropped with the last handle.
fn debounce_loop(rx: mpsc::Receiver<()>, weak: Weak<Inner>, quiet: Duration) {
    while rx.recv().is_ok() {
        loop {
            match rx.recv_timeout(quiet) {
                Ok(()) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        let _ = reload(&inner);
    }
}

fn notify_all(inner: &Inner, event: ReloadEvent) {
    // Called outside the lock, so a listener may add or remove listeners.
    let listeners: Vec<Listener> =
        inner.listeners.lock().unwrap_or_else(PoisonError::into_inner).1.iter().map(|(_, l)| l.clone()).collect();
    for listener in listeners {
        listener(&event);
    }
}

/// A listener added by [`ConfigHandle::on_change`]: dropping this removes it.
#[must_use = "the listener is removed when this guard is dropped: keep it, or call `detach()`"]
pub struct Listening {
    inner: Weak<Inner>,
    /// `None` once detached.
    id: Option<u64>,
}

impl Listening {
    /// Keeps the listener for as long as the configuration handle lives.
    pub fn detach(mut self) {
        self.id = None;
    }
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening").field("id", &self.id).finish()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let (Some(id), Some(inner)) = (self.id, self.inner.upgrade()) else { return };
        // Taken out under the lock, dropped after it (the listener may hold anything).
        let removed = {
            let mut listeners = inner.listeners.lock().unwrap_or_else(PoisonError::into_inner);
            let at = listeners.1.iter().position(|(i, _)| *i == id);
            at.map(|at| listeners.1.remove(at))
        };
        drop(removed);
    }
}

fn reload(inner: &Inner) -> Result<Arc<Config>, ConfigError> {
    if let Some(p) = &inner.path {
        if !p.exists() {
            tracing::warn!(file = %p.display(), "the configuration file was removed; keeping the last configuration");
            notify_all(inner, ReloadEvent::Removed);
            return Ok(inner.current.load_full());
        }
    }
    match compose(inner.path.as_deref(), &inner.env, inner.overrides.as_ref()) {
        Ok(config) => {
            let config = Arc::new(config);
            let before = inner.current.swap(config.clone());
            let changed = before.cold_changes(&config);
            if changed.is_empty() {
                tracing::info!("configuration reloaded");
                notify_all(inner, ReloadEvent::Reloaded(config.clone()));
            } else {
                tracing::warn!(changed = ?changed, "configuration reloaded with cold settings changed: a new client is needed");
                notify_all(inner, ReloadEvent::NeedsNewClient { config: config.clone(), changed });
            }
            Ok(config)
        }
        Err(e) => {
            tracing::warn!(error = %e, "invalid configuration file; keeping the last good configuration");
            notify_all(inner, ReloadEvent::Rejected(e.clone()));
            Err(e)
        }
    }
}
