//! Configuration: defaults, overridden by the TOML config file, overridden by environment
//! variables and command-line flags (`ferrodef serve --help` lists them all).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use ferrodef_store::tantivy_store::TantivyOptions;
use serde::Deserialize;

/// Options of `ferrodef serve`; each also reads a `FERRODEF_*` environment variable.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {
    /// TOML config file [default: ./ferrodef.toml when it exists]
    #[arg(long, short = 'c', env = "FERRODEF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address the HTTP API listens on [default: 127.0.0.1:8080]
    #[arg(long, env = "FERRODEF_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the store and the write-ahead log [default: ./data]
    #[arg(long, env = "FERRODEF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Days of events kept; older days are dropped whole [default: 90]
    #[arg(long, env = "FERRODEF_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Largest accepted request body, in bytes [default: 16777216]
    #[arg(long, env = "FERRODEF_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// A search or aggregation running longer is stopped (504), in milliseconds [default: 30000]
    #[arg(long, env = "FERRODEF_SEARCH_TIMEOUT_MS")]
    pub search_timeout_ms: Option<u64>,
    /// Searches and aggregations running at once; more wait briefly, then get 503 [default: the cores]
    #[arg(long, env = "FERRODEF_MAX_CONCURRENT_SEARCHES")]
    pub max_concurrent_searches: Option<usize>,
    /// How often accepted events are made searchable, in milliseconds [default: 500]
    #[arg(long, env = "FERRODEF_COMMIT_INTERVAL_MS")]
    pub commit_interval_ms: Option<u64>,
    /// Indexing memory budget in MiB [default: 128]
    #[arg(long, env = "FERRODEF_WRITER_MEMORY_MB")]
    pub writer_memory_mb: Option<usize>,
    /// Indexing threads [default: 2]
    #[arg(long, env = "FERRODEF_WRITER_THREADS")]
    pub writer_threads: Option<usize>,
    /// Largest segment a merge makes, in events; bounds the memory and CPU of merges while
    /// ingesting [default: 200000]
    #[arg(long, env = "FERRODEF_MAX_SEGMENT_DOCS")]
    pub max_segment_docs: Option<u32>,
    /// Name of this server in events (`mozdefhostname`) [default: the host name]
    #[arg(long, env = "FERRODEF_MOZDEFHOSTNAME")]
    pub mozdefhostname: Option<String>,
    /// Time zone of event timestamps that carry none, e.g. UTC or Europe/Paris [default: UTC]
    #[arg(long, env = "FERRODEF_DEFAULT_TIMEZONE")]
    pub default_timezone: Option<String>,
    /// Syslog UDP listener address, or `off` [default: 127.0.0.1:5514]
    #[arg(long, env = "FERRODEF_SYSLOG_UDP")]
    pub syslog_udp: Option<Listen>,
    /// Syslog TCP listener address (newline or octet-counted framing), or `off` [default: 127.0.0.1:5514]
    #[arg(long, env = "FERRODEF_SYSLOG_TCP")]
    pub syslog_tcp: Option<Listen>,
    /// Syslog TLS listener address, or `off`; needs --tls-cert and --tls-key [default: 127.0.0.1:6514 when a certificate is set]
    #[arg(long, env = "FERRODEF_SYSLOG_TLS")]
    pub syslog_tls: Option<Listen>,
    /// PEM certificate chain for the syslog TLS listener
    #[arg(long, env = "FERRODEF_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for the syslog TLS listener
    #[arg(long, env = "FERRODEF_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: syslog TLS clients must present a certificate signed by it
    #[arg(long, env = "FERRODEF_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Longest syslog/CEF message in bytes; longer ones are truncated and tagged `truncated` [default: 65536]
    #[arg(long, env = "FERRODEF_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// PEM certificate chain: the HTTP API is served over HTTPS
    #[arg(long, env = "FERRODEF_HTTP_TLS_CERT")]
    pub http_tls_cert: Option<PathBuf>,
    /// PEM private key of the HTTPS listener
    #[arg(long, env = "FERRODEF_HTTP_TLS_KEY")]
    pub http_tls_key: Option<PathBuf>,
    /// PEM CA bundle: HTTPS clients must present a certificate signed by it
    #[arg(long, env = "FERRODEF_HTTP_TLS_CLIENT_CA")]
    pub http_tls_client_ca: Option<PathBuf>,
    /// Ingest endpoints need a token (or an analyst/admin user) [default: true unless the HTTP listener is loopback-only]
    #[arg(long, env = "FERRODEF_REQUIRE_INGEST_TOKEN")]
    pub require_ingest_token: Option<bool>,
}

