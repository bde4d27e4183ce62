//! Identity normalisation: the one form a phone number, an e-mail address or a chat handle takes
//! in the cache, whatever form it arrived in, so that a caller's number finds its customer.
//!
//! Phone numbers go to E.164 through libphonenumber's rules (the `phonenumber` crate): a
//! national form such as `07700 900123` needs the region it was dialled in, which the desk's
//! settings give. Everything here is pure.

use std::str::FromStr;

use switchboard_model::IdentityKind;

/// The region a desk dials from, such as `GB`: it decides what a number without a country code
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    /// The region of an ISO 3166 two-letter code, such as `GB` or `fr`.
    pub fn parse(code: &str) -> Option<Region> {
        phonenumber::country::Id::from_str(&code.trim().to_ascii_uppercase())
            .ok()
            .map(Region)
    }
}

/// Why a value cannot be an identity of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "{0:?} is not a phone number; give it with its country code (+44…) or set the desk's region"
    )]
    NotAPhoneNumber(String),
    #[error("{0:?} is not an e-mail address")]
    NotAnEmail(String),
    #[error("an empty chat handle names nobody")]
    EmptyHandle,
}

/// The normalised form of `raw` as an identity of `kind`.
pub fn normalise(
    kind: IdentityKind,
    raw: &str,
    region: Option<Region>,
) -> Result<String, IdentityError> {
    match kind {
        IdentityKind::Phone => normalise_phone(raw, region),
        IdentityKind::Email => normalise_email(raw),
        IdentityKind::ChatHandle => {
            let handle = raw.trim();
            if handle.is_empty() {
                Err(IdentityError::EmptyHandle)
            } else {
                Ok(handle.to_owned())
            }
        }
    }
}

/// The fewest digits a customer's number has, country code included.
const MIN_DIGITS: usize = 6;

/// `raw` as E.164 (`+447700900123`). A number in national form is read in `region`; one that
/// starts with `+` or `00` needs no region. SIP URIs' user parts (`tel:`, `sip:` prefixes and
/// `;` parameters) are stripped first, since that is how a softphone hands a caller over.
pub fn normalise_phone(raw: &str, region: Option<Region>) -> Result<String, IdentityError> {
    let refuse = || IdentityError::NotAPhoneNumber(raw.to_owned());
    let mut text = raw.trim();
    for scheme in ["tel:", "sip:", "sips:"] {
        if let Some(rest) = text.strip_prefix(scheme) {
            text = rest;
        }
    }
    let text = text.split(['@', ';']).next().unwrap_or_default().trim();
    let international = match text.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => text.to_owned(),
    };
    if !international.starts_with('+') && region.is_none() {
        return Err(refuse());
    }
    // The numbering library reads "12" as a (short) number; no customer is reached on fewer
    // digits than this, country code included.
    if international.chars().filter(char::is_ascii_digit).count() < MIN_DIGITS {
        return Err(refuse());
    }

    let number =
        phonenumber::parse(region.map(|region| region.0), &international).map_err(|_| refuse())?;
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// `raw` as the cache keeps e-mail addresses: trimmed and lower-cased, with a `mailto:` prefix
/// removed. Providers treat the local part case-insensitively in practice, and agents type
/// addresses in whatever case the customer spells them.
pub fn normalise_email(raw: &str) -> Result<String, IdentityError> {
    let text = raw.trim();
    let text = text.strip_prefix("mailto:").unwrap_or(text);
    let address = text.to_lowercase();
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    };
    if valid {
        Ok(address)
    } else {
        Err(IdentityError::NotAnEmail(raw.to_owned()))
    }
}

/// The national digits of an E.164 number as its owner writes them at home (`07700900123` for
/// `+447700900123`), for search; `None` when the number cannot be read.
pub fn national_digits(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    let national = number
        .format()
        .mode(phonenumber::Mode::National)
        .to_string();
    let digits: String = national.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// Guesses which kind of identity a piece of text an agent typed is: an e-mail when it has an
/// `@`, a phone number when it is made of digits and dialling punctuation, otherwise a handle.
pub fn guess_kind(text: &str) -> IdentityKind {
    let text = text.trim();
    if text.contains('@') && !text.starts_with("sip:") {
        IdentityKind::Email
    } else if looks_like_phone(text) {
        IdentityKind::Phone
    } else {
        IdentityKind::ChatHandle
    }
}

/// Whether `text` is made only of what people write phone numbers with, and has digits.
pub fn looks_like_phone(text: &str) -> bool {
    let text = text.trim();
    let text = text.strip_prefix("tel:").unwrap_or(text);
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> Option<Region> {
        Region::parse("GB")
    }

    #[test]
    fn national_and_international_forms_meet_in_e164() {
        for raw in [
            "07700 900123",
            "+44 7700 900123",
            "0044 7700 900123",
            "+44 (0)7700 900123",
            "tel:+447700900123",
            "sip:+447700900123@pbx.example.com;user=phone",
        ] {
            assert_eq!(
                normalise_phone(raw, gb()).as_deref(),
                Ok("+447700900123"),
                "{raw:?} is the same UK mobile number"
            );
        }
        assert_eq!(
            normalise_phone("(202) 555-0143", Region::parse("us")).as_deref(),
            Ok("+12025550143"),
            "a US number in its own national form"
        );
        assert_eq!(
            normalise_phone("+33 1 99 00 12 34", None).as_deref(),
            Ok("+33199001234"),
            "a number with its country code needs no region"
        );
    }

    #[test]
    fn numbers_that_cannot_be_read_are_refused_not_guessed() {
        assert!(
            normalise_phone("07700 900123", None).is_err(),
            "a national number without a region could be from anywhere"
        );
        for raw in ["", "hello", "+", "12"] {
            assert!(
                normalise_phone(raw, gb()).is_err(),
                "{raw:?} is no phone number"
            );
        }
    }

    #[test]
    fn e_mail_addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Ana.Souza@Example.COM ").as_deref(),
            Ok("ana.souza@example.com"),
            "case and spacing do not make another address"
        );
        assert_eq!(
            normalise_email("mailto:ben@example.org").as_deref(),
            Ok("ben@example.org"),
            "a mailto link is the address"
        );
        for raw in [
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a b@example.com",
        ] {
            assert!(normalise_email(raw).is_err(), "{raw:?} is not an address");
        }
    }

    #[test]
    fn national_digits_are_how_a_number_is_written_at_home() {
        assert_eq!(
            national_digits("+447700900123").as_deref(),
            Some("07700900123"),
            "UK numbers gain their trunk zero"
        );
        assert_eq!(
            national_digits("+12025550143").as_deref(),
            Some("2025550143"),
            "North American numbers have none"
        );
    }

    #[test]
    fn typed_text_is_sorted_into_kinds() {
        assert_eq!(guess_kind("ana@example.com"), IdentityKind::Email);
        assert_eq!(guess_kind("+44 7700 900123"), IdentityKind::Phone);
        assert_eq!(guess_kind("(202) 555-0143"), IdentityKind::Phone);
        assert_eq!(guess_kind("visitor-42"), IdentityKind::ChatHandle);
        assert_eq!(
            guess_kind("Ana"),
            IdentityKind::ChatHandle,
            "a name is not a number"
        );
    }
}
