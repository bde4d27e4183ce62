//! Everything the web view can call or hear: commands, events and the one error type, plus the
//! generation of their TypeScript bindings (`ui/src/lib/ipc/bindings.ts`).
//!
//! Commands only translate: they call the engine and map its errors to [`CommandError`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_engine::cache::SyncView;
use switchboard_engine::calls::{CallBoard, DeskPhone};
use switchboard_engine::work::{AgentStateView, Disposition, MyDay, WorkList};
use switchboard_engine::writes::{Resolution, WriteView};
use switchboard_engine::{Engine, EngineError, ErrorCode, HubStatus};
use switchboard_model::{
    AgentState, ConversationId, Customer, CustomerId, CustomerSummary, InteractionId, NewComment,
    NewNote, NewTicket, Priority, TicketChange, TicketId, TicketStatus, Typing,
};
use switchboard_store::{Action, CustomerFile};
use tauri::State;
use tauri_specta::{Builder, collect_commands, collect_events};

/// The error every command returns: a stable code to branch on and a sentence to show.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<EngineError> for CommandError {
    fn from(error: EngineError) -> Self {
        CommandError {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// Sent whenever the hub's connectivity or what it says about itself changes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct HubStatusChanged(pub HubStatus);

/// Sent whenever the cache's sync changes: its progress, the link, the waiting writes.
/// `None` while nobody is signed in.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SyncChanged(pub Option<SyncView>);

/// Sent whenever a customer types in one of the agent's chats (again every few seconds while
/// they go on); the window shows it for a few seconds after the last.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct TypingHeard(pub Typing);

/// The cache's sync now; the window asks at start, then follows [`SyncChanged`].
#[tauri::command]
#[specta::specta]
pub fn sync_view(engine: State<'_, Arc<Engine>>) -> Option<SyncView> {
    engine.sync_view().borrow().clone()
}

/// Sent whenever a call or the phone's line changes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CallsChanged(pub CallBoard);

/// The desk's phone, once it has started; absent on a desk without a `[phone]` table. The
/// phone is Rust's, not the web view's: a reload of the window leaves every call as it was.
#[derive(Debug, Default)]
pub struct Calls {
    phone: std::sync::OnceLock<Arc<DeskPhone>>,
}

impl Calls {
    pub fn set(&self, phone: Arc<DeskPhone>) {
        let _ = self.phone.set(phone);
    }

    /// The desk's phone, once started.
    pub fn get(&self) -> Option<Arc<DeskPhone>> {
        self.phone.get().cloned()
    }

    fn phone(&self) -> Result<Arc<DeskPhone>, CommandError> {
        self.phone
            .get()
            .cloned()
            .ok_or_else(|| EngineError::NoPhone.into())
    }
}

/// The calls and the phone's line now; the window asks at start (and after a reload), then
/// follows [`CallsChanged`].
#[tauri::command]
#[specta::specta]
pub fn call_board(calls: State<'_, Arc<Calls>>) -> CallBoard {
    calls
        .phone()
        .map(|phone| phone.board().borrow().clone())
        .unwrap_or_default()
}

/// Answers a ringing call.
#[tauri::command]
#[specta::specta]
pub async fn answer_call(calls: State<'_, Arc<Calls>>, id: String) -> Result<(), CommandError> {
    Ok(calls.phone()?.answer(&id).await?)
}

/// Declines a ringing call.
#[tauri::command]
#[specta::specta]
pub fn decline_call(calls: State<'_, Arc<Calls>>, id: String) -> Result<(), CommandError> {
    Ok(calls.phone()?.decline(&id)?)
}

/// Hangs a call up (or cancels one still dialling).
#[tauri::command]
#[specta::specta]
pub async fn hang_up_call(calls: State<'_, Arc<Calls>>, id: String) -> Result<(), CommandError> {
    Ok(calls.phone()?.hang_up(&id).await?)
}

/// Puts a call on hold, or takes it off.
#[tauri::command]
#[specta::specta]
pub async fn hold_call(
    calls: State<'_, Arc<Calls>>,
    id: String,
    hold: bool,
) -> Result<(), CommandError> {
    Ok(calls.phone()?.hold(&id, hold).await?)
}

/// Mutes the agent's microphone on a call, or unmutes it.
#[tauri::command]
#[specta::specta]
pub fn mute_call(
    calls: State<'_, Arc<Calls>>,
    id: String,
    muted: bool,
) -> Result<(), CommandError> {
    Ok(calls.phone()?.mute(&id, muted)?)
}

/// Sends keypad keys on a call.
#[tauri::command]
#[specta::specta]
pub async fn send_call_keys(
    calls: State<'_, Arc<Calls>>,
    id: String,
    keys: String,
) -> Result<(), CommandError> {
    Ok(calls.phone()?.send_keys(&id, &keys).await?)
}

/// Transfers a call to `target` without consulting it first.
#[tauri::command]
#[specta::specta]
pub async fn transfer_call(
    calls: State<'_, Arc<Calls>>,
    id: String,
    target: String,
) -> Result<(), CommandError> {
    Ok(calls.phone()?.transfer(&id, &target).await?)
}

/// Calls `number`; the answer is the new call's id. With `customer` (and `conversation`) the
/// call is about them from the start, continuing that conversation: "call this customer" from
/// a chat keeps the history in one place.
#[tauri::command]
#[specta::specta]
pub async fn dial(
    calls: State<'_, Arc<Calls>>,
    number: String,
    customer: Option<CustomerId>,
    conversation: Option<ConversationId>,
) -> Result<String, CommandError> {
    Ok(calls
        .phone()?
        .dial_about(&number, customer, conversation)
        .await?)
}

/// The hub's status now; the window asks once at start, then follows [`HubStatusChanged`].
#[tauri::command]
#[specta::specta]
pub fn hub_status(engine: State<'_, Arc<Engine>>) -> HubStatus {
    engine.status()
}

/// Probes the hub at once instead of waiting for the next scheduled probe.
#[tauri::command]
#[specta::specta]
pub async fn retry_hub(engine: State<'_, Arc<Engine>>) -> Result<HubStatus, CommandError> {
    engine.probe().await;
    Ok(engine.status())
}

/// Signs the agent in with login and password; the answer names who is signed in.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    engine: State<'_, Arc<Engine>>,
    login: String,
    password: String,
) -> Result<HubStatus, CommandError> {
    Ok(engine.sign_in(&login, &password).await?)
}

/// Signs the agent out; the window returns to the sign-in form.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(engine: State<'_, Arc<Engine>>) -> Result<HubStatus, CommandError> {
    Ok(engine.sign_out().await?)
}

