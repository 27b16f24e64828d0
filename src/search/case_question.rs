//! Questions about one's own case (个案诉求): the status of an application, a payment that did not arrive, a
//! neighbour's noise, a complaint about a named party. The policy base says what the rules are, not what
//! happened to this enterprise, so such a question goes to a person even when its topic is in the base
//! (notice §二(二)2 answers at once only what the policy base can answer).

use std::sync::OnceLock;

use regex::Regex;

/// Phrases that make a question about a particular case rather than about a rule. Each is a regular
/// expression over the question as typed.
const CASE_PATTERNS: &[&str] = &[
    // The progress or outcome of the enterprise's own matter.
    r"((办理|审批|审核|申请|受理|处理|评审|认定)(的)?(进度|进展)|(进度|进展)(怎么样|如何|到哪)|查(询|一下)?进度|到哪一步|到哪个环节|卡在哪|受理了吗|办好了吗|批了没|批下来没|通过了没|有结果了吗)",
    r"(还没|没有|迟迟没|一直没|至今没|怎么还没|为什么还没|为啥还没|咋还没)(有)?(到账|下来|批|办|审|收到|回复|回音|消息|结果|处理|退|发|拨付|兑现)",
    r"(我|我们|我司|咱)[^，。？！]{0,16}(什么时候|啥时候|何时)(能|可以|会)?(到账|批下来|审批完|办好|发下来|退回来|拨付|兑现)",
    r"(没到账|未到账|还没到账|没收到钱|钱没到|款没到|没发下来)",
    // Asking someone to look something up or chase it for them.
    r"(帮我|帮忙|麻烦)(查|问|催|看看|核实|处理|协调)",
    r"(查一下|查查|查询一下|催一下|催催)(我|我们|我司|本公司)",
    r"我(们|司|公司|厂)?的(申请|材料|案件|工单|诉求|件|补贴款|退税款|账户|订单)",
    // Other people and particular parties: a neighbour, a complaint or report against someone.
    r"(邻居|隔壁|楼上|楼下|对面的?(工厂|厂子|饭店|商户|小区|工地))",
    r"(投诉|举报|告发)(一下|一个|那个|他们|这家|某)",
    r"(拖欠|克扣|不给|不发|不退|不还)(我|我们|我司|咱)",
];

fn patterns() -> &'static [Regex] {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        CASE_PATTERNS
            .iter()
            .map(|pattern| Regex::new(pattern).expect("case patterns are valid"))
            .collect()
    })
}

/// Whether `question` asks about a particular case that only a person can look into.
pub fn is_case_question(question: &str) -> bool {
    patterns().iter().any(|pattern| pattern.is_match(question))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_about_ones_own_case_go_to_a_person() {
        for question in [
            "我上个月申请的稳岗返还怎么还没到账",
            "我们公司的高新技术企业认定申请到哪一步了",
            "隔壁饭店油烟太大，晚上还很吵",
            "帮我查一下社保缴费记录",
            "我们的退税款什么时候能到账",
            "我的申请材料交上去一个月了还没有回复",
            "我要投诉一下那个审批窗口的工作人员",
            "甲方拖欠我们工程款半年了",
        ] {
            assert!(is_case_question(question), "{question}");
        }
    }

    #[test]
    fn questions_about_the_rules_are_not_cases() {
        for question in [
            "我们公司今年研发投入大约300万元，想问一下研发费用加计扣除比例现在是多少？",
            "小微企业有哪些税收优惠",
            "稳岗返还的申请条件是什么",
            "留抵退税一般多久能到账",
            "劳动合同到期不续签要给经济补偿吗",
            "企业被投诉后行政机关多长时间内要处理",
            "工程进度款怎么支付，拖了能要利息吗",
        ] {
            assert!(!is_case_question(question), "{question}");
        }
    }
}
