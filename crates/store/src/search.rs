//! Type-ahead search over the cache: names, e-mail addresses, phone numbers, order numbers,
//! ticket subjects and tracking numbers, every word matched as a prefix.

use serde::Serialize;
use switchboard_model::{CustomerId, Record, RecordKind};

use crate::identity::looks_like_phone;
use crate::{Store, StoreError};

/// One thing search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    pub kind: RecordKind,
    pub id: String,
    /// The customer the hit belongs to (the customer itself for a customer).
    pub customer_id: Option<CustomerId>,
    /// What the hit is called: a name, an order number, a ticket's subject.
    pub title: String,
    /// A second line: a company, a status.
    pub detail: Option<String>,
}

/// The FTS5 query for what an agent typed, or `None` when there is nothing to look for.
///
/// Text that looks like a phone number becomes one prefix of its digits, whatever spaces or
/// dashes it was typed with; other text becomes one prefix per word, all required. Every word
/// is quoted, so that FTS5's own syntax (`AND`, `-`, `*`, quotes) typed by an agent is looked
/// for as text rather than obeyed.
pub fn match_expression(text: &str) -> Option<String> {
    let text = text.trim();
    if looks_like_phone(text) {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        return (!digits.is_empty()).then(|| format!("\"{digits}\"*"));
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Store {
    /// Up to `limit` records matching `text`, customers first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let Some(expression) = match_expression(text) else {
            return Ok(Vec::new());
        };
        let reads = self.reads()?;
        let mut statement = reads.prepare_cached(
            "SELECT r.body FROM search JOIN records r ON r.rowid = search.rowid
             WHERE search MATCH ?1 LIMIT ?2",
        )?;
        let rows = statement.query_map(rusqlite::params![expression, limit as i64], |row| {
            row.get::<_, String>(0)
        })?;
        let mut hits = Vec::new();
        for body in rows {
            let record: Record = serde_json::from_str(&body?)?;
            hits.push(hit(&record));
        }
        hits.sort_by_key(|hit| kind_rank(hit.kind));
        Ok(hits)
    }
}

/// Customers first, then what agents most often look up by number.
fn kind_rank(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Customer => 0,
        RecordKind::Order => 1,
        RecordKind::Ticket => 2,
        RecordKind::Delivery => 3,
        _ => 4,
    }
}

fn hit(record: &Record) -> SearchHit {
    let (title, detail) = match record {
        Record::Customer(customer) => (
            customer.display_name.clone(),
            customer.company.clone().or_else(|| {
                customer
                    .primary(switchboard_model::IdentityKind::Email)
                    .map(|identity| identity.value.clone())
            }),
        ),
        Record::Order(order) => (
            format!("Order {}", order.number),
            Some(wire_name(&order.payment)),
        ),
        Record::Ticket(ticket) => (ticket.subject.clone(), Some(wire_name(&ticket.status))),
        Record::Delivery(delivery) => (
            format!("{} {}", delivery.carrier, delivery.tracking_number),
            Some(wire_name(&delivery.status)),
        ),
        other => (other.id().to_owned(), None),
    };
    SearchHit {
        kind: record.kind(),
        id: record.id().to_owned(),
        customer_id: record.customer_id().cloned(),
        title,
        detail,
    }
}

/// A status as the hub names it (`in_transit`, `solved`), read as words.
fn wire_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(|name| name.replace('_', " ")))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_required_prefixes() {
        assert_eq!(
            match_expression("ana sou").as_deref(),
            Some("\"ana\"* \"sou\"*"),
            "every word counts, each as the start of a word"
        );
        assert_eq!(
            match_expression("   "),
            None,
            "nothing typed, nothing sought"
        );
    }

    #[test]
    fn phone_numbers_match_by_their_digits() {
        assert_eq!(
            match_expression("07700 900-1").as_deref(),
            Some("\"077009001\"*"),
            "spacing and dashes do not split a number"
        );
        assert_eq!(
            match_expression("+44 7700").as_deref(),
            Some("\"447700\"*"),
            "an international prefix matches the stored E.164 digits"
        );
    }

    #[test]
    fn search_syntax_typed_by_an_agent_is_text() {
        assert_eq!(
            match_expression("\"NEAR(a b)\" OR *").as_deref(),
            Some("\"NEAR\"* \"a\"* \"b\"* \"OR\"*"),
            "operators and quotes lose their meaning"
        );
    }
}
