//! 受理渠道: how a request reached the platform — the enterprise's own web form, a collector's entry
//! (问题征询专员, notice §二(一)), or a phone call taken by the centre.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// 受理渠道: the way a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// 网站: the enterprise filled in the web form itself.
    Web,
    /// 征询专员: a town or zone collector entered it, alone or from the weekly ledger (附件2).
    Collector,
    /// 电话: the centre took it by phone.
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Web, Channel::Collector, Channel::Phone];

    /// The channels the centre enters requests for in its console (代录): a call it took or a collector's
    /// entry. A web request only ever comes from the enterprise's own form.
    pub const ENTERED: [Channel; 2] = [Channel::Phone, Channel::Collector];

    /// The code used in URLs, forms and the database.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Collector => "collector",
            Channel::Phone => "phone",
        }
    }

    /// The Chinese name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Web => "网站",
            Channel::Collector => "征询专员",
            Channel::Phone => "电话",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The input named no known channel.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("受理渠道“{0}”无效，应为网站、征询专员或电话")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    /// Accepts the code (`collector`) or the Chinese name (征询专员).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        Channel::ALL
            .into_iter()
            .find(|channel| channel.code() == input || channel.label() == input)
            .ok_or_else(|| UnknownChannel(input.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_chinese_names() {
        assert_eq!("web".parse(), Ok(Channel::Web));
        assert_eq!(" 征询专员 ".parse(), Ok(Channel::Collector));
        assert_eq!("电话".parse(), Ok(Channel::Phone));
    }

    #[test]
    fn every_channel_reads_back_from_its_code() {
        for channel in Channel::ALL {
            assert_eq!(channel.code().parse(), Ok(channel));
        }
    }

    #[test]
    fn shows_the_chinese_name() {
        assert_eq!(Channel::Collector.to_string(), "征询专员");
    }

    #[test]
    fn rejects_unknown_channels_in_plain_chinese() {
        let error = "wechat".parse::<Channel>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "受理渠道“wechat”无效，应为网站、征询专员或电话"
        );
    }
}
