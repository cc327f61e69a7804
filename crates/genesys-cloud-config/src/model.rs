//! The configuration value and its parts, with the defaults of the official SDKs.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// How much HTTP traffic is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LogLevel {
    /// Every request with headers (and bodies when their flags are on).
    Trace,
    /// Every request: method, URL, status, duration, correlation id (and bodies when on).
    Debug,
    /// Failed requests only.
    Error,
    /// Nothing (the default).
    #[default]
    None,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "error" => Ok(LogLevel::Error),
            "none" => Ok(LogLevel::None),
            other => Err(format!("unknown log level {other:?} (expected trace, debug, error or none)")),
        }
    }
}

/// How a log entry is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (expected text or json)")),
        }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Logging {
    /// `log_level`: default `none`.
    pub level: LogLevel,
    /// `log_format`: default `text`.
    pub format: LogFormat,
    /// `log_to_console`: default true.
    pub to_console: bool,
    /// `log_file_path`: none by default.
    pub file: Option<PathBuf>,
    /// `log_request_body`: default false.
    pub request_body: bool,
    /// `log_response_body`: default false.
    pub response_body: bool,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            level: LogLevel::None,
            format: LogFormat::Text,
            to_console: true,
            file: None,
            request_body: false,
            response_body: false,
        }
    }
}

impl Logging {
    /// Sets the level.
    pub fn level(mut self, level: LogLevel) -> Self {
        self.level = level;
        self
    }
    /// Sets the format.
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }
    /// Console output on or off.
    pub fn to_console(mut self, on: bool) -> Self {
        self.to_console = on;
        self
    }
    /// Appends to a file.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }
    /// Body logging.
    pub fn bodies(mut self, request: bool, response: bool) -> Self {
        self.request_body = request;
        self.response_body = response;
        self
    }
}

/// `[gateway]`: one host for login and API, with path prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gateway {
    /// `host`.
    pub host: String,
    /// `protocol`: default `https`.
    pub protocol: String,
    /// `port`: none by default.
    pub port: Option<u16>,
    /// `path_params_login`.
    pub path_params_login: String,
    /// `path_params_api`.
    pub path_params_api: String,
}

impl Gateway {
    /// A gateway on `host` over https with no prefixes.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            protocol: "https".into(),
            port: None,
            path_params_login: String::new(),
            path_params_api: String::new(),
        }
    }
}

/// `[reauthentication]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reauthentication {
    /// `refresh_access_token`: default true.
    pub refresh_access_token: bool,
    /// `refresh_token_wait_max` (seconds): how long a call waits for a refresh; default 10.
    pub refresh_token_wait_max: Duration,
}

impl Default for Reauthentication {
    fn default() -> Self {
        Self { refresh_access_token: true, refresh_token_wait_max: Duration::from_secs(10) }
    }
}

/// How calls are retried: the `[retry]` section, and the transport's retry policy (one type
/// for both). Hot: a reload applies to the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retry {
    /// `retry_max`: at most this many attempts per call (1 = no retry); default 4.
    pub max_attempts: u32,
    /// `retry_wait_max` (seconds): no retry starts once this long has passed since the first
    /// attempt; default 60.
    pub max_elapsed: Duration,
    /// `retry_after_max` (seconds): the longest `Retry-After` waited for; a longer one returns
    /// the 429 at once, with `retry_after()` set (the Java and .NET SDKs' cap); default 180.
    pub max_retry_after: Duration,
    /// `backoff_base_ms`: the first backoff step when the server gives no `Retry-After`;
    /// default 200 ms.
    pub base_delay: Duration,
    /// `backoff_max_ms`: the largest backoff step; default 10 s.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(180),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// No retries at all.
    pub fn disabled() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets [`max_elapsed`](Self::max_elapsed).
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Sets the backoff steps ([`base_delay`](Self::base_delay), [`max_delay`](Self::max_delay)).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }
}

