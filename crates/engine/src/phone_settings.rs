//! The softphone's part of the settings file, the `[phone]` table, turned into the phone's
//! own settings. A desk without the table has no phone; a table that cannot work (an address
//! that is not one, a codec the phone lacks) is refused with what to correct, because a phone
//! that silently never rings is worse than a desk that says why it will not start.

use std::net::SocketAddr;

use serde::Deserialize;
use switchboard_voice::g711::Law;
use switchboard_voice::phone::{Account, PhoneSettings, Transport};

use crate::EngineError;

/// The `[phone]` table as written; every field but the registrar's is optional.
///
/// ```toml
/// [phone]
/// listen = "192.0.2.10:5060"          # this desk's address for SIP; port 0 picks one
/// registrar = "sip:pbx.example.com"
/// user = "1001"
/// password = "…"
/// outbound_proxy = "192.0.2.1:5060"   # every call goes through it
/// transport = "udp"                   # or "tcp"
/// codecs = ["pcmu", "pcma"]           # most wanted first
/// register_expires_secs = 300
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSection {
    pub listen: Option<String>,
    pub registrar: Option<String>,
    pub user: Option<String>,
    // FIXME(phone-keyring): the SIP password is read from the settings file; it belongs in the
    // OS keyring with the hub token, which the keyring work brings.
    pub password: Option<String>,
    pub outbound_proxy: Option<String>,
    pub transport: Option<String>,
    pub codecs: Option<Vec<String>>,
    pub register_expires_secs: Option<u32>,
}

impl PhoneSection {
    /// The phone's settings, or what in the table must be corrected.
    pub fn resolve(&self) -> Result<PhoneSettings, EngineError> {
        let wrong = |what: String| EngineError::Settings(format!("in [phone], {what}"));
        let address = |field: &str, text: &str| -> Result<SocketAddr, EngineError> {
            text.trim().parse().map_err(|_| {
                wrong(format!(
                    "{field} = {text:?} is not an address and port such as \"192.0.2.10:5060\""
                ))
            })
        };

        let listen = match &self.listen {
            Some(text) => address("listen", text)?,
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let outbound_proxy = self
            .outbound_proxy
            .as_deref()
            .map(|text| address("outbound_proxy", text))
            .transpose()?;
        let transport = match self
            .transport
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("udp") => Transport::Udp,
            Some("tcp") => Transport::Tcp,
            Some(other) => {
                return Err(wrong(format!(
                    "transport = {other:?} is neither \"udp\" nor \"tcp\""
                )));
            }
        };
        let codecs = match &self.codecs {
            None => vec![Law::Mu, Law::A],
            Some(names) => {
                let mut codecs = Vec::new();
                for name in names {
                    let law = match name.to_ascii_lowercase().as_str() {
                        "pcmu" | "g711u" | "ulaw" => Law::Mu,
                        "pcma" | "g711a" | "alaw" => Law::A,
                        other => {
                            return Err(wrong(format!(
                                "codec {other:?} is not one the phone speaks (\"pcmu\", \"pcma\")"
                            )));
                        }
                    };
                    if !codecs.contains(&law) {
                        codecs.push(law);
                    }
                }
                if codecs.is_empty() {
                    return Err(wrong(
                        "codecs is empty; list \"pcmu\", \"pcma\" or both".to_owned(),
                    ));
                }
                codecs
            }
        };
        let registrar = self
            .registrar
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if let Some(registrar) = registrar
            && !registrar.starts_with("sip:")
        {
            return Err(wrong(format!(
                "registrar = {registrar:?} must be a SIP address such as \"sip:pbx.example.com\""
            )));
        }
        let account = match (&self.user, &self.password) {
            (Some(user), Some(password)) => Some(Account {
                user: user.clone(),
                password: password.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(wrong(
                    "user and password go together; set both or neither".to_owned(),
                ));
            }
        };
        if registrar.is_some() && account.is_none() {
            return Err(wrong(
                "a registrar needs the user and password to register with".to_owned(),
            ));
        }

        Ok(PhoneSettings {
            listen,
            transport,
            registrar: registrar.map(str::to_owned),
            account,
            outbound_proxy,
            codecs,
            register_expires: self.register_expires_secs.unwrap_or(300).clamp(60, 3_600),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> PhoneSection {
        toml::from_str(text).expect("a valid [phone] table")
    }

    #[test]
    fn a_registered_phone_is_read_whole() {
        let settings = section(
            "listen = \"127.0.0.1:5070\"\nregistrar = \"sip:pbx.example.com\"\nuser = \"1001\"\n\
             password = \"secret\"\noutbound_proxy = \"127.0.0.1:5060\"\ntransport = \"TCP\"\n\
             codecs = [\"pcma\", \"pcmu\"]\n",
        )
        .resolve()
        .expect("a complete table resolves");
        assert_eq!(settings.listen.port(), 5070);
        assert_eq!(
            settings.transport,
            Transport::Tcp,
            "transport names ignore case"
        );
        assert_eq!(
            settings.codecs,
            vec![Law::A, Law::Mu],
            "codecs keep the admin's order"
        );
        assert_eq!(settings.account.map(|a| a.user).as_deref(), Some("1001"));
        assert_eq!(settings.register_expires, 300, "five minutes unless set");
    }

    #[test]
    fn mistakes_are_refused_with_what_to_correct() {
        for (text, says) in [
            ("listen = \"pbx:5060\"", "listen"),
            ("transport = \"sctp\"", "transport"),
            ("codecs = [\"opus\"]", "opus"),
            (
                "registrar = \"pbx.example.com\"\nuser = \"a\"\npassword = \"b\"",
                "sip:",
            ),
            ("registrar = \"sip:pbx\"", "user and password"),
            ("user = \"1001\"", "together"),
        ] {
            let error = section(text)
                .resolve()
                .expect_err("a broken table is refused");
            assert!(
                error.to_string().contains(says),
                "the message for {text:?} names {says:?}: {error}"
            );
        }
    }
}
