//! Where the desktop finds its hub, resolved from the settings file, the environment and the
//! command line, in that order of strength.
//!
//! The settings file is TOML in the platform's configuration folder
//! (`~/.config/switchboard/settings.toml` on Linux). A missing file means "use the defaults";
//! a file that cannot be read is an error, because silently ignoring an admin's settings is
//! worse than refusing to start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use switchboard_voice::phone::PhoneSettings;

use crate::EngineError;
use crate::phone_settings::PhoneSection;

/// The hub a fresh install talks to: the demo hub that `cargo xtask run` starts.
pub const DEFAULT_HUB_URL: &str = "http://127.0.0.1:7300";

/// The environment variable that overrides the settings file's hub address.
pub const HUB_URL_ENV: &str = "SWITCHBOARD_HUB_URL";

/// Where the hub address in force came from, so that the window and logs can say why the
/// desktop talks to the hub it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    Default,
    SettingsFile,
    Environment,
    CommandLine,
}

/// The settings file as written on disk; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    pub hub_url: Option<String>,
    /// Seconds between health probes of the hub.
    pub health_interval_secs: Option<u64>,
    /// Seconds after which a request to the hub counts as unanswered.
    pub request_timeout_secs: Option<u64>,
    /// The softphone; without it the desk has no phone.
    pub phone: Option<PhoneSection>,
    /// Where the desk keeps its cache; the user's local data folder when unset.
    pub cache_path: Option<PathBuf>,
}

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub hub_url: String,
    pub hub_url_source: SettingsSource,
    pub health_interval: Duration,
    pub request_timeout: Duration,
    /// The softphone's settings, when the file has a `[phone]` table.
    pub phone: Option<PhoneSettings>,
    /// Where the desk keeps its cache of the hub's records; none on a system without a data
    /// folder (the desk then works online only).
    pub cache_path: Option<PathBuf>,
}

impl Settings {
    /// Combines the layers, strongest last: defaults, file, environment, command line.
    pub fn resolve(
        file: Option<SettingsFile>,
        environment_hub: Option<String>,
        command_line_hub: Option<String>,
    ) -> Settings {
        let file = file.unwrap_or_default();
        let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());

        let (hub_url, hub_url_source) = if let Some(url) = non_empty(command_line_hub) {
            (url, SettingsSource::CommandLine)
        } else if let Some(url) = non_empty(environment_hub) {
            (url, SettingsSource::Environment)
        } else if let Some(url) = non_empty(file.hub_url) {
            (url, SettingsSource::SettingsFile)
        } else {
            (DEFAULT_HUB_URL.to_owned(), SettingsSource::Default)
        };

        // Probing more often than every second adds load without telling the agent anything
        // sooner that they could act on.
        let health_interval = Duration::from_secs(file.health_interval_secs.unwrap_or(3).max(1));
        let request_timeout = Duration::from_secs(file.request_timeout_secs.unwrap_or(5).max(1));

        Settings {
            hub_url: hub_url.trim().to_owned(),
            hub_url_source,
            health_interval,
            request_timeout,
            phone: None,
            cache_path: file.cache_path.or_else(switchboard_store::default_path),
        }
    }

    /// Loads the settings file at `path` (if it exists) and resolves it with the environment
    /// and `command_line_hub`.
    pub fn load(path: &Path, command_line_hub: Option<String>) -> Result<Settings, EngineError> {
        let file = read_settings_file(path)?;
        let phone = file
            .as_ref()
            .and_then(|file| file.phone.as_ref())
            .map(PhoneSection::resolve)
            .transpose()?;
        let environment_hub = std::env::var(HUB_URL_ENV).ok();
        Ok(Settings {
            phone,
            ..Settings::resolve(file, environment_hub, command_line_hub)
        })
    }
}

/// The default location of the settings file, or `None` on a system with no configuration
/// folder (then only the environment and command line apply).
pub fn default_settings_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("switchboard").join("settings.toml"))
}

/// Reads and parses a settings file; `Ok(None)` when it does not exist.
pub fn read_settings_file(path: &Path) -> Result<Option<SettingsFile>, EngineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(EngineError::Settings(format!(
                "cannot read the settings file {}: {error}; fix its permissions or remove it",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|error| {
        EngineError::Settings(format!(
            "the settings file {} is not valid: {}; correct it or remove it to use the defaults",
            path.display(),
            error.message()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(hub: &str) -> Option<SettingsFile> {
        Some(SettingsFile {
            hub_url: Some(hub.to_owned()),
            ..SettingsFile::default()
        })
    }

    #[test]
    fn with_nothing_set_the_demo_hub_is_used() {
        let settings = Settings::resolve(None, None, None);
        assert_eq!(
            settings.hub_url, DEFAULT_HUB_URL,
            "a fresh install finds the demo hub"
        );
        assert_eq!(
            settings.hub_url_source,
            SettingsSource::Default,
            "and says it is a default"
        );
    }

    #[test]
    fn each_layer_overrides_the_ones_below() {
        let from_file = Settings::resolve(file("http://file:1"), None, None);
        assert_eq!(
            from_file.hub_url_source,
            SettingsSource::SettingsFile,
            "file beats default"
        );

        let from_env = Settings::resolve(file("http://file:1"), Some("http://env:2".into()), None);
        assert_eq!(from_env.hub_url, "http://env:2", "environment beats file");

        let from_cli = Settings::resolve(
            file("http://file:1"),
            Some("http://env:2".into()),
            Some("http://cli:3".into()),
        );
        assert_eq!(
            from_cli.hub_url, "http://cli:3",
            "command line beats everything"
        );
        assert_eq!(
            from_cli.hub_url_source,
            SettingsSource::CommandLine,
            "and is reported"
        );
    }

    #[test]
    fn empty_values_do_not_override() {
        let settings = Settings::resolve(file("http://file:1"), Some("  ".into()), Some("".into()));
        assert_eq!(
            settings.hub_url, "http://file:1",
            "an empty variable is as good as unset"
        );
    }

    #[test]
    fn a_missing_file_is_fine_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("settings.toml");
        assert_eq!(
            read_settings_file(&path).expect("missing is fine"),
            None,
            "no file, defaults"
        );

        std::fs::write(
            &path,
            "hub_url = \"http://hub:7300\"\nhealth_interval_secs = 10\n",
        )
        .expect("write settings");
        let parsed = read_settings_file(&path).expect("valid settings parse");
        assert_eq!(
            parsed.and_then(|f| f.hub_url).as_deref(),
            Some("http://hub:7300"),
            "the file's hub address is read"
        );

        std::fs::write(
            &path,
            "hub_url = \"http://hub:7300\"\n[phone]\nregistrar = \"sip:pbx\"\n\
             user = \"1001\"\npassword = \"pw\"\n",
        )
        .expect("write settings");
        let settings = Settings::load(&path, None).expect("a file with a phone loads");
        assert_eq!(
            settings.phone.and_then(|phone| phone.registrar).as_deref(),
            Some("sip:pbx"),
            "the [phone] table becomes the phone's settings"
        );
        std::fs::write(&path, "[phone]\ntransport = \"carrier pigeon\"\n").expect("write");
        assert!(
            Settings::load(&path, None).is_err(),
            "a phone that cannot work stops the desk with a reason"
        );

        std::fs::write(&path, "hub_ulr = \"typo\"\n").expect("write settings");
        let error = read_settings_file(&path).expect_err("a misspelt key is refused");
        assert!(
            error.to_string().contains("settings.toml"),
            "the error names the file to fix: {error}"
        );
    }
}
