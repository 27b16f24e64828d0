//! 操作人 (who acted on an order), as the event log writes it: `enterprise:web`, `centre:zhang`, `unit:tax`,
//! `system:auto-dispatch`.

use std::fmt;
use std::str::FromStr;

/// Who took a step. Stored in each event as its [`fmt::Display`] text, so the log stays readable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The enterprise, through its own links; `channel` is where it came in (`web`, `api`) when known.
    Enterprise { channel: Option<String> },
    /// A console user of the centre (推进中心), by username. Leaders only read; they never act on orders.
    Centre { username: String },
    /// A handling unit (承办单位) through its link, by unit id.
    Unit { id: String },
    /// The system itself: automatic dispatch, the supervision pass.
    System { task: String },
}

impl Actor {
    pub fn enterprise() -> Actor {
        Actor::Enterprise { channel: None }
    }

    pub fn centre(username: &str) -> Actor {
        Actor::Centre {
            username: username.to_owned(),
        }
    }

    pub fn unit(id: &str) -> Actor {
        Actor::Unit { id: id.to_owned() }
    }

    pub fn system(task: &str) -> Actor {
        Actor::System {
            task: task.to_owned(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Enterprise { channel: None } => f.write_str("enterprise"),
            Actor::Enterprise {
                channel: Some(channel),
            } => write!(f, "enterprise:{channel}"),
            Actor::Centre { username } => write!(f, "centre:{username}"),
            Actor::Unit { id } => write!(f, "unit:{id}"),
            Actor::System { task } => write!(f, "system:{task}"),
        }
    }
}

/// An actor text this version cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("无法识别的操作人“{0}”")]
pub struct UnknownActor(pub String);

impl FromStr for Actor {
    type Err = UnknownActor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => (kind, Some(rest)),
            None => (text, None),
        };
        let named = |rest: Option<&str>| {
            rest.filter(|rest| !rest.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| UnknownActor(text.to_owned()))
        };
        match kind {
            "enterprise" => Ok(Actor::Enterprise {
                channel: rest.map(str::to_owned),
            }),
            "centre" => Ok(Actor::Centre {
                username: named(rest)?,
            }),
            "unit" => Ok(Actor::Unit { id: named(rest)? }),
            "system" => Ok(Actor::System { task: named(rest)? }),
            _ => Err(UnknownActor(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_read_back_from_the_log() {
        for text in [
            "enterprise",
            "enterprise:web",
            "centre:zhang",
            "unit:tax",
            "system:auto-dispatch",
        ] {
            assert_eq!(text.parse::<Actor>().unwrap().to_string(), text);
        }
        assert!("unit:".parse::<Actor>().is_err());
        assert!("robot:x".parse::<Actor>().is_err());
    }
}
