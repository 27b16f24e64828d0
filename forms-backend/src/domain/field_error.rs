//! 字段错误: what is wrong with one form field, and the collection of them a form gives back, each message in
//! plain Chinese for the person filling in the form.

use std::collections::BTreeMap;

use serde::Serialize;

/// 字段错误: a plain-Chinese message saying what is wrong with one field's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    message: String,
}

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        FieldError {
            message: message.into(),
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// 表单错误: every field of a form that needs correcting, field name → plain-Chinese message. Serialises as a
/// plain JSON object (`{"credit_code": "校验位不正确…"}`) so a page can show each message beside its field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
#[error("表单有{}处需要修改", .0.len())]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors::default()
    }

    /// Records the message for `field`; a later message for the same field replaces the earlier one.
    pub fn insert(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.insert(field.into(), message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The message for `field`, if that field needs correcting.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Field name and message pairs, in field-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(field, message)| (field.as_str(), message.as_str()))
    }

    /// Keeps the value of a field that parsed, or records its message and gives `None`.
    pub(crate) fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.insert(field, error.to_string());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_a_plain_map_of_field_to_message() {
        // Arrange
        let mut errors = FieldErrors::new();
        errors.insert("enterprise_name", "请填写企业名称");
        errors.insert("contact_phone", "请填写联系电话");

        // Act
        let json = serde_json::to_value(&errors).expect("serialises");

        // Assert
        assert_eq!(
            json,
            serde_json::json!({
                "enterprise_name": "请填写企业名称",
                "contact_phone": "请填写联系电话",
            })
        );
    }

    #[test]
    fn finds_the_message_of_a_field() {
        // Arrange
        let mut errors = FieldErrors::new();

        // Act
        errors.insert("town", "请填写属地镇街");

        // Assert
        assert!(!errors.is_empty());
        assert_eq!(errors.get("town"), Some("请填写属地镇街"));
        assert_eq!(errors.get("description"), None);
        assert_eq!(errors.to_string(), "表单有1处需要修改");
    }
}
