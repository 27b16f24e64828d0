//! Dispatch (派单): the unit directory (承办单位, leaders, task force, centre) and the dispatch catalogue
//! (派单目录) that suggests the first-responsible unit (首接单位) and co-handlers (协办单位) for a request, with the
//! reason. Notice §二(二)2: precise dispatch by a catalogue with clear responsibilities.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::domain::RequestKind;

/// The directory or catalogue file is wrong.
#[derive(Debug, thiserror::Error)]
pub enum DispatchConfigError {
    #[error("读取 {path} 失败：{source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} 格式有误：{message}")]
    Format { path: String, message: String },
    #[error("{path}：{message}")]
    Reference { path: String, message: String },
}

/// 承办单位的类型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 市直部门
    Department,
    /// 镇街
    Town,
    /// 开发区
    Zone,
}

/// 承办单位: a department, town or the development zone that handles work orders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    pub kind: UnitKind,
    /// 专人: who receives work orders.
    pub handlers: Vec<String>,
    /// 分管负责人
    #[serde(default)]
    pub deputy_head: Option<String>,
    /// 主要负责人
    #[serde(default)]
    pub head: Option<String>,
    /// The city leader in charge (分管领导), by id.
    #[serde(default)]
    pub leader: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Unit {
    pub fn display_name(&self) -> &str {
        self.short_name.as_deref().unwrap_or(&self.name)
    }
}

/// 市政府领导
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leader {
    pub id: String,
    pub title: String,
    /// `main` (主要领导) or `deputy` (分管领导).
    pub role: String,
    pub email: String,
}

/// 推进中心
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Centre {
    pub name: String,
    pub emails: Vec<String>,
}

/// 工作专班
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskForce {
    pub name: String,
    pub emails: Vec<String>,
    #[serde(default)]
    pub units: Vec<String>,
}

/// Everyone work orders go to: `config/units.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directory {
    pub centre: Centre,
    pub task_force: TaskForce,
    #[serde(default, rename = "leader")]
    pub leaders: Vec<Leader>,
    #[serde(default, rename = "unit")]
    pub units: Vec<Unit>,
}

/// One kind of matter of the dispatch catalogue (派单目录).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matter {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Request kinds the matter applies to; all when absent.
    #[serde(default)]
    pub kinds: Option<Vec<RequestKind>>,
    pub lead_unit: String,
    #[serde(default)]
    pub co_units: Vec<String>,
}

/// The dispatch catalogue: `config/dispatch.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalogue {
    #[serde(default, rename = "matter")]
    pub matters: Vec<Matter>,
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, DispatchConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| DispatchConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|error| DispatchConfigError::Format {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

impl Directory {
    pub fn load(path: &Path) -> Result<Directory, DispatchConfigError> {
        let directory: Directory = read_toml(path)?;
        let problem = |message: String| DispatchConfigError::Reference {
            path: path.display().to_string(),
            message,
        };
        let mut ids = HashSet::new();
        for unit in &directory.units {
            if !ids.insert(unit.id.as_str()) {
                return Err(problem(format!("单位编号“{}”重复", unit.id)));
            }
            if unit.handlers.is_empty() {
                return Err(problem(format!(
                    "单位“{}”没有填写接收工单的邮箱（handlers）",
                    unit.name
                )));
            }
            if let Some(leader) = &unit.leader
                && directory.leader(leader).is_none()
            {
                return Err(problem(format!(
                    "单位“{}”的分管领导“{leader}”不存在",
                    unit.name
                )));
            }
        }
        Ok(directory)
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|unit| unit.id == id)
    }

    pub fn leader(&self, id: &str) -> Option<&Leader> {
        self.leaders.iter().find(|leader| leader.id == id)
    }

    /// The town or zone unit whose name contains the request's 属地 (荆河街道 → 滕州市荆河街道办事处).
    pub fn town_unit(&self, town: &str) -> Option<&Unit> {
        let town = town.trim();
        if town.is_empty() {
            return None;
        }
        self.units
            .iter()
            .filter(|unit| unit.kind != UnitKind::Department)
            .find(|unit| {
                unit.name.contains(town)
                    || unit
                        .short_name
                        .as_deref()
                        .is_some_and(|short| short.contains(town) || town.contains(short))
            })
    }

    /// Names of the towns and the zone, for the form's suggestions.
    pub fn town_names(&self) -> Vec<String> {
        self.units
            .iter()
            .filter(|unit| unit.kind != UnitKind::Department)
            .map(|unit| unit.display_name().to_owned())
            .collect()
    }
}

impl Catalogue {
    /// Reads the catalogue and checks that every unit it names exists in `directory`.
    pub fn load(path: &Path, directory: &Directory) -> Result<Catalogue, DispatchConfigError> {
        let catalogue: Catalogue = read_toml(path)?;
        for matter in &catalogue.matters {
            for unit in std::iter::once(&matter.lead_unit).chain(&matter.co_units) {
                if directory.unit(unit).is_none() {
                    return Err(DispatchConfigError::Reference {
                        path: path.display().to_string(),
                        message: format!("事项“{}”指向的单位“{unit}”不存在", matter.name),
                    });
                }
            }
        }
        Ok(catalogue)
    }
}