/// A listener address or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Listen here.
    On(SocketAddr),
    /// Do not listen.
    Off,
}

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("false") || s.is_empty() {
            return Ok(Listen::Off);
        }
        s.parse()
            .map(Listen::On)
            .map_err(|_| format!("'{s}' is neither an address (HOST:PORT) nor 'off'"))
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Listen {
    fn addr(self) -> Option<SocketAddr> {
        match self {
            Listen::On(a) => Some(a),
            Listen::Off => None,
        }
    }
}

/// `[syslog]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogFileConfig {
    pub udp: Option<Listen>,
    pub tcp: Option<Listen>,
    pub tls: Option<Listen>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub max_message_bytes: Option<usize>,
}

/// Effective syslog settings.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    /// Address and TLS files.
    pub tls: Option<(SocketAddr, ferrodef_sources::syslog::TlsSettings)>,
    pub max_message_bytes: usize,
}

/// The config file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub retention_days: Option<u32>,
    pub max_body_bytes: Option<usize>,
    pub search_timeout_ms: Option<u64>,
    pub max_concurrent_searches: Option<usize>,
    pub mozdefhostname: Option<String>,
    pub default_timezone: Option<String>,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub transforms: Option<ferrodef_transforms::pipeline::TransformsConfig>,
    #[serde(default)]
    pub syslog: SyslogFileConfig,
    #[serde(default)]
    pub limits: LimitsFileConfig,
    #[serde(default)]
    pub detection: DetectionConfig,
    /// `[notify]`: where alerts are sent (docs/notifications.md).
    #[serde(default)]
    pub notify: ferrodef_notify::NotifyConfig,
    /// PEM certificate chain of the HTTPS listener.
    pub http_tls_cert: Option<PathBuf>,
    /// PEM private key of the HTTPS listener.
    pub http_tls_key: Option<PathBuf>,
    /// PEM CA bundle for HTTPS client certificates.
    pub http_tls_client_ca: Option<PathBuf>,
    #[serde(default)]
    pub auth: AuthFileConfig,
}

/// `[auth]` of the config file: users, logins and the security events.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFileConfig {
    /// Password of the `admin` user created at first start (`FERRODEF_ADMIN_PASSWORD` wins).
    pub admin_password: Option<String>,
    /// Ingest endpoints need a token [true unless the HTTP listener is loopback-only].
    pub require_ingest_token: Option<bool>,
    /// Failed logins in a row that lock an account [5].
    pub max_failures: Option<u32>,
    /// Minutes a lock lasts [15].
    pub lock_minutes: Option<i64>,
    /// Failed logins from one address within `ip_window_minutes` before it is refused [20].
    pub ip_max_failures: Option<u32>,
    /// [10].
    pub ip_window_minutes: Option<i64>,
    /// Longest console session, in hours [12].
    pub session_hours: Option<i64>,
    /// A console session unused this many minutes ends [60].
    pub session_idle_minutes: Option<i64>,
    /// Also send the security events (CEF) to syslog: `udp:HOST:PORT`, `tcp:HOST:PORT` or
    /// `local` (/dev/log) [off].
    pub cef_syslog: Option<String>,
    /// Facility of those messages [LOCAL4].
    pub cef_syslog_facility: Option<String>,
}