/// Customers whose name, company, phone or e-mail matches `query`, in name order.
#[tauri::command]
#[specta::specta]
pub async fn list_customers(
    engine: State<'_, Arc<Engine>>,
    query: Option<String>,
) -> Result<Vec<CustomerSummary>, CommandError> {
    Ok(engine.customers(query.as_deref()).await?)
}

/// One customer's whole profile.
#[tauri::command]
#[specta::specta]
pub async fn get_customer(
    engine: State<'_, Arc<Engine>>,
    id: CustomerId,
) -> Result<Customer, CommandError> {
    Ok(engine.customer(&id).await?)
}

/// Everything the desk knows about one customer, for the pane: profile, tickets (open first),
/// orders with deliveries, carts, payments, and every interaction, message, note and wrap-up;
/// from the cache, so it opens with the hub away.
#[tauri::command]
#[specta::specta]
pub async fn customer_file(
    engine: State<'_, Arc<Engine>>,
    id: CustomerId,
) -> Result<CustomerFile, CommandError> {
    Ok(engine.customer_file(&id).await?)
}

/// Adds a note to a customer's record, during `interaction` when one is given. It shows at
/// once and reaches the hub when it can.
#[tauri::command]
#[specta::specta]
pub async fn add_note(
    engine: State<'_, Arc<Engine>>,
    customer: CustomerId,
    interaction: Option<InteractionId>,
    body: String,
) -> Result<(), CommandError> {
    engine
        .act(Action::AddNote(NewNote {
            id: None,
            customer_id: customer,
            interaction_id: interaction,
            body,
        }))
        .await?;
    Ok(())
}

/// Opens a ticket for a customer, with what the customer needs as its first internal comment.
#[tauri::command]
#[specta::specta]
pub async fn open_ticket(
    engine: State<'_, Arc<Engine>>,
    customer: CustomerId,
    subject: String,
    priority: Priority,
    comment: Option<String>,
) -> Result<(), CommandError> {
    engine
        .act(Action::OpenTicket(NewTicket {
            id: None,
            customer_id: customer,
            subject,
            priority: Some(priority),
            assignee: None,
            comment: comment.filter(|text| !text.trim().is_empty()),
        }))
        .await?;
    Ok(())
}

