//! The `switchboard` desktop executable; everything it does lives in the library.

// Release builds on Windows open no console window beside the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    switchboard_desktop::run()
}