/// A secret that `{:?}` does not show.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl std::fmt::Debug for AuthFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFileConfig")
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("require_ingest_token", &self.require_ingest_token)
            .field("cef_syslog", &self.cef_syslog)
            .finish_non_exhaustive()
    }
}

/// Effective `[auth]` settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub admin_password: Option<Secret>,
    pub require_ingest_token: bool,
    pub settings: ferrodef_auth::AuthSettings,
    pub cef_syslog: Option<(cef::Transport, cef::Facility)>,
}

impl AuthConfig {
    /// The `[auth]` settings; ingest tokens are required by default unless `listen` is a
    /// loopback address.
    pub fn resolve(
        f: &AuthFileConfig,
        require_flag: Option<bool>,
        listen: SocketAddr,
    ) -> anyhow::Result<AuthConfig> {
        let d = ferrodef_auth::AuthSettings::default();
        let minutes = |v: Option<i64>, name: &str, def: chrono::Duration| match v {
            Some(m) if m <= 0 => bail!("[auth] {name} must be at least 1"),
            Some(m) => Ok(chrono::Duration::minutes(m)),
            None => Ok(def),
        };
        let settings = ferrodef_auth::AuthSettings {
            max_failures: f.max_failures.unwrap_or(d.max_failures),
            lock_duration: minutes(f.lock_minutes, "lock_minutes", d.lock_duration)?,
            ip_max_failures: f.ip_max_failures.unwrap_or(d.ip_max_failures),
            ip_window: minutes(f.ip_window_minutes, "ip_window_minutes", d.ip_window)?,
            session_ttl: minutes(
                f.session_hours.map(|h| h * 60),
                "session_hours",
                d.session_ttl,
            )?,
            session_idle: minutes(
                f.session_idle_minutes,
                "session_idle_minutes",
                d.session_idle,
            )?,
            basic_cache_ttl: d.basic_cache_ttl,
        };
        if settings.max_failures == 0 || settings.ip_max_failures == 0 {
            bail!("[auth] max_failures and ip_max_failures must be at least 1");
        }
        let facility = match &f.cef_syslog_facility {
            Some(name) => name
                .parse::<cef::Facility>()
                .map_err(|e| anyhow::anyhow!("[auth] cef_syslog_facility: {e}"))?,
            None => cef::Facility::Local4,
        };
        let cef_syslog = match f.cef_syslog.as_deref() {
            None | Some("off") => None,
            Some("local") => Some((cef::Transport::Unix("/dev/log".into()), facility)),
            Some(s) => match s.split_once(':') {
                Some(("udp", addr)) => Some((cef::Transport::Udp(addr.into()), facility)),
                Some(("tcp", addr)) => Some((cef::Transport::Tcp(addr.into()), facility)),
                _ => bail!(
                    "[auth] cef_syslog: '{s}' is not udp:HOST:PORT, tcp:HOST:PORT, local or off"
                ),
            },
        };
        let admin_password = std::env::var("FERRODEF_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
            .or(f.admin_password.clone())
            .map(Secret);
        Ok(AuthConfig {
            admin_password,
            require_ingest_token: require_flag
                .or(f.require_ingest_token)
                .unwrap_or(!listen.ip().is_loopback()),
            settings,
            cef_syslog,
        })
    }
}

/// `[limits]` of the config file: protection against huge, slow, hostile or careless input.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFileConfig {
    /// Documents in one JSON body [100000].
    pub max_documents: Option<usize>,
    /// Lines in one raw body (`/syslog`, raw `/cef`) [100000].
    pub max_lines: Option<usize>,
    /// Fields of one event, details included [2000].
    pub max_fields: Option<usize>,
    /// Nesting of objects and arrays in one JSON document [64].
    pub max_depth: Option<usize>,
    /// Errors listed in an answer [100].
    pub max_errors: Option<usize>,
    /// Custom streams [100].
    pub max_streams: Option<usize>,
    /// Events accepted but not indexed beyond which ingest answers 503 [5000000].
    pub max_backlog: Option<u64>,
    /// Events waiting for the write-ahead log, all sources together [200000].
    pub max_queued_events: Option<usize>,
    /// Milliseconds a request waits for room in that queue before 429 [2000].
    pub queue_wait_ms: Option<u64>,
    /// Seconds an event may be dated ahead of its receipt [86400].
    pub future_skew_secs: Option<u64>,
    /// Memory for request bodies being read at once, in MiB [256].
    pub body_memory_mb: Option<usize>,
    /// Seconds for a request body to arrive [60].
    pub body_timeout_secs: Option<u64>,
    /// Seconds for a request's headers to arrive [30].
    pub header_timeout_secs: Option<u64>,
    /// HTTP connections [1024].
    pub http_max_connections: Option<usize>,
    /// Seconds an HTTP connection may stay idle [120].
    pub http_idle_timeout_secs: Option<u64>,
    /// Syslog TCP/TLS connections per listener [4096].
    pub syslog_max_connections: Option<usize>,
    /// Seconds a syslog TCP/TLS connection may stay silent [600].
    pub syslog_idle_timeout_secs: Option<u64>,
    /// Seconds a stop waits for requests in progress [8].
    pub shutdown_grace_secs: Option<u64>,
    /// Partitions (stream days) with an open index writer at once [3].
    pub max_open_writers: Option<usize>,
    /// Partitions open for searching at once [64].
    pub max_open_partitions: Option<usize>,
    /// Memory one aggregation may use while counting, in MiB [1024].
    pub aggregation_memory_mb: Option<usize>,
}