/// Moves a ticket to another status (solving it, say).
#[tauri::command]
#[specta::specta]
pub async fn set_ticket_status(
    engine: State<'_, Arc<Engine>>,
    ticket: TicketId,
    status: TicketStatus,
) -> Result<(), CommandError> {
    engine
        .act(Action::ChangeTicket {
            id: ticket,
            change: TicketChange {
                status: Some(status),
                ..TicketChange::default()
            },
        })
        .await?;
    Ok(())
}

/// Changes what the agent changed of a ticket (absent fields stay as they are) and adds an
/// internal comment; each is its own write, the change first.
#[tauri::command]
#[specta::specta]
pub async fn update_ticket(
    engine: State<'_, Arc<Engine>>,
    ticket: TicketId,
    subject: Option<String>,
    status: Option<TicketStatus>,
    priority: Option<Priority>,
    comment: Option<String>,
) -> Result<(), CommandError> {
    if subject.is_some() || status.is_some() || priority.is_some() {
        engine
            .act(Action::ChangeTicket {
                id: ticket.clone(),
                change: TicketChange {
                    subject,
                    status,
                    priority,
                    ..TicketChange::default()
                },
            })
            .await?;
    }
    if let Some(body) = comment.filter(|text| !text.trim().is_empty()) {
        engine
            .act(Action::CommentOnTicket {
                id: ticket,
                comment: NewComment {
                    body,
                    public: false,
                },
            })
            .await?;
    }
    Ok(())
}

/// Says whom a call is about, when its number pointed at several customers or none.
#[tauri::command]
#[specta::specta]
pub fn link_call(
    calls: State<'_, Arc<Calls>>,
    id: String,
    customer: CustomerId,
) -> Result<(), CommandError> {
    Ok(calls.phone()?.link(&id, customer)?)
}

/// Wraps up an ended call with a disposition and notes; it leaves the calls bar, and the agent
/// is available again unless another call goes on.
#[tauri::command]
#[specta::specta]
pub async fn wrap_up_call(
    engine: State<'_, Arc<Engine>>,
    calls: State<'_, Arc<Calls>>,
    id: String,
    disposition: String,
    notes: Option<String>,
) -> Result<(), CommandError> {
    let phone = calls.phone()?;
    let (view, busy) = {
        let board = phone.board();
        let board = board.borrow();
        let view = board.find(&id).cloned();
        (view, board.busy())
    };
    let view = view.ok_or_else(|| {
        CommandError::from(EngineError::CallLog(format!(
            "call {id} is no longer on the board"
        )))
    })?;
    engine.wrap_up(&view, disposition, notes, busy).await?;
    phone.wrapped_up(&id);
    Ok(())
}

/// The disposition codes the wrap-up form offers.
#[tauri::command]
#[specta::specta]
pub fn dispositions() -> Vec<Disposition> {
    switchboard_engine::work::dispositions()
}

/// The agent's state and since when; none until the cache holds the agent's record.
#[tauri::command]
#[specta::specta]
pub async fn agent_state(
    engine: State<'_, Arc<Engine>>,
) -> Result<Option<AgentStateView>, CommandError> {
    Ok(engine.agent_state().await?)
}

/// Sets the agent's state (available, break, offline...).
#[tauri::command]
#[specta::specta]
pub async fn set_agent_state(
    engine: State<'_, Arc<Engine>>,
    state: AgentState,
) -> Result<(), CommandError> {
    Ok(engine.set_state(state).await?)
}

/// The agent's work list: offers to answer, chats (with their threads), routed calls.
#[tauri::command]
#[specta::specta]
pub async fn work_list(engine: State<'_, Arc<Engine>>) -> Result<WorkList, CommandError> {
    Ok(engine.work_list().await?)
}

/// Takes an offered chat or call.
#[tauri::command]
#[specta::specta]
pub async fn accept_offer(engine: State<'_, Arc<Engine>>, id: String) -> Result<(), CommandError> {
    engine.accept_offer(&id).await?;
    Ok(())
}

/// Passes an offer on to the next agent.
#[tauri::command]
#[specta::specta]
pub async fn decline_offer(engine: State<'_, Arc<Engine>>, id: String) -> Result<(), CommandError> {
    Ok(engine.decline_offer(&id).await?)
}

