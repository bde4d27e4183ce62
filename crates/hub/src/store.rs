//! The hub's own database: an embedded SQLite file in the data folder, reached through one
//! connection that async handlers borrow on the blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use switchboard_model::{Customer, CustomerId, CustomerSummary, Identity, IdentityKind};

/// Schema changes, oldest first. A migration, once released, never changes: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: customers and the identities that point at them.
    "CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        sort_key TEXT NOT NULL,
        company TEXT,
        language TEXT NOT NULL,
        city TEXT,
        country TEXT,
        tier TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX customers_by_sort_key ON customers (sort_key, id);
    CREATE TABLE identities (
        customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        label TEXT,
        is_primary INTEGER NOT NULL,
        PRIMARY KEY (customer_id, position)
    ) STRICT;
    CREATE INDEX identities_by_value ON identities (kind, value);",
    // 2: the record log behind the change feed, and each tenant's change counter.
    "CREATE TABLE records (
        tenant_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        customer_id TEXT,
        deleted INTEGER NOT NULL,
        body TEXT,
        PRIMARY KEY (tenant_id, id)
    ) STRICT;
    CREATE UNIQUE INDEX records_by_seq ON records (tenant_id, seq);
    CREATE INDEX records_by_customer ON records (tenant_id, customer_id, kind);
    CREATE TABLE sequences (
        tenant_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    ) STRICT;",
];

/// What went wrong in the hub's database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the hub database at {path}: {source}; check that the data folder exists and is writable"
    )]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "the hub database was written by a newer hub (schema {found}, this hub knows {known}); run the newer hub or restore a backup"
    )]
    TooNew { found: usize, known: usize },
    #[error("the hub database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the hub database holds an identity of unknown kind {0:?}")]
    UnknownIdentityKind(String),
    #[error("a record could not be encoded for storage: {0}")]
    Encode(serde_json::Error),
    #[error("a stored record could not be read ({0}); it may come from a newer hub")]
    Decode(serde_json::Error),
    #[error("the hub database holds a record of unknown kind {0:?}")]
    UnknownRecordKind(String),
    #[error("a database task was lost: {0}")]
    Task(String),
}

/// The filter and position of one page of the customer list.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Text that must appear in the name or company, or start an identity's value.
    pub text: Option<String>,
    /// Return customers strictly after this (sort key, id) position.
    pub after: Option<(String, String)>,
    pub limit: usize,
}

/// The handle every request shares; cloning it is cheap.
#[derive(Debug, Clone)]
pub struct HubStore {
    connection: Arc<Mutex<Connection>>,
}

impl HubStore {
    /// Opens (creating if needed) `hub.sqlite3` in `data_dir` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("hub.sqlite3");
        let connection = Connection::open(&path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::prepare(connection)
    }

    /// An in-memory database, for tests of pure request handling.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(connection: Connection) -> Result<Self, StoreError> {
        // WAL lets readers proceed while a write commits; NORMAL is durable across process
        // crashes in WAL mode, which is what a service needs.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;

        let store = HubStore {
            connection: Arc::new(Mutex::new(connection)),
        };
        store.with(migrate)?;
        Ok(store)
    }

    /// Runs `work` with the connection on the calling thread. Async code uses [`Self::run`].
    pub fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A panic while holding the lock leaves SQLite itself consistent (the transaction rolls
        // back), so a poisoned lock is safe to keep using.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        work(&mut connection)
    }

    /// Runs `work` on the blocking pool so that SQLite never stalls the async workers.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(work))
            .await
            .map_err(|join| StoreError::Task(join.to_string()))?
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }

    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "applied hub schema migration");
    }
    Ok(())
}

/// The key customers are listed by: case-folded name, so that "de Vries" sorts among the Ds.
pub fn sort_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

