//! 全角字符: folds full-width letters, digits and punctuation that Chinese input methods type into their
//! ASCII forms, so that codes and numbers typed as `９１１１…` or `１３８１２３４５６７８` parse like the rest.

/// Folds full-width ASCII (U+FF01–U+FF5E) to ASCII and the ideographic space (U+3000) to a plain space.
/// Everything else is left as it is.
pub(crate) fn fold_full_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_digits_letters_and_spaces() {
        // Arrange
        let typed = "９１１１　ＡＢｃ－＠（）";

        // Act
        let folded = fold_full_width(typed);

        // Assert
        assert_eq!(folded, "9111 ABc-@()");
    }

    #[test]
    fn leaves_chinese_text_alone() {
        assert_eq!(fold_full_width("滕州市转123"), "滕州市转123");
    }
}