/// Sends a message into one of the agent's chats.
#[tauri::command]
#[specta::specta]
pub async fn send_message(
    engine: State<'_, Arc<Engine>>,
    interaction: InteractionId,
    body: String,
) -> Result<(), CommandError> {
    Ok(engine.send_message(interaction, body).await?)
}

/// Tells the customer the agent is typing in one of their chats; the window sends it at most
/// every few seconds while the agent types. Not kept when the hub cannot take it.
#[tauri::command]
#[specta::specta]
pub async fn typing(
    engine: State<'_, Arc<Engine>>,
    interaction: InteractionId,
) -> Result<(), CommandError> {
    Ok(engine.typing(interaction.as_str()).await?)
}

/// Ends a chat or routed call the agent holds.
#[tauri::command]
#[specta::specta]
pub async fn end_interaction(
    engine: State<'_, Arc<Engine>>,
    id: String,
) -> Result<(), CommandError> {
    Ok(engine.end_interaction(&id).await?)
}

/// Wraps a chat up (ending it first if it still goes on).
#[tauri::command]
#[specta::specta]
pub async fn wrap_up_chat(
    engine: State<'_, Arc<Engine>>,
    id: InteractionId,
    disposition: String,
    notes: Option<String>,
) -> Result<(), CommandError> {
    Ok(engine.wrap_up_chat(id, disposition, notes).await?)
}

/// The agent's day so far and the queues' load now.
#[tauri::command]
#[specta::specta]
pub async fn my_day(engine: State<'_, Arc<Engine>>) -> Result<MyDay, CommandError> {
    Ok(engine.my_day().await?)
}

/// The agent's writes the hub did not take as they were: conflicts and refusals.
#[tauri::command]
#[specta::specta]
pub async fn writes_needing_me(
    engine: State<'_, Arc<Engine>>,
) -> Result<Vec<WriteView>, CommandError> {
    Ok(engine.writes_needing_agent().await?)
}

/// Carries out the agent's decision about one of those writes.
#[tauri::command]
#[specta::specta]
pub async fn resolve_write(
    engine: State<'_, Arc<Engine>>,
    id: String,
    resolution: Resolution,
) -> Result<(), CommandError> {
    Ok(engine.resolve_write(id, resolution).await?)
}

/// The registry of commands and events, shared by the app and by the bindings generator so
/// that the two cannot list different things.
pub fn builder() -> Builder<tauri::Wry> {
    // Every type crosses the boundary in the same shape both ways, so one TypeScript type per
    // Rust type is clearer than separate serialize and deserialize variants.
    Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(collect_commands![
            hub_status,
            retry_hub,
            sign_in,
            sign_out,
            list_customers,
            get_customer,
            sync_view,
            call_board,
            answer_call,
            decline_call,
            hang_up_call,
            hold_call,
            mute_call,
            send_call_keys,
            transfer_call,
            dial,
            customer_file,
            add_note,
            open_ticket,
            set_ticket_status,
            update_ticket,
            link_call,
            wrap_up_call,
            dispositions,
            agent_state,
            set_agent_state,
            work_list,
            accept_offer,
            decline_offer,
            send_message,
            typing,
            end_interaction,
            wrap_up_chat,
            writes_needing_me,
            resolve_write,
            my_day
        ])
        .events(collect_events![
            HubStatusChanged,
            CallsChanged,
            SyncChanged,
            TypingHeard
        ])
}

/// Where the committed bindings live.
pub fn bindings_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/ipc/bindings.ts")
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &Path) -> Result<(), String> {
    let typescript = specta_typescript::Typescript::default().header(
        "// Generated from the Rust IPC definitions by `cargo xtask bindings`. Do not edit.",
    );
    builder()
        .export(typescript, path)
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when the committed bindings differ from what the Rust definitions generate. Set
    /// `SWITCHBOARD_BLESS=1` (or run `cargo xtask bindings`) to rewrite them.
    #[test]
    fn committed_bindings_match_the_rust_definitions() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let fresh_path = dir.path().join("bindings.ts");
        export_bindings(&fresh_path).expect("bindings generate");
        let fresh = std::fs::read_to_string(&fresh_path).expect("generated bindings are readable");

        let committed_path = bindings_path();
        if std::env::var_os("SWITCHBOARD_BLESS").is_some() {
            std::fs::write(&committed_path, &fresh).expect("the bindings file is writable");
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();

        assert!(
            committed == fresh,
            "{} is out of date with the Rust commands and types; run `cargo xtask bindings` and \
             commit the result",
            committed_path.display()
        );
    }
}
