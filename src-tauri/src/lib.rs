//! The Switchboard desktop shell: it adapts the Tauri-free engine to the window and does
//! nothing else. Commands forward to the engine; engine changes become typed events.
//!
//! Layout: [`cli`] parses the command line; [`logging`] writes rolling log files; [`ipc`]
//! holds the commands, events and error type the web view sees, and generates their
//! TypeScript bindings; [`attention`] reaches the agent outside the window (notifications, the
//! taskbar, the tray).

mod attention;
mod cli;
pub mod ipc;
mod logging;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use switchboard_engine::calls::DeskPhone;
use switchboard_engine::{Engine, Settings, settings};
use tauri::Manager;
use tauri_specta::Event;

use crate::attention::Attention;
use crate::cli::Cli;
use crate::ipc::{Calls, CallsChanged, HubStatusChanged, SyncChanged, TypingHeard};

/// The identifier the app is installed under; it names its data, config and log folders.
pub const APP_IDENTIFIER: &str = "app.switchboard.desktop";

/// Starts the desktop and returns when its window closes.
pub fn run() -> ExitCode {
    let cli = Cli::parse();

    let settings_path = cli
        .settings
        .clone()
        .or_else(settings::default_settings_path);
    let settings = match &settings_path {
        Some(path) => Settings::load(path, cli.hub.clone()),
        None => Ok(Settings::resolve(
            None,
            std::env::var(settings::HUB_URL_ENV).ok(),
            cli.hub,
        )),
    };
    let engine = match settings.and_then(Engine::new) {
        Ok(engine) => Arc::new(engine),
        Err(error) => {
            // Logging is not set up yet, and a user who started the app from a terminal needs
            // to read this; a desktop launcher shows nothing either way.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("switchboard: {error}");
            }
            return ExitCode::from(2);
        }
    };

    let calls = Arc::new(Calls::default());
    // FIXME(webview-memory): WebKit's GPU compositing (software GL here) costs the web process
    // about 110 to 170 MiB of PSS with twenty chats open: 322 MiB as built, 196 MiB with
    // compositing and the page cache turned off after the page loads, 135 MiB with them off
    // from the start (switchboard-bench-desk). Turning them off at run time stalled WebDriver
    // after a reload, so it is not done; it needs the settings before the web process starts,
    // which Tauri's window builder does not expose.
    let bindings = ipc::builder();
    let closing = calls.clone();
    let built = tauri::Builder::default()
        // The single-instance plugin must come first so that a second launch hands over to
        // the running window before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(bindings.invoke_handler())
        .manage(engine.clone())
        .manage(calls.clone())
        .setup(move |app| {
            bindings.mount_events(app);

            let log_dir = app.path().app_log_dir()?;
            let guard = logging::init(&log_dir)?;
            app.manage(guard);
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                hub = %engine.settings().hub_url,
                hub_source = ?engine.settings().hub_url_source,
                settings = ?settings_path,
                log_dir = %log_dir.display(),
                "switchboard desktop starting"
            );

            let attention = Arc::new(Attention::default());
            attention::make_tray(app.handle());
            spawn_status_forwarding(app.handle().clone(), engine.clone());
            spawn_sync_forwarding(app.handle().clone(), engine.clone());
            spawn_typing_forwarding(app.handle().clone(), engine.clone());
            attention::spawn_offer_alerts(app.handle().clone(), engine.clone(), attention.clone());
            if let Some(phone) = engine.settings().phone.clone() {
                spawn_phone(
                    app.handle().clone(),
                    phone,
                    calls.clone(),
                    engine.clone(),
                    attention,
                );
            }
            Ok(())
        })
        .build(tauri::generate_context!());

    let app = match built {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "the desktop window failed");
            return ExitCode::FAILURE;
        }
    };
    app.run(move |_, event| {
        // The registrar forgets the desk before the process ends, so calls stop ringing a
        // closed window; the phone waits a few seconds at most for it.
        if let tauri::RunEvent::Exit = event
            && let Some(phone) = closing.get()
        {
            tauri::async_runtime::block_on(phone.stop());
        }
    });
    ExitCode::SUCCESS
}

/// Starts the desk's phone on the headset and tells the window whenever its calls change.
fn spawn_phone(
    app: tauri::AppHandle,
    settings: switchboard_voice::phone::PhoneSettings,
    calls: Arc<Calls>,
    engine: Arc<Engine>,
    attention: Arc<Attention>,
) {
    tauri::async_runtime::spawn(async move {
        let devices = Arc::new(switchboard_voice::sound_card::SoundCard);
        let phone = match DeskPhone::start(settings, devices, engine).await {
            Ok(phone) => phone,
            Err(error) => {
                tracing::error!(%error, "the desk's phone did not start");
                return;
            }
        };
        calls.set(phone.clone());
        let mut board = phone.board();
        loop {
            let now = board.borrow_and_update().clone();
            attention.calls_changed(&app, &now);
            if let Err(error) = CallsChanged(now).emit(&app) {
                tracing::warn!(%error, "cannot tell the window about a call");
            }
            if board.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Tells the window whenever the cache's sync changes.
fn spawn_sync_forwarding(app: tauri::AppHandle, engine: Arc<Engine>) {
    tauri::async_runtime::spawn(async move {
        let mut changes = engine.sync_view();
        while changes.changed().await.is_ok() {
            let view = changes.borrow_and_update().clone();
            if let Err(error) = SyncChanged(view).emit(&app) {
                tracing::warn!(%error, "cannot tell the window about the cache's sync");
            }
        }
    });
}

/// Tells the window whenever a customer types in one of the agent's chats.
fn spawn_typing_forwarding(app: tauri::AppHandle, engine: Arc<Engine>) {
    tauri::async_runtime::spawn(async move {
        let mut heard = engine.typing_heard();
        loop {
            match heard.recv().await {
                Ok(typing) => {
                    if let Err(error) = TypingHeard(typing).emit(&app) {
                        tracing::warn!(%error, "cannot tell the window a customer types");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Probes the hub in the background and tells the window whenever its status changes.
fn spawn_status_forwarding(app: tauri::AppHandle, engine: Arc<Engine>) {
    let prober = engine.clone();
    tauri::async_runtime::spawn(async move { prober.watch_connectivity().await });

    tauri::async_runtime::spawn(async move {
        let mut changes = engine.subscribe();
        while changes.changed().await.is_ok() {
            let status = changes.borrow_and_update().clone();
            if let Err(error) = HubStatusChanged(status).emit(&app) {
                tracing::warn!(%error, "cannot tell the window about a hub status change");
            }
        }
    });
}