/// Effective limits.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub ingest: ferrodef_ingest::Limits,
    pub http: ferrodef_api::server::ServerLimits,
    pub syslog: ferrodef_sources::syslog::ListenerLimits,
    pub body_memory_bytes: usize,
    pub body_timeout: Duration,
    pub max_open_writers: usize,
    pub max_open_partitions: usize,
    pub aggregation_memory_bytes: usize,
}

impl LimitsConfig {
    fn resolve(f: &LimitsFileConfig) -> anyhow::Result<LimitsConfig> {
        let d = ferrodef_ingest::Limits::default();
        let secs = Duration::from_secs;
        let ingest = ferrodef_ingest::Limits {
            max_documents: f.max_documents.unwrap_or(d.max_documents),
            max_lines: f.max_lines.unwrap_or(d.max_lines),
            max_fields: f.max_fields.unwrap_or(d.max_fields),
            max_depth: f.max_depth.unwrap_or(d.max_depth),
            max_errors: f.max_errors.unwrap_or(d.max_errors),
            max_streams: f.max_streams.unwrap_or(d.max_streams),
            max_backlog: f.max_backlog.unwrap_or(d.max_backlog),
            max_queued_events: f.max_queued_events.unwrap_or(d.max_queued_events),
            queue_wait: f.queue_wait_ms.map_or(d.queue_wait, Duration::from_millis),
            future_skew: f.future_skew_secs.map_or(d.future_skew, secs),
        };
        let h = ferrodef_api::server::ServerLimits::default();
        let http = ferrodef_api::server::ServerLimits {
            max_connections: f.http_max_connections.unwrap_or(h.max_connections),
            header_timeout: f.header_timeout_secs.map_or(h.header_timeout, secs),
            idle_timeout: f.http_idle_timeout_secs.map_or(h.idle_timeout, secs),
            grace: f.shutdown_grace_secs.map_or(h.grace, secs),
        };
        let l = ferrodef_sources::syslog::ListenerLimits::default();
        let syslog = ferrodef_sources::syslog::ListenerLimits {
            max_connections: f.syslog_max_connections.unwrap_or(l.max_connections),
            idle_timeout: f.syslog_idle_timeout_secs.map_or(l.idle_timeout, secs),
        };
        let c = LimitsConfig {
            ingest,
            http,
            syslog,
            body_memory_bytes: f.body_memory_mb.unwrap_or(256) << 20,
            body_timeout: f.body_timeout_secs.map_or(secs(60), secs),
            max_open_writers: f
                .max_open_writers
                .unwrap_or(TantivyOptions::default().max_open_writers),
            max_open_partitions: f
                .max_open_partitions
                .unwrap_or(TantivyOptions::default().max_open_partitions),
            aggregation_memory_bytes: f.aggregation_memory_mb.map_or(
                TantivyOptions::default().aggregation_memory_bytes as usize,
                |m| m << 20,
            ),
        };
        let positive = [
            ("max_documents", c.ingest.max_documents),
            ("max_lines", c.ingest.max_lines),
            ("max_fields", c.ingest.max_fields),
            ("max_depth", c.ingest.max_depth),
            ("max_streams", c.ingest.max_streams),
            ("max_queued_events", c.ingest.max_queued_events),
            ("http_max_connections", c.http.max_connections),
            ("syslog_max_connections", c.syslog.max_connections),
            ("max_open_writers", c.max_open_writers),
            ("max_open_partitions", c.max_open_partitions),
            ("body_memory_mb", c.body_memory_bytes),
            ("aggregation_memory_mb", c.aggregation_memory_bytes),
        ];
        for (name, v) in positive {
            if v == 0 {
                bail!("[limits] {name} must be at least 1");
            }
        }
        Ok(c)
    }
}

