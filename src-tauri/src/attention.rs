//! Reaching the agent when the window is not in front: a native notification for each call
//! that starts ringing and each chat or call offered, the taskbar entry asking for attention,
//! and a tray icon whose tooltip counts what waits. What to announce is the engine's pure
//! fold ([`Alerts`]); this only shows it.

use std::sync::{Arc, Mutex};

use switchboard_engine::Engine;
use switchboard_engine::alerts::{Alert, Alerts};
use switchboard_engine::calls::CallBoard;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// The tray icon's id.
const TRAY: &str = "main";

/// What the desk has announced, shared by the calls' and the offers' followers.
#[derive(Debug, Default)]
pub struct Attention {
    alerts: Mutex<Alerts>,
}

impl Attention {
    /// Announces the calls that started ringing on `board`.
    pub fn calls_changed(&self, app: &AppHandle, board: &CallBoard) {
        let (fresh, waiting) = match self.alerts.lock() {
            Ok(mut alerts) => (alerts.look_at_calls(board), alerts.waiting()),
            Err(_) => return,
        };
        announce(app, &fresh, waiting);
    }

    /// Announces the offers made since the last look, reading the work list from the cache.
    pub async fn work_changed(&self, app: &AppHandle, engine: &Engine) {
        let Ok(work) = engine.work_list().await else {
            return;
        };
        let (fresh, waiting) = match self.alerts.lock() {
            Ok(mut alerts) => (alerts.look_at_offers(&work.offers), alerts.waiting()),
            Err(_) => return,
        };
        announce(app, &fresh, waiting);
    }
}

/// Makes the tray icon: the app's icon, a menu to bring the window back or quit, and a tooltip
/// that later counts what waits. A desktop without a tray (no status notifier host) goes on
/// without it.
pub fn make_tray(app: &AppHandle) {
    let made = (|| -> tauri::Result<()> {
        let show = MenuItem::with_id(app, "show", "Show Switchboard", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&show, &quit])?;
        let mut tray = TrayIconBuilder::with_id(TRAY)
            .tooltip("Switchboard")
            .menu(&menu)
            .on_menu_event(|app, event| match event.id.as_ref() {
                "show" => bring_forward(app),
                "quit" => app.exit(0),
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
        Ok(())
    })();
    if let Err(error) = made {
        tracing::info!(%error, "no tray icon on this desktop");
    }
}

/// Shows what is new and how many wait: the tray always, the notification and the taskbar only
/// while the agent looks elsewhere.
fn announce(app: &AppHandle, fresh: &[Alert], waiting: usize) {
    if let Some(tray) = app.tray_by_id(TRAY) {
        let tooltip = match waiting {
            0 => "Switchboard".to_owned(),
            1 => "Switchboard: 1 waiting for you".to_owned(),
            n => format!("Switchboard: {n} waiting for you"),
        };
        let label = (waiting > 0).then(|| waiting.to_string());
        if let Err(error) = tray
            .set_tooltip(Some(&tooltip))
            .and_then(|()| tray.set_title(label.as_deref()))
        {
            tracing::debug!(%error, "the tray could not be updated");
        }
    }

    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let in_front = window.is_focused().unwrap_or(true);
    if fresh.is_empty() || in_front {
        if waiting == 0 {
            let _ = window.request_user_attention(None);
        }
        return;
    }
    if let Err(error) = window.request_user_attention(Some(tauri::UserAttentionType::Critical)) {
        tracing::debug!(%error, "the window could not ask for attention");
    }
    for alert in fresh {
        let shown = app
            .notification()
            .builder()
            .title(&alert.title)
            .body(&alert.body)
            .show();
        if let Err(error) = shown {
            // No notification service on this desktop: the taskbar and the tray still tell.
            tracing::debug!(%error, "a notification could not be shown");
        }
    }
}

/// Brings the window back in front.
fn bring_forward(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Follows the cache's sync and announces new offers.
pub fn spawn_offer_alerts(app: AppHandle, engine: Arc<Engine>, attention: Arc<Attention>) {
    tauri::async_runtime::spawn(async move {
        let mut changes = engine.sync_view();
        while changes.changed().await.is_ok() {
            changes.borrow_and_update();
            attention.work_changed(&app, &engine).await;
        }
    });
}
