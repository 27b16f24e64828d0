//! A synthetic policy corpus (合成语料) of realistic size and shape, for benchmarks: 2–8 KB of Chinese text per
//! policy, with headings, a table and FAQ pairs. The same seed always gives the same corpus.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

const CATEGORIES: [&str; 10] = [
    "税费优惠",
    "金融信贷",
    "就业社保",
    "人才引进",
    "科技创新",
    "项目建设与用地",
    "市场准入与审批",
    "生态环境",
    "专精特新",
    "营商环境",
];
const ISSUERS: [&str; 12] = [
    "滕州市人民政府",
    "滕州市人民政府办公室",
    "滕州市财政局",
    "滕州市人力资源和社会保障局",
    "滕州市科学技术局",
    "滕州市工业和信息化局",
    "滕州市自然资源局",
    "滕州市行政审批服务局",
    "滕州市市场监督管理局",
    "滕州市发展和改革局",
    "枣庄市生态环境局滕州分局",
    "国家税务总局滕州市税务局",
];
const AUDIENCES: [&str; 10] = [
    "小微企业",
    "小型微利企业",
    "个体工商户",
    "高新技术企业",
    "科技型中小企业",
    "专精特新中小企业",
    "高校毕业生",
    "工业企业",
    "新办企业",
    "建设单位",
];
const TOPICS: [&str; 40] = [
    "研发费用加计扣除",
    "增值税留抵退税",
    "六税两费减免",
    "创业担保贷款",
    "稳岗返还",
    "一次性扩岗补助",
    "社会保险补贴",
    "就业见习补贴",
    "人才安居补贴",
    "首贷贴息",
    "知识产权质押融资",
    "技术改造奖补",
    "标准地出让",
    "施工许可",
    "排污许可",
    "环境影响评价",
    "营业执照办理",
    "食品经营许可",
    "招商引资奖励",
    "企业上市挂牌",
    "高新技术企业认定",
    "科技型中小企业评价",
    "工程技术研究中心",
    "首台套保险补偿",
    "数字化转型",
    "绿色工厂",
    "节能改造",
    "用电报装",
    "用水用气",
    "政府采购",
    "融资担保",
    "应急转贷",
    "出口信用保险",
    "跨境电商",
    "电子商务",
    "质量品牌",
    "专利导航",
    "科技成果转化",
    "人才公寓",
    "职业技能培训",
];
const CLAUSES: [&str; 24] = [
    "符合条件的企业可按规定申请",
    "经审核认定后按年度拨付资金",
    "申报单位应当依法诚信经营",
    "近三年内未发生重大安全、质量和环境污染事故",
    "补助资金实行总额控制、据实结算",
    "由行业主管部门会同财政部门组织评审",
    "对同一事项不重复享受市级扶持政策",
    "申报材料应当真实、完整、有效",
    "企业可通过政务服务网在线提交申请",
    "办理时限为受理后5个工作日",
    "最高不超过300万元",
    "按实际投入的10%给予补助",
    "年度应纳税所得额不超过300万元的部分",
    "从业人数不超过300人、资产总额不超过5000万元",
    "自2023年1月1日起至2027年12月31日止执行",
    "逾期未申报的视为自动放弃",
    "资金拨付后纳入绩效评价范围",
    "对弄虚作假骗取资金的依法追回并纳入失信名单",
    "属地镇街负责初审并出具推荐意见",
    "政策执行中遇有上级政策调整的从其规定",
    "咨询电话在工作日上午9时至下午5时受理",
    "符合国家产业政策和环保要求",
    "鼓励金融机构提供中长期信用贷款",
    "对吸纳就业困难人员的按每人1000元给予补贴",
];
const SECTION_TITLES: [&str; 10] = [
    "政策依据",
    "适用对象",
    "支持内容",
    "申请条件",
    "办理流程",
    "所需材料",
    "办理时限",
    "资金拨付",
    "监督管理",
    "咨询方式",
];

