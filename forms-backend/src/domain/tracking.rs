//! 受理编号: the number an enterprise is given when its request is accepted, short enough to read out on the
//! phone and to type into the tracking page: `QH` + date + `-` + the day's sequence, e.g. `QH20261125-0007`.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::full_width::fold_full_width;

const PREFIX: &str = "QH";

/// 受理编号: unique per day; the sequence starts at 1 each day and is written with at least four digits
/// (more from the 10 000th request of a day on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingNumber {
    date: NaiveDate,
    sequence: u32,
}

/// Why a tracking number could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingNumberError {
    #[error("请填写受理编号")]
    Empty,
    #[error("受理编号“{0}”格式不正确，应如 QH20261125-0007")]
    Malformed(String),
    #[error("受理编号的序号从1开始")]
    ZeroSequence,
    #[error("受理编号的日期须在1000年至9999年之间")]
    YearOutOfRange,
}

impl TrackingNumber {
    /// The `sequence`-th request accepted on `date` (in China Standard Time). Sequence 0 and dates outside
    /// four-digit years are refused, as no such number could be read back.
    pub fn new(date: NaiveDate, sequence: u32) -> Result<TrackingNumber, TrackingNumberError> {
        if sequence == 0 {
            return Err(TrackingNumberError::ZeroSequence);
        }
        if !(1000..=9999).contains(&date.year()) {
            return Err(TrackingNumberError::YearOutOfRange);
        }
        Ok(TrackingNumber { date, sequence })
    }

    /// Reads a number as a user typed it: case, surrounding spaces and full-width characters do not matter,
    /// and the hyphen may be left out (`qh202611250007`).
    pub fn parse(input: &str) -> Result<TrackingNumber, TrackingNumberError> {
        let folded = fold_full_width(input);
        let typed = folded.trim();
        if typed.is_empty() {
            return Err(TrackingNumberError::Empty);
        }
        let malformed = || TrackingNumberError::Malformed(typed.to_owned());
        let upper = typed.to_ascii_uppercase();
        let rest = upper.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (date, sequence) = match rest.split_once('-') {
            Some(parts) => parts,
            None if rest.is_char_boundary(8) => rest.split_at(8),
            None => return Err(malformed()),
        };
        let digits_only = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
        if date.len() != 8 || !digits_only(date) || sequence.len() < 4 || !digits_only(sequence) {
            return Err(malformed());
        }
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| malformed())?;
        let sequence: u32 = sequence.parse().map_err(|_| malformed())?;
        TrackingNumber::new(date, sequence).map_err(|_| malformed())
    }

    /// The day the request was accepted.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Its place among that day's requests, from 1.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}-{:04}",
            self.date.format("%Y%m%d"),
            self.sequence
        )
    }
}

impl std::str::FromStr for TrackingNumber {
    type Err = TrackingNumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        TrackingNumber::parse(input)
    }
}

impl Serialize for TrackingNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TrackingNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = String::deserialize(deserializer)?;
        TrackingNumber::parse(&input).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("real date")
    }

    #[test]
    fn reads_like_the_example_on_the_receipt() {
        // Act
        let number = TrackingNumber::new(day(2026, 11, 25), 7).expect("valid number");

        // Assert
        assert_eq!(number.to_string(), "QH20261125-0007");
    }

    #[test]
    fn grows_to_five_digits_after_9999_requests_in_a_day() {
        // Act
        let number = TrackingNumber::new(day(2026, 11, 25), 10_000).expect("valid number");

        // Assert
        assert_eq!(number.to_string(), "QH20261125-10000");
        assert_eq!(TrackingNumber::parse("QH20261125-10000"), Ok(number));
    }

    #[test]
    fn reads_back_what_it_prints() {
        // Arrange
        let number = TrackingNumber::new(day(2026, 1, 5), 42).expect("valid number");

        // Act
        let read = TrackingNumber::parse(&number.to_string());

        // Assert
        assert_eq!(read, Ok(number));
        assert_eq!(number.date(), day(2026, 1, 5));
        assert_eq!(number.sequence(), 42);
    }

    #[test]
    fn forgives_case_spaces_and_a_missing_hyphen() {
        // Arrange
        let expected = TrackingNumber::new(day(2026, 11, 25), 7).expect("valid number");

        for typed in [
            " qh20261125-0007 ",
            "Qh202611250007",
            "ＱＨ２０２６１１２５－０００７",
        ] {
            // Act
            let read = TrackingNumber::parse(typed);

            // Assert
            assert_eq!(read, Ok(expected), "typed {typed}");
        }
    }

    #[test]
    fn rejects_what_is_no_tracking_number() {
        for typed in [
            "20261125-0007",
            "QH20261125-7",
            "QH20261325-0007",
            "QH20261125-0000",
            "QH2026112-00007",
            "QH20261125-00a7",
            "QH受理编号",
            "QH20261125-99999999999",
        ] {
            // Act
            let error = TrackingNumber::parse(typed).unwrap_err();

            // Assert
            assert_eq!(
                error.to_string(),
                format!("受理编号“{typed}”格式不正确，应如 QH20261125-0007"),
                "typed {typed}"
            );
        }
    }

    #[test]
    fn refuses_sequence_zero() {
        assert_eq!(
            TrackingNumber::new(day(2026, 11, 25), 0),
            Err(TrackingNumberError::ZeroSequence)
        );
    }

    #[test]
    fn sorts_by_day_then_sequence() {
        // Arrange
        let late_yesterday = TrackingNumber::new(day(2026, 11, 24), 120).expect("valid");
        let early_today = TrackingNumber::new(day(2026, 11, 25), 1).expect("valid");

        // Assert
        assert!(late_yesterday < early_today);
    }
}
