//! The change feed's vocabulary: every record a desktop syncs, and one change to one of them.

use serde::{Deserialize, Serialize};

use crate::{
    Agent, Cart, Conversation, Cursor, Customer, CustomerId, Delivery, Interaction, Message, Note,
    Offer, Order, Queue, Ticket, Transaction, WrapUp,
};

/// Every kind of record the change feed carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Customer,
    Agent,
    Queue,
    Ticket,
    Order,
    Delivery,
    Cart,
    Transaction,
    Conversation,
    Interaction,
    Message,
    Note,
    WrapUp,
    Offer,
}

impl RecordKind {
    /// The name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Customer => "customer",
            RecordKind::Agent => "agent",
            RecordKind::Queue => "queue",
            RecordKind::Ticket => "ticket",
            RecordKind::Order => "order",
            RecordKind::Delivery => "delivery",
            RecordKind::Cart => "cart",
            RecordKind::Transaction => "transaction",
            RecordKind::Conversation => "conversation",
            RecordKind::Interaction => "interaction",
            RecordKind::Message => "message",
            RecordKind::Note => "note",
            RecordKind::WrapUp => "wrap_up",
            RecordKind::Offer => "offer",
        }
    }

    /// Parses a storage name; `None` for a kind this version does not know.
    pub fn parse(name: &str) -> Option<RecordKind> {
        RecordKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// Every kind, in the order a desktop should apply a full sync: records before the records
    /// that point at them.
    pub const ALL: [RecordKind; 14] = [
        RecordKind::Customer,
        RecordKind::Agent,
        RecordKind::Queue,
        RecordKind::Ticket,
        RecordKind::Order,
        RecordKind::Delivery,
        RecordKind::Cart,
        RecordKind::Transaction,
        RecordKind::Conversation,
        RecordKind::Interaction,
        RecordKind::Message,
        RecordKind::Note,
        RecordKind::WrapUp,
        RecordKind::Offer,
    ];
}

/// A record of any kind, tagged with its kind on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Record {
    Customer(Customer),
    Agent(Agent),
    Queue(Queue),
    Ticket(Ticket),
    Order(Order),
    Delivery(Delivery),
    Cart(Cart),
    Transaction(Transaction),
    Conversation(Conversation),
    Interaction(Interaction),
    Message(Message),
    Note(Note),
    WrapUp(WrapUp),
    Offer(Offer),
}

impl Record {
    /// The kind of this record.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Customer(_) => RecordKind::Customer,
            Record::Agent(_) => RecordKind::Agent,
            Record::Queue(_) => RecordKind::Queue,
            Record::Ticket(_) => RecordKind::Ticket,
            Record::Order(_) => RecordKind::Order,
            Record::Delivery(_) => RecordKind::Delivery,
            Record::Cart(_) => RecordKind::Cart,
            Record::Transaction(_) => RecordKind::Transaction,
            Record::Conversation(_) => RecordKind::Conversation,
            Record::Interaction(_) => RecordKind::Interaction,
            Record::Message(_) => RecordKind::Message,
            Record::Note(_) => RecordKind::Note,
            Record::WrapUp(_) => RecordKind::WrapUp,
            Record::Offer(_) => RecordKind::Offer,
        }
    }

    /// The customer this record is about, for records that belong to one customer.
    pub fn customer_id(&self) -> Option<&CustomerId> {
        match self {
            Record::Customer(r) => Some(&r.id),
            Record::Ticket(r) => Some(&r.customer_id),
            Record::Order(r) => Some(&r.customer_id),
            Record::Delivery(r) => Some(&r.customer_id),
            Record::Cart(r) => Some(&r.customer_id),
            Record::Transaction(r) => Some(&r.customer_id),
            Record::Conversation(r) => Some(&r.customer_id),
            Record::Interaction(r) => Some(&r.customer_id),
            Record::Note(r) => Some(&r.customer_id),
            Record::Offer(r) => Some(&r.customer_id),
            Record::Agent(_) | Record::Queue(_) | Record::Message(_) | Record::WrapUp(_) => None,
        }
    }

    /// The state a query may filter this record by: an interaction's or an offer's.
    pub fn state_name(&self) -> Option<&'static str> {
        match self {
            Record::Interaction(r) => Some(r.state.as_str()),
            Record::Offer(r) => Some(r.state.as_str()),
            _ => None,
        }
    }

    /// Stamps the hub's version of this record into the records that carry one, so that the
    /// body and the `ETag` always agree.
    pub fn set_version(&mut self, version: u64) {
        let version = u32::try_from(version).unwrap_or(u32::MAX);
        match self {
            Record::Agent(r) => r.version = version,
            Record::Queue(r) => r.version = version,
            Record::Ticket(r) => r.version = version,
            Record::Conversation(r) => r.version = version,
            Record::Interaction(r) => r.version = version,
            Record::Note(r) => r.version = version,
            Record::WrapUp(r) => r.version = version,
            Record::Offer(r) => r.version = version,
            Record::Order(r) => r.version = version,
            Record::Delivery(r) => r.version = version,
            Record::Cart(r) => r.version = version,
            Record::Transaction(r) => r.version = version,
            Record::Customer(_) | Record::Message(_) => {}
        }
    }

    /// The record's id, whatever its kind.
    pub fn id(&self) -> &str {
        match self {
            Record::Customer(r) => r.id.as_str(),
            Record::Agent(r) => r.id.as_str(),
            Record::Queue(r) => r.id.as_str(),
            Record::Ticket(r) => r.id.as_str(),
            Record::Order(r) => r.id.as_str(),
            Record::Delivery(r) => r.id.as_str(),
            Record::Cart(r) => r.id.as_str(),
            Record::Transaction(r) => r.id.as_str(),
            Record::Conversation(r) => r.id.as_str(),
            Record::Interaction(r) => r.id.as_str(),
            Record::Message(r) => r.id.as_str(),
            Record::Note(r) => r.id.as_str(),
            Record::WrapUp(r) => r.id.as_str(),
            Record::Offer(r) => r.id.as_str(),
        }
    }
}