/// How the client keeps under the API's rate limits: the `[rate_limits]` section, and the
/// transport's pacing settings (one type for both).
///
/// Genesys Cloud limits each token (300 requests a minute for a client-credentials token by
/// default) and says where it stands in every response (`inin-ratelimit-allowed`, `-count`,
/// `-reset`). With pacing on, the client learns each token's limit from those headers and
/// holds calls back before the limit is reached instead of bouncing off 429s; a server that
/// sends no such headers is not paced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// `pacing`: hold calls back to stay under each token's limit; default on. Hot.
    pub pacing: bool,
    /// `token_pool`: how many client-credentials tokens the client mints and spreads its calls
    /// over, each paced on its own (a 401 re-mints only the token it hit); default 1. Cold.
    pub token_pool: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { pacing: true, token_pool: 1 }
    }
}

impl RateLimits {
    /// No pacing: calls go out at once, and 429s are waited out by the retry policy.
    pub fn unpaced() -> Self {
        Self { pacing: false, ..Self::default() }
    }

    /// Sets [`pacing`](Self::pacing).
    pub fn pacing(mut self, on: bool) -> Self {
        self.pacing = on;
        self
    }

    /// Sets [`token_pool`](Self::token_pool) (at least 1).
    pub fn token_pool(mut self, tokens: usize) -> Self {
        self.token_pool = tokens.max(1);
        self
    }
}

/// Time limits, the `[timeouts]` section (seconds). The official Python SDK has none and can
/// hang forever; these always apply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// `connect`: establishing a connection (TCP and TLS); default 10 s.
    pub connect: Duration,
    /// `attempt`: one attempt, from sending to the last byte of the response; default 60 s.
    pub attempt: Duration,
    /// `call`: a whole call, retries and waits included, unless the call sets its own;
    /// default 300 s.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(10), attempt: Duration::from_secs(60), call: Duration::from_secs(300) }
    }
}

impl Timeouts {
    /// Sets [`connect`](Self::connect).
    pub fn connect(mut self, d: Duration) -> Self {
        self.connect = d;
        self
    }

    /// Sets [`attempt`](Self::attempt).
    pub fn attempt(mut self, d: Duration) -> Self {
        self.attempt = d;
        self
    }

    /// Sets [`call`](Self::call).
    pub fn call(mut self, d: Duration) -> Self {
        self.call = d;
        self
    }
}

/// `[proxy]`: where requests go through an HTTP CONNECT proxy. The one proxy type of the SDK:
/// the file's section, the builders' setting (`ClientBuilder::proxy`,
/// `TransportBuilder::proxy`) and the notification socket's all take it.
///
/// ```
/// use genesys_cloud_config::Proxy;
/// let p = Proxy::url("http://proxy.corp.example:3128").with_credentials("agent", "pw").with_no_proxy("localhost");
/// assert_eq!(p.to_url(), "http://proxy.corp.example:3128");
/// assert!(!format!("{p:?}").contains("pw"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proxy {
    /// `host`.
    pub host: String,
    /// `port`.
    pub port: Option<u16>,
    /// `protocol`: default `http`.
    pub protocol: String,
    /// `username`, sent with `Proxy-Authorization: Basic`.
    pub username: Option<String>,
    /// `password` (never shown by `Debug`).
    pub password: Option<String>,
    /// `no_proxy`: hosts reached directly, comma-separated as in `NO_PROXY`.
    pub no_proxy: Option<String>,
    /// `from_env`: take `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the
    /// environment, as curl reads them, instead of the fields above.
    pub from_env: bool,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from_env {
            return f.write_str("Proxy::from_env");
        }
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("protocol", &self.protocol)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// A proxy at `host` (default port and `http`), no credentials.
    pub fn new(host: impl Into<String>) -> Self {
        Proxy {
            host: host.into(),
            port: None,
            protocol: "http".into(),
            username: None,
            password: None,
            no_proxy: None,
            from_env: false,
        }
    }

    /// A proxy from its URL, `http://host:port`. A URL that is not of that shape is kept as it
    /// is and rejected, with the reason, when the client is built.
    pub fn url(url: impl AsRef<str>) -> Self {
        let url = url.as_ref();
        let (protocol, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme.to_string(), rest),
            None => ("http".to_string(), url),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
            Some((h, Ok(port))) if !h.is_empty() => (h.to_string(), Some(port)),
            _ => (rest.to_string(), None),
        };
        Proxy { protocol, port, ..Proxy::new(host) }
    }

    /// The proxies the environment names: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`.
    pub fn from_env() -> Self {
        Proxy { from_env: true, ..Proxy::new(String::new()) }
    }

    /// Adds credentials, sent with `Proxy-Authorization: Basic`.
    pub fn with_credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    /// Hosts to reach directly, comma-separated as in `NO_PROXY`.
    pub fn with_no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.no_proxy = Some(hosts.into());
        self
    }

    /// The proxy URL (`http://host:port`), without credentials.
    pub fn to_url(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.protocol, self.host),
            None => format!("{}://{}", self.protocol, self.host),
        }
    }
}