/// `[storage]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub commit_interval_ms: Option<u64>,
    pub writer_memory_mb: Option<usize>,
    pub writer_threads: Option<usize>,
    pub max_segment_docs: Option<u32>,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub retention_days: u32,
    pub max_body_bytes: usize,
    /// A search or aggregation running longer is stopped.
    pub search_timeout_ms: u64,
    /// Searches and aggregations running at once.
    pub max_concurrent_searches: usize,
    pub commit_interval_ms: u64,
    pub writer_memory_mb: usize,
    pub writer_threads: usize,
    pub max_segment_docs: u32,
    pub mozdefhostname: String,
    pub default_timezone: chrono_tz::Tz,
    /// `[transforms]`: order and settings of the transforms.
    pub transforms: ferrodef_transforms::pipeline::TransformsConfig,
    /// `[syslog]`: listeners.
    pub syslog: SyslogConfig,
    /// `[limits]`.
    pub limits: LimitsConfig,
    /// HTTPS for the HTTP listener (same options as the syslog TLS listener).
    pub http_tls: Option<ferrodef_sources::syslog::TlsSettings>,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[detection]`: the rules run as events arrive.
    pub detection: DetectionConfig,
    /// `[notify]`: where alerts are sent.
    pub notify: ferrodef_notify::NotifyConfig,
}

/// `[detection]` of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    /// Run rules at all.
    pub enabled: bool,
    /// The shipped rule set (MozDef's alerts, ported; `ferrodef rules list`).
    pub mozdef_rules: bool,
    /// Directories (or files) of ferrodef rules; a rule with the id of a shipped one
    /// replaces it.
    pub rules_dirs: Vec<PathBuf>,
    /// Directories of Sigma rules (e.g. a SigmaHQ checkout's `rules/linux`).
    pub sigma_dirs: Vec<PathBuf>,
    /// A Sigma field-mapping file replacing the built-in one (docs/sigma.md).
    pub sigma_mapping: Option<PathBuf>,
    /// Impossible travel (MozDef's geomodel) on successful logins.
    pub geomodel: bool,
    /// The same Sigma rule on the same host alerts at most once in this many seconds.
    pub suppress_secs: u64,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            enabled: true,
            mozdef_rules: true,
            rules_dirs: Vec::new(),
            sigma_dirs: Vec::new(),
            sigma_mapping: None,
            geomodel: true,
            suppress_secs: 600,
        }
    }
}

fn syslog_config(args: &ServeArgs, file: &SyslogFileConfig) -> anyhow::Result<SyslogConfig> {
    let local = |port| Listen::On(SocketAddr::from(([127, 0, 0, 1], port)));
    let udp = args.syslog_udp.or(file.udp).unwrap_or(local(5514)).addr();
    let tcp = args.syslog_tcp.or(file.tcp).unwrap_or(local(5514)).addr();
    let cert = args.tls_cert.clone().or(file.tls_cert.clone());
    let key = args.tls_key.clone().or(file.tls_key.clone());
    let client_ca = args.tls_client_ca.clone().or(file.tls_client_ca.clone());
    let tls_listen = args.syslog_tls.or(file.tls);
    let tls = match (tls_listen, cert, key) {
        (Some(Listen::Off), _, _) | (None, None, None) => None,
        (listen, Some(cert), Some(key)) => {
            let addr = listen.unwrap_or(local(6514)).addr();
            addr.map(|a| {
                (
                    a,
                    ferrodef_sources::syslog::TlsSettings {
                        cert,
                        key,
                        client_ca,
                    },
                )
            })
        }
        _ => bail!("the syslog TLS listener needs both tls_cert and tls_key"),
    };
    let max_message_bytes = args
        .max_message_bytes
        .or(file.max_message_bytes)
        .unwrap_or(ferrodef_sources::syslog::DEFAULT_MAX_MESSAGE_BYTES);
    if !(256..=(16 << 20)).contains(&max_message_bytes) {
        bail!("max_message_bytes must be between 256 and 16777216");
    }
    Ok(SyslogConfig {
        udp,
        tcp,
        tls,
        max_message_bytes,
    })
}

/// GeoIP databases looked for in `<data_dir>/geoip/` when none is configured.
const DEFAULT_GEO: [(&str, &str); 5] = [
    ("city", "GeoLite2-City.mmdb"),
    ("country", "GeoLite2-Country.mmdb"),
    ("country", "iptoasn-country.mmdb"),
    ("country", "geo-whois-asn-country.mmdb"),
    ("asn", "GeoLite2-ASN.mmdb"),
];

fn default_geoip(t: &mut ferrodef_transforms::pipeline::TransformsConfig, data_dir: &Path) {
    let g = &mut t.geoip;
    if g.city_db.is_some() || g.country_db.is_some() || g.asn_db.is_some() {
        return;
    }
    for (kind, name) in DEFAULT_GEO {
        let p = data_dir.join("geoip").join(name);
        if !p.is_file() {
            continue;
        }
        let slot = match kind {
            "city" => &mut g.city_db,
            "country" => &mut g.country_db,
            _ => &mut g.asn_db,
        };
        if slot.is_none() {
            *slot = Some(p);
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

impl Config {
    /// Resolves flags/env over the config file over the defaults.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(p) => read_file(p)?,
            None if Path::new("ferrodef.toml").exists() => read_file(Path::new("ferrodef.toml"))?,
            None => FileConfig::default(),
        };
        let tz_name = args
            .default_timezone
            .clone()
            .or(file.default_timezone)
            .unwrap_or_else(|| "UTC".into());
        let default_timezone: chrono_tz::Tz = tz_name
            .parse()
            .map_err(|_| anyhow::anyhow!("default_timezone: unknown time zone '{tz_name}'"))?;
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let syslog = syslog_config(args, &file.syslog)?;
        let mut transforms = file.transforms.unwrap_or_default();
        default_geoip(&mut transforms, &data_dir);
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let http_tls = match (
            args.http_tls_cert.clone().or(file.http_tls_cert),
            args.http_tls_key.clone().or(file.http_tls_key),
        ) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ferrodef_sources::syslog::TlsSettings {
                cert,
                key,
                client_ca: args.http_tls_client_ca.clone().or(file.http_tls_client_ca),
            }),
            _ => bail!("HTTPS needs both http_tls_cert and http_tls_key"),
        };
        let auth = AuthConfig::resolve(&file.auth, args.require_ingest_token, listen)?;
        let cfg = Config {
            listen,
            data_dir,
            retention_days: args.retention_days.or(file.retention_days).unwrap_or(90),
            max_body_bytes: args
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(16 << 20),
            search_timeout_ms: args
                .search_timeout_ms
                .or(file.search_timeout_ms)
                .unwrap_or(30_000),
            max_concurrent_searches: args
                .max_concurrent_searches
                .or(file.max_concurrent_searches)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            commit_interval_ms: args
                .commit_interval_ms
                .or(file.storage.commit_interval_ms)
                .unwrap_or(500),
            writer_memory_mb: args
                .writer_memory_mb
                .or(file.storage.writer_memory_mb)
                .unwrap_or(128),
            writer_threads: args
                .writer_threads
                .or(file.storage.writer_threads)
                .unwrap_or(2),
            max_segment_docs: args
                .max_segment_docs
                .or(file.storage.max_segment_docs)
                .unwrap_or(TantivyOptions::default().max_merged_docs),
            mozdefhostname: args
                .mozdefhostname
                .clone()
                .or(file.mozdefhostname)
                .unwrap_or_else(host_name),
            default_timezone,
            transforms,
            syslog,
            limits: LimitsConfig::resolve(&file.limits)?,
            detection: file.detection.clone(),
            notify: file.notify.clone(),
            http_tls,
            auth,
        };
        if cfg.retention_days == 0 {
            bail!("retention_days must be at least 1");
        }
        if cfg.search_timeout_ms == 0 || cfg.max_concurrent_searches == 0 {
            bail!("search_timeout_ms and max_concurrent_searches must be at least 1");
        }
        if cfg.writer_threads == 0 || cfg.writer_threads > 64 {
            bail!("writer_threads must be between 1 and 64");
        }
        if cfg.writer_memory_mb < 15 * cfg.writer_threads {
            bail!(
                "writer_memory_mb must be at least 15 per writer thread ({} for {} threads)",
                15 * cfg.writer_threads,
                cfg.writer_threads
            );
        }
        if cfg.max_segment_docs < 10_000 {
            bail!(
                "max_segment_docs must be at least 10000 (was {})",
                cfg.max_segment_docs
            );
        }
        if cfg.commit_interval_ms == 0 {
            bail!("commit_interval_ms must be at least 1");
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nretention_days = 30\n[storage]\ncommit_interval_ms = 250\n\
             max_segment_docs = 500000\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            retention_days: Some(7),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.retention_days, 7);
        assert_eq!(c.commit_interval_ms, 250);
        assert_eq!(c.max_segment_docs, 500_000);
        assert_eq!(c.max_body_bytes, 16 << 20);
        assert_eq!(c.default_timezone, chrono_tz::UTC);
        assert_eq!(
            c.transforms.order,
            vec!["parsers", "ipfixup", "geoip", "watchlist"]
        );
    }

    #[test]
    fn geoip_database_found_in_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("geoip")).unwrap();
        std::fs::write(dir.path().join("geoip/iptoasn-country.mmdb"), b"x").unwrap();
        let c = Config::resolve(&ServeArgs {
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            c.transforms.geoip.country_db,
            Some(dir.path().join("geoip/iptoasn-country.mmdb"))
        );
        assert!(c.transforms.geoip.city_db.is_none());
    }

    #[test]
    fn unknown_key_and_bad_timezone_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        let err = Config::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("listn"), "{err:#}");
        let err = Config::resolve(&ServeArgs {
            default_timezone: Some("Mars/Base".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("Mars/Base"));
        let err = Config::resolve(&ServeArgs {
            max_segment_docs: Some(5),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("max_segment_docs"), "{err}");
    }
}