/// Inserts customers with their identities in one transaction.
pub fn insert_customers(
    connection: &mut Connection,
    customers: &[Customer],
) -> Result<(), StoreError> {
    let transaction = connection.transaction()?;
    {
        let mut insert_customer = transaction.prepare(
            "INSERT INTO customers
                (id, display_name, sort_key, company, language, city, country, tier, created_at,
                 updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut insert_identity = transaction.prepare(
            "INSERT INTO identities (customer_id, position, kind, value, label, is_primary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;

        for customer in customers {
            insert_customer.execute(params![
                customer.id.as_str(),
                customer.display_name,
                sort_key(&customer.display_name),
                customer.company,
                customer.language,
                customer.city,
                customer.country,
                customer.tier,
                customer.created_at,
                customer.updated_at,
            ])?;
            for (position, identity) in customer.identities.iter().enumerate() {
                insert_identity.execute(params![
                    customer.id.as_str(),
                    position as i64,
                    identity.kind.as_str(),
                    identity.value,
                    identity.label,
                    identity.primary,
                ])?;
            }
        }
    }
    transaction.commit()?;
    Ok(())
}

/// How many customers the hub holds.
pub fn count_customers(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 =
        connection.query_row("SELECT count(*) FROM customers", [], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// One page of customers in name order, with the position of its last row.
pub fn list_customers(
    connection: &Connection,
    query: &CustomerQuery,
) -> Result<Vec<(String, CustomerSummary)>, StoreError> {
    // LIKE treats % and _ as wildcards; escape them so that a search for "50%" means just that.
    let pattern = query.text.as_deref().map(|text| {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        (format!("%{escaped}%"), format!("{escaped}%"))
    });
    let (contains, starts) = match &pattern {
        Some((contains, starts)) => (Some(contains.as_str()), Some(starts.as_str())),
        None => (None, None),
    };
    let (after_key, after_id) = match &query.after {
        Some((key, id)) => (Some(key.as_str()), Some(id.as_str())),
        None => (None, None),
    };

    let mut statement = connection.prepare_cached(
        "SELECT c.id, c.display_name, c.company, c.sort_key,
            (SELECT value FROM identities
              WHERE customer_id = c.id AND kind = 'phone' ORDER BY is_primary DESC, position LIMIT 1),
            (SELECT value FROM identities
              WHERE customer_id = c.id AND kind = 'email' ORDER BY is_primary DESC, position LIMIT 1)
         FROM customers c
         WHERE (?1 IS NULL OR c.display_name LIKE ?1 ESCAPE '\\' OR c.company LIKE ?1 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM identities i
                           WHERE i.customer_id = c.id AND i.value LIKE ?2 ESCAPE '\\'))
           AND (?3 IS NULL OR (c.sort_key, c.id) > (?3, ?4))
         ORDER BY c.sort_key, c.id
         LIMIT ?5",
    )?;
    let rows = statement.query_map(
        params![contains, starts, after_key, after_id, query.limit as i64],
        |row| {
            let summary = CustomerSummary {
                id: CustomerId(row.get(0)?),
                display_name: row.get(1)?,
                company: row.get(2)?,
                primary_phone: row.get(4)?,
                primary_email: row.get(5)?,
            };
            Ok((row.get::<_, String>(3)?, summary))
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every customer with the identity `kind`/`value`, in name order. Several customers can
/// share an identity (a household's landline), so this is a list: the caller must let a
/// person choose rather than guess.
pub fn customers_by_identity(
    connection: &Connection,
    kind: IdentityKind,
    value: &str,
) -> Result<Vec<CustomerSummary>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT DISTINCT c.id, c.display_name, c.company, c.sort_key,
            (SELECT value FROM identities
              WHERE customer_id = c.id AND kind = 'phone' ORDER BY is_primary DESC, position LIMIT 1),
            (SELECT value FROM identities
              WHERE customer_id = c.id AND kind = 'email' ORDER BY is_primary DESC, position LIMIT 1)
         FROM identities i JOIN customers c ON c.id = i.customer_id
         WHERE i.kind = ?1 AND i.value = ?2
         ORDER BY c.sort_key, c.id",
    )?;
    let rows = statement.query_map(params![kind.as_str(), value], |row| {
        Ok(CustomerSummary {
            id: CustomerId(row.get(0)?),
            display_name: row.get(1)?,
            company: row.get(2)?,
            primary_phone: row.get(4)?,
            primary_email: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The whole profile of one customer, or `None` when the hub has no such customer.
pub fn customer(connection: &Connection, id: &str) -> Result<Option<Customer>, StoreError> {
    let customer = connection
        .query_row(
            "SELECT id, display_name, company, language, city, country, tier, created_at,
                    updated_at
             FROM customers WHERE id = ?1",
            [id],
            |row| {
                Ok(Customer {
                    id: CustomerId(row.get(0)?),
                    display_name: row.get(1)?,
                    company: row.get(2)?,
                    language: row.get(3)?,
                    city: row.get(4)?,
                    country: row.get(5)?,
                    tier: row.get(6)?,
                    created_at: row.get(7)?,
                    updated_at: row.get(8)?,
                    identities: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut customer) = customer else {
        return Ok(None);
    };

    let mut statement = connection.prepare_cached(
        "SELECT kind, value, label, is_primary FROM identities
         WHERE customer_id = ?1 ORDER BY position",
    )?;
    let rows = statement.query_map([id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, bool>(3)?,
        ))
    })?;
    for row in rows {
        let (kind, value, label, primary) = row?;
        let kind = IdentityKind::parse(&kind).ok_or(StoreError::UnknownIdentityKind(kind))?;
        customer.identities.push(Identity {
            kind,
            value,
            label,
            primary,
        });
    }
    Ok(Some(customer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, name: &str, phone: &str) -> Customer {
        Customer {
            id: CustomerId(id.to_owned()),
            display_name: name.to_owned(),
            company: None,
            language: "en-GB".to_owned(),
            city: None,
            country: Some("GB".to_owned()),
            tier: "standard".to_owned(),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            updated_at: "2026-01-01T00:00:00Z".to_owned(),
            identities: vec![Identity {
                kind: IdentityKind::Phone,
                value: phone.to_owned(),
                label: Some("mobile".to_owned()),
                primary: true,
            }],
        }
    }

    fn store_with(customers: &[Customer]) -> HubStore {
        let store = HubStore::open_in_memory().expect("an in-memory database opens");
        store
            .with(|c| insert_customers(c, customers))
            .expect("seed rows insert");
        store
    }

    #[test]
    fn pages_follow_name_order_without_gaps_or_repeats() {
        let store = store_with(&[
            sample("cus_3", "Chloé Martin", "+33199000003"),
            sample("cus_1", "alan Turing", "+447700900001"),
            sample("cus_2", "Bea Okafor", "+447700900002"),
        ]);

        let mut seen = Vec::new();
        let mut query = CustomerQuery {
            limit: 2,
            ..CustomerQuery::default()
        };
        loop {
            let page = store
                .with(|c| list_customers(c, &query))
                .expect("listing works");
            let Some((key, last)) = page.last().cloned() else {
                break;
            };
            seen.extend(page.into_iter().map(|(_, summary)| summary.display_name));
            query.after = Some((key, last.id.0));
        }

        assert_eq!(
            seen,
            ["alan Turing", "Bea Okafor", "Chloé Martin"],
            "names sort case-insensitively and every customer appears exactly once"
        );
    }

    #[test]
    fn search_matches_names_and_the_start_of_identities() {
        let store = store_with(&[
            sample("cus_1", "Alan Turing", "+447700900001"),
            sample("cus_2", "Bea 100% Okafor", "+447700900002"),
        ]);
        let search = |text: &str| {
            let query = CustomerQuery {
                text: Some(text.to_owned()),
                limit: 10,
                after: None,
            };
            store
                .with(|c| list_customers(c, &query))
                .expect("search works")
                .into_iter()
                .map(|(_, summary)| summary.id.0)
                .collect::<Vec<_>>()
        };

        assert_eq!(search("turing"), ["cus_1"], "name search ignores case");
        assert_eq!(
            search("+447700900002"),
            ["cus_2"],
            "a full number finds its owner"
        );
        assert_eq!(
            search("900002"),
            Vec::<String>::new(),
            "numbers match from their start only"
        );
        assert_eq!(
            search("0%"),
            ["cus_2"],
            "a % in the search is a literal, not a wildcard"
        );
    }

    #[test]
    fn an_identity_finds_every_customer_who_shares_it() {
        let mut bea = sample("cus_2", "Bea Okafor", "+447700900002");
        bea.identities.push(Identity {
            kind: IdentityKind::Phone,
            value: "+441134960000".to_owned(),
            label: Some("home".to_owned()),
            primary: false,
        });
        let mut ade = sample("cus_1", "Ade Okafor", "+447700900001");
        ade.identities.push(bea.identities[1].clone());
        let store = store_with(&[bea, ade, sample("cus_3", "Cy Other", "+447700900003")]);

        let lookup = |kind, value: &str| {
            store
                .with(|c| customers_by_identity(c, kind, value))
                .expect("lookup works")
                .into_iter()
                .map(|summary| summary.id.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            lookup(IdentityKind::Phone, "+441134960000"),
            ["cus_1", "cus_2"],
            "both members of the household are candidates, in name order"
        );
        assert_eq!(
            lookup(IdentityKind::Phone, "+447700900003"),
            ["cus_3"],
            "a personal number"
        );
        assert!(
            lookup(IdentityKind::Email, "+447700900003").is_empty(),
            "kinds do not mix"
        );
    }

    #[test]
    fn a_customer_comes_back_with_its_identities_in_order() {
        let mut ada = sample("cus_1", "Ada Lovelace", "+447700900001");
        ada.identities.push(Identity {
            kind: IdentityKind::Email,
            value: "ada@example.org".to_owned(),
            label: None,
            primary: false,
        });
        let store = store_with(std::slice::from_ref(&ada));

        let found = store.with(|c| customer(c, "cus_1")).expect("lookup works");
        assert_eq!(found, Some(ada), "what was stored is what is read back");

        let missing = store
            .with(|c| customer(c, "cus_404"))
            .expect("lookup works");
        assert_eq!(missing, None, "an unknown id is absent, not an error");
    }

    #[test]
    fn reopening_a_database_keeps_its_rows_and_schema() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        {
            let store = HubStore::open(dir.path()).expect("a new database opens");
            store
                .with(|c| insert_customers(c, &[sample("cus_1", "Ada", "+447700900001")]))
                .expect("insert works");
        }

        let store = HubStore::open(dir.path()).expect("the same database reopens");
        let count = store.with(|c| count_customers(c)).expect("count works");
        assert_eq!(
            count, 1,
            "rows survive a restart and migrations do not run twice"
        );
    }
}
