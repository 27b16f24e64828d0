//! 电子邮箱: an optional contact address, checked by `email_address` and kept with a lower-case domain so the
//! same mailbox is always written the same way.

use std::fmt;

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::full_width::fold_full_width;

/// Longest address accepted, in characters; longer ones are almost always pasted by mistake.
const MAX_LENGTH: usize = 100;

/// 电子邮箱: a single plain address (`name@example.com`), no display name, domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// What is wrong with a typed email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("请填写电子邮箱")]
    Empty,
    #[error("电子邮箱不能超过100个字符")]
    TooLong,
    #[error("电子邮箱格式不正确")]
    Invalid,
}

impl Email {
    /// Parses what a user typed: surrounding spaces dropped, a full-width ＠ or full-width letters folded.
    /// The domain needs a dot (`name@localhost` is no address an enterprise can be reached at).
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let folded = fold_full_width(input);
        let address = folded.trim();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(address, options).map_err(|_| EmailError::Invalid)?;
        let (local, domain) = address.rsplit_once('@').ok_or(EmailError::Invalid)?;
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Email::parse(&input)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = String::deserialize(deserializer)?;
        Email::parse(&input).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_the_domain_but_not_the_mailbox() {
        // Act
        let email = Email::parse("  Zhang.San@TengZhou.GOV.cn ").expect("valid address");

        // Assert
        assert_eq!(email.as_str(), "Zhang.San@tengzhou.gov.cn");
    }

    #[test]
    fn accepts_a_full_width_at_sign() {
        assert_eq!(
            Email::parse("service＠example.com").map(|e| e.to_string()),
            Ok("service@example.com".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_no_address() {
        // Arrange
        let typed = [
            "zhangsan",
            "zhangsan@",
            "@example.com",
            "zhang san@example.com",
            "zhangsan@localhost",
            "张三 <zhangsan@example.com>",
            "a@b@example.com",
        ];

        for input in typed {
            // Act
            let error = Email::parse(input).unwrap_err();

            // Assert
            assert_eq!(error.to_string(), "电子邮箱格式不正确", "typed {input}");
        }
    }

    #[test]
    fn rejects_addresses_longer_than_100_characters() {
        // Arrange
        let label = "d".repeat(39);
        let at_limit = format!("zhangsan@{label}.{label}.example.com");
        let too_long = format!("a{at_limit}");
        assert_eq!(at_limit.chars().count(), 100);

        // Act
        let accepted = Email::parse(&at_limit);
        let rejected = Email::parse(&too_long);

        // Assert
        assert!(accepted.is_ok());
        assert_eq!(rejected, Err(EmailError::TooLong));
    }
}
