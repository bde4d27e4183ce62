//! The records that Switchboard's desktop and hub exchange, and nothing that does I/O.
//!
//! Every type here is plain data with serde derives. The desktop derives TypeScript bindings from
//! them (feature `specta`) and the hub derives its OpenAPI schemas (feature `openapi`), so a
//! field renamed here is renamed in the REST contract and in the web view at once.
//!
//! Layout: [`ids`] has one identifier type per kind of record; the records live by subject
//! (customers, tickets, commerce, interactions, agents); [`change`] is the change feed's
//! vocabulary. Timestamps are RFC 3339 strings in UTC; `version` fields count changes and
//! back the hub's ETags.

mod agent;
mod change;
mod commerce;
mod customer;
mod health;
pub mod ids;
mod interaction;
mod page;
mod routing;
mod session;
mod ticket;
mod typing;
mod write;

pub use agent::{Agent, AgentState, Capacity, Queue, Role, Tenant};
pub use change::{Change, ChangePage, Record, RecordKind};
pub use commerce::{
    Cart, Delivery, DeliveryEvent, DeliveryStatus, LineItem, Money, Order, PaymentState,
    Transaction, TransactionKind, TransactionStatus,
};
pub use customer::{Customer, CustomerSummary, Identity, IdentityKind};
pub use health::{DemoLogin, Health, HealthStatus};
pub use ids::{
    AgentId, CartId, ConversationId, CustomerId, DeliveryId, InteractionId, MessageId, NoteId,
    OfferId, OrderId, QueueId, TenantId, TicketId, TransactionId, WrapUpId,
};
pub use interaction::{
    Channel, Conversation, Direction, Interaction, InteractionState, Message, Note, WrapUp,
};
pub use page::{Cursor, Page};
pub use routing::{Offer, OfferState, QueueStats, WaitingInteraction};
pub use session::{LoginAnswer, LoginRequest, Me};
pub use ticket::{Author, Priority, Ticket, TicketComment, TicketStatus};
pub use typing::{TYPING_REPEAT_SECONDS, TYPING_SHOWN_FOR_SECONDS, Typing, TypingParty};
pub use write::{
    CallLog, NewComment, NewMessage, NewNote, NewTicket, NewWrapUp, NoteChange, StateChange,
    TicketChange,
};
