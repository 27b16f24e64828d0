//! 联系电话: the contact number of an enterprise — a mainland mobile, a landline with its area code (区号) and
//! perhaps an extension (分机), or a 400/800 service number — kept in one display form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::full_width::fold_full_width;

/// 联系电话: a phone number in its display form: `13812345678`, `0632-5512345`, `0632-5512345-123` or
/// `400-123-4567`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    display: String,
    kind: PhoneKind,
}

/// Which kind of number a [`Phone`] is; only a mobile can receive text messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneKind {
    /// 手机
    Mobile,
    /// 固定电话
    Landline,
    /// 400/800 服务电话
    Service,
}

/// What is wrong with a typed phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("请填写联系电话")]
    Empty,
    #[error("请填写有效的手机号或固定电话（如 13812345678 或 0632-5512345）")]
    Invalid,
}

impl Phone {
    /// Parses what a user typed. Spaces, brackets around the area code and hyphens are tolerated, as are the
    /// country prefixes +86, 0086 and 86 and full-width digits; an extension follows `-` or `转`.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let compact: String = fold_full_width(input)
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')'))
            .map(|c| match c {
                '—' | '–' | '‐' | '－' => '-',
                _ => c,
            })
            .collect();
        if compact.is_empty() {
            return Err(PhoneError::Empty);
        }
        mobile(&compact)
            .or_else(|| service(&compact))
            .or_else(|| landline(&compact))
            .ok_or(PhoneError::Invalid)
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// Whether text messages can reach this number.
    pub fn is_mobile(&self) -> bool {
        self.kind == PhoneKind::Mobile
    }
}

/// Strips +86 or 0086 from the front; `Some` only if one was there.
fn strip_country_prefix(compact: &str) -> Option<&str> {
    compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .map(|rest| rest.trim_start_matches('-'))
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// 手机号: `1[3-9]` and nine more digits.
fn mobile(compact: &str) -> Option<Phone> {
    let digits = compact.replace('-', "");
    let digits = strip_country_prefix(&digits).unwrap_or(&digits);
    let digits = match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest,
        _ => digits,
    };
    let bytes = digits.as_bytes();
    let is_mobile = bytes.len() == 11
        && all_digits(digits)
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1]);
    is_mobile.then(|| Phone {
        display: digits.to_owned(),
        kind: PhoneKind::Mobile,
    })
}

/// 400/800 服务电话: ten digits starting 400 or 800, shown as `400-123-4567`.
fn service(compact: &str) -> Option<Phone> {
    let digits = compact.replace('-', "");
    let is_service = digits.len() == 10
        && all_digits(&digits)
        && (digits.starts_with("400") || digits.starts_with("800"));
    is_service.then(|| Phone {
        display: format!("{}-{}-{}", &digits[..3], &digits[3..6], &digits[6..]),
        kind: PhoneKind::Service,
    })
}

/// 固定电话: area code `0` + 2–3 digits, 7–8 digits, then perhaps an extension of 1–6 digits.
fn landline(compact: &str) -> Option<Phone> {
    let (number, extension) = match strip_country_prefix(compact) {
        // Dialled from abroad the area code loses its 0: +86 632 5512345.
        Some(rest) if !rest.starts_with('0') => split_extension(&format!("0{rest}"))?,
        Some(rest) => split_extension(rest)?,
        None => split_extension(compact)?,
    };
    let digits = number.replace('-', "");
    if !all_digits(&digits) {
        return None;
    }
    let area_length = area_code_length(&digits)?;
    let (area, local) = digits.split_at(area_length);
    let local_ok = (7..=8).contains(&local.len()) && !local.starts_with(['0', '1']);
    if !local_ok {
        return None;
    }
    let display = match extension {
        Some(extension) if (1..=6).contains(&extension.len()) && all_digits(&extension) => {
            format!("{area}-{local}-{extension}")
        }
        Some(_) => return None,
        None => format!("{area}-{local}"),
    };
    Some(Phone {
        display,
        kind: PhoneKind::Landline,
    })
}

/// Splits `number` from an extension written `转123` or as a last hyphenated group (`0632-5512345-123`).
fn split_extension(compact: &str) -> Option<(String, Option<String>)> {
    if let Some((number, extension)) = compact.split_once('转') {
        return Some((number.to_owned(), Some(extension.to_owned())));
    }
    match compact.matches('-').count() {
        0 => Some((compact.to_owned(), None)),
        1 => {
            let (first, second) = compact.split_once('-')?;
            if looks_like_area_code(first) {
                Some((compact.to_owned(), None))
            } else {
                Some((first.to_owned(), Some(second.to_owned())))
            }
        }
        2 => {
            let (number, extension) = compact.rsplit_once('-')?;
            Some((number.to_owned(), Some(extension.to_owned())))
        }
        _ => None,
    }
}