/// What the catalogue suggests for a request, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// 首接单位
    pub lead_unit: String,
    /// 协办单位
    pub co_units: Vec<String>,
    /// The catalogue entry that matched, if any.
    pub matter: Option<String>,
    /// Why, in Chinese, for the centre.
    pub reason: String,
    /// True when the match is clear enough to dispatch without the centre (`[dispatch] auto`).
    pub clear: bool,
}

/// The facts of a request the catalogue looks at.
#[derive(Debug, Clone, Copy)]
pub struct DispatchInput<'a> {
    pub kind: RequestKind,
    pub description: &'a str,
    pub suggested_department: Option<&'a str>,
    pub town: &'a str,
}

/// Unit that takes what the catalogue cannot place: the centre's own unit when it exists.
const FALLBACK_UNIT: &str = "centre-unit";

/// Suggests the responsible unit: each matter scores the length of every keyword found in the description
/// (longer keywords are more specific) plus 4 when the suggested department names its lead unit; the best matter
/// wins, and the match is "clear" when the scores of its lead unit's matters add up to at least 4 and to at least
/// twice those of any other unit. With `local_first`
/// (属地管理, notice §二(二)), the enterprise's town or zone leads and the matter's units co-handle.
pub fn suggest(
    catalogue: &Catalogue,
    directory: &Directory,
    input: DispatchInput<'_>,
    local_first: bool,
) -> Suggestion {
    let description = input.description;
    let mut scored: Vec<(usize, &Matter, Vec<&str>)> = catalogue
        .matters
        .iter()
        .filter(|matter| {
            matter
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&input.kind))
        })
        .map(|matter| {
            let found: Vec<&str> = matter
                .keywords
                .iter()
                .map(String::as_str)
                .filter(|keyword| !keyword.is_empty() && description.contains(keyword))
                .collect();
            let mut score: usize = found.iter().map(|keyword| keyword.chars().count()).sum();
            let named = input.suggested_department.is_some_and(|department| {
                let department = department.trim();
                !department.is_empty()
                    && directory.unit(&matter.lead_unit).is_some_and(|unit| {
                        unit.name.contains(department)
                            || department.contains(unit.display_name())
                            || unit.display_name().contains(department)
                    })
            });
            if named {
                score += 4;
            }
            (score, matter, found)
        })
        .filter(|(score, _, _)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let fallback = if directory.unit(FALLBACK_UNIT).is_some() {
        FALLBACK_UNIT.to_owned()
    } else {
        directory
            .units
            .first()
            .map(|unit| unit.id.clone())
            .unwrap_or_default()
    };
    // Dispatch goes to units: matters with the same lead unit add up, and the match is clear when the best unit
    // leads the next one by at least two to one.
    let mut unit_scores: Vec<(&str, usize)> = Vec::new();
    for (score, matter, _) in &scored {
        match unit_scores
            .iter_mut()
            .find(|(unit, _)| *unit == matter.lead_unit)
        {
            Some((_, total)) => *total += score,
            None => unit_scores.push((&matter.lead_unit, *score)),
        }
    }
    unit_scores.sort_by_key(|(_, total)| std::cmp::Reverse(*total));
    let mut suggestion = match scored.first() {
        Some((_, matter, found)) => {
            let unit_score = unit_scores
                .iter()
                .find(|(unit, _)| *unit == matter.lead_unit)
                .map_or(0, |(_, total)| *total);
            let runner_up = unit_scores
                .iter()
                .find(|(unit, _)| *unit != matter.lead_unit)
                .map_or(0, |(_, total)| *total);
            let words = if found.is_empty() {
                "建议解决部门".to_owned()
            } else {
                found
                    .iter()
                    .map(|word| format!("“{word}”"))
                    .collect::<Vec<_>>()
                    .join("")
            };
            Suggestion {
                lead_unit: matter.lead_unit.clone(),
                co_units: matter.co_units.clone(),
                matter: Some(matter.id.clone()),
                reason: format!("诉求中出现{words}，对应派单目录事项“{}”", matter.name),
                clear: unit_score >= 4 && unit_score >= runner_up * 2,
            }
        }
        None => Suggestion {
            lead_unit: fallback,
            co_units: Vec::new(),
            matter: None,
            reason: "派单目录中没有匹配的事项，由推进中心研判派单".to_owned(),
            clear: false,
        },
    };
    if local_first && let Some(town) = directory.town_unit(input.town) {
        let mut co_units = vec![suggestion.lead_unit.clone()];
        co_units.extend(suggestion.co_units.iter().cloned());
        co_units.retain(|unit| unit != &town.id);
        co_units.dedup();
        suggestion.reason = format!(
            "属地管理：先由{}办理；{}",
            town.display_name(),
            suggestion.reason
        );
        suggestion.lead_unit = town.id.clone();
        suggestion.co_units = co_units;
    }
    suggestion
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        toml::from_str(
            r#"
            [centre]
            name = "推进中心"
            emails = ["centre@tengzhou.example"]
            [task_force]
            name = "工作专班"
            emails = ["tf@tengzhou.example"]
            [[leader]]
            id = "vice"
            title = "副市长"
            role = "deputy"
            email = "vice@tengzhou.example"
            [[unit]]
            id = "power"
            name = "国网滕州市供电公司"
            short_name = "供电公司"
            kind = "department"
            handlers = ["power@tengzhou.example"]
            leader = "vice"
            [[unit]]
            id = "tax"
            name = "国家税务总局滕州市税务局"
            short_name = "市税务局"
            kind = "department"
            handlers = ["tax@tengzhou.example"]
            [[unit]]
            id = "centre-unit"
            name = "滕州市政府事务推进中心"
            kind = "department"
            handlers = ["centre@tengzhou.example"]
            [[unit]]
            id = "jinghe"
            name = "滕州市荆河街道办事处"
            short_name = "荆河街道"
            kind = "town"
            handlers = ["jinghe@tengzhou.example"]
            "#,
        )
        .unwrap()
    }

    fn catalogue() -> Catalogue {
        toml::from_str(
            r#"
            [[matter]]
            id = "power"
            name = "用电报装与供电保障"
            keywords = ["停电", "报装", "电压"]
            lead_unit = "power"
            [[matter]]
            id = "tax"
            name = "税费优惠政策落实"
            keywords = ["退税", "发票"]
            lead_unit = "tax"
            co_units = ["centre-unit"]
            "#,
        )
        .unwrap()
    }

    fn input(description: &str) -> DispatchInput<'_> {
        DispatchInput {
            kind: RequestKind::Help,
            description,
            suggested_department: None,
            town: "荆河街道",
        }
    }

    #[test]
    fn keywords_name_the_responsible_unit_and_say_why() {
        let suggestion = suggest(
            &catalogue(),
            &directory(),
            input("厂区频繁停电，电压不稳，影响生产"),
            false,
        );
        assert_eq!(suggestion.lead_unit, "power");
        assert_eq!(suggestion.matter.as_deref(), Some("power"));
        assert!(
            suggestion.reason.contains("“停电”“电压”"),
            "{}",
            suggestion.reason
        );
        assert!(suggestion.clear);
    }

    #[test]
    fn unmatched_requests_go_to_the_centre_and_are_not_clear() {
        let suggestion = suggest(&catalogue(), &directory(), input("门口有人乱停车"), false);
        assert_eq!(suggestion.lead_unit, "centre-unit");
        assert!(!suggestion.clear);
    }

    #[test]
    fn a_suggested_department_counts() {
        let mut request = input("想咨询一下相关事项怎么办理");
        request.suggested_department = Some("市税务局");
        assert_eq!(
            suggest(&catalogue(), &directory(), request, false).lead_unit,
            "tax"
        );
    }

    #[test]
    fn local_first_sends_to_the_town_with_the_department_co_handling() {
        let suggestion = suggest(
            &catalogue(),
            &directory(),
            input("申请退税一直没到账"),
            true,
        );
        assert_eq!(suggestion.lead_unit, "jinghe");
        assert_eq!(suggestion.co_units, ["tax", "centre-unit"]);
        assert!(suggestion.reason.starts_with("属地管理"));
    }
}

