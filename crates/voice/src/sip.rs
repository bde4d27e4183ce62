//! SIP signalling over rsipstack: the phone's endpoint on the network, and registration with
//! a registrar using digest authentication.
//!
//! rsipstack holds the transaction and dialog layers; this module keeps its types out of the
//! phone's API, so that the rest of the product sees only what a call needs.

use std::net::SocketAddr;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::registration::Registration;
use rsipstack::transport::TransportLayer;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::{EndpointBuilder, transaction::Endpoint};
use tokio_util::sync::CancellationToken;

/// Why the phone could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "cannot open the phone's SIP port on {address}: {message}; another program may hold it"
    )]
    Bind {
        address: SocketAddr,
        message: String,
    },
    #[error("{0:?} is not a SIP address; write it as sip:host or sip:user@host:port")]
    BadUri(String),
    #[error(
        "the registrar refused the phone ({status}); check the SIP user and password in the settings"
    )]
    Refused { status: u16 },
    #[error("the registrar did not answer ({0}); check its address and the network")]
    Unreachable(String),
}

/// The user and password the registrar knows the agent's phone by.
#[derive(Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        formatter
            .debug_struct("Account")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The phone's SIP endpoint: one UDP port, served on a task of its own until dropped.
pub struct Phone {
    endpoint: Endpoint,
    address: SocketAddr,
    stop: CancellationToken,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Phone")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Phone {
    /// Opens the phone's endpoint on `address` (port 0 picks a free one).
    pub async fn start(address: SocketAddr) -> Result<Phone, PhoneError> {
        let stop = CancellationToken::new();
        let transports = TransportLayer::new(stop.child_token());
        let udp = UdpConnection::create_connection(address, None, Some(stop.child_token()))
            .await
            .map_err(|error| PhoneError::Bind {
                address,
                message: error.to_string(),
            })?;
        let bound = udp
            .get_addr()
            .get_socketaddr()
            .map_err(|error| PhoneError::Bind {
                address,
                message: error.to_string(),
            })?;
        transports.add_transport(udp.into());

        let endpoint = EndpointBuilder::new()
            .with_user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .with_cancel_token(stop.clone())
            .with_transport_layer(transports)
            .build();
        let inner = endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = inner.serve().await {
                tracing::warn!(%error, "the phone's SIP endpoint stopped");
            }
        });
        tracing::info!(address = %bound, "phone listening for SIP");
        Ok(Phone {
            endpoint,
            address: bound,
            stop,
        })
    }

    /// Where the phone receives SIP.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Registers `account` at `registrar` (such as `sip:pbx.example.com:5060`) for `expires`
    /// seconds, answering its digest challenge; returns the expiry the registrar granted.
    pub async fn register(
        &self,
        registrar: &str,
        account: &Account,
        expires: u32,
    ) -> Result<u32, PhoneError> {
        let uri = rsipstack::sip::Uri::try_from(registrar)
            .map_err(|_| PhoneError::BadUri(registrar.to_owned()))?;
        let credential = Credential {
            username: account.user.clone(),
            password: account.password.clone(),
            realm: None,
            auth_username: None,
        };
        let mut registration = Registration::new(self.endpoint.inner.clone(), Some(credential));
        let answer = registration
            .register(uri, Some(expires))
            .await
            .map_err(|error| PhoneError::Unreachable(error.to_string()))?;

        let status = u16::from(answer.status_code.clone());
        if !(200..300).contains(&status) {
            tracing::warn!(status, user = %account.user, "registration refused");
            return Err(PhoneError::Refused { status });
        }
        tracing::info!(user = %account.user, expires = registration.expires(), "registered");
        Ok(registration.expires())
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
