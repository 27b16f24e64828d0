//! 统一社会信用代码: the 18-character code on every business licence (GB 32100-2015), parsed and its check
//! character verified, so a mistyped code is caught while the enterprise is still at the form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::full_width::fold_full_width;

/// The 31 characters a code may use, in the order of their values (GB 32100-2015 表1): the digits and the
/// capital letters except I, O, Z, S and V.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015 §5: weights of positions 1–17 for the check character (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

const LENGTH: usize = 18;

/// 统一社会信用代码: the unified social credit code of an enterprise, stored upper-case without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

/// What is wrong with a typed credit code; each message says it in plain Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("请填写统一社会信用代码")]
    Empty,
    #[error("统一社会信用代码应为18位，现为{0}位")]
    WrongLength(usize),
    #[error(
        "第{position}位“{character}”不是有效字符（统一社会信用代码由数字和除I、O、Z、S、V以外的大写字母组成）"
    )]
    InvalidCharacter { position: usize, character: char },
    #[error("校验位不正确，请核对营业执照上的统一社会信用代码")]
    WrongCheckCharacter,
}

impl CreditCode {
    /// Parses what a user typed: surrounding and inner spaces are dropped, full-width characters folded and
    /// letters upper-cased before the length, characters and check character are verified.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let code: String = fold_full_width(input)
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.is_empty() {
            return Err(CreditCodeError::Empty);
        }
        let length = code.chars().count();
        if length != LENGTH {
            return Err(CreditCodeError::WrongLength(length));
        }
        let mut values = Vec::with_capacity(LENGTH);
        for (index, character) in code.chars().enumerate() {
            let value = value_of(character).ok_or(CreditCodeError::InvalidCharacter {
                position: index + 1,
                character,
            })?;
            values.push(value);
        }
        let (body, check) = values.split_at(LENGTH - 1);
        if check != [check_value(body)] {
            return Err(CreditCodeError::WrongCheckCharacter);
        }
        Ok(CreditCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The value of a code character: its index in [`CHARSET`].
fn value_of(character: char) -> Option<u32> {
    CHARSET
        .iter()
        .position(|&allowed| char::from(allowed) == character)
        .and_then(|index| u32::try_from(index).ok())
}

/// GB 32100-2015 §5: C18 = 31 − (Σ Ci·Wi mod 31), where 31 stands for 0.
fn check_value(body: &[u32]) -> u32 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    (31 - sum % 31) % 31
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        CreditCode::parse(&input)
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = String::deserialize(deserializer)?;
        CreditCode::parse(&input).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes a 17-character body with its check character, computed straight from the standard's
    /// formula (independent of `check_value`) so the test does not trust the code under test.
    fn with_check_character(body: &str) -> String {
        let charset = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        let weights = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let sum: usize = body
            .chars()
            .zip(weights)
            .map(|(c, w)| charset.find(c).expect("body uses the code's charset") * w)
            .sum();
        let check = match 31 - sum % 31 {
            31 => 0,
            value => value,
        };
        let check_character = charset.chars().nth(check).expect("value below 31");
        format!("{body}{check_character}")
    }

    #[test]
    fn accepts_real_codes_from_business_licences() {
        // Arrange: codes published on the national enterprise credit information system.
        let codes = [
            "914403001922038216", // 华为技术有限公司
            "91440300708461136T", // 深圳市腾讯计算机系统有限公司
            "91330100799655058B", // 阿里巴巴（中国）有限公司
            "91110108551385082Q", // 北京小米科技有限责任公司
        ];

        for code in codes {
            // Act
            let parsed = CreditCode::parse(code);

            // Assert
            assert_eq!(parsed.map(|c| c.to_string()), Ok(code.to_owned()));
        }
    }

    #[test]
    fn accepts_codes_whose_check_character_is_computed_by_the_standard() {
        // Arrange: a company in Tengzhou (370481) and an individual business, with computed check characters.
        let codes = [
            with_check_character("91370481MA3C12345"),
            with_check_character("92370481L12345678"),
            with_check_character("12370481000000000"),
        ];

        for code in codes {
            // Act
            let parsed = CreditCode::parse(&code);

            // Assert
            assert_eq!(parsed.map(|c| c.to_string()), Ok(code));
        }
    }

    #[test]
    fn tidies_lower_case_spaces_and_full_width_characters() {
        // Arrange
        let typed = "  9144 0300 708461 136t ";
        let full_width = "９１４４０３００７０８４６１１３６Ｔ";

        // Act
        let tidied = CreditCode::parse(typed);
        let folded = CreditCode::parse(full_width);

        // Assert
        assert_eq!(
            tidied.map(|c| c.to_string()),
            Ok("91440300708461136T".to_owned())
        );
        assert_eq!(
            folded.map(|c| c.to_string()),
            Ok("91440300708461136T".to_owned())
        );
    }

    #[test]
    fn says_how_many_characters_were_typed() {
        // Act
        let error = CreditCode::parse("9144030070846113").unwrap_err();

        // Assert
        assert_eq!(error.to_string(), "统一社会信用代码应为18位，现为16位");
    }

    #[test]
    fn names_the_position_of_a_letter_the_code_never_uses() {
        // Arrange: the letter O typed instead of the digit 0 in position 5.
        let typed = "9144O300708461136T";

        // Act
        let error = CreditCode::parse(typed).unwrap_err();

        // Assert
        assert_eq!(
            error,
            CreditCodeError::InvalidCharacter {
                position: 5,
                character: 'O'
            }
        );
        assert!(error.to_string().starts_with("第5位“O”不是有效字符"));
    }

    #[test]
    fn counts_chinese_characters_as_one_each() {
        // Act
        let error = CreditCode::parse("统一社会信用代码").unwrap_err();

        // Assert
        assert_eq!(error.to_string(), "统一社会信用代码应为18位，现为8位");
    }

    #[test]
    fn catches_one_mistyped_character() {
        // Arrange: Huawei's code with the 10th character changed.
        let typed = "914403001822038216";

        // Act
        let error = CreditCode::parse(typed).unwrap_err();

        // Assert
        assert_eq!(
            error.to_string(),
            "校验位不正确，请核对营业执照上的统一社会信用代码"
        );
    }

    #[test]
    fn catches_two_swapped_neighbours() {
        // Arrange: Tencent's code with positions 9 and 10 swapped.
        let typed = "91440300078461136T";

        // Act
        let result = CreditCode::parse(typed);

        // Assert
        assert_eq!(result, Err(CreditCodeError::WrongCheckCharacter));
    }

    #[test]
    fn asks_for_the_code_when_nothing_was_typed() {
        assert_eq!(
            CreditCode::parse("   ").unwrap_err().to_string(),
            "请填写统一社会信用代码"
        );
    }
}