/// One page of the change feed. `cursor` is where to continue from, even when the page is
/// empty, so that a desktop can always poll again from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub cursor: Cursor,
    /// Whether more changes wait behind this page, so the caller should ask again at once.
    pub has_more: bool,
    /// How many changes follow this page's first one, this page's included; sent only when
    /// asked for (`count=true`), for the progress bar of an initial sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

/// One entry of the change feed: a record as it now is, or the tombstone of a deleted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// The record was created or updated; this is its whole current state. `version` is what
    /// an update must send back in `If-Match`. Boxed because a record is large and pages of
    /// changes move often.
    Upsert {
        cursor: Cursor,
        version: u64,
        record: Box<Record>,
    },
    /// The record was deleted.
    Delete {
        cursor: Cursor,
        kind: RecordKind,
        id: String,
    },
}

impl Change {
    /// The position of this change in the feed's total order.
    pub fn cursor(&self) -> &Cursor {
        match self {
            Change::Upsert { cursor, .. } | Change::Delete { cursor, .. } => cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentId, CustomerId, NoteId};

    #[test]
    fn changes_are_tagged_on_the_wire() {
        let note = Note {
            id: NoteId::from_number(7),
            customer_id: CustomerId::from_number(1),
            interaction_id: None,
            author: AgentId::from_number(2),
            body: "Prefers e-mail".to_owned(),
            created_at: "2026-12-01T10:00:00Z".to_owned(),
            updated_at: "2026-12-01T10:00:00Z".to_owned(),
            version: 1,
        };
        let change = Change::Upsert {
            cursor: Cursor("42".to_owned()),
            version: 1,
            record: Box::new(Record::Note(note)),
        };

        let json = serde_json::to_value(&change).expect("a change serialises");
        assert_eq!(json["op"], "upsert", "the operation is a tag");
        assert_eq!(json["record"]["kind"], "note", "the record says its kind");
        assert_eq!(
            json["record"]["record"]["body"], "Prefers e-mail",
            "and carries its fields"
        );

        let back: Change = serde_json::from_value(json).expect("and deserialises");
        assert_eq!(back, change, "the round trip is lossless");
        assert_eq!(
            back.cursor().0,
            "42",
            "the cursor is reachable whatever the operation"
        );
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in RecordKind::ALL {
            assert_eq!(
                RecordKind::parse(kind.as_str()),
                Some(kind),
                "{kind:?} round-trips"
            );
            let json = serde_json::to_string(&kind).expect("a kind serialises");
            assert_eq!(
                json,
                format!("\"{}\"", kind.as_str()),
                "storage and wire names agree"
            );
        }
    }

    #[test]
    fn tombstones_name_what_was_deleted() {
        let change = Change::Delete {
            cursor: Cursor("43".to_owned()),
            kind: RecordKind::Note,
            id: "not_1".into(),
        };
        let json = serde_json::to_value(&change).expect("a tombstone serialises");
        assert_eq!(json["op"], "delete", "deletions are tagged");
        assert_eq!(json["kind"], "note", "with the kind");
        assert_eq!(json["id"], "not_1", "and the id of the deleted record");
    }
}
