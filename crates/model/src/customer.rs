//! Customers and the identities (phone numbers, e-mail addresses, chat handles) that point at them.

use serde::{Deserialize, Serialize};

use crate::CustomerId;

/// What kind of address an identity is; it decides how the value is normalised and matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A telephone number in E.164 form, such as `+447700900123`.
    Phone,
    /// An e-mail address, lower-cased.
    Email,
    /// A handle on a chat channel, such as a web chat visitor id.
    ChatHandle,
}

impl IdentityKind {
    /// The name used in storage and in the REST API.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone",
            IdentityKind::Email => "email",
            IdentityKind::ChatHandle => "chat_handle",
        }
    }

    /// Parses the name used in storage; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "phone" => Some(IdentityKind::Phone),
            "email" => Some(IdentityKind::Email),
            "chat_handle" => Some(IdentityKind::ChatHandle),
            _ => None,
        }
    }
}

/// One address by which a customer can be recognised when they call or write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    pub kind: IdentityKind,
    /// The normalised value: E.164 for phones, lower case for e-mail.
    pub value: String,
    /// A short label the agent sees, such as "mobile" or "work".
    pub label: Option<String>,
    /// Whether this is the identity to use first when contacting the customer.
    pub primary: bool,
}

/// A customer's full profile, as the customer pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: CustomerId,
    /// The name to address the customer by, as they gave it.
    pub display_name: String,
    pub company: Option<String>,
    /// The customer's preferred language as a BCP 47 tag, such as `en-GB`.
    pub language: String,
    pub city: Option<String>,
    pub country: Option<String>,
    /// A service tier such as "standard" or "gold", which routing and agents take into account.
    pub tier: String,
    /// When the customer record was created, in RFC 3339.
    pub created_at: String,
    /// When the customer record last changed, in RFC 3339.
    pub updated_at: String,
    pub identities: Vec<Identity>,
}

impl Customer {
    /// The identity of `kind` to use first: the one marked primary, otherwise the first listed.
    pub fn primary(&self, kind: IdentityKind) -> Option<&Identity> {
        let mut of_kind = self
            .identities
            .iter()
            .filter(|identity| identity.kind == kind);
        let first = of_kind.clone().next();
        of_kind.find(|identity| identity.primary).or(first)
    }

    /// The short form used in lists.
    pub fn summary(&self) -> CustomerSummary {
        CustomerSummary {
            id: self.id.clone(),
            display_name: self.display_name.clone(),
            company: self.company.clone(),
            primary_phone: self.primary(IdentityKind::Phone).map(|i| i.value.clone()),
            primary_email: self.primary(IdentityKind::Email).map(|i| i.value.clone()),
        }
    }
}

/// A customer as a line in a list or a search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub display_name: String,
    pub company: Option<String>,
    pub primary_phone: Option<String>,
    pub primary_email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(kind: IdentityKind, value: &str, primary: bool) -> Identity {
        Identity {
            kind,
            value: value.to_owned(),
            label: None,
            primary,
        }
    }

    fn customer(identities: Vec<Identity>) -> Customer {
        Customer {
            id: CustomerId("cus_0000000000000001".to_owned()),
            display_name: "Ada Lovelace".to_owned(),
            company: None,
            language: "en-GB".to_owned(),
            city: Some("London".to_owned()),
            country: Some("GB".to_owned()),
            tier: "standard".to_owned(),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            updated_at: "2026-01-01T00:00:00Z".to_owned(),
            identities,
        }
    }

    #[test]
    fn primary_prefers_the_identity_marked_primary() {
        let ada = customer(vec![
            identity(IdentityKind::Phone, "+447700900001", false),
            identity(IdentityKind::Email, "ada@example.org", true),
            identity(IdentityKind::Phone, "+447700900002", true),
        ]);

        let phone = ada.primary(IdentityKind::Phone).map(|i| i.value.as_str());
        assert_eq!(
            phone,
            Some("+447700900002"),
            "the phone marked primary wins over the first"
        );
    }

    #[test]
    fn primary_falls_back_to_the_first_of_its_kind() {
        let ada = customer(vec![
            identity(IdentityKind::Email, "ada@example.org", false),
            identity(IdentityKind::Phone, "+447700900001", false),
            identity(IdentityKind::Phone, "+447700900002", false),
        ]);

        let summary = ada.summary();
        assert_eq!(
            summary.primary_phone.as_deref(),
            Some("+447700900001"),
            "with no primary phone the first phone listed is the one to call"
        );
        assert_eq!(
            summary.primary_email.as_deref(),
            Some("ada@example.org"),
            "the only e-mail is the one to write to"
        );
    }

    #[test]
    fn identity_kinds_round_trip_through_their_storage_names() {
        for kind in [
            IdentityKind::Phone,
            IdentityKind::Email,
            IdentityKind::ChatHandle,
        ] {
            assert_eq!(
                IdentityKind::parse(kind.as_str()),
                Some(kind),
                "{kind:?} must round-trip"
            );

            let json = serde_json::to_string(&kind).expect("an enum of unit variants serialises");
            assert_eq!(
                json,
                format!("\"{}\"", kind.as_str()),
                "JSON and storage names agree"
            );
        }
        assert_eq!(
            IdentityKind::parse("fax"),
            None,
            "unknown kinds are refused, not guessed"
        );
    }
}