/// OAuth client credentials from the environment (or code).
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// `GENESYS_CLOUD_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `GENESYS_CLOUD_CLIENT_SECRET` (never shown by `Debug`).
    pub client_secret: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The whole configuration. Which parts apply to a running client:
///
/// | part | applies |
/// |---|---|
/// | `logging` | on the next call after a reload (hot) |
/// | `region`, `base_url`, `gateway`, `proxy`, `timeouts.connect` | when a client is built (cold: TLS, proxy and the connection pool belong to the client) |
/// | `retry`, `timeouts.attempt`, `timeouts.call`, `rate_limits.pacing`, `reauthentication` | on the next call after a reload (hot), unless the code set them |
/// | `credentials`, `rate_limits.token_pool` | when a client is built |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The region key (`us_east_1`, `eu-west-1`), when no base URL or gateway is set.
    pub region: Option<String>,
    /// `[general] host`: a full API base URL.
    pub base_url: Option<String>,
    /// `[general] live_reload_config`: default true.
    pub live_reload: bool,
    /// `[gateway]`.
    pub gateway: Option<Gateway>,
    /// `[proxy]`.
    pub proxy: Option<Proxy>,
    /// `[logging]`.
    pub logging: Logging,
    /// `[reauthentication]`.
    pub reauthentication: Reauthentication,
    /// `[retry]`.
    pub retry: Retry,
    /// `[timeouts]`.
    pub timeouts: Timeouts,
    /// `[rate_limits]`.
    pub rate_limits: RateLimits,
    /// Client credentials (environment or code only; never read from the file).
    pub credentials: Credentials,
}

impl Config {
    /// The cold settings that differ between `self` and `other`: those a running client
    /// cannot change (the hosts, the proxy, the credentials, the connect timeout). Every
    /// other setting is hot and applies to the next call.
    pub fn cold_changes(&self, other: &Config) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.region != other.region {
            changed.push("region");
        }
        if self.base_url != other.base_url {
            changed.push("base_url");
        }
        if self.gateway != other.gateway {
            changed.push("gateway");
        }
        if self.proxy != other.proxy {
            changed.push("proxy");
        }
        if self.credentials != other.credentials {
            changed.push("credentials");
        }
        if self.timeouts.connect != other.timeouts.connect {
            changed.push("timeouts.connect");
        }
        if self.rate_limits.token_pool != other.rate_limits.token_pool {
            changed.push("rate_limits.token_pool");
        }
        changed
    }
}

impl Default for Config {
    /// The defaults (the official SDKs' where they have one): region `us_east_1`, live reload
    /// on, logging off, refresh on with a 10 s wait, 4 attempts, 180 s `Retry-After` cap.
    fn default() -> Self {
        Self {
            region: None,
            base_url: None,
            live_reload: true,
            gateway: None,
            proxy: None,
            logging: Logging::default(),
            reauthentication: Reauthentication::default(),
            retry: Retry::default(),
            timeouts: Timeouts::default(),
            rate_limits: RateLimits::default(),
            credentials: Credentials::default(),
        }
    }
}
