//! Typed identifiers, one per kind of record, so that a ticket id can never be passed where an
//! order id is expected. Each prints with its kind's prefix, such as `tkt_…` or `ord_…`.

/// Declares an identifier newtype with its prefix.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// The identifier as it appears in URLs and JSON.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id of this kind made from a 64-bit number, as the hub assigns them.
            pub fn from_number(number: u64) -> Self {
                $name(format!("{}_{number:016x}", $prefix))
            }

            /// Whether `text` has this kind's prefix, so a request can be refused early when
            /// it names the wrong kind of record.
            pub fn has_prefix(text: &str) -> bool {
                text.strip_prefix($prefix).is_some_and(|rest| rest.starts_with('_'))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

record_id!(
    /// A tenant: one contact centre, whose records no other tenant sees.
    TenantId, "ten"
);
record_id!(
    /// An agent, supervisor or admin who signs in to a desktop.
    AgentId, "agt"
);
record_id!(
    /// A queue that calls and chats wait in until an agent takes them.
    QueueId, "que"
);
record_id!(
    /// A customer's stable identifier, assigned by the hub.
    CustomerId, "cus"
);
record_id!(
    /// A support ticket.
    TicketId, "tkt"
);
record_id!(
    /// An order.
    OrderId, "ord"
);
record_id!(
    /// The shipment of (part of) an order.
    DeliveryId, "dlv"
);
record_id!(
    /// A customer's shopping cart.
    CartId, "crt"
);
record_id!(
    /// A payment or refund.
    TransactionId, "txn"
);
record_id!(
    /// Interactions about one matter, across channels.
    ConversationId, "cnv"
);
record_id!(
    /// One call or one chat.
    InteractionId, "int"
);
record_id!(
    /// One chat message.
    MessageId, "msg"
);
record_id!(
    /// A note an agent wrote about a customer.
    NoteId, "not"
);
record_id!(
    /// The wrap-up of one interaction.
    WrapUpId, "wrp"
);
record_id!(
    /// An offer of a waiting chat or call to one agent, who accepts it or lets it pass.
    OfferId, "ofr"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_kind() {
        let ticket = TicketId::from_number(0xab);
        assert_eq!(
            ticket.as_str(),
            "tkt_00000000000000ab",
            "prefix, underscore, 16 hex digits"
        );
        assert!(
            TicketId::has_prefix(ticket.as_str()),
            "a ticket id is recognised as one"
        );
        assert!(
            !OrderId::has_prefix(ticket.as_str()),
            "and not as an order id"
        );
        assert!(
            !TicketId::has_prefix("tktx_1"),
            "the prefix must be followed by an underscore"
        );
    }

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = CustomerId::from_number(1);
        let json = serde_json::to_string(&id).expect("an id serialises");
        assert_eq!(
            json, "\"cus_0000000000000001\"",
            "no wrapper object on the wire"
        );
    }
}
