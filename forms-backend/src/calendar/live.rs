//! The calendar in use (工作日历) while the server runs: a new year's file added to `config/calendar/` takes effect
//! without a restart. The supervision loop reloads the folder before each pass (`[supervision]
//! interval_seconds`, 5 minutes by default); a folder that does not load leaves the calendar as it was, and the
//! error goes to the log. Each deadline keeps the version of the calendar it was counted with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Calendar, CalendarError};

/// The loaded calendar and the folder it comes from.
#[derive(Debug)]
pub struct LiveCalendar {
    dir: PathBuf,
    current: ArcSwap<Calendar>,
}

impl LiveCalendar {
    /// Loads every `YYYY.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<LiveCalendar, CalendarError> {
        Ok(LiveCalendar {
            dir: dir.to_owned(),
            current: ArcSwap::from_pointee(Calendar::load(dir)?),
        })
    }

    /// The calendar as loaded now.
    pub fn current(&self) -> Arc<Calendar> {
        self.current.load_full()
    }

    /// Reads the folder again; the new version when the files changed, `None` when they did not. On an error
    /// the calendar in use stays.
    pub fn reload(&self) -> Result<Option<String>, CalendarError> {
        let next = Calendar::load(&self.dir)?;
        if next.version() == self.current.load().version() {
            return Ok(None);
        }
        let version = next.version().to_owned();
        self.current.store(Arc::new(next));
        Ok(Some(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_years_file_takes_effect_on_reload_and_a_broken_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/calendar");
        std::fs::copy(shipped.join("2026.toml"), dir.path().join("2026.toml")).unwrap();
        let live = LiveCalendar::load(dir.path()).unwrap();
        assert!(!live.current().covers(2027));
        assert_eq!(live.reload().unwrap(), None, "nothing changed");

        // Next year's notice arrives (its first holiday is enough here).
        let next = "year = 2027\nnotice = \"国务院办公厅关于2027年部分节假日安排的通知\"\n\n\
                    [[holiday]]\nname = \"元旦\"\ndays = [\"2027-01-01\"]\n";
        std::fs::write(dir.path().join("2027.toml"), next).unwrap();
        let version = live.reload().unwrap().expect("a new version");
        assert!(version.contains("2026–2027"), "{version}");
        assert!(live.current().covers(2027));

        std::fs::write(dir.path().join("2028.toml"), "year = ").unwrap();
        assert!(live.reload().is_err());
        assert!(live.current().covers(2027) && !live.current().covers(2028));
    }
}
