//! The hub's database: one pool over either the embedded SQLite file (the default) or a shared
//! PostgreSQL server, with the schema kept current by append-only migrations.
//!
//! Every query is written once, in the SQL both engines accept, and runs through sqlx's `Any`
//! driver; the few places where the engines differ branch on [`Backend`]. That keeps one code
//! path, and one test suite, for both.

pub mod auth;
pub mod chat;
pub mod records;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::broadcast;

/// Which engine a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What went wrong in the hub's database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "cannot open the hub database at {location}: {source}; check that it exists and that the hub may write to it"
    )]
    Open {
        location: String,
        source: sqlx::Error,
    },
    #[error("{0:?} is not a database URL this hub can use; give postgres://… or a data folder")]
    UnsupportedUrl(String),
    #[error(
        "the hub database was written by a newer hub (schema {found}, this hub knows {known}); run the newer hub or restore a backup"
    )]
    TooNew { found: i64, known: usize },
    #[error("the hub database failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("a record could not be encoded for storage: {0}")]
    Encode(serde_json::Error),
    #[error("a stored record could not be read ({0}); it may come from a newer hub")]
    Decode(serde_json::Error),
    #[error("the hub database holds a record of unknown kind {0:?}")]
    UnknownRecordKind(String),
    #[error("the hub database holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error("tenant {0} does not exist on this hub")]
    NoSuchTenant(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("a database task was lost: {0}")]
    Task(String),
}

/// The handle every request shares; cloning it is cheap.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL, kept so that the live stream can open its own LISTEN connection.
    url: String,
    /// Rings when a tenant's feed moves, for the live streams of this instance.
    bell: broadcast::Sender<records::Bell>,
    /// The connections writes use. On SQLite, whose writers exclude each other, this is a
    /// pool of one of its own: a write then waits in line here, never for a connection that
    /// readers hold, and never in SQLite's busy handler, which sleeps for milliseconds at a
    /// time. On PostgreSQL it is the main pool.
    writes: AnyPool,
}

/// Schema changes, oldest first, each in the SQL both engines accept. A migration, once
/// released, never changes: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: tenants and their change counters, the record log, the identity index, idempotency
    // keys, logins and tokens.
    "CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        last_seq BIGINT NOT NULL
    );
    CREATE TABLE records (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        customer_id TEXT,
        version BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        deleted BIGINT NOT NULL,
        body TEXT,
        sort_key TEXT,
        search TEXT,
        PRIMARY KEY (tenant_id, id)
    );
    CREATE UNIQUE INDEX records_by_seq ON records (tenant_id, seq);
    CREATE INDEX records_by_kind ON records (tenant_id, kind, sort_key, id);
    CREATE INDEX records_by_customer ON records (tenant_id, customer_id, kind, seq);
    CREATE TABLE identities (
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        PRIMARY KEY (tenant_id, kind, value, customer_id)
    );
    CREATE INDEX identities_by_customer ON identities (tenant_id, customer_id);
    CREATE TABLE idempotency_keys (
        tenant_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        record_id TEXT NOT NULL,
        status BIGINT NOT NULL,
        version BIGINT NOT NULL,
        response TEXT NOT NULL,
        PRIMARY KEY (tenant_id, key)
    );
    CREATE INDEX idempotency_by_record ON idempotency_keys (tenant_id, record_id);
    CREATE TABLE logins (
        login TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        agent_id TEXT NOT NULL,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        agent_id TEXT NOT NULL,
        role TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX tokens_by_agent ON tokens (agent_id)",
    // 2: the state of interactions and offers, so that routing finds open work without
    // reading every interaction ever held.
    "ALTER TABLE records ADD COLUMN state TEXT;
    CREATE INDEX records_by_state ON records (tenant_id, kind, state)",
    // 3: customers' web chat sessions, each bound to one conversation.
    "CREATE TABLE chat_sessions (
        token_hash TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        customer_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        started_seq BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
    // 4: the small kinds (agents, queues) in id order without reading every record: routing
    // asks for them every second, and at a million customers the scan took a second each.
    "CREATE INDEX records_by_kind_and_id ON records (tenant_id, kind, id)",
];

impl Database {
    /// Opens (creating if needed) `hub.db` in `data_dir`.
    pub async fn open_folder(data_dir: &Path) -> Result<Database, DbError> {
        let path = data_dir.join("hub.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url).await
    }

    /// Opens the database at `url` (`sqlite://…` or `postgres://…`) and brings its schema up
    /// to date.
    pub async fn open(url: &str) -> Result<Database, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl(redact(url)));
        };

        let options = AnyConnectOptions::from_str(url).map_err(|source| DbError::Open {
            location: redact(url),
            source,
        })?;
        let connect = |connections: u32| {
            let pool = match backend {
                Backend::Sqlite => AnyPoolOptions::new().after_connect(|connection, _| {
                    Box::pin(async move {
                        // WAL lets readers proceed while a write commits; NORMAL is durable
                        // across process crashes in WAL mode. Writers wait for each other
                        // rather than fail. Reading through a memory map (and a larger page
                        // cache) spares a system call per page, which was most of the cost of
                        // serving a desk's initial sync.
                        connection
                            .execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;
                                 PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -16000;",
                            )
                            .await?;
                        Ok(())
                    })
                }),
                Backend::Postgres => AnyPoolOptions::new(),
            };
            pool.max_connections(connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
        };
        let open_error = |source| DbError::Open {
            location: redact(url),
            source,
        };
        let (pool, writes) = match backend {
            // SQLite has one writer at a time: a pool of one for writes, a few connections
            // so that reads go on beside it.
            Backend::Sqlite => {
                let writes = connect(1).await.map_err(open_error)?;
                (connect(4).await.map_err(open_error)?, writes)
            }
            Backend::Postgres => {
                let pool = connect(16).await.map_err(open_error)?;
                (pool.clone(), pool)
            }
        };

        let database = Database {
            pool,
            backend,
            url: url.to_owned(),
            bell: broadcast::channel(1024).0,
            writes,
        };
        database.migrate().await?;
        Ok(database)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Rings when a tenant's feed moves; subscribe to follow changes live.
    pub fn bell(&self) -> &broadcast::Sender<records::Bell> {
        &self.bell
    }

    /// The connections for writes; see the field's comment.
    pub fn writes(&self) -> &AnyPool {
        &self.writes
    }

    /// A transaction to write in.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, DbError> {
        Ok(self.writes.begin().await?)
    }

    /// The URL this database was opened with, for connections outside the pool.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Closes every connection; later queries fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let mut transaction = self.writes.begin().await?;

        // Several hub instances may start at once against one PostgreSQL; the first to take
        // this lock migrates and the others then find nothing left to do.
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7300)")
                .execute(&mut *transaction)
                .await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .execute(&mut *transaction)
            .await?;
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *transaction)
                .await?;
        if applied > MIGRATIONS.len() as i64 {
            return Err(DbError::TooNew {
                found: applied,
                known: MIGRATIONS.len(),
            });
        }

        for (index, script) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
            // Statements run one by one: the PostgreSQL driver prepares each query, and a
            // prepared statement holds exactly one command.
            for statement in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement).execute(&mut *transaction).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(index as i64 + 1)
                .execute(&mut *transaction)
                .await?;
            tracing::info!(
                version = index + 1,
                backend = self.backend.as_str(),
                "applied hub schema migration"
            );
        }
        transaction.commit().await?;
        Ok(())
    }
}

/// `url` without its password, fit for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
