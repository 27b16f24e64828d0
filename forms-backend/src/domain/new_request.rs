//! 诉求登记: the intake form of a request as it arrives (web form, collector entry or a call taken by the
//! centre) and the validated request made from it. Every field is checked and every problem reported at
//! once, so the enterprise corrects the form in one pass.

use serde::{Deserialize, Serialize};

use super::{
    Channel, CreditCode, Description, Email, EnterpriseName, FieldErrors, PersonName, Phone,
    RequestKind, ShortText, TownName,
};

/// 诉求登记表: the form as submitted, every field optional and untrusted. Unknown fields are ignored and
/// missing ones are `None`, so an old page or a collector's tool cannot break intake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    /// 诉求类型: `consultation`, `help`, `suggestion`, `complaint` or the Chinese name.
    pub kind: Option<String>,
    pub enterprise_name: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_email: Option<String>,
    pub town: Option<String>,
    pub description: Option<String>,
    /// 建议解决部门 (附件2).
    pub suggested_department: Option<String>,
    /// The slug of the policy the request is about, when asked from a policy page.
    pub policy: Option<String>,
    /// Honeypot (蜜罐): a field hidden from people; a filled-in value marks a bot. Judged by the HTTP layer,
    /// not validated here.
    pub website: Option<String>,
}

/// 诉求: a request whose every field has been validated and tidied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub kind: RequestKind,
    pub enterprise_name: EnterpriseName,
    pub credit_code: Option<CreditCode>,
    pub contact_name: PersonName,
    pub contact_phone: Phone,
    pub contact_email: Option<Email>,
    pub town: TownName,
    pub description: Description,
    pub suggested_department: Option<ShortText>,
    pub policy: Option<ShortText>,
    pub channel: Channel,
}

impl NewRequest {
    /// Validates every field of `form` and collects every problem, keyed by the form's field name.
    /// Optional fields left empty (or only spaces) are "not given".
    pub fn parse(form: &RequestForm, channel: Channel) -> Result<NewRequest, FieldErrors> {
        let mut errors = FieldErrors::new();

        let kind = match given(&form.kind) {
            Some(kind) => errors.check("kind", kind.parse::<RequestKind>()),
            None => {
                errors.insert("kind", "请选择诉求类型");
                None
            }
        };
        let enterprise_name = errors.check(
            "enterprise_name",
            EnterpriseName::parse(required(&form.enterprise_name)),
        );
        let credit_code = errors.check(
            "credit_code",
            optional(&form.credit_code, CreditCode::parse),
        );
        let contact_name = errors.check(
            "contact_name",
            PersonName::parse(required(&form.contact_name)),
        );
        let contact_phone =
            errors.check("contact_phone", Phone::parse(required(&form.contact_phone)));
        let contact_email =
            errors.check("contact_email", optional(&form.contact_email, Email::parse));
        let town = errors.check("town", TownName::parse(required(&form.town)));
        let description = errors.check(
            "description",
            Description::parse(required(&form.description)),
        );
        let suggested_department = errors.check(
            "suggested_department",
            optional(&form.suggested_department, ShortText::parse),
        );
        let policy = errors.check("policy", optional(&form.policy, ShortText::parse));

        let (
            Some(kind),
            Some(enterprise_name),
            Some(credit_code),
            Some(contact_name),
            Some(contact_phone),
            Some(contact_email),
            Some(town),
            Some(description),
            Some(suggested_department),
            Some(policy),
        ) = (
            kind,
            enterprise_name,
            credit_code,
            contact_name,
            contact_phone,
            contact_email,
            town,
            description,
            suggested_department,
            policy,
        )
        else {
            return Err(errors);
        };
        Ok(NewRequest {
            kind,
            enterprise_name,
            credit_code,
            contact_name,
            contact_phone,
            contact_email,
            town,
            description,
            suggested_department,
            policy,
            channel,
        })
    }
}

/// The field's text if it holds anything but spaces.
fn given(field: &Option<String>) -> Option<&str> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A required field's text; a missing field reads as empty, so each type's own "请填写…" message applies.
fn required(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or_default()
}