#[cfg(test)]
mod shipped_catalogue {
    use super::*;

    fn load() -> (Directory, Catalogue) {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let directory = Directory::load(&config.join("units.toml")).expect("units.toml loads");
        let catalogue = Catalogue::load(&config.join("dispatch.toml"), &directory)
            .expect("dispatch.toml loads");
        (directory, catalogue)
    }

    #[test]
    fn the_shipped_directory_and_catalogue_load_and_place_everyday_requests() {
        let (directory, catalogue) = load();
        assert!(
            directory
                .units
                .iter()
                .filter(|u| u.kind == UnitKind::Town)
                .count()
                >= 20
        );
        assert!(catalogue.matters.len() >= 40);
        let cases = [
            (
                "我们厂区最近经常停电，电压也不稳，影响正常生产，请帮忙协调供电部门解决。",
                "power",
            ),
            ("申请的留抵退税一直没有到账，想问问进度", "tax"),
            ("新厂房建好了，消防验收迟迟办不下来", "housing"),
            ("招工难，想了解有没有稳岗补贴和招聘会", "hrss"),
        ];
        for (description, expected_prefix) in cases {
            let suggestion = suggest(
                &catalogue,
                &directory,
                DispatchInput {
                    kind: RequestKind::Help,
                    description,
                    suggested_department: None,
                    town: "荆河街道",
                },
                false,
            );
            println!("{description} → {suggestion:?}");
            assert!(
                suggestion.lead_unit.starts_with(expected_prefix),
                "{description}: {suggestion:?}"
            );
        }
    }
}
