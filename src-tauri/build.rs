//! Builds Tauri's context, and declares the app's commands so that each one needs an explicit
//! permission in a capability file rather than being open to every window by default.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "hub_status",
        "retry_hub",
        "sign_in",
        "sign_out",
        "list_customers",
        "get_customer",
        "sync_view",
        "call_board",
        "answer_call",
        "decline_call",
        "hang_up_call",
        "hold_call",
        "mute_call",
        "send_call_keys",
        "transfer_call",
        "dial",
        "customer_file",
        "add_note",
        "open_ticket",
        "set_ticket_status",
        "update_ticket",
        "link_call",
        "wrap_up_call",
        "dispositions",
        "agent_state",
        "set_agent_state",
        "work_list",
        "accept_offer",
        "decline_offer",
        "send_message",
        "typing",
        "end_interaction",
        "wrap_up_chat",
        "writes_needing_me",
        "resolve_write",
        "my_day",
    ]);
    if let Err(error) =
        tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
    {
        // A build script reports failure by panicking; say what to fix first.
        panic!("tauri build step failed: {error:#}; check tauri.conf.json and capabilities/");
    }
}
