//! Errors the engine reports to the window, each with a stable code the window can act on.

use switchboard_client::ClientError;
use switchboard_voice::phone::PhoneError;

/// A stable code for each kind of failure, so that the window never matches on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The hub did not answer; the agent should check the link or wait.
    HubUnreachable,
    /// The hub answered and refused; the message says why.
    HubRejected,
    /// The record asked for does not exist.
    NotFound,
    /// The login or password is wrong; the agent should type them again.
    InvalidCredentials,
    /// Nobody is signed in, or the hub ended the session; the window shows the sign-in form.
    SignedOut,
    /// The settings or policy file is wrong; an admin must fix it.
    InvalidSettings,
    /// The desk has no phone, or it cannot reach its registrar.
    PhoneUnavailable,
    /// The call cannot do that now (it ended, or is not answered yet); the message says why.
    CallRefused,
    /// What the agent typed cannot be saved as it is; the message says what to change.
    InvalidInput,
    /// Something that should not happen; the logs have details.
    Internal,
}

/// What went wrong while serving the window.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Hub(#[from] ClientError),
    #[error("{0}")]
    Settings(String),
    #[error("the login or the password is wrong; check both and try again")]
    InvalidCredentials,
    #[error("sign in to continue: {0}")]
    SignedOut(String),
    #[error(transparent)]
    Phone(PhoneError),
    #[error("this desk has no phone; an admin sets one up in the settings file's [phone] table")]
    NoPhone,
    #[error("{0}")]
    Cache(String),
    #[error("{0}")]
    CallLog(String),
    #[error("sign in first; the desk writes for the agent who is signed in")]
    NotSignedIn,
    #[error("{0}")]
    Action(String),
}

impl EngineError {
    /// The code the window receives with this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Hub(error) if error.is_unauthenticated() => ErrorCode::SignedOut,
            EngineError::Hub(error) if error.is_unreachable() => ErrorCode::HubUnreachable,
            EngineError::Hub(error) if error.is_not_found() => ErrorCode::NotFound,
            EngineError::Hub(ClientError::InvalidUrl(_)) => ErrorCode::InvalidSettings,
            EngineError::Hub(ClientError::Decode(_)) => ErrorCode::Internal,
            EngineError::Hub(_) => ErrorCode::HubRejected,
            EngineError::Settings(_) => ErrorCode::InvalidSettings,
            EngineError::InvalidCredentials => ErrorCode::InvalidCredentials,
            EngineError::SignedOut(_) => ErrorCode::SignedOut,
            EngineError::NoPhone => ErrorCode::PhoneUnavailable,
            EngineError::Cache(_) => ErrorCode::Internal,
            EngineError::CallLog(_) => ErrorCode::CallRefused,
            EngineError::NotSignedIn => ErrorCode::SignedOut,
            EngineError::Action(_) => ErrorCode::InvalidInput,
            EngineError::Phone(error) => match error {
                PhoneError::NoSuchCall(_) => ErrorCode::NotFound,
                PhoneError::Bind { .. }
                | PhoneError::NotConfigured
                | PhoneError::Refused { .. }
                | PhoneError::Unreachable(_) => ErrorCode::PhoneUnavailable,
                PhoneError::BadUri(_)
                | PhoneError::NotNow { .. }
                | PhoneError::BadKeys(_)
                | PhoneError::Call { .. } => ErrorCode::CallRefused,
            },
        }
    }
}
