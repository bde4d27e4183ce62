//! Someone typing in a chat: a live signal, never stored and never in the change feed, that
//! the other side shows for a few seconds ("Maya is typing…").

use serde::{Deserialize, Serialize};

use crate::{ConversationId, InteractionId};

/// How long a typing signal is shown after it arrives; the typing side repeats it more often
/// than this while it goes on typing, and stops when it stops.
pub const TYPING_SHOWN_FOR_SECONDS: u64 = 6;

/// How often, at most, one side repeats its signal while it types.
pub const TYPING_REPEAT_SECONDS: u64 = 3;

/// Which side of a chat is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TypingParty {
    Customer,
    Agent,
}

/// One side of a chat typing now: the `typing` event of the hub's event streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Typing {
    pub conversation_id: ConversationId,
    pub interaction_id: InteractionId,
    pub party: TypingParty,
}