fn looks_like_area_code(text: &str) -> bool {
    text.starts_with('0') && (3..=4).contains(&text.len()) && all_digits(text)
}

/// Length of the area code at the front of `digits`: 010 and 02x are three digits, every other area code
/// (03xx–09xx) four. Deciding by the code rather than by where the user put the hyphen gives one display form.
fn area_code_length(digits: &str) -> Option<usize> {
    let bytes = digits.as_bytes();
    match bytes {
        [b'0', b'1', b'0', ..] | [b'0', b'2', ..] => Some(3),
        [b'0', b'3'..=b'9', ..] => Some(4),
        _ => None,
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.display
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Phone::parse(&input)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.display)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = String::deserialize(deserializer)?;
        Phone::parse(&input).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(input: &str) -> Result<String, PhoneError> {
        Phone::parse(input).map(|phone| phone.to_string())
    }

    #[test]
    fn keeps_mobiles_as_eleven_digits_however_they_were_typed() {
        // Arrange
        let typed = [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+86-13812345678",
            "8613812345678",
            "0086 13812345678",
            "１３８１２３４５６７８",
        ];

        for input in typed {
            // Act
            let phone = Phone::parse(input).expect(input);

            // Assert
            assert_eq!(phone.as_str(), "13812345678", "typed {input}");
            assert!(phone.is_mobile());
        }
    }

    #[test]
    fn accepts_every_mobile_prefix_from_13_to_19() {
        for second in '3'..='9' {
            let number = format!("1{second}012345678");
            assert_eq!(display(&number), Ok(number.clone()));
        }
    }

    #[test]
    fn rejects_numbers_that_are_no_mobile() {
        // Arrange
        let typed = ["12812345678", "1381234567", "138123456789", "23812345678"];

        for input in typed {
            // Act
            let error = Phone::parse(input).unwrap_err();

            // Assert
            assert_eq!(
                error.to_string(),
                "请填写有效的手机号或固定电话（如 13812345678 或 0632-5512345）",
                "typed {input}"
            );
        }
    }

    #[test]
    fn shows_landlines_with_a_hyphen_after_the_area_code() {
        // Arrange: Tengzhou's area code is 0632.
        let typed = [
            ("0632-5512345", "0632-5512345"),
            ("06325512345", "0632-5512345"),
            ("0632 5512345", "0632-5512345"),
            ("(0632)5512345", "0632-5512345"),
            ("（0632）5512345", "0632-5512345"),
            ("063-25512345", "0632-5512345"),
            ("010-65123456", "010-65123456"),
            ("02162345678", "021-62345678"),
            ("0632-55123456", "0632-55123456"),
            ("+86 632 5512345", "0632-5512345"),
        ];

        for (input, expected) in typed {
            // Act
            let phone = Phone::parse(input).expect(input);

            // Assert
            assert_eq!(phone.as_str(), expected, "typed {input}");
            assert_eq!(phone.kind(), PhoneKind::Landline);
        }
    }

    #[test]
    fn keeps_an_extension_after_a_hyphen_or_转() {
        assert_eq!(display("0632-5512345-123"), Ok("0632-5512345-123".into()));
        assert_eq!(display("0632-5512345转123"), Ok("0632-5512345-123".into()));
        assert_eq!(
            display("0632 5512345 转 8001"),
            Ok("0632-5512345-8001".into())
        );
        assert_eq!(display("06325512345-123"), Ok("0632-5512345-123".into()));
    }

    #[test]
    fn rejects_broken_landlines() {
        // Arrange
        let typed = [
            "0632-551234",           // local number too short
            "0632-551234567",        // local number too long
            "632-5512345",           // area code without its 0
            "0632-0512345",          // local numbers never start with 0
            "0632-5512345-",         // extension left empty
            "0632-5512345转1234567", // extension too long
            "0632-5512345-12a",
            "0632-55-12-34-5",
        ];

        for input in typed {
            // Act
            let result = Phone::parse(input);

            // Assert
            assert_eq!(result, Err(PhoneError::Invalid), "typed {input}");
        }
    }

    #[test]
    fn groups_service_numbers_three_three_four() {
        // Act
        let phone = Phone::parse("4008208820").expect("400 number");

        // Assert
        assert_eq!(phone.as_str(), "400-820-8820");
        assert_eq!(phone.kind(), PhoneKind::Service);
        assert_eq!(display("800-810-8888"), Ok("800-810-8888".into()));
    }

    #[test]
    fn asks_for_a_number_when_nothing_was_typed() {
        assert_eq!(display("  ").unwrap_err().to_string(), "请填写联系电话");
    }

    #[test]
    fn rejects_words() {
        assert_eq!(display("请打电话"), Err(PhoneError::Invalid));
    }
}