/// splitmix64: a small, fast, reproducible generator; plenty for filler text.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One synthetic policy file's text.
pub fn policy_text(number: usize, seed: u64) -> String {
    let mut generator = Generator(seed ^ (number as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let topic = generator.pick(&TOPICS);
    let category = CATEGORIES[number % CATEGORIES.len()];
    let issuer = generator.pick(&ISSUERS);
    let audience = generator.pick(&AUDIENCES);
    let year = 2019 + generator.below(8);
    let month = 1 + generator.below(12);
    let day = 1 + generator.below(28);
    let expires = if generator.below(5) == 0 {
        format!("expires = {}-12-31\n", year + 2)
    } else {
        String::new()
    };
    let mut text = String::with_capacity(8 * 1024);
    let _ = write!(
        text,
        "+++\ntitle = \"关于进一步做好{topic}工作的若干措施（第{number}号）\"\n\
         issuer = \"{issuer}\"\nissued = {year}-{month:02}-{day:02}\n\
         doc_number = \"滕合成发〔{year}〕{number}号\"\n{expires}\
         categories = [\"{category}\"]\ntags = [\"{topic}\", \"{tag2}\"]\n\
         audience = [\"{audience}\"]\n\
         summary = \"对{audience}开展{topic}给予支持，{clause}。\"\n\
         department = \"{issuer}\"\ncontact = \"0632-55{contact:05}\"\n",
        tag2 = generator.pick(&TOPICS),
        clause = generator.pick(&CLAUSES),
        contact = number % 100_000,
    );
    for _ in 0..2 + generator.below(3) {
        let _ = write!(
            text,
            "\n[[faq]]\nq = \"{audience}怎样申请{topic}？\"\na = \"{}，{}。\"\n",
            generator.pick(&CLAUSES),
            generator.pick(&CLAUSES)
        );
    }
    text.push_str("+++\n\n");
    let target = 2 * 1024 + generator.below(6 * 1024);
    let mut section = 0;
    while text.len() < target {
        let title = SECTION_TITLES[section % SECTION_TITLES.len()];
        let _ = write!(text, "## {}、{title}\n\n", chinese_number(section + 1));
        if section == 2 {
            text.push_str("| 项目 | 标准 | 上限 |\n|---|---|---|\n");
            for row in 0..3 {
                let _ = writeln!(
                    text,
                    "| {} | 按投入的{}%补助 | {}万元 |",
                    generator.pick(&TOPICS),
                    5 + row * 5,
                    50 * (row + 1)
                );
            }
            text.push('\n');
        }
        for _ in 0..2 + generator.below(3) {
            for _ in 0..3 + generator.below(3) {
                let _ = write!(
                    text,
                    "{audience}开展{}的，{}。",
                    generator.pick(&TOPICS),
                    generator.pick(&CLAUSES)
                );
            }
            text.push_str("\n\n");
        }
        section += 1;
    }
    text
}

fn chinese_number(number: usize) -> &'static str {
    const NUMBERS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    NUMBERS[(number - 1) % NUMBERS.len()]
}

/// Writes `count` synthetic policies into `dir` (emptied first), 500 to a folder.
pub fn write_corpus(dir: &Path, count: usize, seed: u64) -> io::Result<usize> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    for number in 0..count {
        let folder = dir.join(format!("batch-{:03}", number / 500));
        if number % 500 == 0 {
            fs::create_dir_all(&folder)?;
        }
        fs::write(
            folder.join(format!("policy-{number:06}.md")),
            policy_text(number, seed),
        )?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_policy;

    #[test]
    fn synthetic_policies_are_valid_and_of_realistic_size() {
        for number in 0..50 {
            let text = policy_text(number, 7);
            assert!(
                (2 * 1024..10 * 1024).contains(&text.len()),
                "{}",
                text.len()
            );
            let (policy, problems) =
                parse_policy(Path::new("p.md"), &format!("p-{number}"), &text, &[]);
            assert!(problems.is_empty(), "{problems:?}");
            assert!(policy.unwrap().faq.len() >= 2);
        }
        assert_eq!(policy_text(3, 7), policy_text(3, 7));
    }
}