/// Parses an optional field; empty means not given.
fn optional<T, E>(
    field: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, E> {
    given(field).map(parse).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled_form() -> RequestForm {
        RequestForm {
            kind: Some("help".into()),
            enterprise_name: Some("滕州市鑫源机械有限公司".into()),
            credit_code: Some("91440300708461136T".into()),
            contact_name: Some("王经理".into()),
            contact_phone: Some("138 1234 5678".into()),
            contact_email: Some("wang@XinYuan.com".into()),
            town: Some("洪绪镇".into()),
            description: Some(
                "厂区门前道路雨后积水严重，货车无法进出，请协调修复排水设施。".into(),
            ),
            suggested_department: Some("住建局".into()),
            policy: Some("".into()),
            website: None,
        }
    }

    #[test]
    fn a_complete_form_becomes_a_tidy_request() {
        // Arrange
        let form = filled_form();

        // Act
        let request = NewRequest::parse(&form, Channel::Web).expect("valid form");

        // Assert
        assert_eq!(request.kind, RequestKind::Help);
        assert_eq!(request.enterprise_name.as_str(), "滕州市鑫源机械有限公司");
        assert_eq!(
            request.credit_code.as_ref().map(CreditCode::as_str),
            Some("91440300708461136T")
        );
        assert_eq!(request.contact_phone.as_str(), "13812345678");
        assert_eq!(
            request.contact_email.as_ref().map(Email::as_str),
            Some("wang@xinyuan.com")
        );
        assert_eq!(request.town.as_str(), "洪绪镇");
        assert_eq!(
            request.suggested_department.as_ref().map(ShortText::as_str),
            Some("住建局")
        );
        assert_eq!(request.policy, None);
        assert_eq!(request.channel, Channel::Web);
    }

    #[test]
    fn empty_optional_fields_are_not_given() {
        // Arrange
        let form = RequestForm {
            credit_code: Some("   ".into()),
            contact_email: Some("".into()),
            suggested_department: None,
            policy: Some(" ".into()),
            ..filled_form()
        };

        // Act
        let request = NewRequest::parse(&form, Channel::Collector).expect("valid form");

        // Assert
        assert_eq!(request.credit_code, None);
        assert_eq!(request.contact_email, None);
        assert_eq!(request.suggested_department, None);
        assert_eq!(request.policy, None);
        assert_eq!(request.channel, Channel::Collector);
    }

    #[test]
    fn an_empty_form_names_every_required_field() {
        // Act
        let errors = NewRequest::parse(&RequestForm::default(), Channel::Web).unwrap_err();

        // Assert
        let expected = [
            ("kind", "请选择诉求类型"),
            ("enterprise_name", "请填写企业名称"),
            ("contact_name", "请填写联系人"),
            ("contact_phone", "请填写联系电话"),
            ("town", "请填写属地镇街"),
            ("description", "请填写诉求描述"),
        ];
        for (field, message) in expected {
            assert_eq!(errors.get(field), Some(message), "field {field}");
        }
        assert_eq!(errors.len(), expected.len());
    }

    #[test]
    fn reports_every_wrong_field_at_once() {
        // Arrange
        let form = RequestForm {
            kind: Some("praise".into()),
            credit_code: Some("91440300708461136A".into()),
            contact_phone: Some("12345".into()),
            contact_email: Some("wang@".into()),
            description: Some("路坏了".into()),
            suggested_department: Some("部".repeat(101)),
            ..filled_form()
        };

        // Act
        let errors = NewRequest::parse(&form, Channel::Web).unwrap_err();

        // Assert
        assert_eq!(
            errors.get("kind"),
            Some("诉求类型“praise”无效，应为咨询、求助、建议或投诉")
        );
        assert_eq!(
            errors.get("credit_code"),
            Some("校验位不正确，请核对营业执照上的统一社会信用代码")
        );
        assert_eq!(
            errors.get("contact_phone"),
            Some("请填写有效的手机号或固定电话（如 13812345678 或 0632-5512345）")
        );
        assert_eq!(errors.get("contact_email"), Some("电子邮箱格式不正确"));
        assert_eq!(
            errors.get("description"),
            Some("请把问题描述得具体一些（至少10个字）")
        );
        assert_eq!(
            errors.get("suggested_department"),
            Some("此项不能超过100个字（现为101个字）")
        );
        assert_eq!(errors.get("enterprise_name"), None);
        assert_eq!(errors.len(), 6);
    }

    #[test]
    fn accepts_a_form_with_unknown_and_missing_fields() {
        // Arrange: a JSON body from an older page, with a field this version does not know.
        let body = r#"{"kind":"咨询","enterprise_name":"滕州某某有限公司","contact_name":"李四",
            "contact_phone":"0632-5512345","town":"善南街道",
            "description":"想了解技术改造补贴的申报条件和时间。","referrer":"policy-page"}"#;

        // Act
        let form: RequestForm = serde_json::from_str(body).expect("form deserialises");
        let request = NewRequest::parse(&form, Channel::Web).expect("valid form");

        // Assert
        assert_eq!(request.kind, RequestKind::Consultation);
        assert_eq!(request.contact_phone.as_str(), "0632-5512345");
        assert_eq!(request.contact_email, None);
    }

    #[test]
    fn the_honeypot_is_not_judged_here() {
        // Arrange
        let form = RequestForm {
            website: Some("http://spam.example".into()),
            ..filled_form()
        };

        // Act
        let result = NewRequest::parse(&form, Channel::Web);

        // Assert
        assert!(result.is_ok());
    }

    #[test]
    fn keeps_html_in_the_description_as_text() {
        // Arrange
        let form = RequestForm {
            description: Some("<script>alert(1)</script>请尽快处理厂区停电问题".into()),
            ..filled_form()
        };

        // Act
        let request = NewRequest::parse(&form, Channel::Web).expect("valid form");

        // Assert
        assert_eq!(
            request.description.as_str(),
            "<script>alert(1)</script>请尽快处理厂区停电问题"
        );
    }
}
